"""Stored ids and contacts as hashes: a batch asks DuckDB only about what may be stored."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from pipelines.engine import FactEngine
from pipelines.live import LiveBoard
from pipelines.rules import MetricRules
from services.exposition.metrics import PipelineMetrics
from services.store.store import Store
from services.stream.known import Known, contact_hash, key_hash
from services.stream.processor import StreamProcessor
from tests.support.builders import T0, TOPIC, Rec, ev, raw

NOW = T0.replace(year=2030)


def consumer(db: Path) -> StreamProcessor:
    proc = StreamProcessor(
        FactEngine(MetricRules()), Store(db), PipelineMetrics(CollectorRegistry()), LiveBoard(), TOPIC
    )
    proc.recover()
    return proc


def feed(proc: StreamProcessor, records: list[Rec]) -> tuple[int, int]:
    write = proc.commit(proc.decode(records, ingest_time=NOW))
    return len(write.events), write.duplicates


def test_hashes_match_duckdb_and_only_stored_keys_may_be_held(tmp_path: Path) -> None:
    proc = consumer(tmp_path / "k.duckdb")
    feed(proc, [Rec(0, raw(ev("contact.started", 0, id_="e-1"))), Rec(1, raw(ev("contact.queued", 5, id_="e-2")))])
    proc.store.close()
    with Store(tmp_path / "k.duckdb") as store:
        known = Known.load(store.reader)
        assert sorted(known.ids.stored) == sorted([key_hash("e-1"), key_hash("e-2")])
        assert list(known.contacts.stored) == [contact_hash("boston", "C-1")]
        assert known.ids_maybe_stored(["e-1", "e-9", "e-2"]) == ["e-1", "e-2"]
        assert known.contacts_maybe_stored([("boston", "C-1"), ("boston", "C-2")]) == [("boston", "C-1")]


def test_after_a_restart_stored_ids_and_contacts_are_still_found(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    first = consumer(db)
    events = [
        ev("contact.started", 0, id_="a-1"),
        ev("contact.queued", 5, id_="a-2"),
        ev("contact.answered", 30, id_="a-3"),
        ev("contact.ended", 300, id_="a-4"),
    ]
    assert feed(first, [Rec(i, raw(e)) for i, e in enumerate(events)]) == (4, 0)
    first.store.close()

    again = consumer(db)  # C-1 is closed, so not reloaded: only the hashes know it is stored
    assert ("boston", "C-1") not in again.engine.states
    late = [
        Rec(4, raw(ev("contact.surveyed", 900, id_="a-5", rating=4))),
        Rec(5, raw(ev("contact.started", 0, contact="C-2", id_="a-1"))),
    ]  # an id already stored
    assert feed(again, late) == (1, 1)
    row = again.store.con.execute("SELECT outcome, talk_seconds, rating FROM contacts WHERE contact_id = 'C-1'")
    assert row.fetchall() == [("handled", 270.0, 4)]  # the late survey joined the stored events


def test_new_keys_are_noted_and_folded_in_by_a_reload(tmp_path: Path) -> None:
    proc = consumer(tmp_path / "n.duckdb")
    assert proc.known is not None
    feed(proc, [Rec(0, raw(ev("contact.started", 0, id_="n-1")))])
    assert proc.known.ids.recent == {key_hash("n-1")} and not proc.known.ids.stored
    proc.known = Known.load(proc.store.reader)
    assert list(proc.known.ids.stored) == [key_hash("n-1")] and not proc.known.ids.recent
