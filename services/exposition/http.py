"""The consumer's HTTP endpoint: ``/metrics`` (Prometheus; ``?name[]=`` selects series) and
``/wallboard.json`` (the terminal wallboard).

Bound to 127.0.0.1 by default; a daemon thread, so it never holds the process up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from pipelines.calendar import uk_day
from pipelines.live import LiveBoard
from pipelines.measures import ASA, SERVICE_LEVEL
from services.errors import UserError
from services.exposition.webconfig import WebConfig


def wallboard(board: LiveBoard, day_of: Callable[[int], str] = uk_day, now: float | None = None,
              wait_colours: tuple[float, float] = (120.0, 300.0)) -> dict[str, Any]:  # fmt: skip
    """Per council and queue: waiting now, longest wait, answered and abandoned today, service level and ASA
    today (``pipelines.measures``), and the longest waits at which the wallboard turns amber and red."""
    now = now if now is not None else time.time()
    today = day_of(round(now * 1e6))
    waiting, on_hold, tallies = board.view(today)
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
    for (council, queue), t in tallies.items():
        row(council, queue).update(
            offered_today=t.offered, answered_today=t.answered, abandoned_today=t.abandoned,
            service_level_today=SERVICE_LEVEL.of(t), asa_today_seconds=ASA.of(t),
        )  # fmt: skip
    return {"generated_at": now, "day": today, "amber_wait_seconds": wait_colours[0],
            "red_wait_seconds": wait_colours[1],
            "rows": sorted(rows.values(), key=lambda r: (r["council"], r["queue"]))}  # fmt: skip


def serve(host: str, port: int, registry: CollectorRegistry, board: LiveBoard, day_of: Callable[[int], str] = uk_day,
          wait_colours: tuple[float, float] = (120.0, 300.0),
          web: WebConfig | None = None) -> ThreadingHTTPServer:  # fmt: skip
    """``web``: TLS and basic auth (services/exposition/webconfig.py); ``/healthz`` needs no credentials."""

    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # seconds a client may take to send its request (and, over TLS, its handshake)

        def do_GET(self) -> None:
            if (
                web is not None
                and self.path not in ("/", "/healthz")
                and not web.allows(self.headers.get("Authorization"))
            ):
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="contactpulse"')
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "13")
                self.end_headers()
                self.wfile.write(b"unauthorized\n")
                return
            if self.path.startswith("/metrics"):
                # ?name[]=...: only those series, as prometheus_client's own handler allows (a cheap poll)
                names = parse_qs(urlparse(self.path).query).get("name[]")
                body = generate_latest(registry.restricted_registry(names) if names else registry)
                ctype = CONTENT_TYPE_LATEST
            elif self.path.startswith("/wallboard.json"):
                body, ctype = orjson.dumps(wallboard(board, day_of, wait_colours=wait_colours)), "application/json"
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

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:  # the port is taken (another consumer?), or the address is not this machine's
        raise UserError(
            f"cannot serve /metrics on {host}:{port}: {exc.strerror or exc} "
            "(set metrics_host and metrics_port, or --metrics-host and --metrics-port)"
        ) from None
    server.daemon_threads = True
    context = web.ssl_context() if web is not None else None
    if context is not None:
        # the handshake in each request's own thread (on its first read), so a slow client holds up no one
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
