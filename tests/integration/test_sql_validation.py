"""The SQL lane of contract validation (services/sql/validate.sql) never accepts what pydantic rejects.

The lane may leave a valid line to pydantic (that costs time, not correctness), but any line it
accepts must be one ``parse_event`` accepts, with the same staged values. Checked on the generator's
valid events, on every rejection case of the unit tests, and on thousands of seeded mutations.
"""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipelines.events import from_contract
from schemas.reasons import Rejected, parse_event
from services.bulk_replay import blocks, split_lines
from services.sql_lane import filter_pushdown_off, validation_sql
from services.store import Store
from tests.support.generator import Generator
from tests.unit.test_events import NOW as REJECTIONS_NOW
from tests.unit.test_events import REJECTIONS

NOW = datetime(2030, 1, 1, tzinfo=UTC)
STAGED = ("id", "type", "t", "council", "contact_id", "source", "channel", "service", "queue", "site",
          "customer_ref", "agent_ref", "resolution", "rating")  # fmt: skip


def sql_lane(tmp: Path, lines: list[bytes], now: datetime = NOW) -> dict[int, tuple[Any, ...]]:
    """The rows the SQL lane accepts, by line index."""
    with Store(tmp / "v.duckdb") as store:
        query = validation_sql(now)
        out: dict[int, tuple[Any, ...]] = {}
        for block in blocks([("f", io.BytesIO(b"\n".join(lines) + b"\n"))]):
            table, _ = split_lines(block)
            store.con.register("_chunk", table)
            with filter_pushdown_off(store.con):
                rows = store.con.execute(query).fetchall()
            out.update({r[0]: tuple(r[1:]) for r in rows})
        return out


def by_pydantic(line: bytes, now: datetime = NOW) -> tuple[Any, ...] | None:
    try:
        e = from_contract(parse_event(line, now))
    except Rejected:
        return None
    return tuple(getattr(e, name) for name in STAGED)


def test_plain_valid_events_take_the_sql_lane_with_pydantic_values(tmp_path: Path) -> None:
    events = [e for c in Generator(5, start=datetime(2026, 3, 1, tzinfo=UTC)).contacts(600) for e in c]
    lines = [orjson.dumps(e) for e in events]
    accepted = sql_lane(tmp_path, lines)
    assert len(accepted) == len(lines)
    for i, line in enumerate(lines):
        assert accepted[i] == by_pydantic(line), line


def test_no_rejection_case_is_accepted(tmp_path: Path) -> None:
    lines = [message for _, message, _ in REJECTIONS]
    assert sql_lane(tmp_path, lines, REJECTIONS_NOW) == {}


BASE: dict[str, Any] = {
    "specversion": "1.0", "id": "e-1", "source": "/boston/telephony/cms", "type": "contact.queued",
    "time": "2026-03-02T09:15:02.120Z", "subject": "C-1",
    "data": {"contact_id": "C-1", "council": "boston", "channel": "phone", "service": "council-tax",
             "queue": "revenues", "customer_ref": "k3J9sQ0vXb2mT8aLw1Ze", "agent_ref": "agent-7"},
}  # fmt: skip
TYPES = ["contact.started", "contact.queued", "contact.answered", "contact.hold_started", "contact.hold_ended",
         "contact.transferred", "contact.ended", "contact.wrapped_up", "contact.surveyed", "contact.x"]  # fmt: skip
VALUES: list[Any] = [
    None, "", " ", "x" * 128, "x" * 129, "é" * 64, "é" * 65, 5, 0, 6, -1, 5.0, 4.5, True, [], {}, {"a": 1}, "1.0",
    "1.0 ", "C-1", "C-2", "boston", "Boston", "b", "a" * 40, "a" * 41, "-tax", "tax_", "phone", "fax", "resolved",
    "sorted", "5", "2026-03-02T09:15:02Z", "2026-03-02T09:15:02.1234567Z", "2026-03-02T09:15:02",
    "2026-02-30T00:00:00Z", "2026-03-02T24:00:00Z", "2026-03-02T23:59:60Z", "2026-03-02t09:15:02z",
    "2026-03-02 09:15:02Z",
    "2026-03-02T09:15:02+01:30", "2026-03-02T09:15:02-23:59", "2026-03-02T09:15:02+0100", "1999-12-31T23:59:59Z",
    "2000-01-01T00:00:00Z", "2000-01-01T00:30:00+01:00", "2029-12-31T23:59:00Z", "2030-01-01T00:04:59Z",
    "2030-01-01T00:05:00Z", "2030-01-01T00:05:01Z", "2099-01-01T00:00:00Z", "07700900123", "jo@example.org",
    "k3J9sQ0vXb2mT8aL", "k3J9sQ0vXb2mT8a", "0123456789-_0123", "application/json", "text/xml", "a\nb", "a\"b",
    "a\\b", "a/b", "\u00e9", "\ud7ff", "C\u200d1", "\x7f",
]  # fmt: skip
TEXT_EDITS = [",}", ", }", "NaN", "Infinity", "-inf", "\\u0041", "\ufeff", " ", "\t", "\x00", "//", "}", "\\"]


def mutate(rng: random.Random) -> bytes:
    event: dict[str, Any] = orjson.loads(orjson.dumps(BASE))
    for _ in range(rng.randint(1, 3)):
        data = event.get("data")
        where = data if isinstance(data, dict) and rng.random() >= 0.4 else event
        key = rng.choice([*where.keys(), "rating", "resolution", "extra"])
        if rng.random() < 0.15:
            where.pop(key, None)
        elif key == "type" or rng.random() < 0.1:
            event["type"] = rng.choice(TYPES)
        else:
            where[key] = rng.choice(VALUES)
    text = orjson.dumps(event).decode()
    roll = rng.random()
    if roll < 0.15:  # a duplicate key, whose last value pydantic takes
        key = rng.choice(["id", "type", "time", "subject", "contact_id", "council", "channel", "queue", "rating"])
        text = text.replace(f'"{key}":', f'"{key}":{orjson.dumps(rng.choice(VALUES)).decode()},"{key}":', 1)
    elif roll < 0.4:
        at = rng.randrange(len(text) + 1)
        text = text[:at] + rng.choice(TEXT_EDITS) + text[at + rng.choice([0, 0, 1]) :]
    elif roll < 0.45:
        text = text.replace("contact", "cont\\u0061ct", 1)
    return text.encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("seed", range(4))
def test_mutations_accepted_by_sql_are_accepted_by_pydantic_with_equal_values(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    lines = [mutate(rng) for _ in range(2500)]
    accepted = sql_lane(tmp_path, lines)
    for i, row in accepted.items():
        assert row == by_pydantic(lines[i]), lines[i]
    valid = sum(by_pydantic(line) is not None for line in lines)
    # both sides are exercised: about half the valid mutations take the lane (not those with a repeated key,
    # a backslash, or another type's field that is not a string), and many lines are rejected
    assert 0.45 * valid < len(accepted) <= valid < 0.8 * len(lines)
