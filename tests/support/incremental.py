"""A file replayed by the streaming consumer's own code, event by event: the engine (``pipelines.engine``),
``services.stream.batch`` and the store's stream write. The tests' reference for ``contactpulse replay``
(bulk, ``services.replay.bulk``) and for the consumer: all three must give the same tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from pipelines.decode import decode
from pipelines.engine import FactEngine
from pipelines.events import Event, micros
from pipelines.rules import MetricRules
from schemas.reasons import Rejected
from services.replay.summary import ReplaySummary
from services.store.retention import BEYOND_RETENTION
from services.store.schema import RejectedMessage
from services.store.store import Store
from services.stream.batch import prepare_batch
from services.stream.gcpolicy import gc_paused

BATCH_LINES = 200_000


def numbered_lines(name: str, stream: BinaryIO) -> Iterator[tuple[str, bytes]]:
    """(origin, line) for each non-blank line; origin is ``name:lineno``."""
    for n, line in enumerate(stream, start=1):
        if line.strip():
            yield f"{name}:{n}", line.rstrip(b"\r\n")


def replay(
    lines: Iterable[tuple[str, bytes]],
    store: Store,
    rules: MetricRules,
    progress: Callable[[int], None] | None = None,
    ingest_time: datetime | None = None,
) -> ReplaySummary:
    engine = FactEngine(rules)
    engine.restore_watermarks(store.watermarks())
    summary = ReplaySummary()
    now = ingest_time or datetime.now(UTC)
    with gc_paused():
        _replay_lines(lines, store, engine, summary, now, progress)
    summary.outcomes.update(store.outcomes())
    return summary


def _replay_lines(
    lines: Iterable[tuple[str, bytes]],
    store: Store,
    engine: FactEngine,
    summary: ReplaySummary,
    now: datetime,
    progress: Callable[[int], None] | None,
) -> None:
    events: list[Event] = []
    rejected: list[RejectedMessage] = []
    now_us = micros(now)
    erased = store.erased()

    def flush() -> None:
        write = prepare_batch(engine, store, events, rejected)
        write.apply(store)
        summary.duplicates += write.duplicates
        late = len(write.rejected) - len(rejected)  # events of contacts retention retired
        if late:
            summary.valid -= late
            summary.rejected[BEYOND_RETENTION] += late
        events.clear()
        rejected.clear()

    for origin, raw in lines:
        summary.lines += 1
        try:
            event = decode(raw, now, now_us)
            if erased and erased.drops(event):
                summary.erased += 1
                summary.valid += 1
                continue
            events.append(event)
        except Rejected as r:
            rejected.append(RejectedMessage(raw, r.reason, r.detail, origin))
            summary.rejected[r.reason] += 1
        if len(events) + len(rejected) >= BATCH_LINES:
            summary.valid += len(events)
            flush()
            if progress:
                progress(summary.lines)
    summary.valid += len(events)
    flush()
    if progress:
        progress(summary.lines)
