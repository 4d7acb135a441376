"""The figures behind the board pack, from the period aggregates (services/sql/measures.sql)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import duckdb

from pipelines.measures import COUNT_NAMES, Counts
from pipelines.periods import Period
from pipelines.standards import Tally
from services.errors import UserError

PARTNERSHIP = "partnership"


SQL = f"""
SELECT period, council, coalesce(channel, 'unknown') AS channel, coalesce(service, 'unknown') AS service,
       {", ".join(f"coalesce(sum({c}), 0)" for c in COUNT_NAMES)}
FROM period_counts(?)
WHERE period >= ? AND period < ? {{council_filter}}
GROUP BY ALL
"""
STANDARDS_SQL = """
SELECT period, council, standard, met, final, pending FROM standard_counts(?)
WHERE period >= ? AND period < ? AND council = ?
"""


@dataclass
class Figures:
    """Counts by period and council (and PARTNERSHIP), by channel and by service."""

    periods: list[Period]
    councils: list[str]
    total: dict[tuple[Period, str], Counts] = field(default_factory=lambda: defaultdict(Counts))
    by_channel: dict[tuple[Period, str, str], Counts] = field(default_factory=lambda: defaultdict(Counts))
    by_service: dict[tuple[Period, str, str], Counts] = field(default_factory=lambda: defaultdict(Counts))
    # (period, council or PARTNERSHIP, standard) -> its verdicts (METRICS.md section 5)
    standards: dict[tuple[Period, str, str], Tally] = field(default_factory=dict)

    def standard(self, period: Period, council: str, name: str) -> Tally:
        return self.standards.get((period, council, name), Tally())

    def at(self, period: Period, council: str = PARTNERSHIP) -> Counts:
        return self.total.get((period, council), Counts())

    def channel(self, period: Period, council: str, channel: str) -> Counts:
        return self.by_channel.get((period, council, channel), Counts())

    def channels(self) -> list[str]:
        return sorted({k[2] for k in self.by_channel})

    def services(self, period: Period, council: str) -> list[tuple[str, Counts]]:
        rows = [(k[2], v) for k, v in self.by_service.items() if k[0] == period and k[1] == council]
        return sorted(rows, key=lambda r: -r[1].contacts)


def load(con: duckdb.DuckDBPyConnection, period: Period, council: str | None, n_periods: int = 12) -> Figures:
    known = [r[0] for r in con.execute("SELECT DISTINCT council FROM contacts ORDER BY 1").fetchall()]
    if council is not None and council not in known:
        raise UserError(f"no council {council!r} in the data (councils: {', '.join(known) or 'none'})")
    periods = period.last(n_periods)
    sql = SQL.format(council_filter="AND council = ?" if council else "")
    params: list[object] = [period.grain, periods[0].start, period.end] + ([council] if council else [])
    rows = con.execute(sql, params).fetchall()
    by_start = {p.start: p for p in periods}
    figures = Figures(periods, [council] if council else known)
    for row in rows:
        p = by_start.get(row[0])
        if p is None:
            continue
        counts = Counts(*row[4:])
        for scope in (row[1], PARTNERSHIP):
            figures.total[(p, scope)].add(counts)
            figures.by_channel[(p, scope, row[2])].add(counts)
            figures.by_service[(p, scope, row[3])].add(counts)
    figures.standards = _standards(con, period, periods, council or PARTNERSHIP)
    if figures.at(period).contacts == 0:
        where = f" for {council}" if council else ""
        raise UserError(f"no contacts in {period.label}{where}: nothing to report")
    return figures


def _standards(
    con: duckdb.DuckDBPyConnection, period: Period, periods: list[Period], scope: str
) -> dict[tuple[Period, str, str], Tally]:
    """The standards' verdicts by period for one scope (a database made before them has none)."""
    try:
        rows = con.execute(STANDARDS_SQL, [period.grain, periods[0].start, period.end, scope]).fetchall()
    except duckdb.CatalogException:
        return {}
    by_start = {p.start: p for p in periods}
    return {(by_start[r[0]], r[1], r[2]): Tally(*r[3:]) for r in rows if r[0] in by_start}


def cost(
    figures: Figures, period: Period, council: str, unit_costs: Mapping[str, float]
) -> tuple[float, dict[str, float]]:
    """Known cost to serve, and contacts on channels with no configured cost ("cost unknown", never zero)."""
    known, unknown = 0.0, {}
    for ch in figures.channels():
        n = figures.channel(period, council, ch).contacts
        if not n:
            continue
        if ch in unit_costs:
            known += n * unit_costs[ch]
        else:
            unknown[ch] = n
    return known, unknown
