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


def test_time_to_answer_buckets_follow_every_configured_sl_seconds() -> None:
    """METRICS.md section 4: the buckets include every sl_seconds value, the defaults and a council's own (a
    phone target of 45 s, a webchat one of 150 s), so a service level can be read off the histogram."""
    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry, {"phone": 45, "webchat": 150.0, "email": 432000})
    metrics.time_to_answer.observe_counts([(45.0, 2), (46.0, 1)], ("boston", "phone", "revenues"))
    labels = {"council": "boston", "channel": "phone", "queue": "revenues"}

    def bucket(le: str) -> float | None:
        return registry.get_sample_value("contactpulse_time_to_answer_seconds_bucket", {**labels, "le": le})

    assert bucket("45.0") == 2 and bucket("60.0") == 3
    assert bucket("150.0") == 3 and bucket("432000.0") == 3
    assert bucket("20.0") == 0  # the default edges stay
    default = CollectorRegistry()
    PipelineMetrics(default).time_to_answer.observe_counts([(1.0, 1)], ("boston", "phone", "revenues"))
    assert default.get_sample_value("contactpulse_time_to_answer_seconds_bucket", {**labels, "le": "45.0"}) is None
