"""``contactpulse replay``: JSON Lines files of events into the store, in bounded memory.

Files are read in blocks of whole lines and handed to DuckDB as Arrow arrays. The
contract is checked in SQL (``services/store/sql/validate.sql``), which accepts only lines
in the contract's plainest form; every other line (a bad one, or a valid one with
``\\u`` escapes, say) goes to ``pipelines.decode`` (the Python fast lane, then the
pydantic models, which accept it or name its reason). So the SQL never decides a
rejection, and ``tests/integration/test_sql_validation.py`` checks that what it
accepts, pydantic accepts with the same values. One transaction then drops duplicate
ids (the first line wins, and ids already stored are duplicates), computes the facts
of every affected contact by the one fact engine (``services/store/walk.py``) from its
new events and those stored before, stores the new events, then time-outs and FCR as
the consumer's write does. Idempotent: running it again on the same or overlapping files
changes nothing, because ids already stored are duplicates and rejected lines are keyed
by content. ``tests/integration/test_bulk_replay.py`` keeps its tables equal to those of
the consumer's own code replaying the same lines (``tests/support/incremental.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from queue import Empty, Queue
from typing import BinaryIO, TypeVar, cast

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.decode import decode
from pipelines.events import micros
from pipelines.rules import MetricRules
from schemas.reasons import Rejected
from services.replay.summary import ReplaySummary
from services.settings import Settings
from services.store.erasure import ERASED_STAGED
from services.store.erasure import salt as erasure_salt
from services.store.lane import filter_pushdown_off, validation_sql
from services.store.retention import BEYOND_RETENTION
from services.store.schema import STAGING, RejectedMessage
from services.store.settle import unregister
from services.store.store import Store
from services.store.walk import Walker

T = TypeVar("T")
BLOCK_BYTES = 32 << 20
MORSEL_ROWS = 16_384
# staged events a transaction, about: the setting's default (docs/performance.md)
CHUNK_EVENTS: int = Settings.model_fields["replay_chunk_events"].default


@dataclass(frozen=True)
class Block:
    """Whole lines of one source: ``seq`` numbers them across all sources, ``lineno`` within this one."""

    name: str
    lineno: int
    seq: int
    data: bytes

    def origin(self, seq: int) -> str:
        return f"{self.name}:{self.lineno + seq - self.seq}"


def blocks(streams: Iterable[tuple[str, BinaryIO]], size: int = BLOCK_BYTES) -> Iterator[Block]:
    seq = 0
    for name, stream in streams:
        lineno, rest = 1, b""
        while data := stream.read(size):
            data = rest + data
            cut = data.rfind(b"\n") + 1
            rest = data[cut:]
            if cut:
                block = Block(name, lineno, seq, data[:cut])
                yield block
                lines = block.data.count(b"\n")
                lineno, seq = lineno + lines, seq + lines
        if rest:
            yield Block(name, lineno, seq, rest + b"\n")
            seq += 1


def split_lines(block: Block) -> tuple[pa.Table, list[tuple[int, bytes]]]:
    """The block as (seq, line) rows for DuckDB, and the lines that are not UTF-8 (for pydantic to reject)."""
    parts = pc.split_pattern(pa.array([block.data], pa.large_binary()), b"\n").flatten()
    parts = parts.slice(0, len(parts) - 1)  # the block ends with a newline
    seqs = pa.array(range(block.seq, block.seq + len(parts)), pa.int64())
    try:
        text = parts.cast(pa.large_string())
    except pa.ArrowInvalid:
        raw = parts.to_pylist()
        decoded = [_utf8(line) for line in raw]
        bad = [(block.seq + i, line) for i, (line, d) in enumerate(zip(raw, decoded, strict=True)) if d is None]
        text = pa.array([d or "" for d in decoded], pa.large_string())
        return _morsels(pa.table({"seq": seqs, "line": text})), bad
    return _morsels(pa.table({"seq": seqs, "line": text})), []


def _morsels(table: pa.Table) -> pa.Table:
    """DuckDB scans an Arrow table one record batch per thread: small batches keep every core busy."""
    return pa.Table.from_batches(table.to_batches(max_chunksize=MORSEL_ROWS))


def _utf8(line: bytes) -> str | None:
    try:
        return line.decode()
    except UnicodeDecodeError:
        return None


def bulk_replay(
    streams: Iterable[tuple[str, BinaryIO]],
    store: Store,
    rules: MetricRules,
    progress: Callable[[int], None] | None = None,
    ingest_time: datetime | None = None,
    block_bytes: int = BLOCK_BYTES,
    chunk_events: int = CHUNK_EVENTS,
) -> ReplaySummary:
    """Replay in bounded memory, in two steps.

    1. Every line is checked; the valid ones go to ``_staging``, which DuckDB keeps within its
       memory_limit (spilling to disk beyond), and the bad ones are stored block by block.
    2. The staged events (the first line of each id) are committed a slice of contacts at a time, each
       slice about ``chunk_events`` events and its own transaction (``write_slices``). A contact's
       events are all in one slice, so its facts are computed once; FCR groups span slices and are
       judged again with each. The tables equal those of one transaction, and a replay interrupted
       and run again ends the same: what was committed is then duplicates.
    """
    now = ingest_time or datetime.now(UTC)
    summary = ReplaySummary()
    con = store.con
    validated = validation_sql(now)
    con.execute("CREATE OR REPLACE TEMP TABLE _staging AS SELECT * FROM _staging_schema")
    for block, (table, not_utf8) in prefetched((b, split_lines(b)) for b in blocks(streams, block_bytes)):
        con.register("_chunk", table)
        try:
            with filter_pushdown_off(con):
                accepted = _count(con.execute(f"INSERT INTO _staging {validated}"))
            rest: list[tuple[int, bytes | str]] = list(not_utf8)
            if accepted < table.num_rows:
                rest += con.execute(
                    "SELECT seq, line FROM _chunk ANTI JOIN (SELECT seq FROM _staging WHERE seq >= ?) USING (seq)",
                    [block.seq],
                ).fetchall()
        finally:
            con.unregister("_chunk")
        summary.lines += accepted
        summary.valid += accepted
        rejected: list[RejectedMessage] = []
        rest.sort(key=lambda r: r[0])  # in line order: the first copy of a bad line is the one stored
        _by_python(con, block, rest, now, summary, rejected)
        store.store_rejected(rejected)
        if progress:
            progress(summary.lines)
    new = 0
    walker = Walker(rules)
    try:
        salt = erasure_salt(con)
        if salt is not None:  # a person erased: their events are counted, never stored
            summary.erased = _count(con.execute(f"DELETE FROM _staging WHERE {ERASED_STAGED.format(salt=salt)}"))
        late = _count(con.execute(LATE_STAGED, [now]))  # contacts whose raw events retention deleted
        if late:
            con.execute(
                "DELETE FROM _staging WHERE (council, contact_id) IN (SELECT council, contact_id FROM retired_contacts)"
            )
            summary.rejected[BEYOND_RETENTION] += late
            summary.valid -= late
        slices = max(1, -(-(summary.valid - summary.erased) // chunk_events))
        if slices == 1:
            new = write_slices(store, walker, ["_staging"])
        else:
            # the first line of each id (as one transaction would keep it), sorted by slice so that each
            # slice's rows are read from its own row groups
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _sliced AS SELECT *, hash(council, contact_id) % {slices} "
                "AS slice FROM _staging QUALIFY row_number() OVER (PARTITION BY id ORDER BY seq) = 1 "
                "ORDER BY slice"
            )
            con.execute("DROP TABLE _staging")
            sources = [f"(SELECT * EXCLUDE (slice) FROM _sliced WHERE slice = {i})" for i in range(slices)]
            new = write_slices(store, walker, sources)
    finally:
        walker.close()
        for t in ("_staging", "_sliced"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    summary.duplicates = summary.valid - summary.erased - new
    summary.outcomes.update(store.outcomes())
    return summary


def write_slices(store: Store, walker: Walker, sources: list[str]) -> int:
    """The staged events of each source (disjoint sets of contacts, each id in one) written in a transaction
    of its own, the facts by the walk; the next source's contacts are walked (in the workers, for a large
    write) while this one's are written. Returns the new events."""
    new = 0

    def start(i: int) -> tuple[str, int, Callable[[], pa.Table]]:
        name = f"_new{i % 2}"
        count = store.new_events(sources[i], name)
        return name, count, walker.submit(store.walk_input(name))

    try:
        following = start(0)
        for i in range(len(sources)):
            name, count, walked = following
            if i + 1 < len(sources):
                following = start(i + 1)  # staged while the workers walk this source
            store.apply_staged(name, walked(), walker.rules)
            new += count
    finally:
        for name in ("_new0", "_new1"):
            store.con.execute(f"DROP TABLE IF EXISTS {name}")
    return new


