"""Replay (bulk) gives the same tables as the consumer's own code replaying the same input event by event."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

import services.store.walk
from pipelines.rules import MetricRules
from pipelines.standards import standard_of, verdict
from pipelines.working_time import Calendars, calendar_of
from services.replay.bulk import bulk_replay
from services.store.store import Store
from tests.support.builders import T0, ev
from tests.support.generator import BAD_LINES, Generator
from tests.support.incremental import numbered_lines, replay

NOW = datetime(2030, 1, 1, tzinfo=UTC)
TABLES = {
    "contacts": "SELECT * FROM contacts ORDER BY council, contact_id",
    "contact_fcr": "SELECT * FROM contact_fcr ORDER BY council, contact_id",
    "contact_events": "SELECT * EXCLUDE (ingested_at) FROM contact_events ORDER BY id",
    "rejected_events": "SELECT raw_sha256, reason, detail, raw, origin FROM rejected_events ORDER BY raw_sha256",
    "watermarks": "SELECT * FROM watermarks ORDER BY council",
    "contact_standards": "SELECT * FROM contact_standards ORDER BY council, contact_id, standard",
}
STANDARDS = tuple(
    standard_of({"name": name, "channels": channels, "milestone": milestone, limit: amount, "target": 0.8})
    for name, channels, milestone, limit, amount in [
        ("calls-20s", ["phone"], "answered", "seconds", 20),
        ("written-2wd", ["email", "web", "webchat", "chatbot"], "wrapped_up", "working_days", 2),
        ("chat-10m", ["webchat", "social", "video", "face_to_face"], "answered", "working_seconds", 600),
    ]
)
CALENDARS = Calendars(
    by_council={"east-lindsey": calendar_of({"nation": "scotland", "opening_hours": {"sat": "09:00-12:00"}})}
)


def tables(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {name: con.execute(sql).fetchall() for name, sql in TABLES.items()}
    finally:
        con.close()


def both(
    tmp: Path, chunks_of_lines: list[list[bytes]], rules: MetricRules | None = None, block_bytes: int = 32 << 20
) -> tuple[Any, Any]:
    """Replay the same files (each a list of lines), in order, by both paths; return both tables and summaries."""
    rules = rules or MetricRules()
    inc, bulk = tmp / "inc.duckdb", tmp / "bulk.duckdb"
    summaries = []
    for lines in chunks_of_lines:
        data = b"\n".join(lines) + b"\n"
        with Store(inc) as s:
            a = replay(numbered_lines("f.jsonl", io.BytesIO(data)), s, rules, ingest_time=NOW)
        with Store(bulk) as s:
            b = bulk_replay([("f.jsonl", io.BytesIO(data))], s, rules, ingest_time=NOW, block_bytes=block_bytes)
        summaries.append((a, b))
    return (tables(inc), tables(bulk)), summaries


@pytest.mark.parametrize("walk", ["here", "workers"])
def test_generated_contacts_with_duplicates_and_bad_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, walk: str
) -> None:
    if walk == "workers":  # every write walked by two processes, in batches cut at contacts many times over
        monkeypatch.setattr(services.store.walk, "IN_PROCESS_BELOW", 0)
        monkeypatch.setattr(services.store.walk, "BATCH_ROWS", 97)
    events = [e for c in Generator(21).contacts(2500) for e in c]
    rng = random.Random(4)
    lines = [orjson.dumps(e) for e in events + rng.sample(events, 300)] + list(BAD_LINES) * 3 + [b"", b"   "]
    rng.shuffle(lines)
    half = len(lines) // 2
    rules = MetricRules(standards=STANDARDS, calendars=CALENDARS)
    (inc, bulk), summaries = both(tmp_path, [lines[: half + 500], lines[half - 500 :]], rules)
    for name in TABLES:
        assert inc[name] == bulk[name], name
    assert len(inc["contacts"]) > 2000
    assert_verdicts_follow_the_python_rule(tmp_path / "bulk.duckdb", rules)
    for a, b in summaries:
        assert (a.lines, a.valid, a.duplicates, a.rejected, a.outcomes) == (
            b.lines,
            b.valid,
            b.duplicates,
            b.rejected,
            b.outcomes,
        )


def assert_verdicts_follow_the_python_rule(db: Path, rules: MetricRules) -> None:
    """contact_standards equals ``pipelines.standards.verdict`` on each contact's facts and its council's
    watermark: the SQL form of the watermark rule and the Python form agree."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        watermarks = dict(con.execute("SELECT council, epoch_us(watermark) FROM watermarks").fetchall())
        cursor = con.execute(
            "SELECT council, contact_id, channel, service, epoch_us(started_at), epoch_us(answered_at), "
            "epoch_us(wrapped_at) FROM contacts"
        )
        contacts = cursor.fetchall()
        stored = {
            (c, i, s): (d, m, f)
            for c, i, s, d, m, f in con.execute(
                "SELECT council, contact_id, standard, epoch_us(due_at), met, final FROM contact_standards"
            ).fetchall()
        }
    finally:
        con.close()
    expected = {}
    for council, contact, channel, service, started, answered, wrapped in contacts:
        facts = {"started_at": started, "answered_at": answered, "wrapped_at": wrapped, "channel": channel,
                 "service": service}  # fmt: skip
        for standard in rules.standards:
            v = verdict(standard, facts, watermarks.get(council), rules.calendars.of(council))
            if v is not None:
                expected[(council, contact, standard.name)] = (v.due_at, v.met, v.final)
    assert stored == expected
    finals = [v for v in stored.values() if v[2]]
    assert {v[1] for v in finals} == {True, False} and len(finals) < len(stored)  # met, missed and pending


