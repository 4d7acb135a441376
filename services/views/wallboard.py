"""`contactpulse wallboard`: a live terminal wallboard for team leads, fed by the consumer's /wallboard.json.

The consumer's settings decide when a queue's longest wait turns amber and red (``wallboard_amber_seconds``,
``wallboard_red_seconds``); the board says so in each answer."""

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

COLUMNS = ("council", "queue", "waiting", "longest wait", "on hold", "answered", "abandoned", "SL today", "ASA today")


def fetch(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/wallboard.json", timeout=3) as r:
            data: dict[str, Any] = orjson.loads(r.read())
            return data
    except (urllib.error.URLError, OSError) as exc:
        raise UserError(f"cannot reach the consumer at {url}: {getattr(exc, 'reason', exc)}") from None


def duration(seconds: float | None) -> str:
    """m:ss under an hour, h:mm:ss from an hour (email and social queues wait hours), d h from a day."""
    if seconds is None:
        return "-"
    s = int(seconds)
    if s >= 86400:
        return f"{s // 86400}d {s % 86400 // 3600}h"
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def render(board: dict[str, Any], council: str | None = None) -> Table:
    where = f" - {council}" if council else ""
    table = Table(title=f"ContactPulse wallboard{where} - {board['day']} (UK)",
                  caption="refreshes every 2 s; Ctrl-C to stop")  # fmt: skip
    for col in COLUMNS:
        table.add_column(col, justify="left" if col in ("council", "queue") else "right")
    amber, red = board.get("amber_wait_seconds", 120), board.get("red_wait_seconds", 300)
    for r in board["rows"]:
        if council is not None and r["council"] != council:
            continue
        longest = r["longest_wait_seconds"] if r["waiting"] else 0.0
        style = "bold red" if longest >= red else ("yellow" if longest >= amber else "")
        table.add_row(
            r["council"], r["queue"], str(r["waiting"]), duration(longest if r["waiting"] else None),
            str(r["on_hold"]), str(r.get("answered_today", 0)), str(r.get("abandoned_today", 0)),
            _pct(r.get("service_level_today")), duration(r.get("asa_today_seconds")), style=style,
        )  # fmt: skip
    return table


def run(url: str, minutes: float | None, once: bool = False, council: str | None = None) -> int:
    console = Console()
    first = fetch(url)
    if council is not None and all(r["council"] != council for r in first["rows"]):
        known = sorted({r["council"] for r in first["rows"]})
        console.print(f"no queue of {council!r} on the board yet (councils now: {', '.join(known) or 'none'})")
    if once:
        console.print(render(first, council))
        return 0
    deadline = time.monotonic() + minutes * 60 if minutes else None
    with Live(render(first, council), console=console, refresh_per_second=1, screen=False) as live:
        while deadline is None or time.monotonic() < deadline:
            time.sleep(2)
            try:
                live.update(render(fetch(url), council))
            except UserError:
                continue  # the consumer may be restarting; keep the last board
    return 0
