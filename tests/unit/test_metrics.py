"""PipelineMetrics' batch observations, read back from a fresh registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from services.exposition.metrics import PipelineMetrics

NAME = "contactpulse_ingest_latency_seconds"


def test_ingest_latency_of_a_batch() -> None:
    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry)
    # Kafka timestamps in ms; now 3.0 s: latencies 2.0, 2.0, 1.5, 0.0, and 0.0 for a clock ahead of ours
    metrics.observe_ingest([1000, 1000, 1500, 3000, 3500], now=3.0)

    def bucket(le: str) -> float | None:
        return registry.get_sample_value(NAME + "_bucket", {"le": le})

    assert bucket("0.005") == 2
    assert bucket("1.0") == 2
    assert bucket("2.0") is None  # not a bucket of PIPELINE_BUCKETS
    assert bucket("2.5") == 5
    assert bucket("+Inf") == 5
    assert registry.get_sample_value(NAME + "_count") == 5
    assert registry.get_sample_value(NAME + "_sum") == 5.5
    metrics.observe_ingest([], now=4.0)
    assert registry.get_sample_value(NAME + "_count") == 5