def prefetched(items: Iterator[T], depth: int = 1) -> Generator[T, None, None]:
    """``items`` made in a thread, ``depth`` ahead: the next block is read and split while DuckDB checks this one.

    An exception in the thread is raised here, at the item it stopped at; leaving early stops the thread.
    """
    queue: Queue[tuple[bool, object]] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                queue.put((True, item))
            queue.put((False, None))
        except BaseException as exc:  # handed over to the consumer
            queue.put((False, exc))

    thread = threading.Thread(target=produce, name="replay-reader", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = queue.get()
            if not ok:
                if isinstance(item, BaseException):
                    raise item
                return
            yield cast(T, item)
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with suppress(Empty):
                queue.get_nowait()
            thread.join(timeout=0.01)


def _by_python(
    con: duckdb.DuckDBPyConnection,
    block: Block,
    lines: Sequence[tuple[int, bytes | str]],
    now: datetime,
    summary: ReplaySummary,
    rejected: list[RejectedMessage],
) -> None:
    """Lines the SQL lane left, to ``pipelines.decode``: accepted into ``_staging``, or rejected with the reason."""
    cols: list[list[object]] = [[] for _ in STAGING]
    now_us = micros(now)
    for seq, line in lines:
        raw = (line.encode() if isinstance(line, str) else line).rstrip(b"\r")
        if not raw.strip():
            continue
        summary.lines += 1
        try:
            e = decode(raw, now, now_us)
        except Rejected as r:
            rejected.append(RejectedMessage(raw, r.reason, r.detail, block.origin(seq)))
            summary.rejected[r.reason] += 1
            continue
        summary.valid += 1
        for col, value in zip(cols, (seq, *e), strict=True):
            col.append(value)
    if cols[0]:
        con.register("_parsed", pa.table({n: pa.array(c, type=t) for (n, t), c in zip(STAGING, cols, strict=True)}))
        try:
            con.execute("INSERT INTO _staging SELECT * FROM _parsed")
        finally:
            unregister(con, "_parsed")


# a staged event of a retired contact, kept as a rejected line: its fields as JSON (the line is gone by now)
LATE_STAGED = (
    "MERGE INTO rejected_events USING (SELECT DISTINCT ON (id) sha256(to_json(s)::VARCHAR) AS raw_sha256, "
    f"'{BEYOND_RETENTION}' AS reason, 'its contact''s raw events were deleted by retention; its facts are kept' "
    "AS detail, to_json(s)::VARCHAR AS raw, 'replay' AS origin, ?::TIMESTAMPTZ AS rejected_at FROM _staging s "
    "WHERE (council, contact_id) IN (SELECT council, contact_id FROM retired_contacts)) s USING (raw_sha256) "
    "WHEN NOT MATCHED THEN INSERT"
)


def _count(cursor: duckdb.DuckDBPyConnection) -> int:
    row = cursor.fetchall()
    return int(row[0][0]) if row else 0
