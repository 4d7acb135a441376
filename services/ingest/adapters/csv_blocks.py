"""An export read by the SQL lane: its bytes cut into blocks of whole records, each block decoded and
mapped by a lane (``TableLane``), several blocks at once in lane processes.

The parent only cuts: between two records as csv reads them (a quoted cell may hold newlines, and a quote
inside an unquoted cell is text, so bytes with a double quote are read by csv to find the cut), counting
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
    """The header record: the file's first line, as ``csv_cli.record_lines`` takes it (so the data begin on
    line 2 for both engines, whatever quotes the names hold), or None if empty."""
    data = raw.readline()
    if not data.strip(b"\r\n"):
        return None
    text = data.decode(encoding, errors="replace")
    return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), None)


def whole_records(lines: list[str], delimiter: str) -> int:
    """How many of ``lines`` (as text mode with newline="" gives them) are records that end before the last
    record begins: a cut there is between records as csv reads them. (A count of quotes is not: a quote
    inside an unquoted cell is text to csv.)"""
    reader = csv.reader(lines, delimiter=delimiter)
    ends = [reader.line_num for _ in reader]
    return ends[-2] if len(ends) > 1 else 0


def _after_records(buf: bytes, delimiter: str) -> int:
    """The bytes of ``buf``'s whole records but the last, which may go on in the next read."""
    lines = io.StringIO(buf.decode("latin-1"), newline="").readlines()  # a byte a character; csv's bytes are ASCII
    return sum(map(len, lines[: whole_records(lines, delimiter)]))


def blocks(raw: BinaryIO, first_line: int, size: int | None = None,
           progress: Callable[[int], None] | None = None, delimiter: str = ",") -> Iterator[Block]:  # fmt: skip
    """The rest of the file in blocks of whole records (about ``size`` bytes, BLOCK_BYTES by default), each
    with the line it starts on."""
    size = size or BLOCK_BYTES
    line, carry, want = first_line, b"", size
    while True:
        data = raw.read(want)
        buf = carry + data
        if not data:
            if buf:
                yield line, buf
            return
        cut = buf.rfind(b"\n") + 1 if b'"' not in buf else _after_records(buf, delimiter)
        if cut <= 0:  # one record so far (a quoted cell over many lines): read as much again
            carry, want = buf, len(buf)
            continue
        want = size
        block, carry = buf[:cut], buf[cut:]
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
