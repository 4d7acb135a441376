"""The ``contactpulse`` command's entry point. It imports nothing heavy itself, so that a Ctrl-C while the
program is still loading (pydantic, DuckDB, Kafka's client) is "interrupted" too, never a traceback."""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from services.cli import main as run

        return run()
    except KeyboardInterrupt:  # before services.cli.main took over Ctrl-C, or after it gave it back
        print("contactpulse: interrupted", file=sys.stderr)
        return 130
