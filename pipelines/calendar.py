"""The local calendar: which day an instant falls on where the council is (Europe/London by default).

Councils report by their own calendar, so every day, week, month and quarter is a local one. The live
board asks for the day of every contact it counts, so a day is looked up once per UTC quarter hour:
every time zone's offset from UTC is a whole number of quarter hours.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from pipelines.events import US

DEFAULT_TIMEZONE = "Europe/London"
QUARTER_HOUR_US = 900 * US


class LocalDays:
    """``days(us)``: the local calendar day, ISO, of an instant in microseconds since the epoch (UTC)."""

    def __init__(self, timezone: str = DEFAULT_TIMEZONE) -> None:
        self.zone = ZoneInfo(timezone)
        self._of_quarter = lru_cache(maxsize=4096)(self._day_of_quarter)

    def __call__(self, us: int) -> str:
        return self._of_quarter(us // QUARTER_HOUR_US)

    def _day_of_quarter(self, quarter: int) -> str:
        return datetime.fromtimestamp(quarter * 900, self.zone).date().isoformat()


uk_day = LocalDays(DEFAULT_TIMEZONE)
