"""How readers get at the data while the consumer writes it.

DuckDB allows one read-write process per file and, while it holds the file, no
other process can open it at all. The consumer therefore publishes a snapshot,
``FILE.snapshot.duckdb`` beside ``FILE``, every ``snapshot_seconds`` (default 60).
Readers (report, ad hoc SQL) open ``FILE`` read-only when no writer holds it,
and otherwise the snapshot, saying how old it is.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from services.errors import UserError


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
