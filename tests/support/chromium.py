"""Headless Chromium (Debian's package) for rendering tests: screenshot, PDF and console messages."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    path = shutil.which("chromium")
    assert path, "chromium is missing: `make setup` installs Debian's chromium"
    return path


def run(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = [chromium(), *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *extra, page.as_uri()]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def console_errors(stderr: str) -> list[str]:
    """Console messages at error level, and uncaught exceptions, as Chromium logs them to stderr."""
    return [line for line in stderr.splitlines() if re.search(r"CONSOLE.*(error|Uncaught)|:ERROR:CONSOLE", line, re.I)]
