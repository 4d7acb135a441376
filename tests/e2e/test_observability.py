"""The whole pipeline with a real Prometheus and Alertmanager scraping it.

Simulated traffic flows through Kafka into the consumer; Prometheus (1 s scrape and evaluation,
otherwise the repo's own prometheus.yml and rules) scrapes it. Every PromQL expression of the
recording rules and the dashboards must return data, and an induced long wait must fire the
long-wait alert in Prometheus and reach Alertmanager.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from kafka import KafkaProducer

from tests.conftest import BOOTSTRAP, ROOT, Consumer, Topics

pytestmark = pytest.mark.e2e
PROM, AM, WEBHOOK, METRICS = 19290, 19293, 19299, 19464  # clear of the test brokers (19092-19093, 19192-19193)


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def query(expr: str) -> list[dict[str, Any]]:
    out = get(f"http://127.0.0.1:{PROM}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert out["status"] == "success", out
    result: list[dict[str, Any]] = out["data"]["result"]
    return result


def expressions() -> list[tuple[str, str]]:
    """(where, expr) for every recording rule and every dashboard target, with variables filled in."""
    out = []
    for path in sorted((ROOT / "dashboards/prometheus/rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            out += [(f"{path.name}: {r['record']}", r["record"]) for r in group["rules"] if "record" in r]
    for path in sorted((ROOT / "dashboards/grafana/dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for t in panel["targets"]:
                expr = t["expr"].replace("$__rate_interval", "1m")
                for var in ("$council", "$channel", "$queue"):
                    expr = expr.replace(var, ".*")
                out.append((f"{path.name}: {panel['title']}", expr))
    return out


def diagnose_wait(alerts: list[dict[str, Any]]) -> str:
    """What Prometheus holds for boston's revenues queue, so that a failure says which step broke."""
    sel = '{council="boston",queue="revenues"}'
    lines = [f"alerts: {[(a['labels']['alertname'], a['labels'].get('queue'), a['state']) for a in alerts]}"]
    for expr in (
        f"contactpulse_queue_oldest_queued_timestamp_seconds{sel}",
        f"time() - contactpulse_queue_oldest_queued_timestamp_seconds{sel}",
        f"council_channel_queue:contactpulse_threshold_wait_warning_seconds:effective{sel}",
        f"contactpulse_queue_waiting{sel}",
        "min_over_time(up[5m])",
        "max_over_time(scrape_duration_seconds[5m])",
    ):
        lines.append(f"{expr} = {[(r['metric'], r['value'][1]) for r in query(expr)]}")
    return "\n".join(lines)


def stacks(consumer: Consumer) -> str:
    """The consumer's threads' stacks (it dumps them on SIGUSR1) and the end of its log."""
    assert consumer.proc is not None
    if consumer.proc.poll() is None:
        consumer.proc.send_signal(signal.SIGUSR1)
        time.sleep(2)
    lines = (consumer.db.parent / "consumer.log").read_text(errors="replace").splitlines()
    return "\nconsumer's log, last lines:\n" + "\n".join(lines[-120:])


def event(type_: str, contact: str, at: datetime, **data: Any) -> bytes:
    return orjson.dumps(
        {
            "specversion": "1.0",
            "id": f"{contact}-{type_}",
            "source": "/boston/telephony/acd",
            "type": type_,
            "time": at.isoformat().replace("+00:00", "Z"),
            "subject": contact,
            "data": {"contact_id": contact, "council": "boston", "channel": "phone", **data},
        }
    )


