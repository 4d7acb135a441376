"""The wallboard of a consumer group: the boards of two consumers, each fed the contacts of its partitions,
merged, equal the board of one consumer fed every contact (waiting, on hold, longest wait, today's counts
and the ratios derived from them)."""

from __future__ import annotations

import zlib
from pathlib import Path

from prometheus_client import CollectorRegistry

from pipelines.engine import FactEngine
from pipelines.live import LiveBoard
from pipelines.rules import MetricRules
from services.exposition.http import wallboard
from services.exposition.metrics import PipelineMetrics
from services.store.store import Store
from services.stream.processor import StreamProcessor
from services.views.wallboard import merge
from tests.support.builders import T0, TOPIC, Rec, raw
from tests.support.generator import Generator


def processor(db: Path) -> StreamProcessor:
    rules = MetricRules()
    return StreamProcessor(
        FactEngine(rules), Store(db), PipelineMetrics(CollectorRegistry(), rules.sl_seconds), LiveBoard(), TOPIC
    )


def test_two_consumers_boards_merged_equal_one_consumers_board(tmp_path: Path) -> None:
    events = sorted((e for c in Generator(17, start=T0).contacts(400) for e in c), key=lambda e: e["time"])
    cut = len(events) * 3 // 4  # the rest not yet seen: contacts still waiting and on hold
    seen = events[:cut]
    whole = processor(tmp_path / "whole.duckdb")
    halves = [processor(tmp_path / f"half{i}.duckdb") for i in range(2)]
    for at in range(0, len(seen), 200):
        batch = seen[at : at + 200]
        whole.commit(whole.decode([Rec(at + i, raw(e)) for i, e in enumerate(batch)], ingest_time=T0))
        for part, proc in enumerate(halves):  # a contact's partition, as its key decides
            mine = [e for e in batch if zlib.crc32(e["data"]["contact_id"].encode()) % 2 == part]
            proc.commit(proc.decode([Rec(at + i, raw(e), part) for i, e in enumerate(mine)], ingest_time=T0))
    now = T0.timestamp() + 6 * 3600
    one = wallboard(whole.board, lambda us: "all", now)  # LiveBoard()'s own day: "all"
    merged = merge([wallboard(p.board, lambda us: "all", now) for p in halves])
    assert [r for r in one["rows"] if r["waiting"]], "some contacts are still waiting"
    assert any(r.get("counts_today", {}).get("answered") for r in one["rows"])
    assert len(merged["rows"]) == len(one["rows"])
    for a, b in zip(one["rows"], merged["rows"], strict=True):
        assert a.keys() == b.keys(), a["queue"]
        for key, value in a.items():
            if isinstance(value, float):
                assert abs(value - b[key]) < 1e-6, (a["queue"], key)
            elif key == "counts_today":
                assert value.keys() == b[key].keys()
                assert all(abs(value[k] - b[key][k]) < 1e-6 for k in value), (a["queue"], key)
            else:
                assert value == b[key], (a["queue"], key)


def test_a_consumer_that_cannot_be_reached_is_named_on_the_board(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from services.exposition.http import serve
    from services.views.wallboard import fetch_all, render
    from tests.support.net import free_port

    proc = processor(tmp_path / "one.duckdb")
    queued = [e for c in Generator(3, start=T0).contacts(20) for e in c][:30]
    proc.commit(proc.decode([Rec(i, raw(e)) for i, e in enumerate(queued)], ingest_time=T0))
    port, gone = free_port(), free_port()
    server = serve("127.0.0.1", port, CollectorRegistry(), proc.board)
    try:
        board = fetch_all([f"http://127.0.0.1:{port}", f"http://127.0.0.1:{gone}"], (None, None))
    finally:
        server.close()
    assert board["unreachable"] == [f"http://127.0.0.1:{gone}"]
    assert board["rows"], "the board of the consumer that answered"
    out = io.StringIO()
    Console(file=out, width=250).print(render(board))
    assert f"NOT SHOWN: the consumer(s) at http://127.0.0.1:{gone} cannot be reached" in out.getvalue()
