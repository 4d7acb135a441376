"""The gateway's publisher replaces a producer that cannot go on, and says the truth about itself
(services/ingest/gateway/publisher.py). Brokers here are stand-ins that fail as aiokafka does; the real
producer's recovery from a real broker outage is the fault suite's (tests/chaos/test_gateway_outage.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.ingest.gateway import publisher as module
from services.ingest.gateway.publisher import NOT_READY_AFTER_FAILURE, REPLACE_AFTER, Publisher, Unavailable


class OutOfOrderSequenceNumberError(Exception):
    """aiokafka's name for it."""


class KafkaTimeoutError(Exception):
    pass


class Broker:
    """A producer that fails with ``error`` until told otherwise."""

    def __init__(self, error: type[Exception] | None) -> None:
        self.error, self.started, self.stopped = error, False, False
        self.sent: list[bytes] = []

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def publish(self, value: bytes, topic: str, **_: Any) -> Any:
        if self.error is not None:
            raise self.error("broker says no")
        self.sent.append(value)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def broker_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    async def reachable(*_: Any) -> bool:
        return True

    monkeypatch.setattr(module, "wait_async", reachable)


def made(errors: list[type[Exception] | None]) -> tuple[Publisher, list[Broker], Clock]:
    brokers: list[Broker] = []
    clock = Clock()

    def factory() -> Broker:
        b = Broker(errors[len(brokers)] if len(brokers) < len(errors) else None)
        brokers.append(b)
        return b

    return Publisher("127.0.0.1:9", "events", clock=clock, broker=factory), brokers, clock


async def replaced(p: Publisher) -> None:
    assert p.replacing is not None
    await p.replacing


def test_a_fatal_producer_error_replaces_the_producer_and_nothing_answered_503_is_resent() -> None:
    async def go() -> None:
        p, brokers, _ = made([OutOfOrderSequenceNumberError])
        await p.run(asyncio.Event())
        assert p.status().ready
        with pytest.raises(Unavailable, match="OutOfOrderSequenceNumberError"):
            await p.publish([(b"k", b"answered 503")])
        await replaced(p)
        assert len(brokers) == 2 and brokers[0].stopped and brokers[1].started and p.replaced == 1
        await p.publish([(b"k", b"after")])
        assert brokers[1].sent == [b"after"]  # the 503's event is its sender's to send again, never ours
        assert p.status().ready and p.status().failing_for == 0

    asyncio.run(go())


def test_failures_unbroken_for_long_replace_the_producer_and_short_ones_do_not() -> None:
    async def go() -> None:
        p, brokers, clock = made([KafkaTimeoutError])
        await p.run(asyncio.Event())
        for _ in range(3):  # a broker outage: time-outs, not fatal
            with pytest.raises(Unavailable):
                await p.publish([(None, b"x")])
            clock.now += REPLACE_AFTER / 4
        assert p.replacing is None and len(brokers) == 1
        clock.now += REPLACE_AFTER
        with pytest.raises(Unavailable):
            await p.publish([(None, b"x")])
        await replaced(p)
        assert len(brokers) == 2

    asyncio.run(go())


def test_status_tells_why_it_cannot_publish() -> None:
    async def go() -> None:
        p, _, clock = made([KafkaTimeoutError])
        assert (p.status().ready, p.status().state) == (False, "connecting")
        with pytest.raises(Unavailable, match="not connected"):
            await p.publish([(None, b"x")])
        await p.run(asyncio.Event())
        assert p.status().ready
        with pytest.raises(Unavailable):
            await p.publish([(None, b"x")])
        st = p.status()
        assert (st.ready, st.state) == (False, "failing") and "KafkaTimeoutError" in st.reason
        clock.now += NOT_READY_AFTER_FAILURE + 1
        assert p.status().ready and p.status().failing_for == pytest.approx(NOT_READY_AFTER_FAILURE + 1)

    asyncio.run(go())
