"""uvicorn's HTTP/1.1 protocol (h11) with a time-out on a request's headers.

uvicorn closes a keep-alive connection that stays idle, but waits for ever on one whose request line or
headers arrive in part: a client (or an attack) holding thousands of half-sent requests holds as many
sockets. Here a connection that has not completed a request's headers within ``read_timeout`` seconds
of opening, or of its last response, is answered 408 (a problem document) and closed. The body's own
time-out is the app's (``Ingest.body``), which answers 408 the same way.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from services.ingest.gateway.problems import PROBLEM_BASE, Problem

PROBLEM_408 = orjson.dumps(Problem(type=PROBLEM_BASE + "request-timeout", title="Request timeout", status=408,
                                   detail="the request's headers did not arrive in time").model_dump())  # fmt: skip
RESPONSE_408 = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\nconnection: close\r\n"
    b"content-length: " + str(len(PROBLEM_408)).encode() + b"\r\n\r\n" + PROBLEM_408
)


class TimedH11Protocol(H11Protocol):
    read_timeout = 30.0  # seconds; set by timed_h11

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:  # fmt: skip
        super().__init__(config, server_state, app_state, _loop)
        self.headers_due: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()

    def _await_headers(self) -> None:
        if self.headers_due is not None:
            self.headers_due.cancel()
        self.headers_due = self.loop.call_later(self.read_timeout, self._headers_late)

    def handle_events(self) -> None:
        super().handle_events()
        if self.headers_due is not None and self.cycle is not None and not self.cycle.response_complete:
            self.headers_due.cancel()  # a request's headers are in: its body is the app's to time
            self.headers_due = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._await_headers()  # the next request on this connection

    def connection_lost(self, exc: Exception | None) -> None:
        if self.headers_due is not None:
            self.headers_due.cancel()
        super().connection_lost(exc)

    def _headers_late(self) -> None:
        self.headers_due = None
        if self.transport.is_closing() or (self.cycle is not None and not self.cycle.response_complete):
            return
        self.transport.write(RESPONSE_408)
        self.transport.close()


def timed_h11(read_timeout: float) -> type[H11Protocol]:
    """The protocol class for ``uvicorn.Config(http=...)``."""
    return type("TimedH11Protocol", (TimedH11Protocol,), {"read_timeout": read_timeout})


def server_config(app: Any, read_timeout: float, max_connections: int, **tls: Any) -> Config:
    """The gateway's uvicorn config: headers timed, connections capped (past the cap uvicorn answers 503
    and closes), no access log (a webhook's URL may hold its token), uvicorn's log lines through the
    root's masked handlers (log_config=None; services/logs.py)."""
    return Config(app, http=timed_h11(read_timeout), limit_concurrency=max_connections, log_level="warning",
                  access_log=False, log_config=None, lifespan="off", **tls)  # fmt: skip
