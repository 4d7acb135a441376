"""``contactpulse adapt csv FILE --mapping MAPPING.toml``: a call-detail or ticketing export."""

from __future__ import annotations

import argparse
import csv
import io
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

from services.errors import UserError
from services.ingest.adapters.base import Reject, redact_numbers
from services.ingest.adapters.cli import Bar, emitter, finish, readable, sink
from services.ingest.adapters.run import Item, Runner, attempt
from services.ingest.adapters.table import Table, TableMapping
from services.settings import Settings


def load_mapping(path: Path) -> TableMapping:
    try:
        doc = tomllib.loads(path.read_text())
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path} is not TOML: {exc}") from None
    try:
        return TableMapping.from_toml(doc)
    except ValueError as exc:
        raise UserError(f"{path}: {exc}") from None


def rows(path: Path, table: Table, progress: Callable[[int], None] | None = None) -> Iterator[Item]:
    """Each data row's events (or rejection), numbered by its line in the file."""
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding=table.m.encoding, errors="replace", newline="")
        reader = csv.reader(text, delimiter=table.m.delimiter)
        try:
            table.set_header(next(reader))
        except StopIteration:
            raise UserError(f"{path} is empty") from None
        except ValueError as exc:
            raise UserError(f"{path}: {exc}") from None
        for n, row in enumerate(reader, start=2):
            if progress is not None and n % 20_000 == 0:
                progress(raw.tell())
            if not any(cell.strip() for cell in row):
                continue
            line = reader.line_num
            item = attempt(line, row, table.row)
            if isinstance(item[1], Reject):
                item = (line, Reject(line, item[1].reason, item[1].detail, redact_numbers(",".join(row))[:500]))
            yield item


def run(args: argparse.Namespace, settings: Settings) -> int:
    path = readable(args.file)
    mapping = load_mapping(readable(args.mapping))
    e = emitter(args, args.system)
    table = Table(e, mapping)
    out = sink(args, settings, path)
    runner = Runner(out, str(path))
    try:
        with Bar("csv", path.stat().st_size) as progress:
            runner.feed(rows(path, table, progress))
    finally:
        out.close()
    return finish(runner)
