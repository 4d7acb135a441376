"""How readers get at the data while the consumer writes it, and what they find declared there.

A DuckDB file: DuckDB allows one read-write process per file and, while it holds the
file, no other process can open it at all. The consumer therefore publishes a snapshot,
``FILE.snapshot.duckdb`` beside ``FILE``, every ``snapshot_seconds`` (default 60).
Readers (report, ad hoc SQL) open ``FILE`` read-only when no writer holds it,
and otherwise the snapshot, saying how old it is.

A DuckLake: readers attach it read-only and see every commit, while any number of
consumers write; no snapshot file.

Either way a reader finds the ``contact_fcr`` view and the period macros (``sql/measures.sql``):
kept in a file by its writer, declared for each connection to a lake.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from pipelines.calendar import DEFAULT_TIMEZONE
from pipelines.fcr import DAY_US
from pipelines.measures import DIGITAL_CHANNELS, RATIOS
from services.errors import UserError
from services.store.location import Location, connect_lake
from services.store.schema import sql_text


def write_snapshot(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    """A consistent copy of the database ``con`` holds, written beside it and then renamed into place."""
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    row = con.execute("SELECT current_database()").fetchone()
    assert row is not None
    con.execute(f"ATTACH '{tmp}' AS _snap")
    try:
        con.execute(f'COPY FROM DATABASE "{row[0]}" TO _snap')
    finally:
        con.execute("DETACH _snap")
    os.replace(tmp, target)


def snapshot_path(db: Path) -> Path:
    return db.with_name(db.name.removesuffix(".duckdb") + ".snapshot.duckdb")


def open_read_only(
    db: Location | Path, fcr_window_days: int = 7, timezone: str = DEFAULT_TIMEZONE
) -> tuple[duckdb.DuckDBPyConnection, str]:
    """A read-only connection and a note on what was opened."""
    where = db if isinstance(db, Location) else Location(str(db))
    if where.is_lake:
        con = connect_lake(where, read_only=True)
        declare_readers(con, fcr_window_days, timezone, temp=True)
        return con, f"{where} (as committed now)"
    db = where.path
    if not db.exists():
        raise UserError(f"no database at {db}")
    try:
        return duckdb.connect(str(db), read_only=True), str(db)
    except duckdb.IOException:
        snap = snapshot_path(db)
        if not snap.exists():
            raise UserError(f"{db} is held by a running consumer and it has not yet written {snap.name}") from None
        age = time.time() - snap.stat().st_mtime
        return duckdb.connect(str(snap), read_only=True), f"{snap} (snapshot, {age:.0f} s old)"


def declare_readers(
    con: duckdb.DuckDBPyConnection, fcr_window_days: int, timezone: str = DEFAULT_TIMEZONE, temp: bool = False
) -> None:
    """The ``contact_fcr`` view and the period macros; ``temp``: this connection's own (a lake's readers
    and writers each declare theirs, so concurrent consumers never conflict over them)."""
    scope = "TEMP " if temp else ""
    con.execute(
        f"CREATE OR REPLACE {scope}VIEW contact_fcr AS SELECT v.council, v.contact_id, v.fcr_eligible, "
        "v.has_repeat, v.first_contact_resolved, coalesce(epoch_us(w.watermark) >= epoch_us(c.started_at) + "
        f"{fcr_window_days * DAY_US}, false) AS fcr_final "
        "FROM fcr_verdicts v JOIN contacts c USING (council, contact_id) LEFT JOIN watermarks w USING (council)"
    )
    con.execute(measures_sql(timezone).replace("CREATE OR REPLACE MACRO", f"CREATE OR REPLACE {scope}MACRO"))


def measures_sql(timezone: str = DEFAULT_TIMEZONE) -> str:
    """``sql/measures.sql``: the period macros in ``timezone``'s calendar, with the ratios and digital channels
    of ``pipelines.measures``."""
    return sql_text("measures.sql").format(
        timezone=ZoneInfo(timezone).key,
        ratios=",\n       ".join(f"{r.sql()} AS {r.name}" for r in RATIOS),
        digital_channels="(" + ", ".join(f"'{c}'" for c in DIGITAL_CHANNELS) + ")",
    )
