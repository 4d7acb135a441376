"""The consumer's batch core with a fresh registry: live gauges, counters, dead letters, offsets."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from pipelines.engine import FactEngine
from pipelines.live import LiveBoard
from pipelines.rules import MetricRules
from services.exposition.metrics import LiveCollector, PipelineMetrics
from services.store.store import Store
from services.stream.processor import StreamProcessor
from tests.support.builders import T0, TOPIC, Rec, ev, raw


@pytest.fixture
def setup(tmp_path: Path) -> tuple[StreamProcessor, CollectorRegistry, list[float]]:
    registry = CollectorRegistry()
    board = LiveBoard(queue_label_limit=1)
    clock = [T0.timestamp() + 100]
    registry.register(LiveCollector(board, clock=lambda: clock[0]))
    proc = StreamProcessor(
        FactEngine(MetricRules()), Store(tmp_path / "s.duckdb"), PipelineMetrics(registry), board, TOPIC
    )
    return proc, registry, clock


def feed(proc: StreamProcessor, records: list[Rec]) -> None:
    proc.commit(proc.decode(records, ingest_time=T0.replace(year=2030)))


def test_waiting_gauges_grow_in_wall_clock_time_and_clear_on_answer(setup) -> None:
    proc, reg, clock = setup
    labels = {"council": "boston", "channel": "phone", "queue": "revenues"}
    feed(proc, [Rec(0, raw(ev("contact.started", 0))), Rec(1, raw(ev("contact.queued", 10)))])
    assert reg.get_sample_value("contactpulse_queue_waiting", labels) == 1
    assert reg.get_sample_value("contactpulse_queue_oldest_queued_timestamp_seconds", labels) == T0.timestamp() + 10
    assert reg.get_sample_value("contactpulse_queue_oldest_wait_seconds", labels) == 90
    clock[0] += 60
    assert reg.get_sample_value("contactpulse_queue_oldest_wait_seconds", labels) == 150
    assert reg.get_sample_value("contactpulse_contacts_offered_total", labels) == 1

    feed(proc, [Rec(2, raw(ev("contact.answered", 25))), Rec(3, raw(ev("contact.hold_started", 40)))])
    assert reg.get_sample_value("contactpulse_queue_waiting", labels) is None
    assert reg.get_sample_value("contactpulse_on_hold", labels) == 1
    assert reg.get_sample_value("contactpulse_contacts_answered_total", labels) == 1
    assert reg.get_sample_value("contactpulse_contacts_answered_within_sl_total", labels) == 1
    assert reg.get_sample_value("contactpulse_time_to_answer_seconds_bucket", {**labels, "le": "20.0"}) == 1
    feed(proc, [Rec(4, raw(ev("contact.ended", 100)))])
    assert reg.get_sample_value("contactpulse_on_hold", labels) is None
    assert reg.get_sample_value("contactpulse_hold_seconds_sum", {"council": "boston", "channel": "phone"}) == 60
    assert reg.get_sample_value("contactpulse_events_total", {"type": "contact.queued"}) == 1


def test_timed_out_contact_leaves_the_gauges(setup) -> None:
    proc, reg, _ = setup
    feed(proc, [Rec(0, raw(ev("contact.queued", 0)))])
    feed(
        proc,
        [Rec(1, raw(ev("contact.queued", 0, contact="C-2"))), Rec(2, raw(ev("contact.queued", 90000, contact="C-1")))],
    )
    # C-2's council watermark (C-1's event) passes C-2's time-out although nothing touches C-2
    assert proc.store.con.execute("SELECT outcome FROM contacts WHERE contact_id = 'C-2'").fetchone() == ("timed_out",)
    labels = {"council": "boston", "channel": "phone", "queue": "revenues"}
    assert reg.get_sample_value("contactpulse_queue_waiting", labels) == 1  # C-1 only


def test_bad_messages_become_dead_letters_and_duplicates_are_counted(setup) -> None:
    proc, reg, _ = setup
    good = raw(ev("contact.queued", 0))
    batch = proc.decode([Rec(0, good), Rec(1, b"{oops"), Rec(2, good)])
    write = proc.commit(batch)
    assert (batch.read, len(write.events), write.duplicates, len(batch.rejected)) == (3, 1, 1, 1)
    (dl,) = batch.dead_letters
    assert dl.value == b"{oops"
    assert dl.headers == {
        "reason": "invalid_json",
        "original_topic": TOPIC,
        "original_partition": "0",
        "original_offset": "1",
    }
    assert reg.get_sample_value("contactpulse_events_rejected_total", {"reason": "invalid_json"}) == 1
    assert reg.get_sample_value("contactpulse_events_duplicate_total") == 1


def test_records_below_the_committed_offset_are_skipped(setup) -> None:
    proc, _, _ = setup
    feed(proc, [Rec(0, raw(ev("contact.queued", 0))), Rec(1, raw(ev("contact.answered", 5)))])
    assert proc.store.offsets(TOPIC) == {0: 2}
    again = proc.decode([Rec(0, b"anything"), Rec(1, b"anything"), Rec(2, raw(ev("contact.ended", 9)))])
    assert again.read == 1 and not again.dead_letters


def test_queue_label_is_bounded(setup) -> None:
    proc, reg, _ = setup
    feed(
        proc,
        [
            Rec(0, raw(ev("contact.queued", 0, queue="one"))),
            Rec(1, raw(ev("contact.queued", 0, contact="C-2", queue="two"))),
        ],
    )
    assert (
        reg.get_sample_value("contactpulse_queue_waiting", {"council": "boston", "channel": "phone", "queue": "one"})
        == 1
    )
    assert (
        reg.get_sample_value("contactpulse_queue_waiting", {"council": "boston", "channel": "phone", "queue": "other"})
        == 1
    )


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool comes from Debian's prometheus (make setup)")
def test_promtool_accepts_the_exposition(setup) -> None:
    proc, reg, _ = setup
    feed(proc, [Rec(0, raw(ev("contact.queued", 0))), Rec(1, b"bad"), Rec(2, raw(ev("contact.answered", 3)))])
    out = subprocess.run(["promtool", "check", "metrics"], input=generate_latest(reg), capture_output=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr


def test_quiet_contacts_are_evicted_and_reloaded_when_a_late_event_comes(setup) -> None:
    proc, reg, _ = setup
    feed(proc, [Rec(0, raw(ev("contact.queued", 0))), Rec(1, raw(ev("contact.answered", 10)))])
    feed(proc, [Rec(2, raw(ev("contact.started", 10 * 86400, contact="C-2")))])  # the watermark moves 10 days on
    assert proc.evict_quiet() == 1
    assert ("boston", "C-1") not in proc.engine.states
    feed(proc, [Rec(3, raw(ev("contact.ended", 70)))])  # a late event for C-1: its stored events come back
    facts = proc.store.con.execute("SELECT talk_seconds, outcome FROM contacts WHERE contact_id = 'C-1'").fetchone()
    assert facts == (60.0, "handled")
    labels = {"council": "boston", "channel": "phone", "queue": "revenues"}
    assert reg.get_sample_value("contactpulse_contacts_answered_total", labels) == 1


def test_a_later_event_moves_the_time_out_deadline(setup) -> None:
    proc, reg, _ = setup
    labels = {"council": "boston", "channel": "phone", "queue": "revenues"}
    feed(proc, [Rec(0, raw(ev("contact.queued", 0, contact="C-2")))])
    feed(proc, [Rec(1, raw(ev("contact.queued", 50000, contact="C-2")))])  # still waiting, active later
    feed(proc, [Rec(2, raw(ev("contact.queued", 90000, contact="C-1")))])  # past C-2's first deadline only
    assert reg.get_sample_value("contactpulse_queue_waiting", labels) == 2
    feed(proc, [Rec(3, raw(ev("contact.ended", 50000 + 86400, contact="C-3")))])
    assert reg.get_sample_value("contactpulse_queue_waiting", labels) == 1  # C-1 only


def test_quiet_contacts_with_unwritten_events_are_kept(setup) -> None:
    proc, _, _ = setup
    feed(proc, [Rec(0, raw(ev("contact.ended", 0, contact="C-1"))), Rec(1, raw(ev("contact.ended", 0, contact="C-2")))])
    feed(proc, [Rec(2, raw(ev("contact.ended", 30 * 86400, contact="C-3")))])  # a month later
    assert proc.evict_quiet(keep={("boston", "C-1")}) == 1
    assert set(proc.engine.states) == {("boston", "C-1"), ("boston", "C-3")}
