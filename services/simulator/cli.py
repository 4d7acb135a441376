"""Arguments of `contactpulse simulate` and their translation into a SimConfig."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from services.errors import UserError
from services.kafka import wait_or_fail
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
        "--understaff", action="append", default=[], metavar="QUEUE=FACTOR",
        help="incident: staff QUEUE at FACTOR of normal (e.g. revenues=0.3); repeatable",
    )  # fmt: skip
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
        SimConfig(), councils=councils, understaff=_understaff(args.understaff),
        volume_multiplier=multiplier, always_open=live_mode,
    )  # fmt: skip
    events = live(config, args.seed, args.minutes) if live_mode else history(config, args.seed, args.days)
    if args.out:
        with open_out(args.out) as out:
            n = to_jsonl(events, out)
    else:
        bootstrap = args.bootstrap or settings.kafka_bootstrap
        wait_or_fail(bootstrap, settings.kafka_wait_seconds)
        n = to_kafka(events, bootstrap, settings.events_topic)
    print(f"simulate: {n:,} events ({args.mode})", file=sys.stderr)
    return 0