TYPES = [
    "contact.started",
    "contact.queued",
    "contact.answered",
    "contact.hold_started",
    "contact.hold_ended",
    "contact.transferred",
    "contact.ended",
    "contact.wrapped_up",
    "contact.surveyed",
]


@pytest.mark.parametrize("seed", range(3))
def test_arbitrary_event_sequences(tmp_path: Path, seed: int) -> None:
    """Any order of any types, many ties in time, repeated holds and transfers, unknown channels."""
    rng = random.Random(seed)
    lines = []
    for c in range(400):
        for _ in range(rng.randint(1, 12)):
            typ = rng.choice(TYPES)
            data: dict[str, Any] = {"channel": rng.choice([None, "phone", "web", "email", "video"])}
            if typ in ("contact.queued", "contact.started") and data["channel"] is None:
                data["channel"] = "phone"
            if typ in ("contact.queued", "contact.transferred"):
                data["queue"] = rng.choice(["q1", "q2"])
            data["service"] = rng.choice([None, "waste", "housing"])
            data["customer_ref"] = rng.choice([None, "customerAAAAAAAAAAAA", "customerBBBBBBBBBBBB"])
            lines.append(orjson.dumps(ev(typ, rng.randint(0, 30) * 60.0, contact=f"C{c}", **data)))
    rng.shuffle(lines)
    (inc, bulk), _ = both(tmp_path, [lines], MetricRules(contact_timeout_seconds=600))
    for name in TABLES:
        assert inc[name] == bulk[name], name
    assert T0.year == 2026


def contact_lines(cid: str, at: float, ref: str, service: str, answered: bool = True) -> list[bytes]:
    data = {"customer_ref": ref, "service": service}
    events = [
        ev("contact.started", at, contact=cid, channel="phone", **data),
        ev("contact.queued", at + 1, contact=cid, queue="q1"),
    ]
    if answered:
        events += [
            ev("contact.answered", at + 30, contact=cid),
            ev("contact.ended", at + 300, contact=cid),
            ev("contact.wrapped_up", at + 360, contact=cid, resolution="resolved"),
        ]
    else:
        events.append(ev("contact.ended", at + 2, contact=cid))  # a short abandon
    return [orjson.dumps(e) for e in events]


def test_fcr_window_edges_and_a_contact_moving_group(tmp_path: Path) -> None:
    week = 7 * 86400.0
    ref, other = "customerAAAAAAAAAAAA", "customerBBBBBBBBBBBB"
    first = [
        *contact_lines("a", 0, ref, "waste"),
        *contact_lines("tie", 0, ref, "waste"),  # same start: not a repeat of "a"
        *contact_lines("b", week, ref, "waste"),  # exactly W after "a": inside its window
        *contact_lines("c", 2 * week + 1, ref, "waste"),  # W + 1 s after "b": outside
        *contact_lines("short", 2 * week + 600, ref, "waste", answered=False),  # never a repeat
        *contact_lines("d", 3 * week, other, "housing"),
        *contact_lines("d2", 3 * week, other, "housing"),
        *contact_lines("e", 3 * week + 3600, other, "housing"),
    ]
    # a later file moves "e" to another service: "d" loses its repeat
    second = [orjson.dumps(ev("contact.surveyed", 3 * week + 7200, contact="e", service="parking", rating=5))]
    (inc, bulk), _ = both(tmp_path, [first, second])
    assert inc["contact_fcr"] == bulk["contact_fcr"]
    verdicts = {row[1]: row[2:5] for row in bulk["contact_fcr"]}
    assert verdicts["a"] == (True, True, False) and verdicts["tie"] == (True, True, False)
    assert verdicts["b"] == (True, False, True) and verdicts["short"] == (False, None, None)
    assert verdicts["d"] == verdicts["d2"] == (True, False, True)


def test_lines_cut_across_small_blocks_keep_their_numbers(tmp_path: Path) -> None:
    """Blocks of 300 bytes: every line crosses a boundary; CRLF, blank, non-UTF-8 and bad lines on the way."""
    events = [e for c in Generator(8).contacts(40) for e in c]
    lines = [orjson.dumps(e) + (b"\r" if i % 3 == 0 else b"") for i, e in enumerate(events)]
    for at, bad in ((5, b""), (9, b'{"a":"\xff"}'), (14, b"   "), (20, BAD_LINES[0]), (33, lines[2])):
        lines.insert(at, bad)
    (inc, bulk), summaries = both(tmp_path, [lines], block_bytes=300)
    for name in TABLES:
        assert inc[name] == bulk[name], name
    origins = sorted(row[4] for row in bulk["rejected_events"])
    assert origins == ["f.jsonl:10", "f.jsonl:21"]
    ((a, b),) = summaries
    assert (a.lines, a.valid, a.duplicates, a.rejected) == (b.lines, b.valid, b.duplicates, b.rejected)
    assert b.duplicates == 1 and b.lines == len(lines) - 2
