"""``contactpulse adapt csv FILE --mapping MAPPING.toml``: a call-detail or ticketing export."""

from __future__ import annotations

import argparse
import csv
import itertools
import multiprocessing
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from services.errors import UserError
from services.ingest.adapters.cli import Bar, emitter, finish, read_toml, readable, sink
from services.ingest.adapters.run import Batch, Runner, encode_batch
from services.ingest.adapters.table import Table, TableMapping
from services.settings import Settings


def load_mapping(path: Path) -> TableMapping:
    doc = read_toml(path)
    try:
        return TableMapping.from_toml(doc)
    except ValueError as exc:
        raise UserError(f"{path}: {exc}") from None


BATCH_ROWS = 4000
_worker: Table | None = None


def _start_worker(table: Table) -> None:
    global _worker
    _worker = table


def _work(job: tuple[datetime, int, list[str]]) -> Batch:
    """One batch of records: their raw lines, starting at line ``first``."""
    now, first, lines = job
    assert _worker is not None
    table = _worker
    reader = csv.reader(lines, delimiter=table.m.delimiter)
    numbered = ((first + reader.line_num - 1, row) for row in reader if any(c.strip() for c in row))
    return encode_batch((table.item(line, row) for line, row in numbered), now)


def set_header(path: Path, table: Table, names: list[str] | None) -> None:
    """The file's header read into ``table``; a file without one, or without a mapped column, is one line."""
    if names is None:
        raise UserError(f"{path} is empty")
    try:
        table.set_header(names)
    except ValueError as exc:
        raise UserError(f"{path}: {exc}") from None


def whole_records(lines: list[str], delimiter: str) -> int:
    """How many of ``lines`` (as text mode with newline="" gives them) are records that end before the last
    record begins: a cut there is between records as csv reads them. (A count of quotes is not: a quote
    inside an unquoted cell is text to csv.)"""
    reader = csv.reader(lines, delimiter=delimiter)
    ends = [reader.line_num for _ in reader]
    return ends[-2] if len(ends) > 1 else 0


def record_lines(path: Path, table: Table, progress: Callable[[int], None] | None) -> Iterator[tuple[int, list[str]]]:
    """Batches of whole records as raw lines (a quoted cell may hold a newline: a batch is cut between records
    as csv reads them; whole_records), with the line each batch starts on; the header read into
    ``table``."""
    with path.open(encoding=table.m.encoding, errors="replace", newline="") as f:
        set_header(path, table, next(csv.reader([f.readline()], delimiter=table.m.delimiter), None))
        batch: list[str] = []
        start, quoted, limit = 2, False, BATCH_ROWS
        for text in f:
            batch.append(text)
            quoted = quoted or '"' in text
            if len(batch) >= limit:
                whole = whole_records(batch, table.m.delimiter) if quoted else len(batch)
                if not whole:  # one record so far (a quoted cell over many lines): look again at twice the lines
                    limit *= 2
                    continue
                yield start, batch[:whole]
                if progress is not None:
                    progress(f.buffer.tell())  # type: ignore[attr-defined]
                batch, start, limit = batch[whole:], start + whole, BATCH_ROWS
                quoted = any('"' in t for t in batch)
        if batch:
            yield start, batch


def encoded_rows(
    path: Path, table: Table, workers: int, now: datetime, progress: Callable[[int], None] | None = None
) -> Iterator[Batch]:
    """The export's events and rejections, batch by batch in the file's order, mapped by ``workers``
    processes (rows are independent: the workers parse, map and check them while this one reads and
    writes)."""
    if workers <= 1:
        for start, lines in record_lines(path, table, progress):
            _start_worker(table)
            yield _work((now, start, lines))
        return
    batches = record_lines(path, table, progress)
    first = next(batches, None)  # reads the header into the table before the workers are forked with it
    if first is None:
        return
    jobs = ((now, start, lines) for start, lines in itertools.chain([first], batches))
    with multiprocessing.get_context("fork").Pool(workers, _start_worker, (table,)) as pool:
        yield from pool.imap(_work, jobs)


def run(args: argparse.Namespace, settings: Settings) -> int:
    path = readable(args.file)
    mapping = load_mapping(readable(args.mapping))
    if args.workers < 1:
        raise UserError("--workers is at least 1")
    e = emitter(args, args.system)
    table = Table(e, mapping)
    out = sink(args, settings, path)
    runner = Runner(out, str(path))
    try:
        with Bar("csv", path.stat().st_size) as progress:
            for batch in encoded_rows(path, table, args.workers, runner.now(), progress):
                runner.send_batch(batch)
    finally:
        out.close()
    return finish(runner)
