"""The terminal side of ``contactpulse replay``: files, progress bar and summary."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

import duckdb
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.errors import UserError
from services.replay.bulk import bulk_replay
from services.replay.summary import ReplaySummary
from services.settings import Settings
from services.store.location import Location
from services.store.opening import open_store
from services.store.store import Store
from services.stream.gcpolicy import THRESHOLDS, gc_thresholds


def _open_streams(stack: ExitStack, files: list[str]) -> list[tuple[str, BinaryIO]]:
    """Open every file now, so that a bad name fails before any work."""
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
    return streams


def run_replay(files: list[str], where: Location, settings: Settings) -> int:
    console = Console(stderr=True)
    with ExitStack() as stack:
        streams = _open_streams(stack, files)
        try:
            store = stack.enter_context(open_store(settings, where))
        except duckdb.IOException as exc:
            raise UserError(f"cannot open {where}: {str(exc).splitlines()[0]}") from None
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
            summary = _run(streams, store, settings, lambda n: progress.update(task, completed=n))
        else:
            summary = _run(streams, store, settings, None)
    print_summary(summary, Console())
    return 0


def _run(
    streams: list[tuple[str, BinaryIO]], store: Store, settings: Settings, progress: Callable[[int], None] | None
) -> ReplaySummary:
    with gc_thresholds(THRESHOLDS):  # this process's entry point: the collector set for it
        return bulk_replay(
            streams, store, settings.rules(), progress=progress, chunk_events=settings.replay_chunk_events
        )


def print_summary(s: ReplaySummary, console: Console) -> None:
    table = Table(title="replay summary", show_header=False, box=None)
    table.add_row("lines read", f"{s.lines:,}")
    table.add_row("valid", f"{s.valid:,}")
    table.add_row("  new events stored", f"{s.new_events:,}")
    table.add_row("  duplicates", f"{s.duplicates:,}")
    if s.erased:
        table.add_row("  dropped: a person erased", f"{s.erased:,}")
    table.add_row("rejected", f"{sum(s.rejected.values()):,}")
    for reason, n in sorted(s.rejected.items()):
        table.add_row(f"  {reason}", f"{n:,}")
    table.add_row("contacts by outcome (whole database)", "")
    for outcome, n in sorted(s.outcomes.items()):
        table.add_row(f"  {outcome}", f"{n:,}")
    console.print(table)
