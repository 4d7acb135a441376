"""`contactpulse wallboard`: a live terminal wallboard for team leads, fed by the consumer's /wallboard.json.

The consumer's settings decide when a queue's longest wait turns amber and red (``wallboard_amber_seconds``,
``wallboard_red_seconds``); the board says so in each answer."""

from __future__ import annotations

import base64
import dataclasses
import os
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.live import Live
from rich.table import Table

from pipelines.live import DayTally
from services.errors import UserError
from services.exposition.http import today_row

COLUMNS = ("council", "queue", "waiting", "longest wait", "on hold", "answered", "abandoned", "SL today", "ASA today",
           "due soon")  # fmt: skip


def credentials(env: Mapping[str, str]) -> tuple[str | None, ssl.SSLContext | None]:
    """The consumer's web config, seen from the wallboard: ``CONTACTPULSE_WALLBOARD_USER`` and
    ``CONTACTPULSE_WALLBOARD_PASSWORD`` (or ``..._PASSWORD_FILE``) for basic auth; ``..._CA_FILE`` to trust
    a private CA. Returns the Authorization header (or None) and the TLS context (or the default)."""
    user = env.get("CONTACTPULSE_WALLBOARD_USER")
    password = env.get("CONTACTPULSE_WALLBOARD_PASSWORD")
    if password is None and env.get("CONTACTPULSE_WALLBOARD_PASSWORD_FILE"):
        try:
            password = Path(env["CONTACTPULSE_WALLBOARD_PASSWORD_FILE"]).read_text().strip()
        except OSError as exc:
            raise UserError(f"cannot read CONTACTPULSE_WALLBOARD_PASSWORD_FILE: {exc.strerror}") from None
    header = None
    if user:
        header = "Basic " + base64.b64encode(f"{user}:{password or ''}".encode()).decode()
    context = None
    if env.get("CONTACTPULSE_WALLBOARD_CA_FILE"):
        try:
            context = ssl.create_default_context(cafile=env["CONTACTPULSE_WALLBOARD_CA_FILE"])
        except (OSError, ssl.SSLError) as exc:
            raise UserError(
                f"cannot load CONTACTPULSE_WALLBOARD_CA_FILE: {getattr(exc, 'strerror', None) or exc}"
            ) from None
    return header, context


def fetch(url: str, auth: tuple[str | None, ssl.SSLContext | None] = (None, None)) -> dict[str, Any]:
    header, context = auth
    request = urllib.request.Request(
        url.rstrip("/") + "/wallboard.json", headers={"Authorization": header} if header else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=3, context=context) as r:
            data: dict[str, Any] = orjson.loads(r.read())
            return data
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            raise UserError(
                f"the consumer at {url} wants credentials: set CONTACTPULSE_WALLBOARD_USER and "
                "CONTACTPULSE_WALLBOARD_PASSWORD (or ..._PASSWORD_FILE)"
            ) from None
        raise UserError(f"the consumer at {url} answered {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise UserError(f"cannot reach the consumer at {url}: {getattr(exc, 'reason', exc)}") from None


def merge(boards: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The boards of several consumers of one group (a lake: each shows the contacts of its partitions) as
    one: waiting and on hold added up, the longest wait the longest of any, today's counts added up and
    their ratios derived again; due soon is read from the shared store by each, so the largest is taken."""
    if len(boards) == 1:
        return boards[0]
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for board in boards:
        for r in board["rows"]:
            key = (r["council"], r["queue"])
            into = rows.setdefault(key, {"council": key[0], "queue": key[1], "waiting": 0, "on_hold": 0})
            into["waiting"] += r["waiting"]
            into["on_hold"] += r["on_hold"]
            into["longest_wait_seconds"] = max(into.get("longest_wait_seconds", 0.0), r["longest_wait_seconds"])
            if "due_soon" in r:
                into["due_soon"] = max(into.get("due_soon", 0), r["due_soon"])
            if "counts_today" in r:
                counts = into.setdefault("counts_today", dataclasses.asdict(DayTally()))
                for name, value in r["counts_today"].items():
                    counts[name] += value
    for r in rows.values():
        if "counts_today" in r:
            r.update(today_row(DayTally(**r["counts_today"])))
    first = boards[0]
    return {**first, "rows": sorted(rows.values(), key=lambda r: (r["council"], r["queue"]))}


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
    caption = "refreshes every 2 s; Ctrl-C to stop"
    if board.get("unreachable"):  # a consumer of the group left out: its partitions' contacts are not shown
        caption = f"NOT SHOWN: the consumer(s) at {', '.join(board['unreachable'])} cannot be reached; " + caption
    table = Table(title=f"ContactPulse wallboard{where} - {board['day']} (UK)", caption=caption)
    for col in COLUMNS:
        table.add_column(col, justify="left" if col in ("council", "queue") else "right")
    amber, red = board.get("amber_wait_seconds", 120), board.get("red_wait_seconds", 300)
    for r in board["rows"]:
        if council is not None and r["council"] != council:
            continue
        longest = r["longest_wait_seconds"] if r["waiting"] else 0.0
        style = "bold red" if longest >= red else ("yellow" if longest >= amber else "")
        table.add_row(
            r["council"],
            r["queue"],
            str(r["waiting"]),
            duration(longest if r["waiting"] else None),
            str(r["on_hold"]),
            str(r.get("answered_today", 0)),
            str(r.get("abandoned_today", 0)),
            _pct(r.get("service_level_today")),
            duration(r.get("asa_today_seconds")),
            str(r["due_soon"]) if "due_soon" in r else "-",  # under a customer care standard, next working day
            style=style,
        )
    return table


def fetch_all(urls: Sequence[str], auth: tuple[str | None, ssl.SSLContext | None]) -> dict[str, Any]:
    """Every consumer's board, merged: one that cannot be reached is left out while another answers, and
    named in ``unreachable`` (the board says so: its partitions' contacts are missing)."""
    boards, failures, unreachable = [], [], []
    for url in urls:
        try:
            boards.append(fetch(url, auth))
        except UserError as exc:
            failures.append(exc)
            unreachable.append(url)
    if not boards:
        raise failures[0]
    merged = merge(boards)
    return {**merged, "unreachable": unreachable} if unreachable else merged


def run(urls: Sequence[str], minutes: float | None, once: bool = False, council: str | None = None) -> int:
    console = Console()
    auth = credentials(os.environ)
    first = fetch_all(urls, auth)
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
                live.update(render(fetch_all(urls, auth), council))
            except UserError:
                continue  # the consumer may be restarting; keep the last board
    return 0
