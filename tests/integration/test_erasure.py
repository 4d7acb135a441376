"""``contactpulse erase`` on a real DuckDB file and its snapshot: nothing of the person is left in any
table or the snapshot; the other contacts' facts and FCR equal a replay of the events without the
person's contacts, and the FCR oracle (pipelines/fcr.py); a later replay of the old events brings
nothing back, and each dropped event is counted."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from pipelines.fcr import FcrInput, verdicts
from pipelines.pseudonym import customer_ref
from pipelines.rules import MetricRules
from pipelines.standards import standard_of
from schemas.events import Channel
from services.cli import main
from services.replay.bulk import bulk_replay
from services.store.readers import snapshot_path
from services.store.store import Store
from tests.support.builders import ev

KEY = "an erasure test key, 16+ bytes"
PHONE = "01205 310099"
A = customer_ref("phone", PHONE, KEY.encode())
B = "bobsPseudonym-0000000001"
DAY = 86_400


def contact(cid: str, day: float, ref: str | None, answered_ref: str | None = None) -> list[dict[str, Any]]:
    """A handled call on ``day``: queued with ``ref``, answered (with ``answered_ref`` when given), ended."""
    t = day * DAY
    return [
        ev("contact.queued", t, contact=cid, channel="phone", service="council-tax", customer_ref=ref),
        ev("contact.answered", t + 30, contact=cid, customer_ref=answered_ref),
        ev("contact.ended", t + 300, contact=cid),
    ]


def events() -> list[dict[str, Any]]:
    out = [
        *contact("A1", 1, A),
        *contact("A2", 2, A),  # A calls again the next day
        *contact("B1", 1, B),
        *contact("X", 3, A, answered_ref=B),  # X carries A's ref, then B's
        *contact("B2", 10, B),
        *contact("N", 2, None),
    ]
    bad = ev("contact.queued", 5 * DAY, contact="R1", customer_ref="+441205310099")  # a raw number: rejected
    out.append(bad)
    out.append(
        {
            **ev("contact.queued", 5 * DAY, contact="R2", customer_ref=A),
            "data": {"contact_id": "R2", "council": "boston", "customer_ref": A, "queue": "Not A Slug"},
        }
    )  # rejected, with A's ref
    return out


# a standard covering every channel, so that contact_standards holds the person's contacts too
RULES = MetricRules(
    standards=(
        standard_of({"name": "any-1h", "channels": [c.value for c in Channel], "milestone": "answered", "seconds": 3600,
                     "target": 0.8}),
    )
)  # fmt: skip


def replay_into(db: Path, items: list[dict[str, Any]]) -> Any:
    with Store(db) as store:
        data = b"\n".join(orjson.dumps(e) for e in items) + b"\n"
        summary = bulk_replay([("f", io.BytesIO(data))], store, RULES)
        store.snapshot(snapshot_path(db))
    return summary


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


CONTACTS = "SELECT * FROM contacts JOIN contact_fcr USING (council, contact_id) ORDER BY contact_id"


def test_erase_leaves_nothing_and_the_rest_as_if_the_person_had_never_been_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "c.duckdb"
    everything = events()
    replay_into(db, everything)
    before = {r[0] for r in rows(db, "SELECT contact_id FROM contacts")}
    assert {"A1", "A2", "X", "B1"} <= before
    assert {"A1", "X"} <= {r[0] for r in rows(db, "SELECT contact_id FROM contact_standards")}
    assert rows(db, "SELECT first_contact_resolved FROM contact_fcr WHERE contact_id = 'B1'") == [(False,)]  # X

    monkeypatch.setenv("CONTACTPULSE_PSEUDONYM_KEY", KEY)
    assert main(["erase", "--db", str(db), "--phone", PHONE]) == 0
    said = capsys.readouterr().out
    assert "erased 3 contact(s), 9 event(s)" in said and "2 rejected line(s)" in said and PHONE not in said

    for path in (db, snapshot_path(db)):  # no table and no snapshot holds the ref or a line with it
        con = duckdb.connect(str(path), read_only=True)
        try:
            tables = [
                t
                for (t,) in con.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
                ).fetchall()
            ]
            for table in tables:
                text = str(con.execute(f"SELECT * FROM {table}").fetchall())
                assert A not in text and "1205310099" not in text, table
                if table != "erased_contacts":  # the erasure list keeps the erased contacts' keys, by design
                    assert "'A1'" not in text and "'X'" not in text, table
        finally:
            con.close()
    assert rows(db, "SELECT contacts, events, fcr_verdicts, rejected_lines FROM erasure_audit") == [(3, 9, 3, 2)]

    without = [e for e in everything if e["data"]["contact_id"] not in ("A1", "A2", "X", "R1", "R2")]
    oracle_db = tmp_path / "oracle.duckdb"
    replay_into(oracle_db, without)
    assert rows(db, CONTACTS) == rows(oracle_db, CONTACTS)
    standards = "SELECT * FROM contact_standards ORDER BY contact_id"
    assert rows(db, standards) == rows(oracle_db, standards)
    # and the plain FCR oracle on what is left: B1 has no repeat within 7 days now (B2 is on day 10)
    left = rows(
        db,
        "SELECT council, contact_id, epoch_us(started_at), outcome, short_abandon, customer_ref, service, "
        "resolution FROM contacts WHERE customer_ref = ?".replace("?", f"'{B}'"),
    )
    expected = {v.contact_id: v.first_contact_resolved for v in verdicts([FcrInput(*r) for r in left], 7, None)}
    got = dict(
        rows(
            db,
            f"SELECT contact_id, first_contact_resolved FROM contact_fcr WHERE contact_id IN "
            f"({', '.join(repr(c) for c in expected)})",
        )
    )
    assert got == expected == {"B1": True, "B2": True}

    # old events replayed later bring nothing back, even X's, which carry B's ref or none
    summary = replay_into(db, everything)
    assert summary.erased == 9 and summary.new_events == 0
    assert rows(db, CONTACTS) == rows(oracle_db, CONTACTS)
    standards = "SELECT * FROM contact_standards ORDER BY contact_id"
    assert rows(db, standards) == rows(oracle_db, standards)


def test_erase_mistakes_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONTACTPULSE_PSEUDONYM_KEY", raising=False)
    assert main(["erase", "--db", str(tmp_path / "none.duckdb"), "--customer-ref", A]) == 2
    db = tmp_path / "c.duckdb"
    replay_into(db, events())
    assert main(["erase", "--db", str(db), "--phone", PHONE]) == 2
    err = capsys.readouterr().err
    assert "no such database" in err and "no pseudonym key" in err and err.count("\n") == 2
