"""A lake's upkeep (docs/scale-out.md, docs/security.md): every commit is a DuckLake snapshot, small
inserts are inlined in the catalog, and a delete only marks rows deleted, so without upkeep the files grow
in number and a deleted row can still be read from an old snapshot or file.

``maintain`` runs, in order:
1. ``ducklake_flush_inlined_data``: rows inlined in the PostgreSQL catalog into Parquet files;
2. ``ducklake_rewrite_data_files`` with a delete threshold of 0: every file with deleted rows written
   again without them;
3. ``ducklake_merge_adjacent_files``: small files merged;
4. ``ducklake_expire_snapshots`` older than now: no snapshot but the current one is left to travel to;
5. ``ducklake_cleanup_old_files``: the files no snapshot uses any more deleted from the data path;
6. the catalog's table-level statistics of text columns widened to bounds that are no value: DuckLake
   keeps each column's minimum and maximum over every row ever written and never narrows them, so an
   erased customer_ref or contact_id could be read there (tests/integration/test_lake_erasure.py found
   event ids in ``ducklake_table_column_stats`` after retention). Wider bounds are always correct for
   the planner; later commits widen them again by their own files' values, and the next upkeep scrubs.

After it, rows deleted by erasure or retention are in no Parquet file and no catalog table. Erasure and
retention run it straight after their commit; consumers run it every ``lake_maintenance_seconds``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import duckdb

from services.store.location import LAKE_ALIAS
from services.store.writers import COMMIT_ATTEMPTS, is_conflict

log = logging.getLogger("contactpulse.store")

STEPS = (
    f"CALL ducklake_flush_inlined_data('{LAKE_ALIAS}')",
    f"SELECT count(*) FROM ducklake_rewrite_data_files('{LAKE_ALIAS}', delete_threshold => 0)",
    f"SELECT count(*) FROM ducklake_merge_adjacent_files('{LAKE_ALIAS}')",
    f"SELECT count(*) FROM ducklake_expire_snapshots('{LAKE_ALIAS}', older_than => now())",
    f"SELECT count(*) FROM ducklake_cleanup_old_files('{LAKE_ALIAS}', cleanup_all => true)",
)


METADATA = f"__ducklake_metadata_{LAKE_ALIAS}.public"
LOWEST = ""  # no string sorts before it
HIGHEST = "\U0010ffff" * 8  # no text a council sends sorts after it (DuckDB compares UTF-8 bytes)
SCRUB_STATS = (
    f"UPDATE {METADATA}.ducklake_table_column_stats SET min_value = $low, max_value = $high "
    f"WHERE (table_id, column_id) IN (SELECT table_id, column_id FROM {METADATA}.ducklake_column "
    "WHERE column_type = 'varchar' AND end_snapshot IS NULL) "
    "AND (min_value IS DISTINCT FROM $low OR max_value IS DISTINCT FROM $high)"
)


@dataclass(frozen=True)
class Upkeep:
    snapshots_expired: int
    files_removed: int
    seconds: float


def maintain(con: duckdb.DuckDBPyConnection) -> Upkeep:
    """Every step, each redone when a consumer's commit conflicts with it."""
    started = time.monotonic()
    counts = [_step(con, sql) for sql in STEPS]
    con.execute(SCRUB_STATS, {"low": LOWEST, "high": HIGHEST})
    done = Upkeep(counts[3], counts[4], time.monotonic() - started)
    log.info(
        "lake upkeep: %d snapshots expired, %d unused files removed (%.1f s)",
        done.snapshots_expired,
        done.files_removed,
        done.seconds,
    )
    return done


def _step(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    for attempt in range(COMMIT_ATTEMPTS):
        try:
            rows = con.execute(sql).fetchall()
            return int(rows[0][0]) if rows and isinstance(rows[0][0], int) else len(rows)
        except duckdb.TransactionException as exc:
            if not is_conflict(exc) or attempt == COMMIT_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")
