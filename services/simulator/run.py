"""Running the traffic model: history (past days, as fast as the sink takes them) or live (wall-clock pacing)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from services.errors import UserError
from services.kafka import PLAINTEXT, KafkaSecurity, refused
from services.simulator.model import SimConfig, Simulation

Sink = Callable[[bytes, bytes], None]  # (key, value)


def history(config: SimConfig, seed: int, days: int, now: datetime | None = None) -> Iterator[dict[str, Any]]:
    """The last ``days`` full days up to now; events after now are not yet known, so not emitted."""
    end = now or datetime.now(UTC)
    start = (end - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    stamp = end.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    for event in Simulation(config, seed).events(start, end):
        if event["time"] <= stamp:
            yield event


def live(
    config: SimConfig,
    seed: int,
    minutes: float | None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[dict[str, Any]]:
    """Events with wall-clock times, each emitted when its time comes; runs ``minutes`` (or a day) at a time."""
    while True:
        start = datetime.fromtimestamp(clock(), UTC)
        span = timedelta(minutes=minutes) if minutes else timedelta(hours=24)
        for event in Simulation(config, seed).events(start, start + span):
            due = datetime.fromisoformat(event["time"]).timestamp()
            wait = due - clock()
            if wait > 0:
                sleep(wait)
            yield event
        if minutes:
            return
        seed += 1


def to_jsonl(events: Iterable[dict[str, Any]], out: BinaryIO) -> int:
    n = 0
    for e in events:
        out.write(orjson.dumps(e) + b"\n")
        n += 1
    out.flush()
    return n


def to_kafka(
    events: Iterable[dict[str, Any]],
    bootstrap: str,
    topic: str,
    progress: Callable[[int], None] | None = None,
    security: KafkaSecurity = PLAINTEXT,
) -> int:
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    try:
        producer = KafkaProducer(
            bootstrap_servers=bootstrap, linger_ms=20, batch_size=512 * 1024, acks=1, **security.kafka_python()
        )
    except KafkaError as exc:
        raise refused(exc, bootstrap) from None
    n = 0
    try:
        for e in events:
            producer.send(topic, key=e["data"]["contact_id"].encode(), value=orjson.dumps(e))
            n += 1
            if progress and n % 10_000 == 0:
                progress(n)
        producer.flush()
    except KafkaError as exc:
        raise UserError(f"lost Kafka at {bootstrap} after {n:,} events: {exc}") from None
    finally:
        producer.close(timeout=5)
    return n


def open_out(path: str) -> BinaryIO:
    return sys.stdout.buffer if path == "-" else Path(path).open("wb")
