"""Build raw contract events for tests: ``ev("contact.queued", 10, queue="revenues")``."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_ids = itertools.count()

DEFAULTS: dict[str, dict[str, Any]] = {
    "contact.started": {"channel": "phone"},
    "contact.queued": {"channel": "phone", "queue": "revenues"},
    "contact.transferred": {"queue": "benefits"},
    "contact.wrapped_up": {"resolution": "resolved"},
    "contact.surveyed": {"rating": 5},
}


def ev(
    type_: str, at: float, contact: str = "C-1", council: str = "boston", id_: str | None = None, **data: Any
) -> dict[str, Any]:
    """One valid event ``at`` seconds after T0; data fields default to what the type requires."""
    fields = {**DEFAULTS.get(type_, {}), **data}
    return {
        "specversion": "1.0",
        "id": id_ or f"ev-{next(_ids)}",
        "source": f"/{council}/telephony/cms",
        "type": type_,
        "time": (T0 + timedelta(seconds=at)).isoformat().replace("+00:00", "Z"),
        "subject": contact,
        "data": {"contact_id": contact, "council": council, **{k: v for k, v in fields.items() if v is not None}},
    }


def raw(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)


TOPIC = "contact.events.v1"


@dataclass(frozen=True)
class Rec:
    """A Kafka record as the consumer's batch core reads it."""

    offset: int
    value: bytes
    partition: int = 0
    topic: str = TOPIC
    key: bytes | None = b"C-1"


def london_us(y: int, m: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> int:
    """A London wall-clock time as microseconds since the epoch (working-time tests)."""
    return round(datetime(y, m, d, h, mi, s, tzinfo=ZoneInfo("Europe/London")).timestamp() * 1_000_000)


STANDARDS_TOML = """  # two customer care standards, as a settings file gives them (METRICS.md section 5)
[[standards]]
name = "calls-20s"
title = "Calls answered within 20 seconds"
channels = ["phone"]
milestone = "answered"
seconds = 20
target = 0.8
[[standards]]
name = "email-10wd"
title = "Emails answered in full within 10 working days"
channels = ["email"]
milestone = "wrapped_up"
working_days = 10
target = 0.9
"""