def test_dashboards_and_rules_return_data_and_a_long_wait_alerts(
    tmp_path: Path, topics: Topics, consumer_factory: type[Consumer]
) -> None:
    targets = tmp_path / "targets"
    targets.mkdir()
    (targets / "consumer.yml").write_text(f'- targets: ["127.0.0.1:{METRICS}"]\n')
    (targets / "alertmanager.yml").write_text(f'- targets: ["127.0.0.1:{AM}"]\n')
    mon_env = {
        **os.environ,
        "MON_DIR": str(tmp_path / "mon"),
        "PROM_PORT": str(PROM),
        "AM_PORT": str(AM),
        "WEBHOOK_PORT": str(WEBHOOK),
        "TARGETS_DIR": str(targets),
        "PROM_INTERVAL": "1s",
        "CONTACTPULSE": str(Path(sys.executable).parent / "contactpulse"),
    }
    subprocess.run(["bash", "scripts/monitoring.sh", "up"], cwd=ROOT, env=mon_env, check=True, timeout=120)
    sim_env = {**os.environ, "CONTACTPULSE_KAFKA_BOOTSTRAP": BOOTSTRAP, "CONTACTPULSE_EVENTS_TOPIC": topics.events}
    live = None
    try:
        standards = [  # so that the standards' series and their panel have data (METRICS.md section 5)
            {"name": "calls-20s", "channels": ["phone"], "milestone": "answered", "seconds": 20, "target": 0.8},
            {"name": "written-10wd", "channels": ["email", "web"], "milestone": "wrapped_up", "working_days": 10,
             "target": 0.9},
        ]  # fmt: skip
        env = {"CONTACTPULSE_STANDARDS": json.dumps(standards)}
        consumer = consumer_factory(tmp_path / "e2e.duckdb", topics, METRICS, env)
        consumer.start()
        cli = [sys.executable, "-m", "services.cli", "simulate"]
        subprocess.run([*cli, "--days", "1"], cwd=ROOT, env=sim_env, check=True, timeout=300)
        live = subprocess.Popen(
            [*cli, "--mode", "live", "--minutes", "4", "--multiplier", "400"],
            cwd=ROOT,
            env=sim_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        now = datetime.now(UTC)
        producer = KafkaProducer(bootstrap_servers=BOOTSTRAP)
        induced = [  # a caller waiting for 15 minutes, one on hold for a minute, and two who gave up: every
            # outcome a series counts is there whatever the hour and weekday (the simulated councils close)
            event("contact.queued", "E2E-WAIT", now - timedelta(minutes=15), queue="revenues"),
            event("contact.queued", "E2E-HOLD", now - timedelta(minutes=3), queue="revenues"),
            event("contact.answered", "E2E-HOLD", now - timedelta(minutes=2)),
            event("contact.hold_started", "E2E-HOLD", now - timedelta(minutes=1)),
            event("contact.queued", "E2E-GAVE-UP", now - timedelta(minutes=3), queue="revenues"),
            event("contact.ended", "E2E-GAVE-UP", now - timedelta(minutes=1)),
            event("contact.queued", "E2E-SHORT", now - timedelta(seconds=63), queue="revenues"),
            event("contact.ended", "E2E-SHORT", now - timedelta(seconds=61)),
            b"{not json",
        ]
        for value in induced:
            producer.send(topics.events, key=b"e2e", value=value)
        producer.flush()
        producer.close()

        deadline = time.monotonic() + 240
        firing: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not firing:
            time.sleep(5)
            alerts = get(f"http://127.0.0.1:{PROM}/api/v1/alerts")["data"]["alerts"]
            firing = [
                a
                for a in alerts
                if a["labels"]["alertname"] == "ContactWaitingTooLong"
                and a["state"] == "firing"
                and a["labels"].get("queue") == "revenues"
                and a["labels"].get("council") == "boston"
            ]
        assert firing, "ContactWaitingTooLong did not fire in Prometheus\n" + diagnose_wait(alerts) + stacks(consumer)
        assert firing[0]["labels"]["severity"] == "warning"
        assert "boston, queue revenues (phone)" in firing[0]["annotations"]["description"]

        deadline = time.monotonic() + 60
        in_am: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not in_am:
            in_am = [
                a
                for a in get(f"http://127.0.0.1:{AM}/api/v2/alerts")
                if a["labels"]["alertname"] == "ContactWaitingTooLong" and a["labels"].get("council") == "boston"
            ]
            time.sleep(1)
        assert in_am, "the alert did not reach Alertmanager"
        assert in_am[0]["receivers"][0]["name"] in ("team-leads", "boston-team-leads")

        deadline = time.monotonic() + 120  # the live traffic brings the rarer outcomes (abandons) in time
        empty = [(where, expr) for where, expr in expressions() if not query(expr)]
        while empty and time.monotonic() < deadline:
            time.sleep(5)
            empty = [(where, expr) for where, expr in empty if not query(expr)]
        assert empty == [], "expressions that returned no data:\n" + "\n".join(f"{w}\n    {e}" for w, e in empty)
    finally:
        if live:
            live.kill()
        subprocess.run(["bash", "scripts/monitoring.sh", "down"], cwd=ROOT, env=mon_env, check=False, timeout=60)
