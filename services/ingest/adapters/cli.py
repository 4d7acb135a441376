"""``contactpulse adapt SOURCE``: the shared options, the sink, progress and the summary; each system's
own part is in its module."""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from services.errors import UserError
from services.ingest.adapters.base import Emitter
from services.ingest.adapters.run import Runner
from services.ingest.adapters.sinks import DryRun, FileSink, KafkaSink, RejectFile, Sink
from services.ingest.gateway.edge import keys_from_env
from services.ingest.sources import add_arguments, of_kind
from services.kafka import KafkaSecurity, wait_or_fail
from services.settings import Settings

log = logging.getLogger("contactpulse.adapt")
COUNCIL = re.compile(r"^[a-z0-9-]{2,40}$")
SAVE_EVERY_LINES = 5000
SAVE_EVERY_SECONDS = 1.0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> dict[str, argparse.ArgumentParser]:
    """``adapt`` and one sub-command per records source, made from the sources' declarations."""
    a = sub.add_parser("adapt", help="a source system's own records as contract events, to Kafka or a file")
    systems = a.add_subparsers(dest="adapter", required=True, metavar="SOURCE")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--council", required=True, help="the council these records belong to (a slug)")
    common.add_argument("--source", help="the events' source URI (default /<council>/<system>)")
    common.add_argument("--out", help="write the events to this JSON Lines file (- for standard output), not Kafka")
    common.add_argument("--dry-run", action="store_true", help="print the events and a summary; send nothing")
    common.add_argument("--rejects", help="the reject file (default: beside the input, .rejects.jsonl)")
    common.add_argument("--bootstrap", help="Kafka bootstrap servers (default from settings)")
    parsers = {"adapt": a}
    for name, source in of_kind("records").items():
        parsers[name] = systems.add_parser(name, parents=[common], help=source.title)
        add_arguments(parsers[name], source)
    return parsers


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the chosen records source (its module is imported only now)."""
    result: int = of_kind("records")[args.adapter].load()(args, settings)
    return result


def emitter(args: argparse.Namespace, system: str) -> Emitter:
    if not COUNCIL.match(args.council):
        raise UserError(f"--council {args.council!r} is not a council slug (a-z, 0-9 and '-', 2-40 characters)")
    source = args.source or f"/{args.council}/{system}"
    if not source.startswith("/"):
        raise UserError(f"--source {source!r} is a URI path such as /{args.council}/{system}")
    key = keys_from_env(dict(os.environ))(args.council)
    if key is None:
        print(
            f"adapt: no pseudonym key for {args.council} (CONTACTPULSE_PSEUDONYM_KEY): contacts carry no "
            "customer_ref, and first-contact resolution cannot link them",
            file=sys.stderr,
        )
    return Emitter(args.council, source, key)


def sink(args: argparse.Namespace, settings: Settings, input_path: Path) -> Sink:
    rejects = RejectFile(
        Path(args.rejects) if args.rejects else input_path.with_name(input_path.name + ".rejects.jsonl")
    )
    if args.dry_run:
        return DryRun()
    if args.out:
        return FileSink(args.out, rejects)
    bootstrap, security = args.bootstrap or settings.kafka_bootstrap, KafkaSecurity.from_settings(settings)
    wait_or_fail(bootstrap, settings.kafka_wait_seconds, security=security)  # one line if it cannot be had
    return KafkaSink(bootstrap, settings.events_topic, settings.dlq_topic, rejects, security)


def read_toml(path: Path) -> dict[str, Any]:
    """A mapping file, or a one-line UserError."""
    try:
        return tomllib.loads(path.read_text())
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path} is not TOML: {exc}") from None


def readable(path: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise UserError(f"no such file: {path}")
    if not os.access(p, os.R_OK):
        raise UserError(f"cannot read {path}: permission denied")
    return p


def numbered(path: Path, progress: Callable[[int], None] | None = None) -> Iterator[tuple[int, str]]:
    """The file's lines with their numbers; ``progress(bytes read)`` every 20,000 lines."""
    with path.open("rb") as f:
        done = 0
        for n, raw in enumerate(f, start=1):
            done += len(raw)
            if progress is not None and n % 20_000 == 0:
                progress(done)
            yield n, raw.decode("utf-8", "replace")
        if progress is not None:
            progress(done)


class Bar:
    """A progress bar on standard error, for files over a few megabytes, when it is a terminal."""

    def __init__(self, label: str, total: int) -> None:
        self.console = Console(stderr=True)
        self.progress: Progress | None = None
        if self.console.is_terminal and total > 4 << 20:
            self.progress = Progress(
                TextColumn(label), BarColumn(), DownloadColumn(), TimeElapsedColumn(), console=self.console
            )
            self.task = self.progress.add_task(label, total=total)

    def __enter__(self) -> Callable[[int], None] | None:
        if self.progress is None:
            return None
        self.progress.start()
        progress, task = self.progress, self.task
        return lambda done: progress.update(task, completed=done)

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()


def finish(runner: Runner, out: IO[str] | None = None) -> int:
    for line in runner.summary.lines():
        print(line, file=out or sys.stderr)  # sys.stderr when called, not when imported
    return 0


def stop_flag() -> Callable[[], bool]:
    stopped = [False]

    def stop(signum: int, frame: object) -> None:
        stopped[0] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return lambda: stopped[0]


class Saver:
    """How often a follower saves its position: every few thousand lines or every second, and when idle."""

    def __init__(self) -> None:
        self.lines, self.last = 0, time.monotonic()

    def due(self) -> bool:
        self.lines += 1
        return self.lines >= SAVE_EVERY_LINES or time.monotonic() - self.last >= SAVE_EVERY_SECONDS

    def saved(self) -> None:
        self.lines, self.last = 0, time.monotonic()
