"""On a lake each consumer sees its own partitions' events; the councils' watermarks come from every
consumer. A contact waiting on a quiet partition leaves the live board once the partnership's watermark
passes its time-out, as its facts in the store already say."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from pipelines.engine import FactEngine
from pipelines.events import micros
from pipelines.live import LiveBoard
from pipelines.rules import MetricRules
from services.exposition.metrics import PipelineMetrics
from services.store.store import Store
from services.stream.processor import StreamProcessor
from tests.support.builders import T0, TOPIC, Rec, ev, raw


def test_a_waiting_contact_times_out_by_the_lake_wide_watermark(tmp_path: Path) -> None:
    rules = MetricRules()
    proc = StreamProcessor(
        FactEngine(rules), Store(tmp_path / "w.duckdb"), PipelineMetrics(CollectorRegistry()), LiveBoard(), TOPIC
    )
    queued = ev("contact.queued", 0, "C-quiet", channel="phone")
    proc.commit(proc.decode([Rec(0, raw(queued))], ingest_time=T0))
    key = ("boston", "C-quiet")
    assert proc.board.is_live(key)
    timeout_us = rules.timeout_us
    proc.follow_watermarks({"boston": micros(T0) + timeout_us - 1})  # not yet
    assert proc.board.is_live(key)
    proc.follow_watermarks({"boston": micros(T0) + timeout_us + 1, "east-lindsey": micros(T0)})
    assert not proc.board.is_live(key)
    assert proc.engine.watermarks["boston"] == micros(T0) + timeout_us + 1
