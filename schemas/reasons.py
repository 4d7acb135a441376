"""Turning a raw message into a contract event, or into a stable rejection reason.

Reasons (stable; they become the dead-letter ``reason`` header):

- ``invalid_json``: not UTF-8 JSON
- ``not_cloudevent``: not an object, or ``specversion``/``id``/``source``/``type``
  missing, or ``specversion`` is not "1.0"
- ``unknown_type``: ``type`` is not one of contract v1's event types
- ``bad_field:<name>``: a field breaks its rule or a required one is missing
  (envelope fields by their name, ``data`` fields by theirs: ``bad_field:queue``)
- ``pii_in_customer_ref``: ``customer_ref`` contains ``@`` or no letter at all
- ``before_2000`` / ``future_time``: ``time`` outside the accepted range
- ``subject_mismatch``: ``subject`` differs from ``data.contact_id``

Valid messages take the fast path (pydantic-core straight from JSON); only a
failure pays for classifying the reason.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from schemas.events import EVENT_ADAPTER, FUTURE_TOLERANCE_SECONDS, LIFECYCLE_RANK, SPECVERSION, ContactEvent

INVALID_JSON = "invalid_json"
NOT_CLOUDEVENT = "not_cloudevent"
UNKNOWN_TYPE = "unknown_type"
PII = "pii_in_customer_ref"
FUTURE_TIME = "future_time"
BEFORE_2000 = "before_2000"
SUBJECT_MISMATCH = "subject_mismatch"
BAD_FIELD_PREFIX = "bad_field:"

_CE_REQUIRED = ("specversion", "id", "source", "type")
_LETTER = re.compile(r"[A-Za-z]")


class Rejected(ValueError):
    """A message that breaks the contract; ``reason`` is short and stable."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def parse_event(raw: bytes | str, ingest_time: datetime | None = None) -> ContactEvent:
    """Validate one raw message against contract v1; ``ingest_time`` defaults to now (UTC)."""
    try:
        event = EVENT_ADAPTER.validate_json(raw)
    except ValidationError as exc:
        raise _classify(raw, exc) from None
    now = ingest_time or datetime.now(UTC)
    if (event.time - now).total_seconds() > FUTURE_TOLERANCE_SECONDS:
        raise Rejected(FUTURE_TIME, f"time {event.time.isoformat()} is after ingest {now.isoformat()}")
    return event


def is_pii(value: Any) -> bool:
    """The pseudonym rule: an email address or a bare number is never a customer_ref."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and ("@" in value or not _LETTER.search(value))


def _classify(raw: bytes | str, exc: ValidationError) -> Rejected:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as bad:
        return Rejected(INVALID_JSON, str(bad))
    if not isinstance(obj, dict) or any(k not in obj for k in _CE_REQUIRED):
        return Rejected(NOT_CLOUDEVENT, "not a CloudEvents 1.0 object")
    if obj["specversion"] != SPECVERSION or not isinstance(obj["type"], str):
        return Rejected(NOT_CLOUDEVENT, f"specversion {obj['specversion']!r}")
    if obj["type"] not in LIFECYCLE_RANK:
        return Rejected(UNKNOWN_TYPE, obj["type"][:80])
    data = obj.get("data")
    if isinstance(data, dict) and is_pii(data.get("customer_ref")):
        return Rejected(PII, "customer_ref looks like an email address or a phone number")
    first = min(exc.errors(include_url=False), key=_rank)
    return Rejected(_reason(first), f"{'.'.join(str(p) for p in first['loc'][1:])}: {first['msg']}"[:200])


def _rank(err: ErrorDetails) -> int:
    """Which error names the reason: field errors, then the time range, then subject."""
    if err["type"] == "subject_mismatch":
        return 2
    return 1 if err["type"] == "greater_than_equal" and _field(err) == "time" else 0


def _reason(err: ErrorDetails) -> str:
    if err["type"] == "subject_mismatch":
        return SUBJECT_MISMATCH
    name = _field(err)
    if name == "time" and err["type"] == "greater_than_equal":
        return BEFORE_2000
    return BAD_FIELD_PREFIX + name


def _field(err: ErrorDetails) -> str:
    # loc is (<type tag>, field, ...) for the discriminated union
    names = [p for p in err["loc"][1:] if isinstance(p, str)]
    if len(names) >= 2 and names[0] == "data":
        return names[1]
    return names[0] if names else "event"
