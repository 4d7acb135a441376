"""``contactpulse standards --db FILE --period 2026-11 [--council C]``: each customer care standard's met rate
for a month, per council and for the partnership, with its count, its target, met or missed and the change
from the previous month; then the share of contacts opened out of hours, by channel.

The figures are the database's period measures: ``standard_counts`` over ``contact_standards`` (the
verdicts the consumer and replay wrote, made final by each council's watermark) and ``period_counts``'
``opened_out_of_hours`` (services/store/sql/measures.sql).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

from pipelines.calendar import DEFAULT_TIMEZONE
from pipelines.standards import Standard, Tally
from services.errors import UserError
from services.store.location import Location
from services.store.readers import open_read_only

PARTNERSHIP = "partnership"
PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
COUNTS_SQL = """
SELECT council, standard, met, final, pending FROM standard_counts('month')
WHERE period = $period AND ($council IS NULL OR council = $council)
"""
HOURS_SQL = """
SELECT coalesce(channel, 'unknown'), sum(opened_out_of_hours)::BIGINT, sum(contacts)::BIGINT
FROM period_counts('month') WHERE period = $period AND ($council IS NULL OR council = $council) AND contacts > 0
GROUP BY ALL ORDER BY 1
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


def counts(con: duckdb.DuckDBPyConnection, first: date, council: str | None) -> dict[tuple[str, str], Tally]:
    """``(standard, council or partnership) -> Tally`` for the month beginning ``first``."""
    rows = con.execute(COUNTS_SQL, {"period": first, "council": council}).fetchall()
    return {(standard, scope): Tally(met, final, pending) for scope, standard, met, final, pending in rows}


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _change(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return "-"
    points = round(100 * (now - before))
    return f"{points:+d} pts" if points else "0 pts"


def run(
    db: Location | Path,
    period: str,
    standards: Sequence[Standard],
    council: str | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> int:
    first, _, previous = month(period)
    con, what = open_read_only(db, timezone=timezone)
    try:
        now, before = counts(con, first, council), counts(con, previous, council)
        hours = con.execute(HOURS_SQL, {"period": first, "council": council}).fetchall()
    except duckdb.CatalogException:
        raise UserError(f"{db} has no standards' tables yet: run the consumer or a replay on it once") from None
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
    whole = PARTNERSHIP
    if len(scopes) == 1:  # one council: the partnership row would repeat it
        now, whole = {k: t for k, t in now.items() if k[1] != PARTNERSHIP}, scopes[0]
    met_count = judged = 0
    for s in standards:
        for scope in [*scopes, PARTNERSHIP]:
            t = now.get((s.name, scope))
            if t is None:
                continue
            rate = t.rate
            verdict = "-" if rate is None else ("met" if rate >= s.target else "missed")
            if scope == whole and rate is not None:
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
    where = "across the partnership" if whole == PARTNERSHIP else f"in {whole}"
    table.caption = f"{met_count} of {judged} standards met {where}" if judged else "no verdicts"
    return table


def hours_table(title: str, hours: Sequence[tuple[str, int, int]]) -> Table:
    table = Table(title=title)
    for col in ("channel", "opened out of hours", "contacts"):
        table.add_column(col, justify="left" if col == "channel" else "right")
    for channel, ooh, total in hours:
        table.add_row(channel, f"{_pct(ooh / total)} ({ooh:,})", f"{total:,}")
    return table
