"""BulkHistogram against prometheus_client's Histogram: the same observations give the same exposition."""

from __future__ import annotations

import random

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from services.exposition.histograms import BulkHistogram
from services.exposition.metrics import PIPELINE_BUCKETS, WAIT_BUCKETS

LABELS = ("council", "channel")
_RNG = random.Random(3)


def exposition(registry: CollectorRegistry) -> list[str]:
    text = generate_latest(registry).decode()
    return sorted(line for line in text.splitlines() if "_created" not in line)


@pytest.mark.parametrize(
    "values",
    [
        [],
        [5, 10, 4.999, 5.0001],  # on a bound counts in that bucket: le is inclusive
        [0, 86400, 432000, 432001, 10**9],  # above every bound: only +Inf
        [round(_RNG.expovariate(1 / 200) * (i % 7), 3) for i in range(500)],  # values repeat
    ],
)
def test_unlabelled_matches_prometheus_client(values: list[float]) -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    bulk = BulkHistogram("x_seconds", "Doc.", buckets=WAIT_BUCKETS, registry=ours)
    reference = Histogram("x_seconds", "Doc.", buckets=WAIT_BUCKETS, registry=theirs)
    counted: dict[float, int] = {}
    for v in values:
        counted[v] = counted.get(v, 0) + 1
        reference.observe(v)
    bulk.observe_counts(counted.items())
    assert exposition(ours) == exposition(theirs)


def test_labelled_matches_prometheus_client() -> None:
    rng = random.Random(7)
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    bulk = BulkHistogram("y_seconds", "Doc.", LABELS, PIPELINE_BUCKETS, registry=ours)
    reference = Histogram("y_seconds", "Doc.", LABELS, buckets=PIPELINE_BUCKETS, registry=theirs)
    for _ in range(5):  # batches
        batch = [
            ((rng.choice("ab"), rng.choice(["phone", "email"])), rng.choice([0.01, rng.random() * 3]))
            for _ in range(50)
        ]
        bulk.observe_labelled(batch)
        for labels, v in batch:
            reference.labels(*labels).observe(v)
    bulk.observe(0.25, ("c", "phone"))
    reference.labels("c", "phone").observe(0.25)
    assert exposition(ours) == exposition(theirs)
    assert ours.get_sample_value("y_seconds_bucket", {"council": "c", "channel": "phone", "le": "0.25"}) == 1


def test_wrong_labels_and_buckets_are_errors() -> None:
    bulk = BulkHistogram("z_seconds", "Doc.", LABELS, (1, 2))
    with pytest.raises(ValueError, match="expected labels"):
        bulk.observe(1.0, ("only-one",))
    with pytest.raises(ValueError, match="expected labels"):
        bulk.observe_labelled([(("a", "b", "c"), 1.0)])
    with pytest.raises(ValueError, match="increasing"):
        BulkHistogram("w_seconds", "Doc.", buckets=(2, 1))


def test_a_name_registers_once() -> None:
    registry = CollectorRegistry()
    BulkHistogram("v_seconds", "Doc.", buckets=(1,), registry=registry)
    with pytest.raises(ValueError, match="Duplicated"):
        Histogram("v_seconds", "Doc.", buckets=(1,), registry=registry)
