"""Grafana dashboards as code, built with Grafana's own grafana-foundation-sdk: stable uids, a datasource
variable, council/channel/queue variables, ``$__rate_interval`` in rates, a unit and a description on every
panel, and the live ratios read from the recording rules that dashboards/rules.py generates from ``Ratio``."""

from __future__ import annotations

import json
from typing import Any

from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model

from pipelines.measures import ABANDONMENT, ASA, LIVE_SERIES, SERVICE_LEVEL, Ratio

DS = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
SEL = 'council=~"$council", channel=~"$channel", queue=~"$queue"'
LEVEL = "council_channel_queue"
PanelKind = type[stat.Panel] | type[timeseries.Panel] | type[bargauge.Panel] | type[table.Panel]
PANELS: dict[str, PanelKind] = {
    "stat": stat.Panel,
    "timeseries": timeseries.Panel,
    "bargauge": bargauge.Panel,
    "table": table.Panel,
}


def _board(uid: str, title: str, description: str, tags: list[str], time_from: str) -> dash.Dashboard:
    board = (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(tags)
        .readonly()  # dashboards are code: change dashboards/grafana.py, not the UI
        .timezone("Europe/London")
        .time(time_from, "now")
        .refresh("30s" if time_from == "now-6h" else "")
        .with_variable(dash.DatasourceVariable("datasource").label("Data source").type("prometheus"))
    )
    for label in ("council", "channel", "queue"):
        values = f"label_values(contactpulse_contacts_offered_total, {label})"
        board.with_variable(
            dash.QueryVariable(label)
            .label(label.capitalize())
            .datasource(DS)
            .query({"query": values, "refId": label})
            .multi(True)
            .include_all(True)
            .all_value(".*")
            .current(model.VariableOption(text="All", value="$__all"))
            .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(model.VariableSort.ALPHABETICAL_ASC)
        )
    return board


