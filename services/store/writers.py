"""Many writers on one lake (docs/scale-out.md): what keeps their commits exact.

A DuckDB file has one writer, so none of this ever fires there; a DuckLake takes commits from every
consumer of a group, and from ``replay``, ``erase`` and ``retention``.

- **The write token.** Every write transaction on a lake first updates the one row of ``lake_writes``.
  DuckLake lets two transactions commit together only when their changes do not touch the same data;
  two updates of one row always do, so of two overlapping writes one commits and the other fails at
  its commit. Writes are thereby serialised: FCR's groups, the watermarks and the time-outs are judged
  over every partition's committed contacts, whichever consumer wrote them.
- **Redo.** A write that failed on a conflict is rolled back and run again (``Store._commit``): each
  write recomputes from what its transaction sees, so running it again is safe.
- **Fencing.** A consumer's write carries the offsets it expects to find stored for its partitions (the
  ones it resumed from, or its own last commit). Under the token, the stored offsets cannot change
  while the check runs: if another consumer has committed a partition since (it was given the partition
  in a rebalance), the write is refused with ``Fenced`` and nothing is stored.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pyarrow as pa

from services.errors import UserError

WRITE_TOKEN_DDL = (
    "CREATE TABLE IF NOT EXISTS lake_writes (writes BIGINT NOT NULL)",
    "INSERT INTO lake_writes SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM lake_writes)",
)
WRITE_TOKEN_SQL = "UPDATE lake_writes SET writes = writes + 1"
COMMIT_ATTEMPTS = 20  # two consumers conflict on some commits; twenty in a row would be a fault, said as one


class Fenced(UserError):
    """Another consumer committed a partition this one still wrote for: it lost the partition."""


def is_conflict(exc: duckdb.Error) -> bool:
    """A commit that DuckLake refused because another transaction's commit touched the same data."""
    text = str(exc).lower()
    return "conflict" in text


def check_fence(con: duckdb.DuckDBPyConnection, expected: dict[tuple[str, int], int | None]) -> None:
    """Refuse the write if any of these partitions' stored offsets is not the one this writer expects."""
    if not expected:
        return
    rows = con.execute("SELECT topic, partition, next_offset FROM consumer_offsets").fetchall()
    stored = {(t, p): o for t, p, o in rows}
    for (topic, partition), want in sorted(expected.items()):
        have = stored.get((topic, partition))
        if have != want:
            raise Fenced(
                f"partition {partition} of {topic} was committed up to offset {have} by another consumer "
                f"(this one expected {want}): it belongs to another consumer now, so this write is dropped"
            )


def owners_table(owners: dict[tuple[str, str], int]) -> pa.Table:
    """Contacts and their partitions, as ``contact_partitions``' columns."""
    return pa.table(
        {
            "council": pa.array([k[0] for k in owners], pa.string()),
            "contact_id": pa.array([k[1] for k in owners], pa.string()),
            "partition": pa.array(list(owners.values()), pa.int32()),
        }
    )


def store_offsets(con: duckdb.DuckDBPyConnection, offsets: dict[tuple[str, int], int], now: datetime) -> None:
    """Each partition's next offset, in the write's transaction (MERGE: a lake table has no keys)."""
    values = ", ".join(["(?, ?, ?, ?)"] * len(offsets))
    params = [x for (topic, part), off in offsets.items() for x in (topic, part, off, now)]
    con.execute(
        f"MERGE INTO consumer_offsets USING (VALUES {values}) s (topic, partition, next_offset, committed_at) "
        "USING (topic, partition) WHEN MATCHED THEN UPDATE WHEN NOT MATCHED THEN INSERT",
        params,
    )
