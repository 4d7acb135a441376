"""Driving an adapter: each record's events checked by the contract (the consumer's own rules), sent to
the sink, counted; a record that cannot be read, or that makes an event the contract refuses, rejected
whole, with its line number and reason. Nothing is dropped silently."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from pipelines.decode import decode_object
from pipelines.events import micros
from schemas.reasons import Rejected
from services.ingest.adapters.base import Reject, Unreadable
from services.ingest.adapters.sinks import Sink

STARTED = "contact.started"
REF = b'"customer_ref":'  # in an adapter's events only contact.started carries it
Item = tuple[int, list[dict[str, Any]] | Reject]  # (line, the record's events, or why it was rejected)


# what a mapper raises on a value of a shape it did not foresee (a count that is no number, a time past
# the calendar): the record is rejected with the error's words, never the run stopped
SURPRISES = (ValueError, TypeError, KeyError, IndexError, AttributeError, ArithmeticError)


def unforeseen(exc: Exception) -> Unreadable:
    """The Unreadable of a record on which a mapper raised ``exc`` (numbers masked in its words)."""
    return Unreadable("bad_value", f"{type(exc).__name__}: {exc}"[:200])


def attempt(line: int, record: Any, mapper: Callable[[Any], list[dict[str, Any]]]) -> Item:
    """A record's events, or its rejection when the mapper cannot read it."""
    try:
        return line, mapper(record)
    except Unreadable as exc:
        why = exc
    except SURPRISES as exc:
        why = unforeseen(exc)
    text = record if isinstance(record, str) else orjson.dumps(record, default=str).decode()
    return line, Reject(line, why.reason, why.detail, text[:2000])


@dataclass
class Summary:
    records: int = 0
    events: int = 0
    contacts: int = 0  # contact.started events: a follower over years keeps no set of ids
    linked: int = 0  # of them, with a customer_ref (the others cannot be linked for first-contact resolution)
    rejected: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)  # an adapter's own counts ("still open"...)

    def lines(self) -> list[str]:
        out = [
            f"records read  {self.records:,}",
            f"contacts      {self.contacts:,}",
            f"events        {self.events:,}",
            f"rejected      {sum(self.rejected.values()):,}",
        ]
        out += [f"  {reason:<32} {n:,}" for reason, n in self.rejected.most_common()]
        if self.contacts > self.linked:
            out.append(
                f"not linked    {self.contacts - self.linked:,} contacts without customer_ref (withheld, no "
                "pseudonym key, or no telephone number or address that can be read)"
            )
        out += [f"{what:<13} {n:,}" for what, n in sorted(self.notes.items())]
        return out


Encoded = tuple[int, list[tuple[bytes, bytes]] | Reject, int]  # (line, (key, JSON) of each event or why not, started)


def encode(items: Iterable[Item], now: datetime) -> Iterator[Encoded]:
    """Each record's events checked by the contract and serialised, or the record rejected whole."""
    now_us = micros(now)
    for line, item in items:
        if isinstance(item, Reject):
            yield line, item, 0
            continue
        out = []
        started = 0
        try:
            for e in item:
                decode_object(e, now, now_us)  # the consumer's own rules
                out.append((e["data"]["contact_id"].encode(), orjson.dumps(e)))
                started += e["type"] == STARTED
        except Rejected as exc:
            yield line, Reject(line, exc.reason, exc.detail, orjson.dumps(item).decode()), 0
            continue
        yield line, out, started


@dataclass
class Batch:
    """Many records encoded at once (in a worker process): the events as one JSON Lines blob, with their
    keys and sizes, so that handing them back costs one copy rather than an object per event."""

    blob: bytes = b""
    keys: list[bytes] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    records: int = 0
    contacts: int = 0


def encode_batch(items: Iterable[Item], now: datetime) -> Batch:
    b = Batch()
    parts: list[bytes] = []
    for _, out, started in encode(items, now):
        b.records += 1
        if isinstance(out, Reject):
            b.rejects.append(out)
            continue
        for key, value in out:
            b.keys.append(key)
            b.sizes.append(len(value) + 1)
            parts.append(value)
        b.contacts += started
    parts.append(b"")
    b.blob = b"\n".join(parts)
    return b


class Runner:
    def __init__(self, sink: Sink, origin: str, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.sink, self.origin, self.now = sink, origin, now
        self.summary = Summary()

    def feed(self, items: Iterable[Item], counted: bool = True) -> None:
        """``counted``: each item is one record read (an adapter that joins records counts them itself)."""
        self.send(encode(items, self.now()), counted)

    def send(self, encoded: Iterable[Encoded], counted: bool = True) -> None:
        s = self.summary
        for _, out, started in encoded:
            if counted:
                s.records += 1
            if isinstance(out, Reject):
                s.rejected[out.reason] += 1
                self.sink.reject(out, self.origin)
            elif out:
                self.sink.events(out)
                s.events += len(out)
                s.contacts += started
                if started:
                    s.linked += sum(REF in value for _, value in out)

    def send_batch(self, b: Batch) -> None:
        s = self.summary
        s.records += b.records
        for r in b.rejects:
            s.rejected[r.reason] += 1
            self.sink.reject(r, self.origin)
        if b.keys:
            self.sink.lines(b.blob, b.keys, b.sizes)
            s.events += len(b.keys)
            s.contacts += b.contacts
            s.linked += b.blob.count(REF)
