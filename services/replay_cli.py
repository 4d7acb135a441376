"""The terminal side of ``contactpulse replay``: files, progress bar and summary."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from itertools import chain
from pathlib import Path
from typing import BinaryIO

import duckdb
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.errors import UserError
from services.replay import ReplaySummary, numbered_lines, replay
from services.settings import Settings
from services.store import Store


def _open_all(stack: ExitStack, files: list[str]) -> Iterator[tuple[str, bytes]]:
    """Open every file now (so a bad name fails before any work), read them lazily."""
    streams: list[tuple[str, BinaryIO]] = []
    for name in files:
        if name == "-":
            streams.append(("stdin", sys.stdin.buffer))
            continue
        path = Path(name)
        try:
            streams.append((path.name, stack.enter_context(path.open("rb"))))
        except OSError as exc:
            raise UserError(f"cannot read {name}: {exc.strerror}") from None
    return chain.from_iterable(numbered_lines(label, stream) for label, stream in streams)


def run_replay(files: list[str], db: Path, settings: Settings) -> int:
    console = Console(stderr=True)
    if db.exists() and db.is_dir():
        raise UserError(f"--db {db} is a directory")
    with ExitStack() as stack:
        lines = _open_all(stack, files)
        try:
            store = stack.enter_context(Store(db))
        except duckdb.IOException as exc:
            raise UserError(f"cannot open {db}: {str(exc).splitlines()[0]}") from None
        if console.is_terminal:
            progress = stack.enter_context(
                Progress(
                    TextColumn("replaying"),
                    BarColumn(),
                    TextColumn("{task.completed:,} lines"),
                    TimeElapsedColumn(),
                    console=console,
                )
            )
            task = progress.add_task("replay", total=None)
            summary = replay(lines, store, settings.rules(), progress=lambda n: progress.update(task, completed=n))
        else:
            summary = replay(lines, store, settings.rules())
    print_summary(summary, Console())
    return 0


def print_summary(s: ReplaySummary, console: Console) -> None:
    table = Table(title="replay summary", show_header=False, box=None)
    table.add_row("lines read", f"{s.lines:,}")
    table.add_row("valid", f"{s.valid:,}")
    table.add_row("  new events stored", f"{s.new_events:,}")
    table.add_row("  duplicates", f"{s.duplicates:,}")
    table.add_row("rejected", f"{sum(s.rejected.values()):,}")
    for reason, n in sorted(s.rejected.items()):
        table.add_row(f"  {reason}", f"{n:,}")
    table.add_row("contacts by outcome (whole database)", "")
    for outcome, n in sorted(s.outcomes.items()):
        table.add_row(f"  {outcome}", f"{n:,}")
    console.print(table)
