"""Customer care standards (METRICS.md section 5): which contacts a standard covers, when each is due, and
its verdict, as a function of the contact's facts and its council's watermark (so replay and the stream
agree).

A standard has one limit: ``working_days`` (due at the start of the local day after working day N, day 1
being the first working day after the day of receipt; met when the milestone is before it),
``working_seconds`` (met when no more than S working seconds pass before the milestone) or ``seconds``
(wall clock). The milestone is the fact ``answered_at`` or ``wrapped_at``. A verdict is final once the
milestone exists, or once the watermark is at or past ``due_at``: then a contact without it is not met.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pipelines.events import US
from pipelines.working_time import Calendars, WorkingCalendar
from schemas.events import Channel

MILESTONES = ("answered", "wrapped_up")
LIMITS = ("working_days", "working_seconds", "seconds")
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
Limit = Literal["working_days", "working_seconds", "seconds"]


@dataclass(frozen=True)
class Standard:
    name: str  # a slug: the label value of the live series
    title: str
    channels: frozenset[str]
    services: frozenset[str]  # empty: every service
    milestone: Literal["answered", "wrapped_up"]
    limit: Limit
    amount: float  # N working days, or S seconds
    target: float  # the share to meet, 0-1

    def covers(self, channel: str | None, service: str | None) -> bool:
        return channel in self.channels and (not self.services or service in self.services)

    def due_at(self, started_us: int, channel: str | None, calendar: WorkingCalendar) -> int | None:
        """When the milestone is due; None if the calendar has no working time ahead (never due)."""
        if self.limit == "seconds":
            return started_us + round(self.amount * US)
        if self.limit == "working_seconds":
            return calendar.due_after_working_seconds(started_us, self.amount, channel)
        return calendar.due_after_working_days(started_us, int(self.amount), channel)

    def met(self, milestone_us: int, due_us: int | None) -> bool:
        """A milestone at ``due_at`` is met for seconds and working seconds, not for working days (midnight)."""
        if due_us is None:
            return True
        return milestone_us < due_us if self.limit == "working_days" else milestone_us <= due_us


@dataclass(frozen=True, slots=True)
class Verdict:
    standard: str
    due_at: int | None  # microseconds; None: no working time ahead, never due
    met: bool | None  # None while pending
    final: bool


def verdict(
    standard: Standard,
    facts: Mapping[str, Any],
    watermark_us: int | None,
    calendar: WorkingCalendar,
) -> Verdict | None:
    """The standard's verdict on one contact (its facts: started_at, answered_at, wrapped_at in microseconds,
    channel, service), or None when the standard does not cover it."""
    channel, service = facts.get("channel"), facts.get("service")
    if not standard.covers(channel, service):
        return None
    due = standard.due_at(facts["started_at"], channel, calendar)
    milestone = facts.get("answered_at" if standard.milestone == "answered" else "wrapped_at")
    if milestone is not None:
        return Verdict(standard.name, due, standard.met(milestone, due), True)
    if watermark_us is not None and due is not None and watermark_us >= due:
        return Verdict(standard.name, due, False, True)
    return Verdict(standard.name, due, None, False)


# The watermark rule in DuckDB's form, beside its Python form in ``verdict``: a pending verdict becomes final,
# and not met, once its council's watermark is at or past due_at (services/store/settle.py runs it).
FINAL_BY_WATERMARK_SQL = (
    "UPDATE contact_standards SET met = false, final = true FROM watermarks w "
    "WHERE NOT contact_standards.final AND w.council = contact_standards.council "
    "AND contact_standards.due_at <= w.watermark"
)
VerdictRow = tuple[str, str, str, int | None, bool | None, bool]  # council, contact_id, standard, due_at, met, final


def verdict_rows(contacts: Iterable[Any], standards: Sequence[Standard], calendars: Calendars) -> list[VerdictRow]:
    """Each contact's verdicts (contacts: ContactFacts or objects with its attributes) before the watermark
    rule: final where the milestone exists, else pending; the store then applies FINAL_BY_WATERMARK_SQL."""
    out: list[VerdictRow] = []
    if not standards:
        return out
    for c in contacts:
        facts = {"started_at": c.started_at, "answered_at": c.answered_at, "wrapped_at": c.wrapped_at,
                 "channel": c.channel, "service": c.service}  # fmt: skip
        calendar = calendars.of(c.council)
        for standard in standards:
            v = verdict(standard, facts, None, calendar)
            if v is not None:
                out.append((c.council, c.contact_id, v.standard, v.due_at, v.met, v.final))
    return out


def opened_out_of_hours(started_us: int, channel: str | None, calendar: WorkingCalendar) -> bool:
    """The fact ``opened_out_of_hours``: started outside the opening hours of a working day for its channel."""
    return not calendar.in_hours(started_us, channel)


@dataclass
class Tally:
    """A standard's verdicts over a period: its met rate is met-and-final / final (METRICS.md section 5)."""

    met: int = 0
    final: int = 0
    pending: int = 0

    @property
    def rate(self) -> float | None:
        return self.met / self.final if self.final else None

    def add(self, other: Tally) -> None:
        self.met += other.met
        self.final += other.final
        self.pending += other.pending


def standard_of(table: Mapping[str, Any]) -> Standard:
    """A ``[[standards]]`` table as a Standard; ValueError naming the key when one is wrong."""
    allowed = {"name", "title", "channels", "services", "milestone", "target", *LIMITS}
    unknown = set(table) - allowed
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))}")
    name = table.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"name {name!r} is not a slug (a-z, 0-9, '-' and '_')")
    channels = table.get("channels")
    known = {c.value for c in Channel}
    if not isinstance(channels, list) or not channels or not all(c in known for c in channels):
        raise ValueError(f"channels is a list of one or more of {', '.join(sorted(known))}")
    services = table.get("services", [])
    if not isinstance(services, list) or not all(isinstance(s, str) for s in services):
        raise ValueError("services is a list of services ([] for every service)")
    milestone = table.get("milestone")
    if milestone not in MILESTONES:
        raise ValueError(f"milestone {milestone!r} is one of {', '.join(MILESTONES)}")
    limits = [k for k in LIMITS if k in table]
    if len(limits) != 1:
        raise ValueError(f"a standard has exactly one limit of {', '.join(LIMITS)} (found {len(limits)})")
    limit: Limit = limits[0]  # type: ignore[assignment]
    amount = table[limit]
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount <= 0:
        raise ValueError(f"{limit} is a number above 0")
    if limit == "working_days" and not isinstance(amount, int):
        raise ValueError("working_days is a whole number of days")
    target = table.get("target")
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 <= target <= 1:
        raise ValueError(f"target {target!r} is a share between 0 and 1")
    title = table.get("title", name)
    if not isinstance(title, str):
        raise ValueError("title is text")
    return Standard(
        name, title, frozenset(channels), frozenset(services), milestone, limit, float(amount), float(target)
    )
