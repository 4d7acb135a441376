"""Which module runs each ``contactpulse adapt SOURCE`` (imported only when that one runs)."""

from __future__ import annotations

import argparse
import importlib

from services.settings import Settings

MODULES = {"asterisk-queue-log": "services.ingest.adapters.asterisk_cli"}


def run(args: argparse.Namespace, settings: Settings) -> int:
    module = importlib.import_module(MODULES[args.adapter])
    result: int = module.run(args, settings)
    return result
