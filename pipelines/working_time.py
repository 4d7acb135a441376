"""Working time (METRICS.md section 5): a council's working calendar, its working days and working seconds.

A calendar has a nation (its public holidays: the UK subdivision's in the ``holidays`` package, for any
year asked about), extra closures, and opening hours per weekday, optionally per channel. Opening hours
are local and half-open, ``[open, close)``. A working day is a local date with opening hours for the
channel that is neither a public holiday nor a closure (the package's list as it is, weekend dates
included). Instants are microseconds since the epoch (UTC), as everywhere in ``pipelines``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

from pipelines.calendar import DEFAULT_TIMEZONE
from pipelines.events import US

NATIONS = {"england-and-wales": "ENG", "scotland": "SCT", "northern-ireland": "NIR"}  # -> the GB subdivision
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HOURS = "09:00-17:00"
DEFAULT_WEEK = {day: DEFAULT_HOURS for day in WEEKDAYS[:5]}
CLOSED = "closed"
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
LOOKAHEAD_DAYS = 3660  # a due date is looked for this many days ahead at most (ten years without a working day)

Hours = tuple[time, time] | None  # [open, close) local, or closed
Week = tuple[Hours, ...]  # Monday to Sunday


def parse_hours(text: str) -> Hours:
    """``"HH:MM-HH:MM"`` (close after open; ``24:00`` is midnight at the end of the day) or ``"closed"``;
    ValueError naming the value otherwise."""
    if text == CLOSED:
        return None
    m = _HOURS.match(text)
    if not m or (m.group(3) == "24" and m.group(4) != "00"):
        raise ValueError(f"{text!r} is not opening hours (HH:MM-HH:MM, or {CLOSED!r})")
    opens = time(int(m.group(1)), int(m.group(2)))
    closes = time.max if m.group(3) == "24" else time(int(m.group(3)), int(m.group(4)))
    if closes <= opens:
        raise ValueError(f"{text!r}: closes before it opens")
    return opens, closes


def parse_week(table: Mapping[str, str], base: Week | None = None) -> Week:
    """A week from ``{mon: "09:00-17:00", ...}``: over ``base`` (a channel's table over the council's week),
    or alone (a council's own hours: a weekday not listed is closed)."""
    unknown = set(table) - set(WEEKDAYS)
    if unknown:
        raise ValueError(f"unknown weekday(s) {', '.join(sorted(unknown))} (one of {', '.join(WEEKDAYS)})")
    week: list[Hours] = list(base) if base is not None else [None] * 7
    for i, day in enumerate(WEEKDAYS):
        if day in table:
            week[i] = parse_hours(table[day])
    return tuple(week)


@cache
def _public_holidays(nation: str) -> holidays.HolidayBase:
    """The nation's public holidays; the package fills in each year as it is first asked about."""
    return holidays.country_holidays("GB", subdiv=NATIONS[nation])


@dataclass(frozen=True)
class WorkingCalendar:
    nation: str = "england-and-wales"
    closures: frozenset[date] = frozenset()
    week: Week = field(default_factory=lambda: parse_week(DEFAULT_WEEK))
    channel_weeks: Mapping[str, Week] = field(default_factory=dict)
    timezone: str = DEFAULT_TIMEZONE
    # (day, channel) -> window: every contact's start is looked up (opened_out_of_hours)
    _windows: dict[tuple[date, str | None], tuple[int, int] | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        if self.nation not in NATIONS:
            raise ValueError(f"nation {self.nation!r} is not one of {', '.join(NATIONS)}")

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)

    def is_holiday(self, day: date) -> bool:
        return day in _public_holidays(self.nation) or day in self.closures

    def hours(self, day: date, channel: str | None) -> Hours:
        """The day's opening hours for the channel, or None when it is not a working day."""
        if self.is_holiday(day):
            return None
        week = self.channel_weeks.get(channel or "", self.week)
        return week[day.weekday()]

    def window(self, day: date, channel: str | None) -> tuple[int, int] | None:
        """The day's opening hours for the channel as instants ``[open, close)``, or None."""
        key = (day, channel)
        if key not in self._windows:
            self._windows[key] = self._window(day, channel)
        return self._windows[key]

    def _window(self, day: date, channel: str | None) -> tuple[int, int] | None:
        hours = self.hours(day, channel)
        if hours is None:
            return None
        opens = _instant(day, hours[0], self.zone)
        closes = _instant(day + timedelta(days=1), time(0), self.zone) if hours[1] == time.max else None
        return opens, closes if closes is not None else _instant(day, hours[1], self.zone)

    def local_date(self, us: int) -> date:
        return datetime.fromtimestamp(us / US, self.zone).date()

    def windows(self, start_us: int, channel: str | None) -> Iterator[tuple[int, int]]:
        """The working windows from the local day of ``start_us`` on, in order (at most LOOKAHEAD_DAYS)."""
        day = self.local_date(start_us)
        for _ in range(LOOKAHEAD_DAYS):
            w = self.window(day, channel)
            if w is not None:
                yield w
            day += timedelta(days=1)

    def in_hours(self, us: int, channel: str | None) -> bool:
        """Within the opening hours of a working day for the channel (``opened_out_of_hours`` is its negation)."""
        w = self.window(self.local_date(us), channel)
        return w is not None and w[0] <= us < w[1]

    def working_seconds(self, start_us: int, end_us: int, channel: str | None) -> float:
        """The length of ``[start, end)``'s overlap with the working windows, in seconds."""
        total = 0
        for opens, closes in self.windows(start_us, channel):
            if opens >= end_us:
                break
            total += max(0, min(closes, end_us) - max(opens, start_us))
        return total / US

    def due_after_working_seconds(self, start_us: int, seconds: float, channel: str | None) -> int | None:
        """The latest instant by which no more than ``seconds`` working seconds have passed since ``start``
        (when they run out exactly at a closing, the next opening); None if no working time is ahead."""
        left = round(seconds * US)
        for opens, closes in self.windows(start_us, channel):
            begin = max(opens, start_us)
            if begin >= closes:
                continue
            if left < closes - begin:
                return begin + left
            left -= closes - begin
        return None

    def due_after_working_days(self, start_us: int, days: int, channel: str | None) -> int | None:
        """The start of the local day after working day ``days``, day 1 being the first working day strictly
        after the local date of ``start`` (the day of receipt is never counted); None if none is ahead."""
        day, counted = self.local_date(start_us), 0
        for _ in range(LOOKAHEAD_DAYS):
            day += timedelta(days=1)
            if self.hours(day, channel) is not None:
                counted += 1
                if counted >= days:
                    return _instant(day + timedelta(days=1), time(0), self.zone)
        return None


@dataclass(frozen=True)
class Calendars:
    """The partnership's working calendars: a council's own, else the default."""

    default: WorkingCalendar = field(default_factory=WorkingCalendar)
    by_council: Mapping[str, WorkingCalendar] = field(default_factory=dict)

    def of(self, council: str) -> WorkingCalendar:
        return self.by_council.get(council, self.default)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _instant(day: date, at: time, zone: ZoneInfo) -> int:
    """A local wall-clock time as an instant (a time in a spring-forward gap is read as before the change)."""
    return round(datetime.combine(day, at, zone).timestamp() * US)


def calendar_of(table: Mapping[str, object], timezone: str = DEFAULT_TIMEZONE) -> WorkingCalendar:
    """A ``[calendars.NAME]`` table as a calendar (a key left out takes the built-in default); ValueError
    naming the key when one is wrong."""
    unknown = set(table) - {"nation", "closures", "opening_hours", "channel_opening_hours"}
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))}")
    nation = table.get("nation", "england-and-wales")
    if nation not in NATIONS:
        raise ValueError(f"nation {nation!r} is not one of {', '.join(NATIONS)}")
    closures = table.get("closures", [])
    if not isinstance(closures, list):
        raise ValueError("closures is a list of dates (YYYY-MM-DD)")
    days = set()
    for value in closures:
        try:
            days.add(value if isinstance(value, date) else date.fromisoformat(str(value)))
        except ValueError:
            raise ValueError(f"closures: {value!r} is not a date (YYYY-MM-DD)") from None
    hours = table.get("opening_hours")
    try:
        week = parse_week(_strings(hours)) if hours is not None else parse_week(DEFAULT_WEEK)
    except ValueError as exc:
        raise ValueError(f"opening_hours: {exc}") from None
    channels = table.get("channel_opening_hours", {})
    if not isinstance(channels, Mapping):
        raise ValueError("channel_opening_hours is a table of channels")
    channel_weeks = {}
    for channel, t in channels.items():
        try:
            channel_weeks[str(channel)] = parse_week(_strings(t), base=week)
        except ValueError as exc:
            raise ValueError(f"channel_opening_hours.{channel}: {exc}") from None
    return WorkingCalendar(str(nation), frozenset(days), week, channel_weeks, timezone)


def _strings(table: object) -> dict[str, str]:
    if not isinstance(table, Mapping) or not all(isinstance(v, str) for v in table.values()):
        raise ValueError('a table of weekdays, each "HH:MM-HH:MM" or "closed"')
    return {str(k): v for k, v in table.items()}
