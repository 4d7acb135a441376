"""`contactpulse summary`: a one-screen summary of a database, per council and for the partnership.

Its figures are ``pipelines.measures`` ratios over ``period_counts``, as in the board pack."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

from pipelines.calendar import DEFAULT_TIMEZONE
from pipelines.measures import ASA, COUNT_NAMES, CSAT, Counts
from services.store.location import Location
from services.store.readers import open_read_only

PARTNERSHIP = "partnership"
SQL = f"""
SELECT council, channel = 'phone' AS phone, {", ".join(f"coalesce(sum({c}), 0)" for c in COUNT_NAMES)}
FROM period_counts('day') GROUP BY ALL
"""


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def load(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, Counts], dict[str, Counts]]:
    """All contacts and phone contacts, by council and for the partnership."""
    every: dict[str, Counts] = defaultdict(Counts)
    phone: dict[str, Counts] = defaultdict(Counts)
    for council, is_phone, *counts in con.execute(SQL).fetchall():
        c = Counts(*counts)
        for scope in (council, PARTNERSHIP):
            every[scope].add(c)
            if is_phone:
                phone[scope].add(c)
    return every, phone


def run(
    db: Location | Path, sl_seconds: Mapping[str, float], timezone: str = DEFAULT_TIMEZONE, fcr_window_days: int = 7
) -> int:
    con, what = open_read_only(db, fcr_window_days, timezone)
    try:
        every, phone = load(con)
        span = con.execute(
            "SELECT timezone($1, min(started_at))::DATE, timezone($1, max(started_at))::DATE FROM contacts", [timezone]
        ).fetchone()
    finally:
        con.close()
    table = Table(title=f"ContactPulse summary: {what}, {span[0] if span else '-'} to {span[1] if span else '-'}")
    sl = sl_seconds.get("phone")
    answered_in = f"answered in {sl:.0f} s" if sl is not None else "answered in time"
    for col in ("council", "contacts", "digital", "calls", answered_in, "ASA", "abandoned", "satisfied"):
        table.add_column(col, justify="left" if col == "council" else "right")
    councils = [*sorted(k for k in every if k != PARTNERSHIP), PARTNERSHIP]
    for council in councils if every else []:
        c, p = every[council], phone[council]
        csat = CSAT.of(c)
        asa = ASA.of(p)
        table.add_row(
            council,
            f"{c.contacts:,.0f}",
            _pct(c.digital_share),
            f"{p.offered:,.0f}",
            _pct(p.service_level),
            "-" if asa is None else f"{asa:.0f} s",
            _pct(p.abandonment),
            f"{_pct(csat)} of {c.ratings:,.0f}" if csat is not None else "-",
        )
    console = Console()
    if not console.is_terminal:  # a file or a pipe: whole names, not 80 columns
        console = Console(width=132)
    console.print(table)
    return 0