class Board:
    """A dashboard being laid out: panels fill rows of 24 columns left to right, in the order added."""

    def __init__(self, uid: str, title: str, description: str, tags: list[str], time_from: str):
        self.builder = _board(uid, title, description, tags, time_from)
        self.count = 0

    def panel(
        self,
        kind: str,
        title: str,
        description: str,
        unit: str,
        targets: list[tuple[str, str]],
        width: int = 8,
        height: int = 8,
        thresholds: list[tuple[float | None, str]] | None = None,
    ) -> None:
        self.count += 1
        panel = PANELS[kind]().id(self.count).title(title).description(description).unit(unit).datasource(DS)
        panel.span(width).height(height)
        for i, (expr, legend) in enumerate(targets):
            panel.with_target(Dataquery().ref_id(chr(65 + i)).datasource(DS).expr(expr).legend_format(legend))
        if thresholds:
            steps = [model.Threshold(value=value, color=color) for value, color in thresholds]
            panel.thresholds(dash.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE).steps(steps))
        self.builder.with_panel(panel)

    def json(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(json.dumps(self.builder.build(), cls=JSONEncoder))
        return doc


def _live(ratio: Ratio, w: str, by: str) -> str:
    """A live ratio of pipelines/measures.py over the recording rules' increases, summed ``by`` the panel's
    labels: the same ``Ratio.promql`` as the ratio's own recording rule (dashboards/rules.py)."""
    return ratio.promql(lambda c: f"sum by ({by}) ({LEVEL}:contactpulse_{LIVE_SERIES[c]}:increase{w}{{{SEL}}})")


def wallboard() -> dict[str, Any]:
    b = Board(
        "contactpulse-wallboard",
        "ContactPulse - Operations wallboard",
        "Live queue state for team leads: who is waiting and on hold now, and today's service by queue.",
        ["contactpulse", "operations"],
        "now-6h",
    )
    by = "council, queue"
    b.panel(
        "stat",
        "Waiting now",
        "Contacts waiting in each queue now.",
        "none",
        [(f"sum by ({by}) (contactpulse_queue_waiting{{{SEL}}})", "{{council}} {{queue}}")],
        width=6,
    )
    b.panel(
        "stat",
        "Longest wait now",
        "Age of the longest current wait in each queue (at scrape time).",
        "s",
        [(f"max by ({by}) (contactpulse_queue_oldest_wait_seconds{{{SEL}}})", "{{council}} {{queue}}")],
        width=6,
        thresholds=[(None, "green"), (120, "orange"), (300, "red")],
    )
    b.panel(
        "stat",
        "On hold now",
        "Customers on hold now.",
        "none",
        [(f"sum by ({by}) (contactpulse_on_hold{{{SEL}}})", "{{council}} {{queue}}")],
        width=6,
    )
    b.panel(
        "stat",
        "Longest hold now",
        "How long the longest current hold has lasted.",
        "s",
        [
            (
                f"time() - min by ({by}) (contactpulse_on_hold_oldest_started_timestamp_seconds{{{SEL}}} > 0)",
                "{{council}} {{queue}}",
            )
        ],
        width=6,
    )
    b.panel(
        "bargauge",
        "Service level, last 24 hours",
        "Share of offered contacts (short abandons excluded) answered within the channel's service-level time.",
        "percentunit",
        [(_live(SERVICE_LEVEL, "1d", by), "{{council}} {{queue}}")],
        width=8,
    )
    b.panel(
        "bargauge",
        "Average speed of answer, last 24 hours",
        "Mean time to answer of answered contacts.",
        "s",
        [(_live(ASA, "1d", by), "{{council}} {{queue}}")],
        width=8,
    )
    b.panel(
        "bargauge",
        "Abandonment, last 24 hours",
        "Share of offered contacts (short abandons excluded) who gave up before being answered.",
        "percentunit",
        [(_live(ABANDONMENT, "1d", by), "{{council}} {{queue}}")],
        width=8,
    )
    b.panel(
        "timeseries",
        "Waiting over time",
        "Contacts waiting, by queue.",
        "none",
        [(f"sum by ({by}) (contactpulse_queue_waiting{{{SEL}}})", "{{council}} {{queue}}")],
        width=12,
    )
    b.panel(
        "timeseries",
        "Offered and answered per minute",
        "Contacts entering queues and answered, per minute.",
        "cpm",
        [
            (
                f"sum by (council) (rate(contactpulse_contacts_offered_total{{{SEL}}}[$__rate_interval])) * 60",
                "offered {{council}}",
            ),
            (
                f"sum by (council) (rate(contactpulse_contacts_answered_total{{{SEL}}}[$__rate_interval])) * 60",
                "answered {{council}}",
            ),
        ],
        width=12,
    )
    return b.json()


def trends() -> dict[str, Any]:
    b = Board(
        "contactpulse-trends",
        "ContactPulse - Customer experience trends",
        "Daily service level, speed of answer, abandonment and demand over long ranges, by council.",
        ["contactpulse", "trends"],
        "now-90d",
    )
    by = "council"
    b.panel(
        "timeseries",
        "Service level (daily)",
        "Answered within the service-level time, over the previous day.",
        "percentunit",
        [(_live(SERVICE_LEVEL, "1d", by), "{{council}}")],
        width=12,
    )
    b.panel(
        "timeseries",
        "Abandonment (daily)",
        "Abandoned, short abandons excluded, over the previous day.",
        "percentunit",
        [(_live(ABANDONMENT, "1d", by), "{{council}}")],
        width=12,
    )
    b.panel(
        "timeseries",
        "Average speed of answer (daily)",
        "Mean time to answer over the previous day.",
        "s",
        [(_live(ASA, "1d", by), "{{council}}")],
        width=12,
    )
    b.panel(
        "timeseries",
        "Contacts offered per day by channel",
        "Contacts entering a queue over the previous day.",
        "none",
        [(f"sum by (channel) ({LEVEL}:contactpulse_contacts_offered:increase1d{{{SEL}}})", "{{channel}}")],
        width=12,
    )
    b.panel(
        "timeseries",
        "Customer care standards: due soon and missed",
        "Contacts whose standard is due within the next working day, and verdicts that became final and "
        "missed, per minute, by council and standard (the settings' [[standards]]).",
        "none",
        [
            (
                'max by (council, standard) (contactpulse_standard_due_soon{council=~"$council"})',
                "due soon {{council}} {{standard}}",
            ),
            (
                'max by (council, standard) (rate(contactpulse_standard_breached_total{council=~"$council"}[$__rate_interval])) * 60',
                "missed per minute {{council}} {{standard}}",
            ),
        ],
        width=24,
    )
    b.panel(
        "timeseries",
        "Time to answer, 90th percentile",
        "90% of answered contacts waited less than this.",
        "s",
        [
            (
                f"histogram_quantile(0.9, sum by (le, council) (rate(contactpulse_time_to_answer_seconds_bucket{{{SEL}}}"
                f"[$__rate_interval])))",
                "{{council}}",
            )
        ],
        width=12,
    )
    b.panel(
        "timeseries",
        "Handle time, median",
        "Median handle time of handled contacts (talk, hold, wrap-up).",
        "s",
        [
            (
                "histogram_quantile(0.5, sum by (le, council) (rate(contactpulse_handle_seconds_bucket"
                '{council=~"$council", channel=~"$channel"}[$__rate_interval])))',
                "{{council}}",
            )
        ],
        width=12,
    )
    return b.json()


def pipeline() -> dict[str, Any]:
    b = Board(
        "contactpulse-pipeline",
        "ContactPulse - Pipeline health",
        "Is the pipeline keeping up: event rates, dead letters, lag, commits and silent sources.",
        ["contactpulse", "pipeline"],
        "now-6h",
    )
    b.panel(
        "timeseries",
        "Events per second by type",
        "Valid events processed.",
        "eps",
        [("sum by (type) (rate(contactpulse_events_total[$__rate_interval]))", "{{type}}")],
        width=12,
    )
    b.panel(
        "timeseries",
        "Dead letters by reason",
        "Bad events sent to the dead-letter topic, per minute.",
        "cpm",
        [
            ("sum by (reason) (rate(contactpulse_events_rejected_total[$__rate_interval])) * 60", "{{reason}}"),
            ("sum(rate(contactpulse_events_duplicate_total[$__rate_interval])) * 60", "duplicates"),
        ],
        width=12,
    )
    b.panel(
        "timeseries",
        "Consumer lag",
        "Messages on the events topic not yet processed, by partition.",
        "none",
        [("sum by (partition) (contactpulse_consumer_lag_messages)", "partition {{partition}}")],
        width=8,
    )
    b.panel(
        "stat",
        "Time since the last committed batch",
        "Wall-clock time since a batch was committed to DuckDB.",
        "s",
        [("time() - max(contactpulse_batch_committed_timestamp_seconds)", "since last commit")],
        width=8,
    )
    b.panel(
        "table",
        "Silent sources",
        "Time since the latest event from each source system.",
        "s",
        [("time() - max by (source) (contactpulse_source_last_event_timestamp_seconds)", "{{source}}")],
        width=8,
    )
    b.panel(
        "timeseries",
        "DuckDB write duration and ingest latency (p99)",
        "99th percentile of the time of one DuckDB write, and of the time from produce to the live series.",
        "s",
        [
            (
                "histogram_quantile(0.99, sum by (le) (rate(contactpulse_batch_duration_seconds_bucket[$__rate_interval])))",
                "DuckDB write",
            ),
            (
                "histogram_quantile(0.99, sum by (le) (rate(contactpulse_ingest_latency_seconds_bucket[$__rate_interval])))",
                "ingest latency",
            ),
        ],
        width=24,
    )
    return b.json()


def dashboards() -> dict[str, dict[str, Any]]:
    return {"wallboard.json": wallboard(), "trends.json": trends(), "pipeline.json": pipeline()}
