"""Driving an adapter: each record's events checked by the contract (the consumer's own rules), sent to
the sink, counted; a record that cannot be read, or that makes an event the contract refuses, rejected
whole, with its line number and reason. Nothing is dropped silently."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from pipelines.decode import decode
from pipelines.events import micros
from schemas.reasons import Rejected
from services.ingest.adapters.base import Reject, Unreadable, redact_numbers
from services.ingest.adapters.sinks import Sink

STARTED = "contact.started"
Item = tuple[int, list[dict[str, Any]] | Reject]  # (line, the record's events, or why it was rejected)


def attempt(line: int, record: Any, mapper: Callable[[Any], list[dict[str, Any]]]) -> Item:
    """A record's events, or its rejection when the mapper cannot read it."""
    try:
        return line, mapper(record)
    except Unreadable as exc:
        text = record if isinstance(record, str) else orjson.dumps(record, default=str).decode()
        return line, Reject(line, exc.reason, exc.detail, redact_numbers(text)[:500])


@dataclass
class Summary:
    records: int = 0
    events: int = 0
    contacts: int = 0  # contact.started events: a follower over years keeps no set of ids
    rejected: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        out = [f"records read  {self.records:,}", f"contacts      {self.contacts:,}",
               f"events        {self.events:,}", f"rejected      {sum(self.rejected.values()):,}"]  # fmt: skip
        out += [f"  {reason:<32} {n:,}" for reason, n in self.rejected.most_common()]
        return out


class Runner:
    def __init__(self, sink: Sink, origin: str, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.sink, self.origin, self.now = sink, origin, now
        self.summary = Summary()

    def feed(self, items: Iterable[Item], counted: bool = True) -> None:
        """``counted``: each item is one record read (an adapter that joins records counts them itself)."""
        now = self.now()
        now_us = micros(now)
        s = self.summary
        for line, item in items:
            if counted:
                s.records += 1
            if isinstance(item, Reject):
                self._reject(item)
                continue
            out = []
            try:
                for e in item:
                    raw = orjson.dumps(e)
                    decode(raw, now, now_us)
                    out.append((e["data"]["contact_id"].encode(), raw))
            except Rejected as exc:
                self._reject(Reject(line, exc.reason, exc.detail, orjson.dumps(item).decode()))
                continue
            if out:
                self.sink.events(out)
                s.events += len(out)
                s.contacts += sum(1 for e in item if e["type"] == STARTED)

    def _reject(self, r: Reject) -> None:
        self.summary.rejected[r.reason] += 1
        self.sink.reject(r, self.origin)
