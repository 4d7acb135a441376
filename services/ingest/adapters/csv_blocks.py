"""An export read by the SQL lane: its bytes cut into blocks of whole records, each block decoded and
mapped by a lane (``TableLane``), several blocks at once in lane processes.

The parent only cuts: after a newline outside double quotes (a quoted cell may hold newlines), counting
lines as Python's universal newlines do (\\n, \\r\\n or a lone \\r), so a block's first line number is
the one ``csv_cli.record_lines`` gives it. That needs an encoding in which those bytes are those
characters (UTF-8, Latin-1, Windows-1252); an export in another goes to the Python engine.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import multiprocessing
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from multiprocessing.pool import AsyncResult
from typing import BinaryIO

from services.ingest.adapters.base import Emitter
from services.ingest.adapters.run import Batch
from services.ingest.adapters.table import Table, TableMapping
from services.ingest.adapters.table_lane import TableLane

BLOCK_BYTES = 2 << 20  # about 20,000 call-detail rows: DuckDB's per-statement cost spread thin
CUTTABLE = frozenset({"utf-8", "utf-8-sig", "ascii", "iso8859-1", "iso8859-15", "cp1252"})
Block = tuple[int, bytes]  # (the line it starts on, its bytes)
AHEAD = 1  # blocks queued for each lane beyond the one it maps


def cuttable(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name in CUTTABLE
    except LookupError:
        return False


def _lines(data: bytes) -> int:
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def header(raw: BinaryIO, encoding: str, delimiter: str) -> list[str] | None:
    """The header record (read from the file's start, up to a newline outside quotes), or None if empty."""
    data = b""
    while True:
        line = raw.readline()
        data += line
        if not line or data.count(b'"') % 2 == 0:
            break
    if not data.strip(b"\r\n"):
        return None
    text = data.decode(encoding, errors="replace")
    return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), None)


def blocks(raw: BinaryIO, first_line: int, size: int = BLOCK_BYTES,
           progress: Callable[[int], None] | None = None) -> Iterator[Block]:  # fmt: skip
    """The rest of the file in blocks of whole records, each with the line it starts on."""
    line, carry = first_line, b""
    while True:
        data = raw.read(size)
        buf = carry + data
        if not data:
            if buf:
                yield line, buf
            return
        cut = buf.rfind(b"\n")
        while cut >= 0 and buf.count(b'"', 0, cut) % 2:  # inside a quoted cell: a newline further back
            cut = buf.rfind(b"\n", 0, cut)
        if cut < 0:
            carry = buf
            continue
        block, carry = buf[: cut + 1], buf[cut + 1 :]
        yield line, block
        line += _lines(block)
        if progress is not None:
            progress(raw.tell() - len(carry))


def decoded(block: Block, encoding: str) -> tuple[int, list[str]]:
    """A block's lines as reading the file in text mode (newline="") gives them."""
    first, data = block
    return first, list(io.StringIO(data.decode(encoding, errors="replace"), newline=""))


_lane: TableLane | None = None  # a lane process's own


def _start_lane(emitter: Emitter, mapping: TableMapping, columns: dict[str, int], now: datetime) -> None:
    global _lane
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the pool
    table = Table(emitter, mapping)
    table.header = columns
    _lane = TableLane(table, now, threads=1)


def _lane_block(block: Block) -> list[Batch]:
    assert _lane is not None
    return list(_lane.block(*decoded(block, _lane.t.m.encoding)))


def in_lanes(table: Table, now: datetime, found: Iterable[Block], lanes: int = 2) -> Iterator[Batch]:
    """The blocks' batches, in the blocks' order. One block is mapped here; more, ``lanes`` at a time, each
    by a process of its own with a one-thread DuckDB (threads would share one interpreter, and a lane's
    Python steps wait on the other's: measured, processes map a third more rows a second)."""
    it = iter(found)
    head = list(itertools.islice(it, 2))
    if len(head) < 2 or lanes <= 1:
        lane = TableLane(table, now)
        try:
            for block in itertools.chain(head, it):
                yield from lane.block(*decoded(block, table.m.encoding))
        finally:
            lane.close()
        return
    # spawned, not forked: a fork copies the locks of DuckDB's threads (this process may hold a database)
    context = multiprocessing.get_context("spawn")
    with context.Pool(lanes, _start_lane, (table.e, table.m, table.header, now)) as pool:
        pending: deque[AsyncResult[list[Batch]]] = deque()
        for block in itertools.chain(head, it):
            pending.append(pool.apply_async(_lane_block, (block,)))
            if len(pending) > AHEAD * lanes:  # blocks ahead for each lane (while this process writes), no more
                yield from pending.popleft().get()
        while pending:
            yield from pending.popleft().get()
