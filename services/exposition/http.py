"""The consumer's HTTP endpoint: ``/metrics`` (Prometheus; ``?name[]=`` selects series) and
``/wallboard.json`` (the terminal wallboard).

Bound to 127.0.0.1 by default; a daemon thread, so it never holds the process up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from pipelines.events import US
from pipelines.live import LiveBoard

UK = ZoneInfo("Europe/London")
HOUR_US = 3600 * US


def uk_day(us: int) -> str:
    """The wallboard's "today" is the UK calendar day (looked up once per UTC hour: the live board asks for
    every contact it counts, and UK time differs from UTC by whole hours)."""
    return _uk_day_of_hour(us // HOUR_US)


@lru_cache(maxsize=4096)
def _uk_day_of_hour(hour: int) -> str:
    return datetime.fromtimestamp(hour * 3600, UK).date().isoformat()


def wallboard(board: LiveBoard, sl_target: Callable[[str], float | None], now: float | None = None) -> dict[str, Any]:
    """Per council and queue: waiting now, longest wait, answered and abandoned today, service level and ASA today."""
    now = now if now is not None else time.time()
    today = uk_day(round(now * 1e6))
    waiting, on_hold = board.snapshot()
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def row(council: str, queue: str) -> dict[str, Any]:
        return rows.setdefault((council, queue), {"council": council, "queue": queue, "waiting": 0,
                                                  "longest_wait_seconds": 0.0, "on_hold": 0})  # fmt: skip

    for (council, _channel, queue), (n, oldest) in waiting.items():
        r = row(council, queue)
        r["waiting"] += n
        r["longest_wait_seconds"] = max(r["longest_wait_seconds"], now - oldest / 1e6)
    for (council, _channel, queue), (n, _) in on_hold.items():
        row(council, queue)["on_hold"] += n
    for (day, council, queue), t in board.days.items():
        if day != today:
            continue
        r = row(council, queue)
        base = t.offered - t.short_abandoned
        r.update(
            offered_today=t.offered, answered_today=t.answered, abandoned_today=t.abandoned,
            service_level_today=t.within_sl / base if base > 0 else None,
            asa_today_seconds=t.tta_sum / t.answered if t.answered else None,
        )  # fmt: skip
    return {"generated_at": now, "day": today, "rows": sorted(rows.values(), key=lambda r: (r["council"], r["queue"]))}


def serve(host: str, port: int, registry: CollectorRegistry, board: LiveBoard,
          sl_target: Callable[[str], float | None]) -> ThreadingHTTPServer:  # fmt: skip
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/metrics"):
                # ?name[]=...: only those series, as prometheus_client's own handler allows (a cheap poll)
                names = parse_qs(urlparse(self.path).query).get("name[]")
                body = generate_latest(registry.restricted_registry(names) if names else registry)
                ctype = CONTENT_TYPE_LATEST
            elif self.path.startswith("/wallboard.json"):
                body, ctype = orjson.dumps(wallboard(board, sl_target)), "application/json"
            elif self.path in ("/", "/healthz"):
                body, ctype = b"ok\n", "text/plain"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
