"""The web config (TLS, basic auth) of the consumer's endpoint over a real server on loopback, and the
repository's secured Prometheus config kept in step with the plain one."""

from __future__ import annotations

import base64
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from pipelines.live import LiveBoard
from services.errors import UserError
from services.exposition.http import serve
from services.exposition.webconfig import load_web_config
from services.ingest.gateway.app import create_app
from services.ingest.gateway.edge import keys_from_env
from services.ingest.gateway.tokens import TokenFile
from services.views.wallboard import credentials, fetch
from tests.support.gateway import Recording, serving
from tests.support.net import free_port
from tests.support.tls import web_config

ROOT = Path(__file__).resolve().parents[3]
PROMETHEUS = ROOT / "dashboards" / "prometheus"


def test_the_secured_prometheus_config_differs_only_in_the_consumer_jobs_auth() -> None:
    plain = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    secured = yaml.safe_load((PROMETHEUS / "prometheus-secured.yml").read_text())
    job = secured["scrape_configs"][0]
    assert (job["scheme"], job["basic_auth"]["username"]) == ("https", "prometheus")
    assert job["tls_config"] == {"ca_file": "secrets/ca.pem"} and "password" not in job["basic_auth"]
    for key in ("scheme", "tls_config", "basic_auth"):
        del job[key]
    assert secured == plain


def get(url: str, ca: Path | None, user: str | None = None, password: str = "") -> int:
    headers = {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()} if user else {}
    context = ssl.create_default_context(cafile=str(ca)) if ca else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5, context=context) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_metrics_and_wallboard_need_credentials_over_tls_and_healthz_does_not(tmp_path: Path) -> None:
    config, ca = web_config(tmp_path)
    port = free_port()
    server = serve("127.0.0.1", port, CollectorRegistry(), LiveBoard(), web=load_web_config(str(config)))
    base = f"https://127.0.0.1:{port}"
    try:
        assert get(base + "/metrics", ca) == 401
        assert get(base + "/metrics", ca, "prometheus", "wrong") == 401
        assert get(base + "/metrics", ca, "nobody", "s3cret scrape password") == 401
        assert get(base + "/metrics", ca, "prometheus", "s3cret scrape password") == 200
        assert get(base + "/wallboard.json", ca) == 401
        assert get(base + "/healthz", ca) == 200
        with pytest.raises((urllib.error.URLError, ConnectionError)):  # plain HTTP gets no answer from a TLS port
            get(f"http://127.0.0.1:{port}/healthz", None)
        env = {"CONTACTPULSE_WALLBOARD_USER": "prometheus", "CONTACTPULSE_WALLBOARD_CA_FILE": str(ca)}
        secret = tmp_path / "password"
        secret.write_text("s3cret scrape password\n")
        assert "rows" in fetch(base, credentials({**env, "CONTACTPULSE_WALLBOARD_PASSWORD_FILE": str(secret)}))
        with pytest.raises(UserError, match="wants credentials"):
            fetch(base, credentials({"CONTACTPULSE_WALLBOARD_CA_FILE": str(ca)}))
    finally:
        server.close()


@pytest.mark.parametrize(("text", "message"), [
    ("basic_auth_users: {prometheus: plaintext}\n", "is not a bcrypt hash"),
    ("tls_server_config: {cert_file: /nowhere.pem}\n", "needs both cert_file and key_file"),
    ("tls_server_config: {cert_file: /nowhere.pem, key_file: /nowhere.key}\n", "cannot load the web config's TLS"),
    ("listen: 0.0.0.0\n", "has keys other than"),
    ("basic_auth_users: [\n", "is not YAML"),
])  # fmt: skip
def test_a_wrong_web_config_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "web.yml"
    path.write_text(text)
    with pytest.raises(UserError, match=message) as exc:
        load_web_config(str(path))
    assert "\n" not in str(exc.value) and "plaintext" not in str(exc.value)


def test_the_gateways_metrics_need_the_web_configs_credentials(tmp_path: Path) -> None:
    config, _ = web_config(tmp_path, tls=False)
    app = create_app(
        TokenFile(tmp_path / "t.json"),
        Recording(),
        CollectorRegistry(),
        keys_from_env({}),
        web=load_web_config(str(config)),
    )
    with serving(app) as url:
        assert get(url + "/metrics", None) == 401
        assert get(url + "/metrics", None, "prometheus", "s3cret scrape password") == 200
        assert get(url + "/healthz", None) == 200
