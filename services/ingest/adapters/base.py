"""What every adapter shares: making contract events (deterministic ids, pseudonyms made here from the
caller's number, never kept), and rejected records with a line number and a stable reason.

Reasons (the dead-letter ``reason`` header and the reject file's): ``unmappable:<why>`` for a record the
adapter cannot read, or the contract's own reason (``bad_field:queue``...) for an event it made wrong.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipelines.pseudonym import PseudonymError, customer_ref
from pipelines.redact import redact

UNMAPPABLE = "unmappable:"
MAX_ID = 128
KeyFor = Callable[[str], bytes | None]  # council -> its pseudonym key
MAX_RECORD = 500  # characters of a rejected record kept in the reject file and the dead letter


class Unreadable(ValueError):
    """A record no event can be made of; ``why`` becomes ``unmappable:<why>``."""

    def __init__(self, why: str, detail: str = "") -> None:
        super().__init__(f"{why}: {detail}" if detail else why)
        self.reason = UNMAPPABLE + why
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Reject:
    """A rejected record. Its detail and text are masked here, once, whatever made it (pipelines.redact):
    no identifier reaches a reject file, a dead letter or a log through a Reject."""

    line: int  # the record's line number in its file (1-based; for JSON files, the line it starts on)
    reason: str
    detail: str
    record: str  # the record's text, identifiers masked, at most MAX_RECORD characters

    def __post_init__(self) -> None:
        object.__setattr__(self, "detail", redact(self.detail))
        object.__setattr__(self, "record", redact(self.record)[:MAX_RECORD])


_SLUG = re.compile(r"[^a-z0-9_-]+")


@functools.lru_cache(maxsize=4096)  # a system has a few dozen queues, services and sites, on every record
def slug(name: str) -> str:
    """A system's queue or site name as the contract's slug (lower case; other characters as '-')."""
    s = _SLUG.sub("-", name.strip().lower()).strip("-_")
    return s[:64] or "unnamed"


def stable_id(*parts: object) -> str:
    """A deterministic event id: reading the same records again gives the same ids (duplicates, not new)."""
    text = ":".join(map(str, parts))
    return text if len(text) <= MAX_ID else text[:80] + ":" + hashlib.sha256(text.encode()).hexdigest()[:40]


@functools.lru_cache(maxsize=64)
def _day(day: int) -> str:
    return datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%dT")


@functools.lru_cache(maxsize=256)  # a log's lines come in time order, several to a second
def rfc3339_seconds(epoch: int) -> str:
    """``%Y-%m-%dT%H:%M:%S.000Z`` of epoch seconds; the day's part remembered, the rest by arithmetic
    (a third of strftime's cost, which was a tenth of the queue log's)."""
    day, second = divmod(epoch, 86400)
    hour, second = divmod(second, 3600)
    minute, second = divmod(second, 60)
    return f"{_day(day)}{hour:02d}:{minute:02d}:{second:02d}.000Z"


def rfc3339(t: datetime) -> str:
    if t.tzinfo is not UTC:  # adapters mostly hold UTC already: astimezone is a third of this call's time
        t = t.astimezone(UTC)
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Emitter:
    """Contract events of one system: its council and source, and the council's pseudonym key."""

    council: str
    source: str
    key: bytes | None = None

    def ref(self, number: str | None, kind: str = "phone") -> str | None:
        """The caller's number (or email) as customer_ref (None when there is no key or no usable value)."""
        if not number or self.key is None:
            return None
        try:
            return customer_ref(kind, number, self.key)
        except PseudonymError:
            return None

    def event(self, type_: str, event_id: str, contact_id: str, at: datetime, **data: Any) -> dict[str, Any]:
        return self.event_with(
            type_, event_id, contact_id, rfc3339(at), {"contact_id": contact_id, "council": self.council}, data
        )

    def event_with(
        self, type_: str, event_id: str, contact_id: str, time: str, base: dict[str, Any], data: dict[str, Any]
    ) -> dict[str, Any]:
        """An event at ``time`` (RFC 3339) whose ``data`` is ``base`` (with contact_id and council) and the
        non-null ``data``."""
        body = {**base}
        for k, v in data.items():
            if v is not None:
                body[k] = v
        return {
            "specversion": "1.0",
            "id": event_id,
            "source": self.source,
            "type": type_,
            "time": time,
            "subject": contact_id,
            "data": body,
        }
