"""``contactpulse standards --db FILE --period 2026-11 [--council C]``: each customer care standard's met rate
for a month, per council and for the partnership, with its count, its target, met or missed and the change
from the previous month; then the share of contacts opened out of hours, by channel.

Verdicts are ``pipelines.standards``'s, made from the stored facts and each council's watermark (a verdict
is a function of those two, METRICS.md section 5), so the figures are the same whether the database was
filled by the consumer or by a replay.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console
from rich.table import Table

from pipelines.standards import Standard, Tally, out_of_hours, tally
from pipelines.working_time import Calendars
from services.errors import UserError
from services.store.readers import open_read_only

PARTNERSHIP = "partnership"
PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
FACTS_SQL = """
SELECT council, channel, service, epoch_us(started_at) AS started_at, epoch_us(answered_at) AS answered_at,
       epoch_us(wrapped_at) AS wrapped_at
FROM contacts
WHERE timezone($tz, started_at) >= $first AND timezone($tz, started_at) < $next
  AND ($council IS NULL OR council = $council)
"""


def month(period: str) -> tuple[date, date, date]:
    """The month's first day, the next month's and the previous month's; UserError if not YYYY-MM."""
    m = PERIOD.match(period)
    if not m:
        raise UserError(f"--period {period!r} is a month, YYYY-MM (e.g. 2026-11)")
    first = date(int(m.group(1)), int(m.group(2)), 1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    previous = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    return first, following, previous


def _contacts(
    con: duckdb.DuckDBPyConnection, first: date, following: date, tz: str, council: str | None
) -> Iterator[dict[str, Any]]:
    params = {"tz": tz, "first": first, "next": following, "council": council}
    cursor = con.execute(FACTS_SQL, params)
    names = [d[0] for d in cursor.description or []]
    while rows := cursor.fetchmany(10_000):
        for row in rows:
            yield dict(zip(names, row, strict=True))


def by_scope(tallies: dict[tuple[str, str], Tally]) -> dict[tuple[str, str], Tally]:
    """The councils' tallies, and each standard's for the partnership (their sum)."""
    out: dict[tuple[str, str], Tally] = defaultdict(Tally)
    for (standard, council), t in tallies.items():
        out[(standard, council)].add(t)
        out[(standard, PARTNERSHIP)].add(t)
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _change(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return "-"
    points = round(100 * (now - before))
    return f"{points:+d} pts" if points else "0 pts"


def run(
    db: Path,
    period: str,
    standards: Sequence[Standard],
    calendars: Calendars,
    timezone: str,
    council: str | None = None,
) -> int:
    first, following, previous = month(period)
    con, what = open_read_only(db)
    try:
        watermarks = dict(con.execute("SELECT council, epoch_us(watermark) FROM watermarks").fetchall())
        now = by_scope(tally(standards, _contacts(con, first, following, timezone, council), watermarks, calendars))
        before = by_scope(tally(standards, _contacts(con, previous, first, timezone, council), watermarks, calendars))
        hours = out_of_hours(_contacts(con, first, following, timezone, council), calendars)
    finally:
        con.close()
    console = Console() if Console().is_terminal else Console(width=132)
    console.print(standards_table(f"Our standards, {period} ({what})", standards, now, before))
    console.print(hours_table(f"Contacts opened out of hours, {period}", hours))
    return 0


def standards_table(
    title: str, standards: Sequence[Standard], now: dict[tuple[str, str], Tally], before: dict[tuple[str, str], Tally]
) -> Table:
    table = Table(title=title)
    for col in ("standard", "council", "met", "target", "", "change", "pending"):
        table.add_column(col, justify="left" if col in ("standard", "council") else "right")
    scopes = sorted({scope for _, scope in now} - {PARTNERSHIP})
    met_count = judged = 0
    for s in standards:
        for scope in [*scopes, PARTNERSHIP]:
            t = now.get((s.name, scope))
            if t is None:
                continue
            rate = t.rate
            verdict = "-" if rate is None else ("met" if rate >= s.target else "missed")
            if scope == PARTNERSHIP and rate is not None:
                judged += 1
                met_count += rate >= s.target
            table.add_row(
                s.title,
                scope,
                "-" if rate is None else f"{_pct(rate)} of {t.final:,}",
                _pct(s.target),
                verdict,
                _change(rate, before[(s.name, scope)].rate if (s.name, scope) in before else None),
                f"{t.pending:,}",
            )
    table.caption = f"{met_count} of {judged} standards met across the partnership" if judged else "no verdicts"
    return table


def hours_table(title: str, hours: dict[tuple[str, str], tuple[int, int]]) -> Table:
    table = Table(title=title)
    for col in ("channel", "opened out of hours", "contacts"):
        table.add_column(col, justify="left" if col == "channel" else "right")
    by_channel: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (_, channel), (ooh, total) in hours.items():
        by_channel[channel][0] += ooh
        by_channel[channel][1] += total
    for channel, (ooh, total) in sorted(by_channel.items()):
        table.add_row(channel, f"{_pct(ooh / total)} ({ooh:,})", f"{total:,}")
    return table
