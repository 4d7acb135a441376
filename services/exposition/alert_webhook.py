"""`contactpulse alert-webhook`: an example Alertmanager webhook receiver that logs each notification.

It shows what arrives (one JSON line per alert: receiver, status, labels, annotations) so that a
council can see routing work before wiring a real pager or chat tool. Bound to 127.0.0.1.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import IO, Any

import orjson

from services.errors import UserError


def lines(payload: dict[str, Any], path: str) -> list[bytes]:
    receiver = path.rstrip("/").rsplit("/", 1)[-1]
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return [
        orjson.dumps(
            {
                "received_at": now,
                "receiver": receiver,
                "status": a.get("status"),
                "labels": a.get("labels", {}),
                "annotations": a.get("annotations", {}),
            }
        )
        for a in payload.get("alerts", [])
    ]


def serve(host: str, port: int, out: IO[bytes]) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                for line in lines(orjson.loads(body), self.path):
                    out.write(line + b"\n")
                out.flush()
                self.send_response(200)
            except orjson.JSONDecodeError:
                self.send_response(400)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    try:
        server = HTTPServer((host, port), Handler)
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (choose another --port)") from None
    with server:
        print(f"alert-webhook: listening on http://{host}:{port}/alerts/<receiver>", file=sys.stderr)
        server.serve_forever()
