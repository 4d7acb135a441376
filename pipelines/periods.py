"""Reporting periods: a month (2026-03) or a quarter (2026-Q1), the one before, and the last N."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True, order=True)
class Period:
    year: int
    index: int  # month 1-12, or quarter 1-4
    grain: str  # "month" or "quarter"

    @property
    def start(self) -> date:
        month = self.index if self.grain == "month" else 3 * (self.index - 1) + 1
        return date(self.year, month, 1)

    @property
    def end(self) -> date:
        """The first day after the period."""
        return self.next().start

    def next(self) -> Period:
        last = 12 if self.grain == "month" else 4
        return (
            Period(self.year + 1, 1, self.grain)
            if self.index == last
            else Period(self.year, self.index + 1, self.grain)
        )

    def previous(self) -> Period:
        last = 12 if self.grain == "month" else 4
        return (
            Period(self.year - 1, last, self.grain)
            if self.index == 1
            else Period(self.year, self.index - 1, self.grain)
        )

    def last(self, n: int) -> list[Period]:
        """The n periods ending with this one, oldest first."""
        out = [self]
        while len(out) < n:
            out.append(out[-1].previous())
        return out[::-1]

    @property
    def label(self) -> str:
        if self.grain == "month":
            return f"{_MONTHS[self.index - 1]} {self.year}"
        return f"Q{self.index} {self.year}"

    @property
    def short(self) -> str:
        return (
            f"{_MONTHS[self.index - 1][:3]} {self.year % 100:02d}"
            if self.grain == "month"
            else f"Q{self.index} {self.year % 100:02d}"
        )

    def __str__(self) -> str:
        return f"{self.year}-{self.index:02d}" if self.grain == "month" else f"{self.year}-Q{self.index}"


def parse_period(text: str) -> Period:
    """``2026-03`` (a month) or ``2026-Q1`` (a quarter); ValueError with a plain message otherwise."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if m and 1 <= int(m.group(2)) <= 12:
        return Period(int(m.group(1)), int(m.group(2)), "month")
    m = re.fullmatch(r"(\d{4})-[Qq]([1-4])", text.strip())
    if m:
        return Period(int(m.group(1)), int(m.group(2)), "quarter")
    raise ValueError(f"--period wants a month like 2026-03 or a quarter like 2026-Q1 (got {text!r})")
