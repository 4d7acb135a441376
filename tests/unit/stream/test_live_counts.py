"""The live counters equal the period counts on the same events: one definition of offered, answered,
abandoned, short abandons, answered within the service level and time to answer (METRICS.md sections 3
and 4), whether the consumer counts it as contacts end or ``period_counts`` adds up the stored facts."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from pipelines.engine import FactEngine
from pipelines.live import LiveBoard
from pipelines.rules import MetricRules
from services.exposition.metrics import PipelineMetrics
from services.store.store import Store
from services.stream.processor import StreamProcessor
from tests.support.builders import T0, TOPIC, Rec, raw
from tests.support.generator import Generator

COUNTS = {  # period_counts' column: the live series
    "offered": "contactpulse_contacts_offered_total",
    "answered": "contactpulse_contacts_answered_total",
    "abandoned": "contactpulse_contacts_abandoned_total",
    "short_abandons": "contactpulse_contacts_short_abandoned_total",
    "answered_within_sl": "contactpulse_contacts_answered_within_sl_total",
    "tta_count": "contactpulse_time_to_answer_seconds_count",
    "tta_sum": "contactpulse_time_to_answer_seconds_sum",
}


def test_live_counters_equal_period_counts(tmp_path: Path) -> None:
    registry, rules = CollectorRegistry(), MetricRules(short_abandon_seconds=8.0)
    proc = StreamProcessor(
        FactEngine(rules),
        Store(tmp_path / "l.duckdb"),
        PipelineMetrics(registry, rules.sl_seconds),
        LiveBoard(queue_label_limit=1000),
        TOPIC,
    )
    events = sorted((e for c in Generator(31, start=T0).contacts(600) for e in c), key=lambda e: e["time"])
    for at in range(0, len(events), 250):  # batches as Kafka would hand them over, in time order
        batch = [Rec(at + i, raw(e)) for i, e in enumerate(events[at : at + 250])]
        proc.commit(proc.decode(batch, ingest_time=T0.replace(year=2030)))
    rows = proc.store.con.execute(
        f"SELECT council, channel, queue, {', '.join(f'sum({c})' for c in COUNTS)} "
        "FROM period_counts('day') WHERE offered > 0 GROUP BY ALL"
    ).fetchall()
    assert len(rows) > 5
    for council, channel, queue, *period in rows:
        labels = {"council": council, "channel": channel, "queue": queue}
        live = [registry.get_sample_value(series, labels) or 0 for series in COUNTS.values()]
        assert live[:-1] == [float(n or 0) for n in period[:-1]], labels
        assert abs(live[-1] - float(period[-1] or 0)) < 1e-6, labels  # a sum of seconds
    totals = [sum(float(r[3 + i] or 0) for r in rows) for i in range(len(COUNTS))]
    assert all(t > 0 for t in totals), totals  # every count has contacts behind it
    live_offered = sum(
        s.value for m in registry.collect() for s in m.samples if s.name == "contactpulse_contacts_offered_total"
    )
    assert live_offered == totals[0]  # no live series without its period row
