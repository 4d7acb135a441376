"""``contactpulse adapt asterisk-queue-log FILE``: read once, or followed (``--follow``) with its position
stored durably after each acknowledged batch; hold joined from a CEL CSV or saved AMI events."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

from services import logs
from services.errors import UserError
from services.ingest.adapters.asterisk import SOURCE, Memory, QueueLog
from services.ingest.adapters.asterisk_hold import CEL_FIELDS, ami_holds, cel_holds
from services.ingest.adapters.base import Emitter
from services.ingest.adapters.cli import Bar, Saver, emitter, finish, numbered, readable, sink, stop_flag
from services.ingest.adapters.follow import Follower, PositionFile
from services.ingest.adapters.run import Runner
from services.settings import Settings


def run(args: argparse.Namespace, settings: Settings) -> int:
    state = Path(args.state) if args.state else Path(args.file + ".contactpulse-position")
    # a follower with a stored position waits for a log caught between logrotate's rename and the new file
    path = Path(args.file) if args.follow and state.exists() else readable(args.file)
    fields = tuple(f.strip().lower() for f in args.cel_fields.split(",")) if args.cel_fields else CEL_FIELDS
    missing = {"eventtype", "eventtime", "uniqueid", "linkedid"} - set(fields)
    if missing:
        raise UserError(f"--cel-fields lacks {', '.join(sorted(missing))}")
    if args.follow and (args.cel or args.ami):
        raise UserError("--cel and --ami join hold after a file read once; they cannot be used with --follow")
    hold = readable(args.cel or args.ami) if (args.cel or args.ami) else None
    e = emitter(args, SOURCE.system)
    out = sink(args, settings, path)
    runner = Runner(out, str(path))
    try:
        if args.follow:
            follow(path, state, e, runner)
        else:
            qlog = QueueLog(e)
            with Bar("queue_log", path.stat().st_size) as progress:
                read_once(qlog, numbered(path, progress), runner)
            if hold is not None:
                with hold.open(encoding="utf-8", errors="replace", newline="") as f:
                    holds = (
                        cel_holds(f, qlog.seen, e, ZoneInfo(settings.timezone), fields)
                        if args.cel
                        else ami_holds(f, qlog.seen, e)
                    )
                    runner.feed(holds)
    finally:
        out.close()
    return finish(runner)


def read_once(qlog: QueueLog, lines: Iterable[tuple[int, str]], runner: Runner) -> None:
    """A whole log's events, then those the end of the log decides (transfers that entered no queue)."""
    runner.feed(qlog.lines(lines))
    runner.feed([(0, qlog.close())], counted=False)


def follow(path: Path, state: Path, e: Emitter, runner: Runner) -> None:
    logs.configure()
    logging.getLogger("kafka").setLevel(logging.WARNING)
    positions = PositionFile(state)
    try:
        state.parent.mkdir(parents=True, exist_ok=True)
        start = positions.load()
        state.with_name(state.name + ".tmp").touch()
    except OSError as exc:
        raise UserError(f"cannot keep the position in {state}: {exc.strerror} (set --state)") from None
    memory = Memory.from_json(start.memory) if start is not None and start.memory else None
    qlog = QueueLog(e, memory, keep_seen=False)
    follower = Follower(path, start, stop=stop_flag())
    saver, dirty = Saver(), False

    def save() -> None:
        runner.sink.flush()  # Kafka has every event up to here: only now is the position moved on
        positions.save(follower.position(qlog.m.to_json()))
        saver.saved()

    for item in follower.lines():
        if item is None:  # at the end of the file for now
            if dirty:
                save()
                dirty = False
            continue
        runner.feed([(item[0], qlog.line(*item))])
        dirty = True
        if saver.due():
            save()
            dirty = False
    save()
