"""`contactpulse wallboard`: a live terminal wallboard for team leads, fed by the consumer's /wallboard.json."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from typing import Any

import orjson
from rich.console import Console
from rich.live import Live
from rich.table import Table

from services.errors import UserError


def fetch(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/wallboard.json", timeout=3) as r:
            data: dict[str, Any] = orjson.loads(r.read())
            return data
    except (urllib.error.URLError, OSError) as exc:
        raise UserError(f"cannot reach the consumer at {url}: {getattr(exc, 'reason', exc)}") from None


def _mmss(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    return f"{s // 60}:{s % 60:02d}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def render(board: dict[str, Any]) -> Table:
    table = Table(title=f"ContactPulse wallboard - {board['day']} (UK)", caption="refreshes every 2 s; Ctrl-C to stop")
    for col in (
        "council",
        "queue",
        "waiting",
        "longest wait",
        "on hold",
        "answered",
        "abandoned",
        "SL today",
        "ASA today",
    ):
        table.add_column(col, justify="left" if col in ("council", "queue") else "right")
    for r in board["rows"]:
        longest = r["longest_wait_seconds"]
        style = "bold red" if longest >= 300 else ("yellow" if longest >= 120 else "")
        table.add_row(
            r["council"], r["queue"], str(r["waiting"]), _mmss(longest if r["waiting"] else None), str(r["on_hold"]),
            str(r.get("answered_today", 0)), str(r.get("abandoned_today", 0)),
            _pct(r.get("service_level_today")), _mmss(r.get("asa_today_seconds")), style=style,
        )  # fmt: skip
    return table


def run(url: str, minutes: float | None, once: bool = False) -> int:
    console = Console()
    if once:
        console.print(render(fetch(url)))
        return 0
    deadline = time.monotonic() + minutes * 60 if minutes else None
    with Live(render(fetch(url)), console=console, refresh_per_second=1, screen=False) as live:
        while deadline is None or time.monotonic() < deadline:
            time.sleep(2)
            try:
                live.update(render(fetch(url)))
            except UserError:
                continue  # the consumer may be restarting; keep the last board
    return 0
