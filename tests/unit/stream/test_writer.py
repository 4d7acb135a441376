"""The consumer's writer: batches are prepared (and counted live) while a write runs, then written together."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, cast

import pytest
from prometheus_client import CollectorRegistry

from pipelines.engine import FactEngine
from pipelines.live import LiveBoard
from pipelines.rules import MetricRules
from services.exposition.metrics import PipelineMetrics
from services.store.store import Store
from services.stream.batch import StoreWrite
from services.stream.processor import StreamProcessor
from services.stream.writer import Writer
from tests.support.builders import T0, TOPIC, Rec, ev, raw

NOW = T0.replace(year=2030)


def processor(tmp: Path) -> tuple[StreamProcessor, CollectorRegistry]:
    registry = CollectorRegistry()
    store = Store(tmp / "w.duckdb")
    return StreamProcessor(FactEngine(MetricRules()), store, PipelineMetrics(registry), LiveBoard(5), TOPIC), registry


def test_next_batch_is_live_before_the_previous_write_commits(tmp_path: Path) -> None:
    proc, registry = processor(tmp_path)
    first = [Rec(0, raw(ev("contact.started", 0, id_="e-1"))), Rec(1, raw(ev("contact.queued", 5, id_="e-2")))]
    # the same id again, on another contact: only the store (or the write in flight) knows it
    second = [
        Rec(2, raw(ev("contact.started", 9, contact="C-2", id_="e-1"))),
        Rec(3, raw(ev("contact.started", 9, contact="C-3", id_="e-3"))),
    ]

    async def run() -> None:
        writer = Writer(proc, asyncio.Event())
        gate = threading.Event()
        writer.pool.submit(gate.wait, 10)  # hold the writer thread: the first write stays in flight
        try:
            write = proc.prepare(proc.decode(first, ingest_time=NOW))
            await writer.add(write)
            await asyncio.sleep(0.05)  # the first write is now in flight, held at the gate
            write2 = proc.prepare(proc.decode(second, ingest_time=NOW))
            assert (len(write2.events), write2.duplicates) == (1, 1)
            assert registry.get_sample_value("contactpulse_events_total", {"type": "contact.started"}) == 2
            assert proc.store.existing_ids(["e-1", "e-2"]) == set()  # nothing committed yet
            assert proc.positions == {}
            await writer.add(write2)
            third = [Rec(4, raw(ev("contact.queued", 12, contact="C-3", id_="e-4")))]
            await writer.add(proc.prepare(proc.decode(third, ingest_time=NOW)))
            assert writer.unwritten_contacts() == {("boston", "C-1"), ("boston", "C-3")}
        finally:
            gate.set()
        await writer.drain()
        assert writer.unwritten_contacts() == set()
        writer.close()

    asyncio.run(run())
    # two writes: the first, then the two batches that arrived while it was held
    assert registry.get_sample_value("contactpulse_batch_duration_seconds_count") == 2
    assert proc.positions == {(TOPIC, 0): 5}
    ids = proc.store.con.execute("SELECT id, contact_id FROM contact_events ORDER BY id").fetchall()
    assert ids == [("e-1", "C-1"), ("e-2", "C-1"), ("e-3", "C-3"), ("e-4", "C-3")]
    assert proc.store.offsets(TOPIC) == {0: 5}
    assert proc.store.con.execute("SELECT outcome, queue FROM contacts WHERE contact_id = 'C-3'").fetchall() == [
        ("open", "revenues")
    ]
    assert proc.pending_ids == set()


class FailingWrite:
    events: tuple[Any, ...] = ()
    offsets = None

    def apply(self, store: Store, expected: dict[tuple[str, int], int] | None = None) -> None:
        raise RuntimeError("disk full")


def test_a_failed_write_stops_the_consumer(tmp_path: Path) -> None:
    proc, _ = processor(tmp_path)
    stop = asyncio.Event()

    async def run() -> None:
        writer = Writer(proc, stop)
        await writer.add(cast(StoreWrite, FailingWrite()))
        with pytest.raises(RuntimeError, match="disk full"):
            await writer.drain()
        assert isinstance(writer.failed, RuntimeError)
        writer.close()

    asyncio.run(run())
    assert stop.is_set()
    assert proc.batches == 0
