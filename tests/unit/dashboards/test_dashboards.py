"""Rules, alerts and dashboards: generated files in step, promtool and amtool checks, lint rules."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.config import CONFIG, load
from dashboards.generate import render_all
from pipelines.measures import ABANDONMENT, SERVICE_LEVEL

ROOT = Path(__file__).resolve().parents[3]
DASH = ROOT / "dashboards"
RULES = DASH / "prometheus" / "rules"
BOARDS = sorted((DASH / "grafana" / "dashboards").glob("*.json"))


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: `make setup` installs Debian's prometheus and prometheus-alertmanager"
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_generated_files_are_in_step_with_config_toml() -> None:
    stale = [str(p.relative_to(ROOT)) for p, text in render_all().items() if p.read_text(encoding="utf-8") != text]
    assert stale == [], "run: make dashboards"


def test_promtool_checks_rules_and_config() -> None:
    out = run(tool("promtool"), "check", "rules", *map(str, sorted(RULES.glob("*.yml"))))
    assert out.returncode == 0, out.stdout + out.stderr
    local = ROOT / "var" / "check-prometheus"
    _stage_prometheus(local)
    out = run(tool("promtool"), "check", "config", str(local / "prometheus.yml"))
    assert out.returncode == 0, out.stdout + out.stderr


def _stage_prometheus(where: Path) -> None:
    """The layout the local stack uses: the repo's prometheus.yml with rules/ and targets/ beside it."""
    where.mkdir(parents=True, exist_ok=True)
    for name, target in (
        ("prometheus.yml", DASH / "prometheus" / "prometheus.yml"),
        ("rules", RULES),
        ("targets", DASH / "prometheus" / "targets" / "local"),
    ):
        link = where / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)


def test_promtool_unit_tests_pass() -> None:
    out = run(tool("promtool"), "test", "rules", str(DASH / "prometheus" / "tests" / "alerts_test.yml"))
    assert out.returncode == 0, out.stdout + out.stderr


def test_amtool_accepts_the_alertmanager_config() -> None:
    out = run(tool("amtool"), "check-config", str(DASH / "alertmanager" / "alertmanager.yml"))
    assert out.returncode == 0, out.stdout + out.stderr


def alerts() -> list[dict[str, Any]]:
    doc = yaml.safe_load((RULES / "alerting.yml").read_text())
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def test_every_alert_has_a_quiet_and_a_firing_promtool_case() -> None:
    tests = yaml.safe_load((DASH / "prometheus" / "tests" / "alerts_test.yml").read_text())["tests"]
    cases: dict[str, list[dict[str, Any]]] = {}
    for t in tests:
        for case in t.get("alert_rule_test", []):
            cases.setdefault(case["alertname"], []).append(case)
    for rule in alerts():
        name = rule["alert"]
        fired = [c for c in cases.get(name, []) if c["exp_alerts"]]
        assert fired, f"{name} has no firing case"
        for c in fired:
            for exp in c["exp_alerts"]:
                assert set(exp["exp_annotations"]) == {"summary", "description", "runbook_url"}
        if rule["for"] != "0m":
            assert any(not c["exp_alerts"] for c in cases[name]), f"{name} has no quiet case before for: expires"


def test_alerts_are_well_formed_and_their_runbook_sections_exist() -> None:
    anchors = {
        re.sub(r"[^a-z0-9-]", "", h.lower().replace(" ", "-"))
        for h in re.findall(r"^## (.+)$", (DASH / "runbook.md").read_text(), re.M)
    }
    for rule in alerts():
        assert re.fullmatch(r"[A-Z][A-Za-z]+", rule["alert"]), rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "none"}
        ann = rule["annotations"]
        assert ann["runbook_url"].split("#", 1)[1] in anchors, rule["alert"]
        if "queue" in rule["expr"] and "on (council, channel, queue)" in rule["expr"]:
            assert "{{ $labels.council }}" in ann["description"] and "{{ $labels.queue }}" in ann["description"]


def test_recording_rules_are_named_level_metric_operation() -> None:
    for path in RULES.glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    assert len(rule["record"].split(":")) == 3, rule["record"]


@pytest.mark.parametrize("path", BOARDS, ids=[p.name for p in BOARDS])
def test_dashboard_lint_rules(path: Path) -> None:
    """The rules of Grafana's dashboard-linter that apply here, checked directly."""
    board = json.loads(path.read_text())
    assert re.fullmatch(r"contactpulse-[a-z]+", board["uid"])
    assert board["editable"] is False  # dashboards are code (dashboards/grafana.py)
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert {"council", "channel", "queue"} <= set(variables)
    for name in ("council", "channel", "queue"):
        assert variables[name]["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert variables[name]["includeAll"] and variables[name]["multi"]
    for panel in board["panels"]:
        assert panel["title"] and panel["description"], panel["title"]
        assert panel["fieldConfig"]["defaults"].get("unit"), panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
            for window in re.findall(r"\b(?:rate|irate|increase)\([^\[]*\[([^\]]+)\]", target["expr"]):
                assert window == "$__rate_interval", (panel["title"], target["expr"])
            if "contactpulse_contacts_" in target["expr"] or "contactpulse_queue_" in target["expr"]:
                assert "$council" in target["expr"], (panel["title"], target["expr"])


def test_dashboard_uids_are_unique() -> None:
    uids = [json.loads(p.read_text())["uid"] for p in BOARDS]
    assert len(uids) == len(set(uids)) == 3


def test_alert_targets_are_the_measures_targets(tmp_path: Path) -> None:
    """One home for a target (pipelines/measures.py TARGETS): the alert rules' per-channel service-level
    thresholds and the abandonment threshold are the board pack's; config.toml may not set them again."""
    alerting = yaml.safe_load((RULES / "alerting.yml").read_text())
    rules = [r for g in alerting["groups"] for r in g["rules"]]
    record = "contactpulse_threshold:service_level_target:channel"
    thresholds = {
        r["labels"]["channel"]: float(r["expr"].removeprefix("vector(").removesuffix(")"))
        for r in rules
        if r.get("record") == record
    }
    assert thresholds == {c: SERVICE_LEVEL.target_for(c) for c in thresholds}
    assert (thresholds["email"], thresholds["phone"]) == (0.9, 0.8)
    (rate,) = [r["expr"] for r in rules if r.get("alert") == "AbandonmentRateHigh"]
    assert f"> {ABANDONMENT.target:g}\n" in rate
    text = CONFIG.read_text()
    bad = tmp_path / "config.toml"
    bad.write_text(text.replace("[channels.phone]\n", "[channels.phone]\nservice_level_target = 0.7\n"))
    with pytest.raises(ValueError, match="channel phone's service-level target is TARGETS'"):
        load(bad)
    bad.write_text(text.replace("[alerts]\n", "[alerts]\nabandonment_rate_max = 0.1\n"))
    with pytest.raises(ValueError, match="abandonment_rate_max is the abandonment target"):
        load(bad)
