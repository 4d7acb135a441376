"""The gateway's Kafka side: FastStream's Kafka publisher with an idempotent producer and ``acks=all``,
which replaces itself when it cannot go on.

The broker is connected in the background (``run``); until it is, and whenever a publish fails or times
out, requests get 503 and the sender retries. A 503 means Kafka did not acknowledge in time, not that
nothing reached it: a retry may repeat events already on the topic. They keep their ids, so the consumer
counts them as duplicates and nothing is counted twice.

An idempotent producer can fall into a state it never leaves by itself: after a broker outage with
records in flight, aiokafka's answers ``OutOfOrderSequenceNumber`` on every send, within milliseconds,
for as long as the process lives. So a fatal error (that one, a fenced or expired producer id) or
failures unbroken for ``REPLACE_AFTER`` seconds make the publisher replace its producer: the old one is
stopped, a new one (a new producer id, fresh sequence numbers) connected once the broker answers.
Requests in flight meanwhile are answered 503 and sent again by their senders; the publisher itself
never resends, so an event answered 503 is published again only by its sender's retry.

``status()`` says whether it can publish now, and why not: ``/readyz`` and ``/healthz`` answer from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from faststream.kafka import KafkaBroker

from services.kafka import PLAINTEXT, KafkaSecurity, faststream_broker, wait_async

log = logging.getLogger("contactpulse.gateway")
PUBLISH_TIMEOUT_SECONDS = 10.0
REPLACE_AFTER = 20.0  # seconds of failures without a success before the producer is replaced
NOT_READY_AFTER_FAILURE = 5.0  # seconds a failed publish keeps /readyz at 503 (without traffic, no news)
# errors an idempotent producer does not recover from (aiokafka's and Kafka's names for them)
FATAL = (
    "OutOfOrderSequenceNumber",
    "ProducerFenced",
    "InvalidProducerEpoch",
    "UnknownProducerId",
    "InvalidPidMapping",
    "InvalidTxnState",
    "IllegalState",
)


class Unavailable(Exception):
    """Kafka cannot take the events now."""


@dataclass(frozen=True)
class Status:
    ready: bool  # a publish now would be tried (connected, not replacing, no failure just now)
    state: str  # connecting, connected, failing, replacing
    reason: str  # why not ready ("" when ready)
    failing_for: float  # seconds since the first failure with no success after it (0 when none)


def fatal(exc: BaseException) -> bool:
    return any(name in type(exc).__name__ for name in FATAL)


class Publisher:
    def __init__(
        self,
        bootstrap: str,
        topic: str,
        timeout: float = PUBLISH_TIMEOUT_SECONDS,
        security: KafkaSecurity = PLAINTEXT,
        clock: Callable[[], float] = time.monotonic,
        broker: Callable[[], Any] | None = None,
    ) -> None:
        self.bootstrap, self.topic, self.timeout, self.security, self.clock = bootstrap, topic, timeout, security, clock
        self._new_broker = broker or self._kafka_broker
        self.broker = self._new_broker()
        self.ready = asyncio.Event()  # connected (a producer started)
        self.replacing: asyncio.Task[None] | None = None
        self.stop_event: asyncio.Event | None = None
        self.failing_since: float | None = None
        self.last_failure = 0.0
        self.last_error = ""
        self.replaced = 0  # how many times the producer was replaced

    def _kafka_broker(self) -> KafkaBroker:
        broker: KafkaBroker = faststream_broker(self.bootstrap, self.security, log, request_timeout_ms=5000)
        return broker

    async def run(self, stop: asyncio.Event) -> None:
        """Connect once the broker answers; then the producer reconnects by itself, or is replaced."""
        self.stop_event = stop
        while not stop.is_set() and not self.ready.is_set():
            if not await wait_async(self.bootstrap, stop, self.security):
                return
            try:
                await self.broker.start()
            except Exception as exc:  # the broker went away again between the check and the connection
                log.warning("cannot connect to Kafka at %s: %s; retrying", self.bootstrap, type(exc).__name__)
                await asyncio.sleep(1)
                continue
            self.ready.set()
            log.info("publishing to %s on %s", self.topic, self.bootstrap)

    def status(self) -> Status:
        now = self.clock()
        failing_for = 0.0 if self.failing_since is None else now - self.failing_since
        if self.replacing is not None and not self.replacing.done():
            return Status(False, "replacing", f"replacing the Kafka producer after {self.last_error}", failing_for)
        if not self.ready.is_set():
            return Status(False, "connecting", f"not connected to Kafka at {self.bootstrap}", failing_for)
        if self.failing_since is not None and now - self.last_failure < NOT_READY_AFTER_FAILURE:
            return Status(
                False, "failing", f"Kafka did not acknowledge the last publish: {self.last_error}", failing_for
            )
        return Status(True, "connected", "", failing_for)

    async def publish(
        self,
        messages: Sequence[tuple[bytes | None, bytes]],
        topic: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Every (key, value) sent, returning once Kafka has acknowledged them all; Unavailable otherwise."""
        if not self.ready.is_set() or (self.replacing is not None and not self.replacing.done()):
            raise Unavailable(self.status().reason)
        broker = self.broker
        try:
            async with asyncio.timeout(self.timeout):
                pending = [
                    await broker.publish(value, topic or self.topic, key=key, headers=headers, no_confirm=True)
                    for key, value in messages
                ]
                await asyncio.gather(*pending)
        except Exception as exc:  # a time-out, or the client's error: either way, not acknowledged
            self._failed(exc)
            raise Unavailable(f"Kafka at {self.bootstrap} did not acknowledge: {type(exc).__name__}") from None
        if self.failing_since is not None:
            log.info("publishing again after %.0f s of failures", self.clock() - self.failing_since)
        self.failing_since = None

    def _failed(self, exc: BaseException) -> None:
        now = self.clock()
        if self.failing_since is None:
            self.failing_since = now
            log.warning("Kafka at %s did not acknowledge: %s", self.bootstrap, type(exc).__name__)
        self.last_failure, self.last_error = now, type(exc).__name__
        if (fatal(exc) or now - self.failing_since >= REPLACE_AFTER) and (
            self.replacing is None or self.replacing.done()
        ):
            self.replacing = asyncio.create_task(self._replace())

    async def _replace(self) -> None:
        """A new producer in place of one that cannot go on (the old one stopped, never awaited for long)."""
        log.warning("replacing the Kafka producer after %s", self.last_error)
        old, self.broker = self.broker, self._new_broker()
        self.ready.clear()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(10):
                await old.stop()
        self.replaced += 1
        self.failing_since = self.clock()  # a new producer's first success ends the failures
        await self.run(self.stop_event or asyncio.Event())

    async def close(self) -> None:
        if self.replacing is not None:
            self.replacing.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.replacing
        if self.ready.is_set():
            await self.broker.stop()
