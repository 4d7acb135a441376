"""Prometheus recording and alert rules for the series of METRICS.md section 4.

Recording rules are named level:metric:operation and built from counters
(increases over a window, divided), never by averaging ratios. Thresholds are
series too: a per-channel default, and overrides for one council's queue; the
``:effective`` rules pick the override where there is one, else the default.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dashboards.config import KINDS, Config
from pipelines.measures import ABANDONMENT, ASA, LIVE_RATIOS, LIVE_SERIES, SERVICE_LEVEL

LEVEL = "council_channel_queue"
BY = "council, channel, queue"
WINDOWS = ("5m", "1h", "1d")
COUNTERS = ("offered", "answered", "abandoned", "short_abandoned", "answered_within_sl")
THRESHOLD_SERIES = {  # kind -> the live series whose label sets it applies to
    "wait_warning_seconds": "contactpulse_queue_oldest_queued_timestamp_seconds",
    "wait_critical_seconds": "contactpulse_queue_oldest_queued_timestamp_seconds",
    "hold_seconds": "contactpulse_on_hold_oldest_started_timestamp_seconds",
    "service_level_target": "contactpulse_contacts_offered_total",
}


def rec(name: str, expr: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"record": name, "expr": expr}
    if labels:
        rule["labels"] = labels
    return rule


def counter_rule(counter: str, w: str) -> dict[str, Any]:
    return rec(
        f"{LEVEL}:contactpulse_contacts_{counter}:increase{w}",
        f"sum by ({BY}) (increase(contactpulse_contacts_{counter}_total[{w}]))",
    )


# the recording rules of the live ratios (pipelines.measures), by the ratio they record
LIVE_RATIO_RULES = {
    SERVICE_LEVEL.name: "contactpulse_service_level:ratio",
    ABANDONMENT.name: "contactpulse_abandonment:ratio",
    ASA.name: "contactpulse_time_to_answer_seconds:mean",
}


def _increases(w: str) -> Callable[[str], str]:
    """A count's recording rule of its increase over ``w``."""
    return lambda count: f"{LEVEL}:contactpulse_{LIVE_SERIES[count]}:increase{w}"


def recording_groups() -> list[dict[str, Any]]:
    groups = []
    for w in WINDOWS:
        tta = f"{LEVEL}:contactpulse_time_to_answer_seconds"
        rules = (
            [counter_rule(c, w) for c in COUNTERS]
            + [
                rec(
                    f"{tta}_sum:increase{w}", f"sum by ({BY}) (increase(contactpulse_time_to_answer_seconds_sum[{w}]))"
                ),
                rec(
                    f"{tta}_count:increase{w}",
                    f"sum by ({BY}) (increase(contactpulse_time_to_answer_seconds_count[{w}]))",
                ),
            ]
            + [rec(f"{LEVEL}:{LIVE_RATIO_RULES[r.name]}{w}", r.promql(_increases(w))) for r in LIVE_RATIOS]
        )
        groups.append({"name": f"contactpulse-contacts-{w}", "rules": rules})
    return groups


# most specific first: one council's queue, then a queue in every council, then a council's channel
OVERRIDE_LEVELS = (("council_queue", BY), ("queue", "channel, queue"), ("council", "council, channel"))


def threshold_group(cfg: Config) -> dict[str, Any]:
    rules = []
    for kind in KINDS:
        metric = f"contactpulse_threshold:{kind}"
        for channel, values in sorted(cfg.channels.items()):
            rules.append(rec(f"{metric}:channel", f"vector({values[kind]:g})", {"channel": channel}))
        used = []
        for level, _ in OVERRIDE_LEVELS:
            for o in cfg.overrides:
                if kind in o.values and o.level == level:
                    labels = {
                        k: v for k, v in (("council", o.council), ("channel", o.channel), ("queue", o.queue)) if v
                    }
                    rules.append(rec(f"{metric}:{level}", f"vector({o.values[kind]:g})", labels))
                    if level not in used:
                        used.append(level)
        every = f"0 * group by ({BY}) ({THRESHOLD_SERIES[kind]})"
        choices = [
            f"{metric}:council_queue"
            if level == "council_queue"
            else f"({every} + on ({on}) group_left () {metric}:{level})"
            for level, on in OVERRIDE_LEVELS
            if level in used
        ]
        choices.append(f"({every} + on (channel) group_left () {metric}:channel)")
        rules.append(rec(f"{LEVEL}:contactpulse_threshold_{kind}:effective", f"\nor on ({BY})\n".join(choices)))
    return {"name": "contactpulse-thresholds", "rules": rules}


def _alert(
    name: str, expr: str, for_: str, severity: str, summary: str, description: str, anchor: str, cfg: Config
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity},
        "annotations": {"summary": summary, "description": description, "runbook_url": f"{cfg.runbook_base}#{anchor}"},
    }


