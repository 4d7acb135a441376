"""Replay a few thousand generated contacts, shuffled, duplicated and salted with bad lines,
and check the DuckDB tables against the plain oracle."""

from __future__ import annotations

import io
import random
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from pipelines.rules import MetricRules
from services.store.store import Store
from tests.support.generator import BAD_LINES, Generator
from tests.support.incremental import numbered_lines, replay
from tests.support.oracle import oracle

N_CONTACTS = 3000


@pytest.fixture(scope="module")
def corpus() -> tuple[list[dict[str, Any]], list[bytes]]:
    gen = Generator(seed=42)
    events = [e for contact in gen.contacts(N_CONTACTS) for e in contact]
    latest = max(events, key=lambda e: datetime.fromisoformat(e["time"]))
    still_waiting = dict(latest, id="still-waiting", type="contact.queued", subject="C-waiting")
    still_waiting["data"] = {**latest["data"], "contact_id": "C-waiting", "channel": "phone", "queue": "revenues"}
    events.append(still_waiting)
    rng = random.Random(7)
    lines = [orjson.dumps(e) for e in events]
    lines += [orjson.dumps(e) for e in rng.sample(events, 500)]  # duplicates
    pii = dict(events[0], id="pii-1", data={**events[0]["data"], "customer_ref": "jo@example.org"})
    lines += [
        *BAD_LINES,
        orjson.dumps(pii),
        b'{"specversion":"1.0","id":"u","source":"/s","type":"contact.x","time":"x"}',
    ]
    rng.shuffle(lines)
    return events, lines


def run(db: Path, lines: list[bytes]) -> Any:
    with Store(db) as store:
        return replay(numbered_lines("t.jsonl", io.BytesIO(b"\n".join(lines))), store, MetricRules())


def contacts_table(db: Path) -> dict[tuple[str, str], dict[str, Any]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute("SELECT * EXCLUDE (last_event_at) FROM contacts")
        cols = [d[0] for d in cur.description]
        return {(r[0], r[1]): dict(zip(cols, r, strict=True)) for r in cur.fetchall()}
    finally:
        con.close()


def test_contacts_table_matches_the_oracle(tmp_path: Path, corpus: tuple[list[dict[str, Any]], list[bytes]]) -> None:
    events, lines = corpus
    db = tmp_path / "c.duckdb"
    summary = run(db, lines)
    assert summary.lines == len(lines)
    assert summary.valid == len(events) + 500
    assert summary.duplicates == 500
    assert sum(summary.rejected.values()) == 5
    assert summary.rejected["pii_in_customer_ref"] == 1 and summary.rejected["unknown_type"] == 1

    by_contact: dict[tuple[str, str], list[dict[str, Any]]] = {}
    watermarks: dict[str, datetime] = {}
    for e in events:
        key = (e["data"]["council"], e["data"]["contact_id"])
        by_contact.setdefault(key, []).append(e)
        t = datetime.fromisoformat(e["time"])
        watermarks[key[0]] = max(t, watermarks.get(key[0], t))
    table = contacts_table(db)
    assert set(table) == set(by_contact)
    outcomes = set()
    for key, evs in by_contact.items():
        expected = oracle(evs, watermarks[key[0]])
        actual = table[key]
        for col, value in expected.items():
            if isinstance(value, float):
                assert actual[col] == pytest.approx(value, abs=1e-6), (key, col)
            else:
                assert actual[col] == value, (key, col)
        outcomes.add(actual["outcome"])
    assert outcomes == {"handled", "abandoned", "self_served", "open", "timed_out"}
    check_fcr(db, table, watermarks)


def check_fcr(db: Path, table: dict[tuple[str, str], dict[str, Any]], watermarks: dict[str, datetime]) -> None:
    """FCR of every contact against a plain computation over the contacts table (METRICS.md section 2)."""
    con = duckdb.connect(str(db), read_only=True)
    fcr = {(r[0], r[1]): r[2:] for r in con.execute("SELECT * FROM contact_fcr").fetchall()}
    con.close()
    assert set(fcr) == set(table)
    window = timedelta(days=7)
    repeats = 0
    for key, c in table.items():
        eligible = c["outcome"] in ("handled", "self_served") and c["customer_ref"] and c["service"]
        final = watermarks[key[0]] >= c["started_at"] + window
        if not eligible:
            assert fcr[key] == (False, None, None, final), key
            continue
        has_repeat = any(
            o["council"] == c["council"]
            and o["customer_ref"] == c["customer_ref"]
            and o["service"] == c["service"]
            and not o["short_abandon"]
            and c["started_at"] < o["started_at"] <= c["started_at"] + window
            for o in table.values()
        )
        repeats += has_repeat
        resolved = not has_repeat and c["resolution"] in (None, "resolved")
        assert fcr[key] == (True, has_repeat, resolved, final), key
    assert repeats > 10  # the corpus has repeats to find


def test_replay_again_and_overlapping_leaves_the_same_result(tmp_path: Path, corpus: Any) -> None:
    _, lines = corpus
    db = tmp_path / "c.duckdb"
    half = len(lines) // 2
    run(db, lines[: half + 1000])
    run(db, lines[half - 1000 :])
    once = tmp_path / "once.duckdb"
    run(once, lines)
    again = run(once, lines)
    assert again.new_events == 0
    assert contacts_table(db) == contacts_table(once)
    for table in ("contact_events", "rejected_events"):
        q = f"SELECT count(*) FROM {table}"
        a = duckdb.connect(str(db), read_only=True)
        b = duckdb.connect(str(once), read_only=True)
        assert a.execute(q).fetchone() == b.execute(q).fetchone()
        a.close()
        b.close()
    # one row per event id: the writers drop known ids (there is no index to refuse them)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) - count(DISTINCT id) FROM contact_events").fetchone() == (0,)
    con.close()


def cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], input=stdin, capture_output=True, timeout=120)


def test_cli_replays_stdin_and_prints_a_summary(tmp_path: Path, corpus: Any) -> None:
    _, lines = corpus
    out = cli("replay", "-", "--db", str(tmp_path / "c.duckdb"), stdin=b"\n".join(lines[:2000]))
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    for label in ("lines read", "valid", "duplicates", "rejected", "contacts by outcome"):
        assert label in text
    assert "2,000" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", "/no/such/file.jsonl", "--db", "{tmp}/x.duckdb"], "cannot read /no/such/file.jsonl"),
        (["replay", "-", "--db", "{tmp}"], "is a directory"),
        (["--config", "/no/such.toml", "replay", "-", "--db", "{tmp}/x.duckdb"], "config file not found"),
    ],
)
def test_cli_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    out = cli(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    err = out.stderr.decode().strip()
    assert out.returncode == 2
    assert message in err and "\n" not in err and "Traceback" not in err
