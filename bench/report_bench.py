"""Report benchmark: the board pack for one month of a year of simulated traffic for three councils
(about a million contacts). Target: under 10 seconds. The year's database is built once, through the
simulator and `contactpulse replay`, and cached in .cache/bench/year.duckdb."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb

CACHE = Path(".cache/bench")
YEAR_DB = CACHE / "year.duckdb"


def build() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = CACHE / "year.building.duckdb"
    tmp.unlink(missing_ok=True)
    start = time.perf_counter()
    sim = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "simulate", "--days", "365", "--out", "-"], stdout=subprocess.PIPE
    )
    subprocess.run(
        [sys.executable, "-m", "services.cli", "replay", "-", "--db", str(tmp)],
        stdin=sim.stdout,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    sim.wait()
    tmp.rename(YEAR_DB)
    print(f"report bench: built {YEAR_DB} in {time.perf_counter() - start:.0f} s (cached for next time)")


def main() -> None:
    if not YEAR_DB.exists():
        build()
    con = duckdb.connect(str(YEAR_DB), read_only=True)
    row = con.execute("SELECT count(*), max(started_at)::DATE FROM contacts").fetchone()
    con.close()
    assert row is not None
    contacts, last = row
    period = f"{last.year}-{last.month:02d}" if last.day > 7 else f"{last.year}-{last.month - 1 or 12:02d}"
    out = CACHE / "board.html"
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "services.cli", "report", "--db", str(YEAR_DB), "--period", period, "--out", str(out)],
        check=True,
    )
    elapsed = time.perf_counter() - start
    print(
        f"report: board pack for {period} over {contacts:,} contacts in {elapsed:.2f} s "
        f"(target < 10 s: {'met' if elapsed < 10 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
