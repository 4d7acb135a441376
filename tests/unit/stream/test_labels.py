"""Bounded label values: the pure rule on a table of values, then the consumer's batch core with a fresh
registry, where a flood of sources, councils and queues makes no more series than the caps allow."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from pipelines.engine import FactEngine
from pipelines.labels import OTHER, BoundedLabels
from pipelines.live import LiveBoard
from pipelines.rules import MetricRules
from services.exposition.metrics import LiveCollector, PipelineMetrics
from services.store.store import Store
from services.stream.processor import StreamProcessor
from tests.support.builders import T0, Rec, ev, raw


@pytest.mark.parametrize(("values", "shown", "over"), [
    (["a", "b", "a", "c"], ["a", "b", "a", OTHER], 1),  # the third distinct value
    (["a", "x" * 101, "a"], ["a", OTHER, "a"], 1),  # too long, whatever the cap
    (["a", "b", "c", "c"], ["a", "b", OTHER, OTHER], 2),  # each refusal counts
])  # fmt: skip
def test_values_beyond_the_cap_or_too_long_are_other(values: list[str], shown: list[str], over: int) -> None:
    refused: list[str] = []
    labels = BoundedLabels("source", cap=2, over=refused.append)
    assert [labels(v) for v in values] == shown
    assert refused == ["source"] * over


def test_scopes_have_caps_of_their_own() -> None:
    labels = BoundedLabels("queue", cap=1)
    assert [labels("q1", "boston"), labels("q2", "boston"), labels("q2", "east-lindsey")] == ["q1", OTHER, "q2"]


def test_a_flood_of_sources_councils_and_queues_makes_bounded_series(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry)
    board = LiveBoard(
        queue_label_limit=2, council_label_limit=2, over=lambda label: metrics.label_over_cap.labels(label).inc()
    )
    registry.register(LiveCollector(board, clock=lambda: T0.timestamp() + 100))
    proc = StreamProcessor(
        FactEngine(MetricRules()),
        Store(tmp_path / "s.duckdb"),
        metrics,
        board,
        "contact.events.v1",
        source_label_limit=3,
    )
    records = []
    for i in range(12):
        e = ev("contact.queued", i, contact=f"C-{i}", council=f"council-{i % 4}", queue=f"queue-{i % 3}")
        e["source"] = f"/emitter/{i}"  # a misbehaving emitter: a new source on every event
        records.append(Rec(i, raw(e)))
    proc.commit(proc.decode(records, ingest_time=T0.replace(year=2030)))
    text = [s for m in registry.collect() for s in m.samples]
    sources = {s.labels["source"] for s in text if s.name == "contactpulse_source_last_event_timestamp_seconds"}
    assert sources == {"/emitter/0", "/emitter/1", "/emitter/2", OTHER}
    assert (
        registry.get_sample_value("contactpulse_source_last_event_timestamp_seconds", {"source": OTHER})
        == T0.timestamp() + 11
    )  # the latest of those beyond the cap
    councils = {s.labels["council"] for s in text if s.name == "contactpulse_queue_waiting"}
    assert councils == {"council-0", "council-1", OTHER}
    queues = {(s.labels["council"], s.labels["queue"]) for s in text if s.name == "contactpulse_queue_waiting"}
    assert len([q for c, q in queues if c == "council-0" and q != OTHER]) <= 2
    assert registry.get_sample_value("contactpulse_label_values_over_cap_total", {"label": "source"}) == 9
    assert (registry.get_sample_value("contactpulse_label_values_over_cap_total", {"label": "council"}) or 0) >= 6
    assert sum(s.value for s in text if s.name == "contactpulse_queue_waiting") == 12  # nothing lost in counts
