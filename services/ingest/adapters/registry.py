"""Which module runs each ``contactpulse adapt SOURCE`` (imported only when that one runs)."""

from __future__ import annotations

import argparse
import importlib

from services.settings import Settings

RUNS = {
    "asterisk-queue-log": "services.ingest.adapters.asterisk_cli:run",
    "amazon-connect": "services.ingest.adapters.records_cli:run_connect",
    "genesys": "services.ingest.adapters.records_cli:run_genesys",
    "csv": "services.ingest.adapters.csv_cli:run",
}


def run(args: argparse.Namespace, settings: Settings) -> int:
    module, _, function = RUNS[args.adapter].partition(":")
    result: int = getattr(importlib.import_module(module), function)(args, settings)
    return result
