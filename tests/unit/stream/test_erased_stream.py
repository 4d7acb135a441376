"""The consumer's batch core after an erasure: an event of an erased contact, even one without a
customer_ref, and an event carrying the erased ref are dropped and counted, never stored."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from pipelines.engine import FactEngine
from pipelines.live import LiveBoard
from pipelines.rules import MetricRules
from services.exposition.metrics import PipelineMetrics
from services.store.store import Store
from services.stream.processor import StreamProcessor
from tests.support.builders import T0, Rec, ev, raw

REF = "erasedPerson-0000000001"


def processor(db: Path, registry: CollectorRegistry) -> StreamProcessor:
    proc = StreamProcessor(
        FactEngine(MetricRules()), Store(db), PipelineMetrics(registry), LiveBoard(), "contact.events.v1"
    )
    proc.recover()
    return proc


def test_events_of_an_erased_person_are_dropped_and_counted(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    first = processor(db, CollectorRegistry())
    first.commit(
        first.decode(
            [Rec(0, raw(ev("contact.queued", 0, contact="P-1", customer_ref=REF)))], ingest_time=T0.replace(year=2030)
        )
    )
    first.store.erase(REF)
    first.store.close()

    registry = CollectorRegistry()
    proc = processor(db, registry)
    records = [
        Rec(1, raw(ev("contact.ended", 60, contact="P-1"))),  # no ref, but an erased contact
        Rec(2, raw(ev("contact.queued", 90, contact="P-2", customer_ref=REF))),  # the erased ref
        Rec(3, raw(ev("contact.queued", 95, contact="Q-1"))),
    ]
    batch = proc.decode(records, ingest_time=T0.replace(year=2030))
    assert (batch.read, batch.erased, [e.contact_id for e in batch.events]) == (3, 2, ["Q-1"])
    proc.commit(batch)
    assert registry.get_sample_value("contactpulse_events_erased_total") == 2
    stored = proc.store.con.execute("SELECT DISTINCT contact_id FROM contact_events").fetchall()
    assert stored == [("Q-1",)]
