"""Many writers on one lake (docs/scale-out.md): what keeps their commits exact.

A DuckDB file has one writer, so none of this ever fires there; a DuckLake takes commits from every
consumer of a group, and from ``replay``, ``erase`` and ``retention``.

- **The write token.** Every write transaction on a lake first updates the one row of ``lake_writes``.
  DuckLake lets two transactions commit together only when their changes do not touch the same data;
  two updates of one row always do, so of two overlapping writes one commits and the other fails at
  its commit. Writes are thereby serialised: FCR's groups, the watermarks and the time-outs are judged
  over every partition's committed contacts, whichever consumer wrote them.
- **Turns.** Before it begins, a write on a lake takes a PostgreSQL advisory lock (``Turns``), held until
  it has committed, so writers wait for each other instead of redoing their work after a conflict. The
  lock spares work; the token is what makes the writes exact, whoever else writes (a reader's ad hoc
  change, a process without the lock).
- **Redo.** A write that failed on a conflict is rolled back and run again (``Store._commit``): each
  write recomputes from what its transaction sees, so running it again is safe.
- **Fencing.** A consumer's write carries the offsets it expects to find stored for its partitions (the
  ones it resumed from, or its own last commit). Under the token, the stored offsets cannot change
  while the check runs: if another consumer has committed a partition since (it was given the partition
  in a rebalance), the write is refused with ``Fenced`` and nothing is stored.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Concatenate, ParamSpec, Protocol, TypeVar

import duckdb
import pyarrow as pa

from services.errors import UserError

WRITE_TOKEN_DDL = (
    "CREATE TABLE IF NOT EXISTS lake_writes (writes BIGINT NOT NULL)",
    "INSERT INTO lake_writes SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM lake_writes)",
)
WRITE_TOKEN_SQL = "UPDATE lake_writes SET writes = writes + 1"
COMMIT_ATTEMPTS = 20  # two consumers conflict on some commits; twenty in a row would be a fault, said as one
OUTAGE_SECONDS = 300.0  # how long a lake's reads and writes wait for its catalog to come back, then fail

log = logging.getLogger("contactpulse.store")
T = TypeVar("T")
P = ParamSpec("P")


TURN_KEY = 0x636F6E74_61637470  # the advisory lock's key: "contactp" in ASCII


class Turns:
    """The writers' turns on one lake: a transaction-level advisory lock in the lake's PostgreSQL, taken on
    a connection of its own (``location.connect_catalog``) and held until the write has committed. A
    writer that dies releases it with its connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.execute(f"CALL postgres_execute('catalog', 'SELECT pg_advisory_xact_lock({TURN_KEY})')")
            yield
        finally:
            with contextlib.suppress(duckdb.Error):  # a lost connection has released the lock already
                self.con.execute("ROLLBACK")

    def close(self) -> None:
        self.con.close()


class Fenced(UserError):
    """Another consumer committed a partition this one still wrote for: it lost the partition."""


def is_conflict(exc: duckdb.Error) -> bool:
    """A commit that DuckLake refused because another transaction's commit touched the same data."""
    return isinstance(exc, duckdb.TransactionException) and "conflict" in str(exc).lower()


def is_unreachable(exc: duckdb.Error) -> bool:
    """The lake's catalog cannot be reached (PostgreSQL restarting, the network): worth waiting for."""
    text = str(exc)
    return isinstance(exc, duckdb.IOException) and "Postgres" in text and ("connect" in text or "connection" in text)


@dataclass
class CommitStats:
    conflicts: int = 0  # commits redone after another writer's conflicted
    outages: int = 0  # reads or commits that waited for the catalog


def wait_for_the_lake(fn: Callable[[], T], stats: CommitStats | None = None) -> T:
    """``fn``, again every second while the catalog cannot be reached, for up to ``OUTAGE_SECONDS``."""
    deadline = time.monotonic() + OUTAGE_SECONDS
    said = 0.0
    while True:
        try:
            return fn()
        except duckdb.Error as exc:
            if not is_unreachable(exc) or time.monotonic() > deadline:
                raise
            if stats is not None:
                stats.outages += 1
            if time.monotonic() - said >= 10:
                said = time.monotonic()
                log.warning("the lake's catalog cannot be reached; waiting for it: %s", str(exc).splitlines()[0])
            time.sleep(1.0)


class _OnLake(Protocol):
    lake: bool
    stats: CommitStats


S = TypeVar("S", bound=_OnLake)


def waits_for_the_lake(method: Callable[Concatenate[S, P], T]) -> Callable[Concatenate[S, P], T]:
    """A store's read that, on a lake, waits out a catalog outage (a file has none)."""

    def read(store: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        if not store.lake:
            return method(store, *args, **kwargs)
        return wait_for_the_lake(lambda: method(store, *args, **kwargs), store.stats)

    read.__name__, read.__doc__ = method.__name__, method.__doc__
    return read


def commit(
    con: duckdb.DuckDBPyConnection,
    body: Callable[[], T],
    token: bool,
    lake: bool,
    stats: CommitStats,
    turns: Turns | None = None,
) -> T:
    """``body`` in one transaction, redone when another writer's commit conflicts with it (only a lake has
    other writers), waiting while the lake's catalog cannot be reached. ``body`` must be safe to run again:
    every write recomputes from what its transaction sees, and a consumer's is fenced by its offsets (so a
    commit whose answer was lost in an outage is refused, not stored twice)."""

    def once() -> T:
        with turns.turn() if turns is not None else contextlib.nullcontext():
            return transaction()

    def transaction() -> T:
        con.execute("BEGIN TRANSACTION")
        try:
            if token:
                con.execute(WRITE_TOKEN_SQL)
            result = body()
        except BaseException:
            with contextlib.suppress(duckdb.Error):  # a lost connection cannot roll back: the server has
                con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        return result

    for tried in range(COMMIT_ATTEMPTS):
        try:
            return wait_for_the_lake(once, stats) if lake else once()
        except duckdb.TransactionException as exc:
            if not (lake and is_conflict(exc)) or tried == COMMIT_ATTEMPTS - 1:
                raise
            stats.conflicts += 1
            log.info("commit conflicted with another writer's; redoing it (attempt %d)", tried + 2)
            time.sleep(random.uniform(0.0, 0.05 * (tried + 1)))
    raise AssertionError("unreachable")


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
