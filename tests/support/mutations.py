"""Seeded mutations of a valid contract v1 message, and pydantic's verdict on them: the oracle for the fast
lanes of validation (the SQL one in services/sql/validate.sql, the Python one in pipelines/decode.py), which
may leave any message to pydantic but must never accept one that pydantic rejects."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import orjson

from pipelines.events import from_contract
from schemas.reasons import Rejected, parse_event

NOW = datetime(2030, 1, 1, tzinfo=UTC)
STAGED = (
    "id",
    "type",
    "t",
    "council",
    "contact_id",
    "source",
    "channel",
    "service",
    "queue",
    "site",
    "customer_ref",
    "agent_ref",
    "resolution",
    "rating",
)


def by_pydantic(line: bytes, now: datetime = NOW) -> tuple[Any, ...] | None:
    try:
        e = from_contract(parse_event(line, now))
    except Rejected:
        return None
    return tuple(getattr(e, name) for name in STAGED)


BASE: dict[str, Any] = {
    "specversion": "1.0", "id": "e-1", "source": "/boston/telephony/cms", "type": "contact.queued",
    "time": "2026-03-02T09:15:02.120Z", "subject": "C-1",
    "data": {"contact_id": "C-1", "council": "boston", "channel": "phone", "service": "council-tax",
             "queue": "revenues", "customer_ref": "k3J9sQ0vXb2mT8aLw1Ze", "agent_ref": "agent-7"},
}  # fmt: skip
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
    "contact.x",
]
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
