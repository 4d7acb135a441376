"""The gateway's Kafka side: FastStream's Kafka publisher with an idempotent producer and ``acks=all``.

The broker is connected in the background (``run``: one log line per failed attempt, as the consumer
does); until it is, and whenever a publish fails or times out, requests get 503 and are published by
nobody, and the sender retries. A retry after a partial publish repeats events that are already on the
topic: they keep their ids, so the consumer counts them as duplicates and nothing is counted twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from faststream.kafka import KafkaBroker

from services.kafka import PLAINTEXT, KafkaSecurity, wait_async

log = logging.getLogger("contactpulse.gateway")
PUBLISH_TIMEOUT_SECONDS = 10.0


class Unavailable(Exception):
    """Kafka cannot take the events now."""


class Publisher:
    def __init__(self, bootstrap: str, topic: str, timeout: float = PUBLISH_TIMEOUT_SECONDS,
                 security: KafkaSecurity = PLAINTEXT) -> None:  # fmt: skip
        self.bootstrap, self.topic, self.timeout, self.security = bootstrap, topic, timeout, security
        self.broker = KafkaBroker(bootstrap, enable_idempotence=True, acks="all", request_timeout_ms=5000,
                                  security=security.faststream(),
                                  logger=log, log_level=logging.DEBUG)  # fmt: skip
        self.ready = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Connect once the broker answers; then the producer reconnects by itself."""
        while not stop.is_set() and not self.ready.is_set():
            if not await wait_async(self.bootstrap, stop, self.security):
                return
            try:
                await self.broker.start()
            except Exception as exc:  # the broker went away again between the check and the connection
                log.warning("cannot connect to Kafka at %s: %s; retrying", self.bootstrap, exc)
                await asyncio.sleep(1)
                continue
            self.ready.set()
            log.info("publishing to %s on %s", self.topic, self.bootstrap)

    async def publish(self, messages: Sequence[tuple[bytes | None, bytes]], topic: str | None = None,
                      headers: dict[str, str] | None = None) -> None:  # fmt: skip
        """Every (key, value) sent, returning once Kafka has acknowledged them all; Unavailable otherwise."""
        if not self.ready.is_set():
            raise Unavailable(f"not connected to Kafka at {self.bootstrap} yet")
        try:
            async with asyncio.timeout(self.timeout):
                pending = [await self.broker.publish(value, topic or self.topic, key=key, headers=headers,
                                                     no_confirm=True) for key, value in messages]  # fmt: skip
                await asyncio.gather(*pending)
        except Exception as exc:  # a time-out, or the client's error: either way, not acknowledged
            raise Unavailable(f"Kafka at {self.bootstrap} did not acknowledge: {type(exc).__name__}") from None

    async def close(self) -> None:
        if self.ready.is_set():
            await self.broker.stop()
