"""A gateway app served by a real uvicorn server on loopback, in a thread, and a plain HTTP client."""

from __future__ import annotations

import http.client
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from services.ingest.gateway.protocol import server_config
from services.ingest.gateway.publisher import Publisher, Unavailable


@contextmanager
def serving(app: FastAPI, read_timeout: float = 30.0, max_connections: int = 1000) -> Iterator[str]:
    """The app on http://127.0.0.1:PORT until the block ends, configured as the gateway's server is."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(server_config(app, read_timeout, max_connections))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def post(
    url: str, body: bytes, content_type: str | None, token: str | None = None, headers: dict[str, str] | None = None
) -> Answer:
    """POST with exactly these headers: no ``Content-Type`` when ``content_type`` is None (urllib would
    add a form-encoded one, as the official CloudEvents SDK's binary mode does not)."""
    h = dict(headers or {})
    if content_type:
        h["Content-Type"] = content_type
    if token:
        h["Authorization"] = f"Bearer {token}"
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", path, body=body, headers=h)
        r = connection.getresponse()
        return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        connection.close()


class Recording(Publisher):
    """Publishes into lists (or fails, when told to); the real one is tested against the broker.
    ``sent``: the events topic's (key, value); ``kept``: every other topic's (topic, key, value, headers)."""

    def __init__(self) -> None:
        super().__init__("127.0.0.1:1", "contact.events.v1")
        self.ready.set()
        self.sent: list[tuple[bytes | None, bytes]] = []
        self.kept: list[tuple[str, bytes | None, bytes, dict[str, str]]] = []
        self.down = False

    async def publish(
        self,
        messages: Sequence[tuple[bytes | None, bytes]],
        topic: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if self.down:
            raise Unavailable("Kafka at 127.0.0.1:1 did not acknowledge: KafkaConnectionError")
        if topic is None or topic == self.topic:
            self.sent.extend(messages)
        else:
            self.kept.extend((topic, k, v, dict(headers or {})) for k, v in messages)
