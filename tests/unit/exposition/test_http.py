"""The consumer's HTTP endpoint on a real local socket (/metrics, its name[] selection, /healthz, 404), and
the wallboard's UK day."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter

from pipelines.calendar import LocalDays, uk_day
from pipelines.events import US, micros
from pipelines.live import LiveBoard
from services.exposition.histograms import BulkHistogram
from services.exposition.http import serve
from services.exposition.metrics import LiveCollector


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
    server = serve("127.0.0.1", 0, registry, board)
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
        server.close()


@settings(max_examples=2000)
@given(st.integers(min_value=946_684_800 * US, max_value=4_102_444_800 * US))  # 2000 to 2100
def test_uk_day_is_the_london_calendar_day(us: int) -> None:
    assert uk_day(us) == datetime.fromtimestamp(us // US, ZoneInfo("Europe/London")).date().isoformat()


@settings(max_examples=500)
@given(
    st.integers(min_value=946_684_800 * US, max_value=4_102_444_800 * US),
    st.sampled_from(["Asia/Kolkata", "Australia/Adelaide", "Asia/Kathmandu", "America/St_Johns", "UTC"]),
)
def test_local_day_in_zones_with_part_hour_offsets(us: int, zone: str) -> None:
    assert LocalDays(zone)(us) == datetime.fromtimestamp(us // US, ZoneInfo(zone)).date().isoformat()


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        ("2026-03-28T23:59:59.999999+00:00", "2026-03-28"),  # GMT, the night before the clocks go forward
        ("2026-06-30T22:59:59.999999+00:00", "2026-06-30"),  # BST: 23:59 in London
        ("2026-06-30T23:00:00+00:00", "2026-07-01"),  # BST: midnight in London
        ("2026-10-25T00:30:00+00:00", "2026-10-25"),  # the night the clocks go back
    ],
)
def test_uk_day_at_the_edges(moment: str, day: str) -> None:
    assert uk_day(micros(datetime.fromisoformat(moment))) == day
