"""How readers get at the data while the consumer writes it.

DuckDB allows one read-write process per file and, while it holds the file, no
other process can open it at all. The consumer therefore publishes a snapshot,
``FILE.snapshot.duckdb`` beside ``FILE``, every ``snapshot_seconds`` (default 60).
Readers (report, ad hoc SQL) open ``FILE`` read-only when no writer holds it,
and otherwise the snapshot, saying how old it is.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb

from services.errors import UserError


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


def open_read_only(db: Path) -> tuple[duckdb.DuckDBPyConnection, str]:
    """A read-only connection and a note on what was opened."""
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
