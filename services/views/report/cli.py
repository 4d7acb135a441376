"""`contactpulse report --db FILE --period 2026-03|2026-Q1 [--council X] --out board.html`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.periods import parse_period
from services.errors import UserError
from services.settings import Settings
from services.store.location import DB_HELP
from services.store.readers import open_read_only
from services.views.report.data import load
from services.views.report.page import render


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = sub.add_parser("report", help="the Customer Experience Board pack: one self-contained HTML page")
    p.add_argument("--db", help=DB_HELP + "; a file's snapshot is read while its consumer runs")
    p.add_argument("--period", required=True, help="a month (2026-03) or a quarter (2026-Q1)")
    p.add_argument("--council", help="one council (default: the partnership, with each council)")
    p.add_argument("--out", required=True, help="HTML file to write")
    return p


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        period = parse_period(args.period)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    out = Path(args.out)
    if out.is_dir() or not out.parent.exists():
        raise UserError(f"cannot write {out}: not a file path in an existing folder")
    con, source = open_read_only(settings.location(args.db), settings.fcr_window_days, settings.timezone)
    try:
        figures = load(con, period, args.council)
    finally:
        con.close()
    rules = settings.rules()
    out.write_text(render(figures, period, args.council, rules, source), encoding="utf-8")
    print(f"report: {period.label} written to {out}", file=sys.stderr)
    return 0
