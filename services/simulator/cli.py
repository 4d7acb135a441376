"""Arguments of `contactpulse simulate` and their translation into a SimConfig."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from services.errors import UserError
from services.kafka import KafkaSecurity, wait_or_fail
from services.settings import Settings
from services.simulator.model import SimConfig
from services.simulator.run import history, live, open_out, to_jsonl, to_kafka


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = sub.add_parser("simulate", help="produce realistic council contact traffic to Kafka or a JSONL file")
    p.add_argument("--mode", choices=["history", "live"], default="history")
    p.add_argument("--days", type=int, default=28, help="history: how many past days (default 28)")
    p.add_argument("--minutes", type=float, help="live: stop after this many minutes (default: run until Ctrl-C)")
    p.add_argument("--multiplier", type=float, help="volume multiplier (default 1 for history, 200 for live)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", help="write JSON Lines to this file ('-' for stdout) instead of Kafka")
    p.add_argument("--bootstrap", help="Kafka bootstrap servers (default from settings)")
    p.add_argument(
        "--understaff",
        action="append",
        default=[],
        metavar="QUEUE=FACTOR",
        help="incident: staff QUEUE at FACTOR of normal (e.g. revenues=0.3); repeatable",
    )
    p.add_argument("--councils", help="comma-separated council slugs (default from settings)")
    return p


def _understaff(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        queue, _, factor = item.partition("=")
        try:
            value = float(factor)
        except ValueError:
            raise UserError(f"--understaff wants QUEUE=FACTOR, e.g. revenues=0.3 (got {item!r})") from None
        if not queue or not 0 < value <= 10:
            raise UserError(f"--understaff wants QUEUE=FACTOR with 0 < FACTOR <= 10 (got {item!r})")
        out[queue] = value
    return out


def backfill_progress(events: Iterator[dict[str, Any]], now: datetime, days: int) -> Iterator[dict[str, Any]]:
    """History with a progress bar on a terminal (by simulated time: the days come in order)."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield from events
        return
    start = (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    columns = (
        TextColumn("simulate: backfilling {task.fields[day]}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%  {task.fields[n]:,} events"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("history", total=(now - start).total_seconds(), day=start.date(), n=0)
        n = 0
        for n, event in enumerate(events, 1):
            yield event
            if n % 2000 == 0:
                t = datetime.fromisoformat(event["time"])
                bar.update(task, completed=max(bar.tasks[0].completed, (t - start).total_seconds()), day=t.date(), n=n)
        bar.update(task, completed=(now - start).total_seconds(), day=now.date(), n=n)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.days < 1 or args.days > 3660:
        raise UserError("--days must be between 1 and 3660")
    if args.minutes is not None and args.minutes <= 0:
        raise UserError("--minutes must be positive")
    councils = tuple(c.strip() for c in args.councils.split(",")) if args.councils else settings.councils
    live_mode = args.mode == "live"
    multiplier = args.multiplier if args.multiplier is not None else (200.0 if live_mode else 1.0)
    if multiplier <= 0:
        raise UserError("--multiplier must be positive")
    config = dataclasses.replace(
        SimConfig(),
        councils=councils,
        understaff=_understaff(args.understaff),
        volume_multiplier=multiplier,
        always_open=live_mode,
        calendars=settings.working_calendars(),
    )
    if live_mode:
        events = live(config, args.seed, args.minutes)
    else:
        now = datetime.now(UTC)
        events = backfill_progress(history(config, args.seed, args.days, now), now, args.days)
    if args.out:
        with open_out(args.out) as out:
            n = to_jsonl(events, out)
    else:
        bootstrap = args.bootstrap or settings.kafka_bootstrap
        wait_or_fail(bootstrap, settings.kafka_wait_seconds, security=KafkaSecurity.from_settings(settings))
        n = to_kafka(events, bootstrap, settings.events_topic, security=KafkaSecurity.from_settings(settings))
    print(f"simulate: {n:,} events ({args.mode})", file=sys.stderr)
    return 0
