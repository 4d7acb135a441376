"""Prometheus series of METRICS.md section 4: definitions, scrape-time gauges and updates.

The registry is injected (tests use a fresh ``CollectorRegistry``). The waiting
and on-hold gauges are computed at scrape time from the ``LiveBoard``, so the
oldest wait keeps growing in wall-clock time while nothing happens.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from pipelines.live import LiveBoard, Observations
from pipelines.rules import DEFAULT_SL_SECONDS
from services.exposition.histograms import BulkHistogram

CONTACT_LABELS = ("council", "channel", "queue")
# seconds: the scale of a wait is minutes and hours, not milliseconds; wait_buckets adds every sl_seconds value
WAIT_BUCKETS = (5, 10, 20, 30, 60, 90, 120, 180, 300, 600, 900, 1800, 3600, 7200, 14400, 86400, 432000)
PIPELINE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
DURATION_BUCKETS = (30, 60, 120, 180, 300, 450, 600, 900, 1200, 1800, 2700, 3600, 7200)


def wait_buckets(sl_seconds: Mapping[str, float]) -> tuple[float, ...]:
    """The time-to-answer histogram's edges: ``WAIT_BUCKETS`` and every configured ``sl_seconds`` value
    (METRICS.md section 4), so that the share answered within a channel's threshold can be read off it."""
    return tuple(sorted({*WAIT_BUCKETS, *(float(v) for v in sl_seconds.values())}))


class PipelineMetrics:
    def __init__(self, registry: CollectorRegistry, sl_seconds: Mapping[str, float] = DEFAULT_SL_SECONDS) -> None:
        p = "contactpulse_"
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.offered = Counter(
            p + "contacts_offered", "Contacts that entered the queue.", CONTACT_LABELS, registry=registry
        )
        self.answered = Counter(
            p + "contacts_answered", "Offered contacts answered.", CONTACT_LABELS, registry=registry
        )
        self.abandoned = Counter(
            p + "contacts_abandoned",
            "Offered contacts abandoned, short abandons excluded.",
            CONTACT_LABELS,
            registry=registry,
        )
        self.short_abandoned = Counter(
            p + "contacts_short_abandoned",
            "Contacts abandoned within short_abandon_seconds.",
            CONTACT_LABELS,
            registry=registry,
        )
        self.within_sl = Counter(
            p + "contacts_answered_within_sl",
            "Contacts answered within sl_seconds[channel].",
            CONTACT_LABELS,
            registry=registry,
        )
        # histograms take a batch's observations at once (services/histograms.py)
        self.time_to_answer = BulkHistogram(
            p + "time_to_answer_seconds",
            "Time to answer of answered contacts.",
            CONTACT_LABELS,
            buckets=wait_buckets(sl_seconds),
            registry=registry,
        )
        self.hold = BulkHistogram(
            p + "hold_seconds",
            "Hold time of handled contacts.",
            ("council", "channel"),
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.handle = BulkHistogram(
            p + "handle_seconds",
            "Handle time of handled contacts (after-contact work known at the end).",
            ("council", "channel"),
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.events = Counter(p + "events", "Events processed.", ("type",), registry=registry)
        self.duplicates = Counter(p + "events_duplicate", "Events ignored as duplicates.", registry=registry)
        self.rejected = Counter(p + "events_rejected", "Events dead-lettered.", ("reason",), registry=registry)
        self.erased = Counter(
            p + "events_erased", "Events dropped: they belong to a person whose data was erased.", registry=registry
        )
        self.source_last = Gauge(
            p + "source_last_event_timestamp_seconds",
            "Latest event time seen from each source.",
            ("source",),
            registry=registry,
        )
        # label: council, queue or source (pipelines/labels.py): values given no series of their own
        self.label_over_cap = Counter(
            p + "label_values_over_cap",
            "Label values counted as 'other': too long, or beyond the cap of distinct "
            "values (council_label_limit, queue_label_limit per council, source_label_limit).",
            ("label",),
            registry=registry,
        )
        self.lag = Gauge(
            p + "consumer_lag_messages",
            "Messages on the events topic not yet processed.",
            ("partition",),
            registry=registry,
        )
        self.batch_committed = Gauge(
            p + "batch_committed_timestamp_seconds",
            "Wall-clock time of the last batch committed to DuckDB.",
            registry=registry,
        )

        # pipeline timings (not in METRICS.md's fixed list; additions for the pipeline health dashboard)
        self.batch_duration = BulkHistogram(
            p + "batch_duration_seconds",
            "Time of one DuckDB write (the consumer batches that arrived since the last one, in one transaction).",
            buckets=PIPELINE_BUCKETS,
            registry=registry,
        )
        self.ingest_latency = BulkHistogram(
            p + "ingest_latency_seconds",
            "From the Kafka record's timestamp until the live series count it (DuckDB follows within a write).",
            buckets=PIPELINE_BUCKETS,
            registry=registry,
        )

    def child(self, metric: Any, labels: tuple[str, ...]) -> Any:
        """``metric.labels(*labels)``, looked up once: labels() takes a lock and checks names on every call."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def observe(self, obs: Observations) -> None:
        for counter, counts in (
            (self.offered, obs.offered),
            (self.answered, obs.answered),
            (self.abandoned, obs.abandoned),
            (self.short_abandoned, obs.short_abandoned),
            (self.within_sl, obs.answered_within_sl),
        ):
            for labels, n in counts.items():
                self.child(counter, labels).inc(n)
        self.time_to_answer.observe_labelled(obs.time_to_answer)
        self.hold.observe_labelled(obs.hold)
        self.handle.observe_labelled(obs.handle)

    def observe_ingest(self, record_ms: Iterable[int], now: float) -> None:
        """Ingest latency of a batch's records, from their Kafka timestamps (ms) to ``now`` (s); the records of
        one millisecond are observed once, with their count."""
        counted = Tally(record_ms)
        self.ingest_latency.observe_counts((max(0.0, now - ms / 1000), n) for ms, n in counted.items())


class LiveCollector(Collector):
    """Waiting and on-hold gauges, computed from the LiveBoard at each scrape."""

    def __init__(self, board: LiveBoard, clock: Callable[[], float] = time.time) -> None:
        self.board = board
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        waiting, on_hold = self.board.snapshot()
        now = self.clock()
        p = "contactpulse_"
        w = GaugeMetricFamily(p + "queue_waiting", "Contacts waiting now.", labels=CONTACT_LABELS)
        ts = GaugeMetricFamily(
            p + "queue_oldest_queued_timestamp_seconds",
            "Event time at which the longest-waiting contact in the queue started its current wait.",
            labels=CONTACT_LABELS,
        )
        age = GaugeMetricFamily(
            p + "queue_oldest_wait_seconds", "Age of the longest current wait, at scrape time.", labels=CONTACT_LABELS
        )
        h = GaugeMetricFamily(p + "on_hold", "Customers on hold now.", labels=CONTACT_LABELS)
        hts = GaugeMetricFamily(
            p + "on_hold_oldest_started_timestamp_seconds",
            "Event time at which the longest current hold started.",
            labels=CONTACT_LABELS,
        )
        for labels, (n, oldest) in waiting.items():
            w.add_metric(labels, n)
            ts.add_metric(labels, oldest / 1e6)
            age.add_metric(labels, max(0.0, now - oldest / 1e6))
        for labels, (n, oldest) in on_hold.items():
            h.add_metric(labels, n)
            hts.add_metric(labels, oldest / 1e6)
        yield from (w, ts, age, h, hts)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())
