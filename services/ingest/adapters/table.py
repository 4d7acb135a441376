"""Call-detail and ticketing exports, one row per call, chat or ticket, as contract events, by a mapping
file (TOML) that names the columns; see docs/adapters.md and the two shipped mappings in docs/adapters/.

Times are read with ``time_format`` in ``time_zone`` (Europe/London local time is right on both sides of
the clock changes: an hour that happens twice is taken in the order of the row's columns, an hour that
does not happen is refused), durations as seconds or [h:]mm:ss. A row makes: started; queued (unless
self-served; ``general`` when it names no queue); for an answered row answered, one hold of the row's
hold time from the answer, and ended; for an abandoned one, ended after the queue time; wrapped_up
after the wrap time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines.redact import redact
from schemas.events import Channel
from services.ingest.adapters.base import Emitter, Reject, Unreadable, rfc3339, slug, stable_id
from services.ingest.adapters.run import Item, attempt
from services.ingest.sources import Option, Source

TIMES = ("started", "queued", "answered", "ended", "wrapped")
DURATIONS = ("queue_seconds", "talk_seconds", "hold_seconds", "wrap_seconds")
TEXTS = ("contact_id", "outcome", "channel", "queue", "service", "site", "caller", "agent", "resolution")
OUTCOMES = ("answered", "abandoned", "self_served")
RESOLUTIONS = ("resolved", "referred", "callback", "escalated", "unresolved")
SOURCE = Source(
    "csv",
    "records",
    "a call-detail or ticketing export (CSV), by a mapping file that names its columns",
    "exports/csv",
    "services.ingest.adapters.csv_cli:run",
    "https://docs.python.org/3/library/csv.html",
    (
        Option("file", "the CSV file", positional=True),
        Option("mapping", "the columns' meaning (TOML; see docs/adapters/)", required=True),
        Option("system", "the system's part of the default source URI", default="exports/csv"),
        Option(
            "workers",
            "processes that map rows (default: the cores, at most 4)",
            int,
            lambda: min(os.cpu_count() or 1, 4),
        ),
    ),
)
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)$")


@dataclass(frozen=True)
class TableMapping:
    columns: dict[str, str]  # contract name -> column heading
    outcomes: dict[str, str]  # the export's value -> answered | abandoned | self_served
    zone: tzinfo = UTC
    time_format: str = "%Y-%m-%d %H:%M:%S"
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    constants: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)  # the export's value -> contract channel
    resolutions: dict[str, str] = field(default_factory=dict)
    default_resolution: str = "resolved"

    @classmethod
    def from_toml(cls, doc: dict[str, Any]) -> TableMapping:
        unknown = set(doc) - {"csv", "columns", "outcomes", "constants", "channels", "resolutions"}
        if unknown:
            raise ValueError(f"unknown table(s) {', '.join(sorted(unknown))}")
        opts = dict(doc.get("csv", {}))
        extra = set(opts) - {"delimiter", "encoding", "time_zone", "time_format", "default_resolution"}
        if extra:
            raise ValueError(f"[csv]: unknown key(s) {', '.join(sorted(extra))}")
        try:
            zone: tzinfo = ZoneInfo(opts.get("time_zone", "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"[csv] time_zone {opts.get('time_zone')!r} is not an IANA zone") from None
        m = cls(
            {str(k): str(v) for k, v in doc.get("columns", {}).items()},
            {str(k): str(v) for k, v in doc.get("outcomes", {}).items()},
            zone,
            str(opts.get("time_format", "%Y-%m-%d %H:%M:%S")),
            str(opts.get("delimiter", ",")),
            str(opts.get("encoding", "utf-8-sig")),
            {str(k): str(v) for k, v in doc.get("constants", {}).items()},
            {str(k): str(v) for k, v in doc.get("channels", {}).items()},
            {str(k): str(v) for k, v in doc.get("resolutions", {}).items()},
            str(opts.get("default_resolution", "resolved")),
        )
        m.check()
        return m

    def check(self) -> None:
        known = set(TIMES) | set(DURATIONS) | set(TEXTS)
        if set(self.columns) - known:
            raise ValueError(f"[columns]: unknown name(s) {', '.join(sorted(set(self.columns) - known))}")
        for needed in ("contact_id", "started"):
            if needed not in self.columns:
                raise ValueError(f"[columns]: {needed} is required")
        if "outcome" not in self.columns and "outcome" not in self.constants:
            raise ValueError("[columns]: outcome is required (or a constant outcome)")
        bad = sorted(set(self.outcomes.values()) - set(OUTCOMES))
        if bad:
            raise ValueError(f"[outcomes]: {', '.join(bad)} is not one of {', '.join(OUTCOMES)}")
        channels = {c.value for c in Channel}
        bad = sorted(
            {*self.channels.values(), *([self.constants["channel"]] if "channel" in self.constants else [])} - channels
        )
        if bad:
            raise ValueError(f"channel {', '.join(bad)} is not one of {', '.join(sorted(channels))}")
        bad = sorted({*self.resolutions.values(), self.default_resolution} - set(RESOLUTIONS))
        if bad:
            raise ValueError(f"resolution {', '.join(bad)} is not one of {', '.join(RESOLUTIONS)}")


# the UK and ISO formats, read by slicing (strptime was the bench's top cost): where year, month, day,
# hour, minute, second are
_SLICES = {"%d/%m/%Y %H:%M:%S": (6, 10, 3, 5, 0, 2, 11, 13, 14, 16, 17, 19, 19),
           "%d/%m/%Y %H:%M": (6, 10, 3, 5, 0, 2, 11, 13, 14, 16, 0, 0, 16),
           "%Y-%m-%d %H:%M:%S": (0, 4, 5, 7, 8, 10, 11, 13, 14, 16, 17, 19, 19)}  # fmt: skip


def _separators(fmt: str) -> dict[int, str]:
    return {i: c for i, c in enumerate(datetime(2000, 1, 1).strftime(fmt)) if not c.isdigit()}


def _parser(fmt: str) -> Callable[[str], datetime]:
    """``strptime`` for ``fmt``; the formats of ``_SLICES`` by slicing."""
    slices = _SLICES.get(fmt)
    if slices is None:
        return lambda text: datetime.strptime(text, fmt)
    y0, y1, m0, m1, d0, d1, h0, h1, n0, n1, s0, s1, size = slices
    separators = _separators(fmt)

    def parse(text: str) -> datetime:
        if len(text) != size or any(text[i] != c for i, c in separators.items()):
            return datetime.strptime(text, fmt)  # its own error message, or a valid odd spacing
        return datetime(
            int(text[y0:y1]),
            int(text[m0:m1]),
            int(text[d0:d1]),
            int(text[h0:h1]),
            int(text[n0:n1]),
            int(text[s0:s1]) if s1 else 0,
        )

    return parse


def duration(text: str) -> float:
    """Seconds from ``125``, ``125.5``, ``02:05`` or ``1:02:05``; an empty cell is 0."""
    text = text.strip()
    if not text:
        return 0.0
    try:
        return float(text)
    except ValueError:
        pass
    m = _CLOCK.match(text)
    if m is None:
        raise Unreadable("bad_duration", f"{text[:20]!r} is neither seconds nor hh:mm:ss")
    return int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


class Table:
    def __init__(self, emitter: Emitter, mapping: TableMapping) -> None:
        self.e, self.m = emitter, mapping
        self.header: dict[str, int] = {}
        self._offsets: dict[datetime, tuple[timedelta, ...]] = {}  # local hour -> its UTC offsets
        self._parse = _parser(mapping.time_format)

    def set_header(self, row: list[str]) -> None:
        names = [h.strip() for h in row]
        missing = [c for c in self.m.columns.values() if c not in names]
        if missing:
            listed = redact(", ".join(names))[:300]  # a file without its header starts with a record
            raise ValueError(f"the file has no column {', '.join(repr(c) for c in missing)} (its columns: {listed})")
        self.header = {name: names.index(col) for name, col in self.m.columns.items()}

    def time(self, text: str, after: datetime | None) -> datetime:
        """A cell's time, in UTC."""
        try:
            naive = self._parse(text)
        except ValueError:
            raise Unreadable("bad_time", f"{text[:30]!r} is not {self.m.time_format}") from None
        if naive.tzinfo is not None:
            return naive.astimezone(UTC)
        offsets = self.offsets(naive.replace(minute=0, second=0, microsecond=0))
        if len(offsets) == 1:
            return (naive - offsets[0]).replace(tzinfo=UTC)
        if not offsets:
            raise Unreadable("no_such_local_time", f"{text} did not happen in {self.m.zone} (the clocks went forward)")
        first = (naive - offsets[0]).replace(tzinfo=UTC)  # an hour that happened twice: in the row's order
        return (naive - offsets[1]).replace(tzinfo=UTC) if after is not None and first < after else first

    def offsets(self, hour: datetime) -> tuple[timedelta, ...]:
        """The UTC offsets of a local hour (naive, on the hour), remembered."""
        offsets = self._offsets.get(hour)
        if offsets is None:
            offsets = self._offsets[hour] = self._hour_offsets(hour)
        return offsets

    def _hour_offsets(self, hour: datetime) -> tuple[timedelta, ...]:
        """The UTC offsets a local hour has: one; two when the clocks go back; none when they go forward."""
        first, second = hour.replace(tzinfo=self.m.zone), hour.replace(tzinfo=self.m.zone, fold=1)
        a, b = first.utcoffset() or timedelta(0), second.utcoffset() or timedelta(0)
        if a == b:
            return (a,)
        if first.astimezone(UTC).astimezone(self.m.zone).replace(tzinfo=None) != hour:
            return ()
        return (a, b)

    # a cell's value as the contract's
    def outcome(self, text: str) -> str:
        """answered, abandoned or self_served; "" when [outcomes] does not say."""
        return self.m.outcomes.get(text, text if text in OUTCOMES else "")

    def channel(self, text: str) -> str | None:
        return self.m.channels.get(text, text) or None

    def resolution(self, text: str) -> str:
        return self.m.resolutions.get(text, text if text in RESOLUTIONS else self.m.default_resolution)

    def cells(self, row: list[str]) -> dict[str, str]:
        """The row's mapped cells by contract name (a constant where the mapping has no column)."""
        width = len(row)
        out = dict(self.m.constants)
        for name, i in self.header.items():
            out[name] = row[i].strip() if i < width else ""
        return out

    def item(self, line: int, row: list[str]) -> Item:
        """The row's events, or its rejection with the row as the file has it (numbers masked)."""
        item = attempt(line, row, self.row)
        if isinstance(item[1], Reject):
            return line, Reject(line, item[1].reason, item[1].detail, ",".join(row)[:2000])
        return item

    def row(self, row: list[str]) -> list[dict[str, Any]]:
        c = self.cells(row)
        cid = c.get("contact_id", "")
        if not cid:
            raise Unreadable("missing:contact_id", "the row has no contact id")
        times: dict[str, datetime] = {}
        last: datetime | None = None
        for name in TIMES:
            text = c.get(name)
            if text:
                times[name] = last = self.time(text, last)
        if "started" not in times:
            raise Unreadable("missing:started", "the row has no start time")
        d = {name: duration(c.get(name, "")) for name in DURATIONS}
        outcome_text = c.get("outcome", "")
        outcome = self.outcome(outcome_text)
        if not outcome:
            raise Unreadable("unknown_outcome", f"{outcome_text[:30]!r} is not in [outcomes]")
        try:
            return self._events(cid, outcome, times, d, c)
        except OverflowError:  # a time plus the durations after it
            raise Unreadable("bad_time", "its times and durations run past the year 9999") from None

    def _events(
        self, cid: str, outcome: str, t: dict[str, datetime], d: dict[str, float], c: dict[str, str]
    ) -> list[dict[str, Any]]:
        channel = self.channel(c.get("channel", ""))
        service, site = c.get("service"), c.get("site")
        base = {
            "contact_id": cid,
            "council": self.e.council,
            "channel": channel,
            "service": slug(service) if service else None,
            "site": slug(site) if site else None,
        }
        base = {k: v for k, v in base.items() if v is not None}
        out: list[dict[str, Any]] = []
        event = self.e.event_with

        def emit(type_: str, at: datetime, **data: Any) -> None:
            out.append(event(type_, stable_id("row", cid, type_), cid, rfc3339(at), base, data))

        start = t["started"]
        emit("contact.started", start, customer_ref=self.e.ref(c.get("caller")))
        queued = None if outcome == "self_served" else t.get("queued", start)  # self-served: never waited
        if queued is not None:
            emit("contact.queued", queued, queue=slug(c.get("queue") or "general"))
        if outcome == "answered":
            answered = t.get("answered") or (queued or start) + timedelta(seconds=d["queue_seconds"])
            emit("contact.answered", answered, agent_ref=c.get("agent") or None)
            if d["hold_seconds"] > 0:
                emit("contact.hold_started", answered)
                emit("contact.hold_ended", answered + timedelta(seconds=d["hold_seconds"]))
            ended = t.get("ended") or answered + timedelta(seconds=d["talk_seconds"] + d["hold_seconds"])
        elif outcome == "abandoned":
            ended = t.get("ended") or (queued or start) + timedelta(seconds=d["queue_seconds"])
        else:
            ended = t.get("ended") or start
        emit("contact.ended", ended)
        wrapped = t.get("wrapped") or (ended + timedelta(seconds=d["wrap_seconds"]) if d["wrap_seconds"] else None)
        if wrapped is not None:
            emit("contact.wrapped_up", wrapped, resolution=self.resolution(c.get("resolution", "")))
        return out
