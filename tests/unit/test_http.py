"""The consumer's HTTP endpoint on a real local socket: /metrics, its name[] selection, /healthz, 404."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry, Counter

from pipelines.live import LiveBoard
from services.histograms import BulkHistogram
from services.http import serve
from services.metrics import LiveCollector


def get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        body: bytes = r.read()
        return body.decode()


def series(text: str) -> set[str]:
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}


def test_metrics_whole_and_selected() -> None:
    registry = CollectorRegistry()
    Counter("a_events", "A.", registry=registry).inc(3)
    BulkHistogram("b_seconds", "B.", buckets=(1, 2), registry=registry).observe(1.5)
    board = LiveBoard()
    registry.register(LiveCollector(board))
    server = serve("127.0.0.1", 0, registry, board, lambda channel: None)
    port = server.server_address[1]
    try:
        whole = series(get(port, "/metrics"))
        assert {"a_events_total", "b_seconds_bucket", "b_seconds_count", "b_seconds_sum"} <= whole
        assert series(get(port, "/metrics?name[]=a_events_total")) == {"a_events_total"}
        both = get(port, "/metrics?name[]=a_events_total&name[]=b_seconds_count")
        assert series(both) == {"a_events_total", "b_seconds_count"}
        assert "a_events_total 3.0" in both and "b_seconds_count 1.0" in both
        assert get(port, "/healthz") == "ok\n"
        with pytest.raises(urllib.error.HTTPError, match="404"):
            get(port, "/nothing")
    finally:
        server.shutdown()
        server.server_close()
