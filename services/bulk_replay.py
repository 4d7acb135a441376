"""The set-based replay path: validation on every core, facts computed in DuckDB.

Lines are validated in worker processes with the same code as the streaming path
(``parse_event``), which send back Arrow tables; the main process stages them in
DuckDB as they arrive. One transaction then drops duplicate ids (the first line
wins, and ids already stored are duplicates), stores the new events, and computes
the facts of every affected contact from all its stored events in SQL
(``services/sql/facts.sql``), then time-outs and FCR as the incremental path does.
``tests/integration/test_bulk_replay.py`` keeps the two paths' tables equal.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from pipelines.events import from_contract
from pipelines.rules import MetricRules
from schemas.reasons import Rejected, parse_event
from services.replay import ReplaySummary, gc_paused
from services.store import RejectedMessage, Store

CHUNK_LINES = 50_000
FACTS_SQL = Path(__file__).parent / "sql" / "facts.sql"
STAGING = [
    ("seq", pa.int64()), ("id", pa.string()), ("type", pa.string()), ("t", pa.int64()), ("council", pa.string()),
    ("contact_id", pa.string()), ("source", pa.string()), ("channel", pa.string()), ("service", pa.string()),
    ("queue", pa.string()), ("site", pa.string()), ("customer_ref", pa.string()), ("agent_ref", pa.string()),
    ("resolution", pa.string()), ("rating", pa.int32()),
]  # fmt: skip
Chunk = tuple[int, str, int, bytes]  # first seq, source name, first line number, the lines


def chunks(streams: Iterable[tuple[str, BinaryIO]], size: int = CHUNK_LINES) -> Iterator[Chunk]:
    seq = 0
    for name, stream in streams:
        lineno = 1
        while batch := list(islice(stream, size)):
            yield seq, name, lineno, b"".join(batch)
            seq += len(batch)
            lineno += len(batch)


def parse_chunk(job: tuple[Chunk, float]) -> tuple[bytes, list[tuple[bytes, str, str, str]], int]:
    """In a worker: (Arrow IPC of the valid events, rejected lines, non-blank lines read)."""
    (seq, name, lineno, blob), now_ts = job
    now = datetime.fromtimestamp(now_ts, UTC)
    cols: list[list[object]] = [[] for _ in STAGING]
    rejected, read = [], 0
    with gc_paused():
        for i, line in enumerate(blob.split(b"\n")):
            raw = line.rstrip(b"\r")
            if not raw.strip():
                continue
            read += 1
            try:
                e = from_contract(parse_event(raw, now))
            except Rejected as r:
                rejected.append((raw, r.reason, r.detail, f"{name}:{lineno + i}"))
                continue
            for col, value in zip(cols, (seq + i, e.id, e.type, e.t, e.council, e.contact_id, e.source, e.channel,
                                         e.service, e.queue, e.site, e.customer_ref, e.agent_ref, e.resolution,
                                         e.rating), strict=True):  # fmt: skip
                col.append(value)
    table = pa.table({n: pa.array(c, type=t) for (n, t), c in zip(STAGING, cols, strict=True)})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes(), rejected, read


def bulk_replay(
    streams: Iterable[tuple[str, BinaryIO]],
    store: Store,
    rules: MetricRules,
    progress: Callable[[int], None] | None = None,
    ingest_time: datetime | None = None,
    workers: int | None = None,
) -> ReplaySummary:
    now = ingest_time or datetime.now(UTC)
    summary = ReplaySummary()
    con = store.con
    con.execute("CREATE OR REPLACE TEMP TABLE _staging AS SELECT * FROM _staging_schema")
    rejected: list[RejectedMessage] = []
    ctx = multiprocessing.get_context("forkserver")  # not fork: this process holds a DuckDB connection
    ctx.set_forkserver_preload(["schemas.reasons", "pipelines.events", "services.bulk_replay"])
    with ctx.Pool(workers or os.cpu_count() or 2) as pool:
        jobs = ((c, now.timestamp()) for c in chunks(streams))
        for ipc, bad, read in pool.imap(parse_chunk, jobs):
            table = pa.ipc.open_stream(ipc).read_all()
            con.register("_chunk", table)
            con.execute("INSERT INTO _staging SELECT * FROM _chunk")
            con.unregister("_chunk")
            summary.lines += read
            summary.valid += table.num_rows
            for raw, reason, detail, origin in bad:
                rejected.append(RejectedMessage(raw, reason, detail, origin))
                summary.rejected[reason] += 1
            if progress:
                progress(summary.lines)
    new = store.apply_staged(rules, rejected, FACTS_SQL.read_text(encoding="utf-8"))
    summary.duplicates = summary.valid - new
    summary.outcomes.update(store.outcomes())
    return summary
