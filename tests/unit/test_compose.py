"""docker-compose.yml cannot run here: check that everything it mounts or builds from exists and that the
names it refers to agree (services, scrape targets, datasource URL)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]


def test_every_mounted_file_and_build_context_exists() -> None:
    for name, svc in SERVICES.items():
        for volume in svc.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in COMPOSE["volumes"], f"{name} uses undeclared volume {source}"
        if "build" in svc:
            context = ROOT / (svc["build"] if isinstance(svc["build"], str) else svc["build"]["context"])
            assert (context / "Dockerfile").is_file()


def test_dockerfile_copies_what_exists() -> None:
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source


def test_service_references_agree() -> None:
    for name, svc in SERVICES.items():
        deps = svc.get("depends_on", [])
        for dep in deps if isinstance(deps, list) else deps.keys():
            assert dep in SERVICES, f"{name} depends on unknown {dep}"
        mode = svc.get("network_mode", "")
        if mode.startswith("service:"):
            assert mode.removeprefix("service:") in SERVICES


def test_prometheus_targets_and_grafana_datasource_name_compose_services() -> None:
    targets = ROOT / "dashboards/prometheus/targets/compose"
    hosts = {m for f in targets.glob("*.yml") for m in re.findall(r'"([a-z-]+):\d+"', f.read_text())}
    assert hosts and hosts <= set(SERVICES), hosts
    assert {p.name for p in targets.glob("*.yml")} == {
        p.name for p in (ROOT / "dashboards/prometheus/targets/local").glob("*.yml")
    }
    datasource = yaml.safe_load((ROOT / "dashboards/grafana/provisioning/datasources/prometheus.yml").read_text())
    url = datasource["datasources"][0]["url"]
    assert re.match(r"http://([a-z-]+):", url).group(1) in SERVICES  # type: ignore[union-attr]
    provider = yaml.safe_load((ROOT / "dashboards/grafana/provisioning/dashboards/contactpulse.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert any(v.endswith(":" + path + ":ro") for v in SERVICES["grafana"]["volumes"])


def test_every_consumer_is_a_scrape_target_on_one_lake() -> None:
    target = (ROOT / "dashboards/prometheus/targets/compose/consumer.yml").read_text()
    consumers = [name for name, svc in SERVICES.items() if svc.get("command") == ["consume"]]
    assert len(consumers) == 2
    assert set(re.findall(r'"([a-z-]+):9464"', target)) == set(consumers)
    for name in consumers:
        env = SERVICES[name]["environment"]
        assert env["CONTACTPULSE_DB"].startswith("ducklake:postgres:") and "host=postgres " in env["CONTACTPULSE_DB"]
        assert "password" not in env["CONTACTPULSE_DB"]
        assert "lake-data:/lake" in SERVICES[name]["volumes"]
