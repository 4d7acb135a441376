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
from services.kafka import KafkaSecurity, wait_or_fail
from services.settings import Settings

log = logging.getLogger("contactpulse.adapt")
COUNCIL = re.compile(r"^[a-z0-9-]{2,40}$")
SAVE_EVERY_LINES = 5000
SAVE_EVERY_SECONDS = 1.0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> dict[str, argparse.ArgumentParser]:
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
    ast = systems.add_parser("asterisk-queue-log", parents=[common], help="Asterisk or FreePBX queue_log")
    ast.add_argument("file")
    ast.add_argument("--follow", action="store_true", help="follow the file as Asterisk writes it (and rotates it)")
    ast.add_argument("--state", help="the follower's position file (default: FILE.contactpulse-position)")
    holds = ast.add_mutually_exclusive_group()
    holds.add_argument("--cel", help="hold from a CEL CSV (HOLD/UNHOLD user events)")
    holds.add_argument("--ami", help="hold from saved AMI events (Hold/Unhold)")
    ast.add_argument("--cel-fields", help="the CEL CSV's columns, comma-separated (default: the sample Master.csv)")
    parsers["asterisk-queue-log"] = ast
    ac = systems.add_parser("amazon-connect", parents=[common], help="Amazon Connect contact records or events")
    ac.add_argument("path", help="a file or a directory of Firehose output (JSON objects)")
    ac.add_argument(
        "--resolution-attribute",
        default="resolution",
        help="the contact attribute holding a resolution (default: resolution)",
    )
    ac.add_argument(
        "--default-resolution",
        default="resolved",
        help="the resolution of a contact whose attribute is not set (default: resolved)",
    )
    ac.add_argument("--mapping", help="TOML: [queues] queue id (the end of its ARN) = name, for records and events")
    ge = systems.add_parser("genesys", parents=[common], help="Genesys Cloud analytics conversation details")
    ge.add_argument("path", help="a file or a directory of conversation detail JSON")
    ge.add_argument("--mapping", help="TOML: [queues] id = name, [wrapup_codes] id = resolution, default_resolution")
    cs = systems.add_parser("csv", parents=[common], help="a call-detail or ticketing export, by a mapping file")
    cs.add_argument("file")
    cs.add_argument("--mapping", required=True, help="the columns' meaning (TOML; see docs/adapters/)")
    cs.add_argument("--system", default="exports/csv", help="the system's part of the default source URI")
    cs.add_argument(
        "--workers",
        type=int,
        default=min(os.cpu_count() or 1, 4),
        help="processes that map rows (default: the cores, at most 4)",
    )
    return parsers


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
