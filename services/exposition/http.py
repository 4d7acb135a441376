"""The consumer's HTTP endpoint: ``/metrics`` (Prometheus; ``?name[]=`` selects series),
``/wallboard.json`` (the terminal wallboard) and ``/healthz``.

One HTTP stack: a FastAPI app served by uvicorn with the gateway's protocol, in a daemon thread, so it
never holds the process up. Bound to 127.0.0.1 by default.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from pipelines.calendar import uk_day
from pipelines.live import DayTally, LiveBoard
from pipelines.measures import ASA, SERVICE_LEVEL
from services.exposition.webconfig import WebConfig
from services.ingest.gateway.protocol import listening_socket, server_config

OPEN = frozenset({"/", "/healthz"})  # paths that need no credentials: they say only "ok"
READ_TIMEOUT = 10.0  # seconds a client may take to send its request
MAX_CONNECTIONS = 100  # scrapers and wallboards at once; past it, 503 and the connection closed


def wallboard(
    board: LiveBoard,
    day_of: Callable[[int], str] = uk_day,
    now: float | None = None,
    wait_colours: tuple[float, float] = (120.0, 300.0),
    due_soon: Mapping[tuple[str, str], int] | None = None,
) -> dict[str, Any]:
    """Per council and queue: waiting now, longest wait, answered and abandoned today, service level and ASA
    today (``pipelines.measures``), contacts due within the next working day under a customer care standard
    (when standards are configured), and the longest waits at which the wallboard turns amber and red."""
    now = now if now is not None else time.time()
    today = day_of(round(now * 1e6))
    waiting, on_hold, tallies = board.view(today)
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def row(council: str, queue: str) -> dict[str, Any]:
        return rows.setdefault(
            (council, queue),
            {"council": council, "queue": queue, "waiting": 0, "longest_wait_seconds": 0.0, "on_hold": 0},
        )

    for (council, _channel, queue), (n, oldest) in waiting.items():
        r = row(council, queue)
        r["waiting"] += n
        r["longest_wait_seconds"] = max(r["longest_wait_seconds"], now - oldest / 1e6)
    for (council, _channel, queue), (n, _) in on_hold.items():
        row(council, queue)["on_hold"] += n
    for (council, queue), t in tallies.items():
        row(council, queue).update(today_row(t))
    for (council, queue), n in (due_soon or {}).items():
        row(council, queue)["due_soon"] = n
    return {
        "generated_at": now,
        "day": today,
        "amber_wait_seconds": wait_colours[0],
        "red_wait_seconds": wait_colours[1],
        "rows": sorted(rows.values(), key=lambda r: (r["council"], r["queue"])),
    }


def today_row(t: DayTally) -> dict[str, Any]:
    """A queue's figures today: the counts (``counts_today``, which boards of several consumers add up)
    and the ratios derived from them."""
    return {
        "offered_today": t.offered,
        "answered_today": t.answered,
        "abandoned_today": t.abandoned,
        "service_level_today": SERVICE_LEVEL.of(t),
        "asa_today_seconds": ASA.of(t),
        "counts_today": dataclasses.asdict(t),
    }


def create_app(
    registry: CollectorRegistry,
    board: LiveBoard,
    day_of: Callable[[int], str] = uk_day,
    wait_colours: tuple[float, float] = (120.0, 300.0),
    web: WebConfig | None = None,
    due_soon: Callable[[], Mapping[tuple[str, str], int]] | None = None,
) -> FastAPI:
    """``/metrics`` (``?name[]=`` selects series, as prometheus_client's own handler allows: a cheap poll),
    ``/wallboard.json`` and ``/healthz``; ``web``'s basic auth guards all but ``/healthz`` (and ``/``)."""
    app = FastAPI(title="ContactPulse consumer", openapi_url=None, docs_url=None, redoc_url=None)

    @app.middleware("http")
    async def guarded(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if web is not None and request.url.path not in OPEN and not web.allows(request.headers.get("authorization")):
            return PlainTextResponse("unauthorized\n", 401, {"WWW-Authenticate": 'Basic realm="contactpulse"'})
        return await call_next(request)

    @app.get("/metrics")
    def metrics(request: Request) -> Response:
        names = request.query_params.getlist("name[]")
        body = generate_latest(registry.restricted_registry(names) if names else registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @app.get("/wallboard.json")
    def wallboard_json() -> Response:
        return Response(
            orjson.dumps(
                wallboard(board, day_of, wait_colours=wait_colours, due_soon=due_soon() if due_soon else None)
            ),
            media_type="application/json",
        )

    @app.get("/")
    @app.get("/healthz")
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok\n")

    return app


class Endpoint:
    """The endpoint's uvicorn server, in a daemon thread with an event loop of its own (so a scrape never
    waits on the consumer's loop, nor holds it up)."""

    def __init__(self, server: uvicorn.Server, sock: socket.socket) -> None:
        self.server, self.sock = server, sock
        self.thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="http", daemon=True)

    @property
    def server_address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return host, port

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.sock.close()


def serve(
    host: str,
    port: int,
    registry: CollectorRegistry,
    board: LiveBoard,
    day_of: Callable[[int], str] = uk_day,
    wait_colours: tuple[float, float] = (120.0, 300.0),
    web: WebConfig | None = None,
    due_soon: Callable[[], Mapping[tuple[str, str], int]] | None = None,
) -> Endpoint:
    """The consumer's endpoint, served by uvicorn as the gateway is (its protocol: a request that has not
    wholly arrived within ``READ_TIMEOUT`` seconds is answered 408); ``web``: TLS and basic auth."""
    if web is not None:
        web.ssl_context()  # the TLS files load, or one line says why, before anything starts
    app = create_app(registry, board, day_of, wait_colours, web, due_soon)
    config = server_config(app, READ_TIMEOUT, MAX_CONNECTIONS, **(web.uvicorn_tls() if web is not None else {}))
    sock = listening_socket(
        host, port, "/metrics", "set metrics_host and metrics_port, or --metrics-host and --metrics-port"
    )
    endpoint = Endpoint(uvicorn.Server(config), sock)
    endpoint.thread.start()
    deadline = time.monotonic() + 10
    while not endpoint.server.started and endpoint.thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    return endpoint
