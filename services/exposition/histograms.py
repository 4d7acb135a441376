"""Histograms updated a batch at a time, for the consumer's hot path.

prometheus_client's ``Histogram.observe`` takes a lock and walks the buckets in Python for each
value, and the consumer observed one ingest latency per event. Here a batch's values
are counted under one lock, with one bisect each (equal values, such as the records of one
millisecond, once with their count), and the cumulative buckets are built at scrape time. The
exposition is prometheus_client's: ``_bucket`` with ``le`` as it formats it, ``_count`` and ``_sum``.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

Labels = tuple[str, ...]


class BulkHistogram(Collector):
    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = (),
        registry: CollectorRegistry | None = None,
    ) -> None:
        if not buckets or list(buckets) != sorted(set(buckets)):
            raise ValueError(f"{name}: buckets must be increasing and not empty")
        self.name, self.documentation, self.labelnames = name, documentation, tuple(labelnames)
        self.bounds = [float(b) for b in buckets]  # +Inf is implied
        self._le: list[str] = [floatToGoString(b) for b in [*self.bounds, float("inf")]]  # type: ignore[no-untyped-call]
        # per label set: the count in each bucket (not cumulative; the last is above every bound), then the sum
        self._series: dict[Labels, list[float]] = {}
        self._lock = threading.Lock()
        if not self.labelnames:
            self._series[()] = self._zeros()  # an unlabelled histogram is exposed from the start, as a Histogram is
        if registry is not None:
            registry.register(self)

    def _zeros(self) -> list[float]:
        return [0.0] * (len(self.bounds) + 2)

    def observe(self, value: float, labels: Labels = ()) -> None:
        self.observe_counts(((value, 1),), labels)

    def observe_counts(self, counted: Iterable[tuple[float, int]], labels: Labels = ()) -> None:
        """``(value, how many times)`` pairs, all with the same labels."""
        self._check(labels)
        bounds = self.bounds
        with self._lock:
            series = self._series.get(labels) or self._series.setdefault(labels, self._zeros())
            for value, n in counted:
                series[bisect_left(bounds, value)] += n  # the first bound >= value: le is inclusive
                series[-1] += value * n

    def observe_labelled(self, observations: Iterable[tuple[Labels, float]]) -> None:
        """``(labels, value)`` pairs: one lock for the lot."""
        bounds, all_series = self.bounds, self._series
        with self._lock:
            for labels, value in observations:
                series = all_series.get(labels)
                if series is None:
                    self._check(labels)
                    series = all_series[labels] = self._zeros()
                series[bisect_left(bounds, value)] += 1
                series[-1] += value

    def _check(self, labels: Labels) -> None:
        if len(labels) != len(self.labelnames):
            raise ValueError(f"{self.name}: expected labels {self.labelnames}, got {labels}")

    def collect(self) -> Iterator[HistogramMetricFamily]:
        with self._lock:
            snapshot = [(labels, list(series)) for labels, series in self._series.items()]
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, series in snapshot:
            cumulative, buckets = 0.0, []
            for le, n in zip(self._le, series, strict=False):  # the sum, last in series, is not a bucket
                cumulative += n
                buckets.append((le, cumulative))
            family.add_metric(list(labels), buckets, series[-1])
        yield family

    def describe(self) -> Iterator[HistogramMetricFamily]:
        yield HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
