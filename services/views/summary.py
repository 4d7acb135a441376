"""`contactpulse summary`: a one-screen summary of a database, per council and for the partnership."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from services.store.readers import open_read_only

SQL = """
SELECT coalesce(council, 'partnership') AS council,
       sum(contacts) AS contacts,
       sum(digital) / nullif(sum(contacts), 0) AS digital_share,
       sum(offered) FILTER (WHERE channel = 'phone') AS calls,
       sum(answered_within_sl) FILTER (WHERE channel = 'phone')
         / nullif(sum(offered - short_abandons) FILTER (WHERE channel = 'phone'), 0) AS phone_sl,
       sum(tta_sum) FILTER (WHERE channel = 'phone')
         / nullif(sum(tta_count) FILTER (WHERE channel = 'phone'), 0) AS phone_asa,
       sum(abandoned) FILTER (WHERE channel = 'phone')
         / nullif(sum(offered - short_abandons) FILTER (WHERE channel = 'phone'), 0) AS phone_abandoned,
       sum(satisfied) AS satisfied, sum(ratings) AS ratings
FROM (SELECT * REPLACE (coalesce(offered, 0) AS offered, coalesce(short_abandons, 0) AS short_abandons)
      FROM period_counts('day'))
GROUP BY GROUPING SETS ((council), ())
ORDER BY council = 'partnership', council
"""


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def run(db: Path) -> int:
    con, what = open_read_only(db)
    try:
        rows = con.execute(SQL).fetchall()
        span = con.execute("SELECT min(started_at)::DATE, max(started_at)::DATE FROM contacts").fetchone()
    finally:
        con.close()
    table = Table(title=f"ContactPulse summary: {what}, {span[0] if span else '-'} to {span[1] if span else '-'}")
    for col in ("council", "contacts", "digital", "calls", "answered in 20 s", "ASA", "abandoned", "satisfied"):
        table.add_column(col, justify="left" if col == "council" else "right")
    for council, contacts, digital, calls, sl, asa, abandoned, satisfied, ratings in rows:
        csat = f"{_pct(satisfied / ratings)} of {ratings:,}" if ratings else "-"
        asa_text = "-" if asa is None else f"{asa:.0f} s"
        table.add_row(
            council, f"{contacts or 0:,}", _pct(digital), f"{calls or 0:,}", _pct(sl), asa_text, _pct(abandoned), csat
        )
    Console().print(table)
    return 0
