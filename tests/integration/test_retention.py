"""Retention on a real DuckDB file: raw events of contacts quiet past the horizon and old rejected lines
go, facts stay; a late event for a retired contact changes nothing and is kept as beyond_retention, by
the consumer's batch core and both replays; the consumer's known ids shrink with it."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
from prometheus_client import CollectorRegistry

from pipelines.engine import FactEngine
from pipelines.live import LiveBoard
from pipelines.rules import MetricRules
from services.cli import main
from services.exposition.metrics import PipelineMetrics
from services.replay.bulk import bulk_replay
from services.store.store import Store
from services.stream.batch import stored_and_retired
from services.stream.processor import StreamProcessor
from tests.support.builders import T0, Rec, ev, raw
from tests.support.incremental import numbered_lines, replay

DAY = 86_400
NOW = T0 + timedelta(days=100)


def history() -> list[dict[str, Any]]:
    old = [
        ev("contact.queued", 1 * DAY, contact="OLD", channel="phone", queue="revenues"),
        ev("contact.answered", 1 * DAY + 20, contact="OLD"),
        ev("contact.ended", 1 * DAY + 200, contact="OLD"),
    ]
    recent = [
        ev("contact.queued", 95 * DAY, contact="NEW", channel="phone", queue="revenues"),
        ev("contact.ended", 95 * DAY + 40, contact="NEW"),
    ]
    return [*old, *recent]


def lines(items: list[dict[str, Any]]) -> bytes:
    return b"\n".join(orjson.dumps(e) for e in items) + b"\n"


def facts(db: Path) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT * FROM contacts ORDER BY contact_id").fetchall()
    finally:
        con.close()


@pytest.fixture
def retired(tmp_path: Path) -> Path:
    db = tmp_path / "r.duckdb"
    with Store(db) as store:
        bulk_replay([("h", io.BytesIO(lines(history())))], store, MetricRules(), ingest_time=NOW)
        done = store.apply_retention(30, now=NOW)
        assert (done.contacts, done.events) == (1, 3)  # OLD's three; NEW is within 30 days
        assert store.con.execute("SELECT DISTINCT contact_id FROM contact_events").fetchall() == [("NEW",)]
        assert store.con.execute("SELECT count(*) FROM contacts").fetchall() == [(2,)]  # facts kept
    return db


LATE = ev("contact.surveyed", 99 * DAY, contact="OLD", rating=2)  # a survey long after the call


def test_a_late_event_through_each_replay_changes_nothing(retired: Path) -> None:
    before = facts(retired)
    with Store(retired) as store:
        summary = bulk_replay([("late", io.BytesIO(lines([LATE])))], store, MetricRules(), ingest_time=NOW)
        assert summary.rejected["beyond_retention"] == 1 and summary.new_events == 0
        summary = replay(
            numbered_lines("late", io.BytesIO(lines([{**LATE, "id": "late-2"}]))), store, MetricRules(), ingest_time=NOW
        )
        assert summary.new_events == 0
        kept = store.con.execute("SELECT reason FROM rejected_events").fetchall()
    assert facts(retired) == before
    assert kept == [("beyond_retention",), ("beyond_retention",)]


def test_a_late_event_through_the_consumer_changes_nothing_and_the_known_ids_shrink(retired: Path) -> None:
    before = facts(retired)
    registry = CollectorRegistry()
    proc = StreamProcessor(
        FactEngine(MetricRules()), Store(retired), PipelineMetrics(registry), LiveBoard(), "contact.events.v1"
    )
    proc.recover()
    assert proc.known is not None and len(proc.known.ids.stored) == 2  # NEW's two events only
    proc.commit(proc.decode([Rec(0, raw(LATE))], ingest_time=NOW))
    assert registry.get_sample_value("contactpulse_events_rejected_total", {"reason": "beyond_retention"}) == 1
    proc.store.close()
    assert facts(retired) == before


def test_the_retention_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "c.duckdb"
    with Store(db) as store:
        bulk_replay([("h", io.BytesIO(lines(history())))], store, MetricRules(), ingest_time=NOW)
    assert main(["retention", "--db", str(db), "--days", "3"]) == 2  # under a week
    assert main(["retention", "--db", str(db), "--days", "30"]) == 0
    out = capsys.readouterr()
    assert "retention is at least 7 days" in out.err and "deleted; facts kept" in out.out


def test_a_retired_contact_with_a_late_event_stored_is_still_refused(retired: Path) -> None:
    """A late event written while the contact was still in the consumer's memory is not its history."""
    with Store(retired) as store:
        store.con.execute(
            "INSERT INTO contact_events SELECT * REPLACE ('late-1' AS id, 'OLD' AS contact_id) "
            "FROM contact_events WHERE contact_id = 'NEW' LIMIT 1"
        )
        events, found = stored_and_retired(store, [("boston", "OLD"), ("boston", "NEW")], None)
    assert found == {("boston", "OLD")} and {e.contact_id for e in events} == {"NEW"}
