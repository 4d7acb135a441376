"""The consumer with a web config (TLS and basic auth): an unauthenticated scrape gets 401, and a real
Prometheus with the repository's secured config (dashboards/prometheus/prometheus-secured.yml) scrapes
it with its credentials; the wallboard client reads it with the same."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, Consumer, Topics
from tests.support.tls import PASSWORD, USER, web_config
from tests.unit.exposition.test_secured_config import get

pytestmark = pytest.mark.e2e
PROM, METRICS = 19390, 19465


def test_prometheus_scrapes_the_secured_consumer_with_the_repositorys_config(
    tmp_path: Path, topics: Topics, consumer_factory: type[Consumer]
) -> None:
    config, ca = web_config(tmp_path)
    consumer = consumer_factory(tmp_path / "s.duckdb", topics, METRICS)
    consumer.extra_env = {"CONTACTPULSE_WEB_CONFIG": str(config)}
    consumer.start()
    base = f"https://127.0.0.1:{METRICS}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if get(base + "/healthz", ca) == 200:
                break
        except OSError:  # not listening yet
            time.sleep(0.2)
    assert get(base + "/metrics", ca) == 401
    prom = tmp_path / "prometheus"
    (prom / "targets").mkdir(parents=True)
    (prom / "secrets").mkdir()
    text = (ROOT / "dashboards/prometheus/prometheus-secured.yml").read_text()
    (prom / "prometheus.yml").write_text(text.replace("scrape_interval: 15s", "scrape_interval: 1s"))
    (prom / "rules").symlink_to(ROOT / "dashboards/prometheus/rules")
    (prom / "targets/consumer.yml").write_text(f'- targets: ["127.0.0.1:{METRICS}"]\n')
    (prom / "targets/alertmanager.yml").write_text("[]\n")
    shutil.copy(ca, prom / "secrets/ca.pem")
    (prom / "secrets/prometheus.password").write_text(PASSWORD + "\n")
    log = (tmp_path / "prometheus.log").open("wb")
    server = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={prom / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{PROM}",
        ],
        cwd=prom,
        stdout=log,
        stderr=log,
    )
    try:
        up: list[object] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not up:
            time.sleep(1)
            try:
                q = urllib.parse.urlencode({"query": 'up{job="contactpulse-consumer"} == 1'})
                with urllib.request.urlopen(f"http://127.0.0.1:{PROM}/api/v1/query?{q}", timeout=5) as r:
                    up = json.loads(r.read())["data"]["result"]
            except OSError:
                continue
        assert up, (tmp_path / "prometheus.log").read_text()[-2000:]
        env = {
            **os.environ,
            "CONTACTPULSE_WALLBOARD_USER": USER,
            "CONTACTPULSE_WALLBOARD_PASSWORD": PASSWORD,
            "CONTACTPULSE_WALLBOARD_CA_FILE": str(ca),
            "PYTHONPATH": str(ROOT),
        }
        board = subprocess.run(
            [sys.executable, "-m", "services.cli", "wallboard", "--once", "--url", base],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert board.returncode == 0, board.stderr
        refused = subprocess.run(
            [sys.executable, "-m", "services.cli", "wallboard", "--once", "--url", base],
            env={**env, "CONTACTPULSE_WALLBOARD_USER": ""},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 2 and "wants credentials" in refused.stderr and PASSWORD not in refused.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)
