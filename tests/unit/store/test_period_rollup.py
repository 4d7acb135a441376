"""``period_rollup``'s ratios are ``pipelines.measures``'s over ``period_counts``, per council and for the
partnership, and ``period_counts`` has exactly the counts that ``Counts`` names."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import pytest

from pipelines.measures import COUNT_NAMES, RATIOS, Counts
from pipelines.rules import MetricRules
from services.replay.bulk import bulk_replay
from services.store.store import Store
from tests.support.generator import Generator, jsonl

NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def store() -> Store:
    import io

    starts = [datetime(2026, m, d, tzinfo=UTC) for m, d in ((3, 1), (3, 30), (5, 12), (7, 1))]
    events = [e for i, start in enumerate(starts) for c in Generator(17 + i, start=start).contacts(800) for e in c]
    s = Store(":memory:")
    bulk_replay([("gen.jsonl", io.BytesIO(jsonl(events)))], s, MetricRules(), ingest_time=NOW)
    return s


def test_period_counts_has_the_counts_named(store: Store) -> None:
    cols = [d[0] for d in store.con.execute("SELECT * FROM period_counts('month') LIMIT 0").description]
    assert cols[:5] == ["period", "council", "channel", "queue", "service"]
    assert sorted(cols[5:]) == sorted(COUNT_NAMES)


@pytest.mark.parametrize("grain", ["week", "month"])
def test_rollup_ratios_are_the_measures_over_the_counts(store: Store, grain: str) -> None:
    sums = ", ".join(f"coalesce({c}, 0)" for c in COUNT_NAMES)
    by: dict[tuple[object, str], Counts] = defaultdict(Counts)
    for period, council, *row in store.con.execute(
        f"SELECT period, council, {sums} FROM period_counts(?)", [grain]
    ).fetchall():
        for scope in (council, "partnership"):
            by[(period, scope)].add(Counts(*row))
    names = [r.name for r in RATIOS]
    rows = store.con.execute(f"SELECT period, council, {', '.join(names)} FROM period_rollup(?)", [grain]).fetchall()
    assert len(rows) == len(by) > 8
    checked = 0
    for period, council, *values in rows:
        for ratio, value in zip(RATIOS, values, strict=True):
            expected = ratio.of(by[(period, council)])
            assert value == pytest.approx(expected) if expected is not None else value is None, (ratio.name, council)
            checked += expected is not None
    assert checked > len(rows) * 5  # most ratios have a value