def alert_group(cfg: Config) -> dict[str, Any]:
    a = cfg.alerts
    eff = f"{LEVEL}:contactpulse_threshold_{{kind}}:effective"
    where = "{{ $labels.council }}, queue {{ $labels.queue }} ({{ $labels.channel }})"
    # per queue over every consumer instance: on a lake each shows the contacts of its partitions
    wait_age = f"(time() - min by ({BY}) (contactpulse_queue_oldest_queued_timestamp_seconds > 0))"
    volume = f"and on ({BY}) {LEVEL}:contactpulse_contacts_offered:increase1h >= {a.min_offered_per_hour}"
    rules = [
        _alert(
            "ContactWaitingTooLong",
            f"{wait_age}\n> on ({BY}) {eff.format(kind='wait_warning_seconds')}",
            a.for_wait,
            "warning",
            "A contact has waited too long in a queue.",
            f"{where}: the longest-waiting contact has waited {{{{ $value | humanizeDuration }}}}.",
            "contactwaitingtoolong",
            cfg,
        ),
        _alert(
            "ContactWaitingCritical",
            f"{wait_age}\n> on ({BY}) {eff.format(kind='wait_critical_seconds')}",
            a.for_wait,
            "critical",
            "A contact has waited far too long in a queue.",
            f"{where}: the longest-waiting contact has waited {{{{ $value | humanizeDuration }}}}.",
            "contactwaitingcritical",
            cfg,
        ),
        _alert(
            "CustomerOnHoldTooLong",
            f"(time() - min by ({BY}) (contactpulse_on_hold_oldest_started_timestamp_seconds > 0))\n"
            f"> on ({BY}) {eff.format(kind='hold_seconds')}",
            a.for_hold,
            "warning",
            "A customer has been on hold too long.",
            f"{where}: a customer has been on hold for {{{{ $value | humanizeDuration }}}}.",
            "customeronholdtoolong",
            cfg,
        ),
        _alert(
            "ServiceLevelBelowTarget",
            f"{LEVEL}:contactpulse_service_level:ratio1h\n< on ({BY}) {eff.format(kind='service_level_target')}\n{volume}",
            a.for_rates,
            "warning",
            "Service level over the last hour is below target.",
            f"{where}: {{{{ $value | humanizePercentage }}}} answered within the service-level time over the last hour.",
            "servicelevelbelowtarget",
            cfg,
        ),
        _alert(
            "AbandonmentRateHigh",
            f"{LEVEL}:contactpulse_abandonment:ratio1h > {a.abandonment_rate_max:g}\n{volume}",
            a.for_rates,
            "warning",
            "Too many callers are giving up.",
            f"{where}: {{{{ $value | humanizePercentage }}}} of contacts abandoned over the last hour "
            f"(threshold {a.abandonment_rate_max:.0%}).",
            "abandonmentratehigh",
            cfg,
        ),
        _alert(
            "ContactSourceSilent",
            # the latest over instances: a source's contacts may all be on another consumer's partitions
            f"time() - max by (source) (contactpulse_source_last_event_timestamp_seconds) > {a.source_silent_seconds}",
            a.for_source,
            "warning",
            "A source system has gone silent.",
            "No event from {{ $labels.source }} for {{ $value | humanizeDuration }} after it had been active.",
            "contactsourcesilent",
            cfg,
        ),
        _alert(
            "ContactPulsePipelineStalled",
            f"(time() - contactpulse_batch_committed_timestamp_seconds > {a.pipeline_stalled_seconds})\n"
            "and on (instance) (sum by (instance) (contactpulse_consumer_lag_messages) > 0)",
            a.for_pipeline,
            "critical",
            "The pipeline is stalled: no batch committed while messages wait.",
            "No batch committed to DuckDB for {{ $value | humanizeDuration }} on {{ $labels.instance }} "
            "while the consumer lags.",
            "contactpulsepipelinestalled",
            cfg,
        ),
        _alert(
            "ContactPulseConsumerDown",
            'up{job="contactpulse-consumer"} == 0',
            "2m",
            "critical",
            "The ContactPulse consumer is down.",
            "Prometheus cannot scrape {{ $labels.instance }}.",
            "contactpulseconsumerdown",
            cfg,
        ),
        _alert(
            "DeadLettersRising",
            f"sum by (reason) (increase(contactpulse_events_rejected_total[10m])) > {a.dead_letters_per_10m}",
            a.for_dead_letters,
            "warning",
            "Bad events are being dead-lettered.",
            "{{ $value | humanize }} events rejected as {{ $labels.reason }} in the last 10 minutes.",
            "deadlettersrising",
            cfg,
        ),
        _alert(
            "LabelValuesOverCap",
            "sum by (label) (increase(contactpulse_label_values_over_cap_total[10m])) > 0",
            a.for_label_cap,
            "warning",
            "Label values from input are over their cap and counted as 'other'.",
            "{{ $value | humanize }} {{ $labels.label }} values counted as other in the last 10 minutes: an "
            "emitter may be sending a new value on every event.",
            "labelvaluesovercap",
            cfg,
        ),
        _alert(
            "StandardDueSoon",
            # every instance reads the same store's verdicts: the same count, not shares of it
            f"max by (council, standard) (contactpulse_standard_due_soon) > {a.standard_due_soon_max}",
            a.for_standards,
            "warning",
            "Many contacts are due soon under a customer care standard.",
            "{{ $labels.council }}: {{ $value | humanize }} contacts are due within the next working day under "
            "the standard {{ $labels.standard }}.",
            "standardduesoon",
            cfg,
        ),
        _alert(
            "Watchdog",
            "vector(1)",
            "0m",
            "none",
            "Always firing, so that the alerting pipeline is seen to work.",
            "The Watchdog alert fires all the time; if it stops arriving, alerting is broken.",
            "watchdog",
            cfg,
        ),
    ]
    return {"name": "contactpulse-alerts", "rules": rules}


def rule_files(cfg: Config) -> dict[str, dict[str, Any]]:
    """Rules in one group evaluate in order at the same instant; separate groups do not. So the alert
    group holds what its alerts read (threshold series, the one-hour recording rules) before the alerts."""
    by_window = {g["name"]: g for g in recording_groups()}
    hourly = by_window.pop("contactpulse-contacts-1h")
    alerting = {
        "name": "contactpulse-alerting",
        "rules": threshold_group(cfg)["rules"] + hourly["rules"] + alert_group(cfg)["rules"],
    }
    return {
        "recording.yml": {"groups": list(by_window.values())},
        "alerting.yml": {"groups": [alerting]},
    }
