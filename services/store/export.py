"""``contactpulse export --db URI --out FILE.duckdb``: a consistent copy of every table in one DuckDB file,
for an analyst or an archive (a lake's tables as of one snapshot; a file's as of now)."""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

from services.errors import UserError
from services.settings import Settings
from services.store.location import DB_HELP, LAKE_ALIAS, Location
from services.store.readers import open_read_only, snapshot_path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = sub.add_parser("export", help="copy every table into one DuckDB file (from a lake or a file)")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--out", required=True, help="the DuckDB file to write (must not exist)")
    return p


def _source(where: Location, settings: Settings) -> tuple[duckdb.DuckDBPyConnection, str, str]:
    """A writable in-memory DuckDB with the source attached read-only: the lake, or the file (its snapshot
    while a consumer holds it); with a note on what was opened, and the source's catalog name."""
    if where.is_lake:
        con, what = open_read_only(where, settings.fcr_window_days, settings.timezone)
        return con, what, LAKE_ALIAS
    if not where.path.exists():
        raise UserError(f"no database at {where.path}")
    con = duckdb.connect()
    for path, what in ((where.path, str(where.path)), (snapshot_path(where.path), f"{where.path}'s snapshot")):
        try:
            con.execute(f"ATTACH {_quoted(path)} AS source (READ_ONLY)")
            return con, what, "source"
        except duckdb.IOException:
            continue
    con.close()
    raise UserError(f"{where.path} is held by a running consumer and it has not yet written its snapshot")


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def run(args: argparse.Namespace, settings: Settings) -> int:
    out = Path(args.out)
    if out.exists():
        raise UserError(f"{out} exists: export writes a new file")
    if not out.parent.is_dir():
        raise UserError(f"cannot write {out}: {out.parent} is not a folder")
    con, what, source = _source(settings.location(args.db), settings)
    tmp = out.with_name(out.name + ".tmp")
    tmp.unlink(missing_ok=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND NOT temporary ORDER BY 1",
                [source],
            ).fetchall()
        ]
        con.execute(f"ATTACH {_quoted(tmp)} AS _export")
        con.execute("BEGIN TRANSACTION")  # one snapshot of the source for every table
        for table in tables:
            con.execute(f'CREATE TABLE _export."{table}" AS SELECT * FROM "{source}"."{table}"')
        con.execute("COMMIT")
        con.execute("DETACH _export")
    except duckdb.Error as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"export failed: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    tmp.rename(out)
    print(f"exported {len(tables)} tables from {what} to {out}")
    return 0
