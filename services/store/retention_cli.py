"""``contactpulse retention --db FILE [--days N]``: retention applied now (services/store/retention.py),
with the consumer stopped; the snapshot readers use is written again."""

from __future__ import annotations

import argparse

from services.errors import UserError
from services.settings import Settings
from services.store.opening import DB_HELP, open_store, refresh_snapshot
from services.store.retention import MIN_RETENTION_DAYS


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = sub.add_parser("retention", help="delete raw events and rejected lines past retention now (consumer stopped)")
    p.add_argument("--db", help=DB_HELP + "; a file's consumer must be stopped")
    p.add_argument("--days", type=int, help="the retention in days (default: the retention_days setting)")
    return p


def run(args: argparse.Namespace, settings: Settings) -> int:
    days = args.days if args.days is not None else settings.retention_days
    if days < MIN_RETENTION_DAYS:
        raise UserError(f"retention is at least {MIN_RETENTION_DAYS} days (set retention_days, or --days)")
    with open_store(settings, settings.location(args.db), must_exist=True) as store:
        done = store.apply_retention(days)
        refresh_snapshot(store)
    print(
        f"retention {days} days (before {done.horizon:%Y-%m-%d %H:%M} UTC): {done.contacts:,} contact(s)' "
        f"{done.events:,} raw event(s) and {done.rejected_lines:,} rejected line(s) deleted; facts kept"
    )
    return 0
