"""uvicorn's HTTP/1.1 protocol (h11) with a time-out on each request's arrival.

uvicorn closes a keep-alive connection that stays idle, but waits for ever on one whose request line,
headers or body arrive in part (a Content-Length larger than what is sent): a client, or an attack,
holding thousands of half-sent requests holds as many sockets. Here a request that has not wholly
arrived (headers and body) within ``read_timeout`` seconds of the connection opening, or of the last
response on it, is answered 408 (a problem document) and its connection closed. One timer a request,
armed and cancelled by the protocol: timing the body in the app instead (``asyncio.timeout`` around the
read) cost a tenth of the single-event request rate (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import orjson
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from services.errors import UserError
from services.ingest.gateway.problems import PROBLEM_BASE, Problem

PROBLEM_408 = orjson.dumps(
    Problem(
        type=PROBLEM_BASE + "request-timeout",
        title="Request timeout",
        status=408,
        detail="the request did not arrive in time",
    ).model_dump()
)
RESPONSE_408 = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\nconnection: close\r\n"
    b"content-length: " + str(len(PROBLEM_408)).encode() + b"\r\n\r\n" + PROBLEM_408
)


class TimedH11Protocol(H11Protocol):
    read_timeout = 30.0  # seconds; set by timed_h11

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
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
        cycle = self.cycle
        if self.headers_due is not None and cycle is not None and not cycle.response_complete and not cycle.more_body:
            self.headers_due.cancel()  # the request has wholly arrived
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
        cycle = self.cycle
        if self.transport.is_closing() or (
            cycle is not None and not cycle.response_complete and (cycle.response_started or not cycle.more_body)
        ):
            return  # the request arrived, and its answer is the app's
        self.transport.write(RESPONSE_408)
        self.transport.close()  # a handler still reading the body gets a disconnect


def timed_h11(read_timeout: float) -> type[H11Protocol]:
    """The protocol class for ``uvicorn.Config(http=...)``."""
    return type("TimedH11Protocol", (TimedH11Protocol,), {"read_timeout": read_timeout})


def server_config(app: Any, read_timeout: float, max_connections: int, **tls: Any) -> Config:
    """The gateway's uvicorn config: headers timed, connections capped (past the cap uvicorn answers 503
    and closes), no access log (a webhook's URL may hold its token), uvicorn's log lines through the
    root's masked handlers (log_config=None; services/logs.py)."""
    return Config(
        app,
        http=timed_h11(read_timeout),
        limit_concurrency=max_connections,
        log_level="warning",
        access_log=False,
        log_config=None,
        lifespan="off",
        **tls,
    )


def listening_socket(host: str, port: int, what: str, hint: str) -> socket.socket:
    """A TCP socket bound to ``host:port`` for uvicorn, or a one-line UserError naming ``what`` is served
    and the settings (``hint``) that move it: the port is taken, or the address is not this machine's."""
    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and without it
    # Nagle's algorithm and delayed ACKs held each answer back under load (docs/performance.md)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot serve {what} on {host}:{port}: {exc.strerror or exc} ({hint})") from None
    return sock
