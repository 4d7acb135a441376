"""Every client over a broker with a SASL_SSL listener (SCRAM-SHA-512 over TLS; scripts/kafka.sh with
KAFKA_SECURE=1, its CA and user made by openssl and the broker's own StorageTool): topic creation, the
simulator, the gateway, an adapter and the consumer, end to end. A wrong password and an untrusted
certificate each give one line, with no traceback and no secret."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.conftest import ROOT, Consumer, Topics
from tests.support.builders import ev
from tests.support.gateway import post
from tests.support.net import free_port

pytestmark = pytest.mark.integration
PORT, CPORT, SPORT = 19592, 19593, 19594
SECURE = f"127.0.0.1:{SPORT}"
TLS = ROOT / ".cache" / "kafka" / f"secure-{PORT}"


def kafka_sh(action: str) -> None:
    env = {
        **os.environ,
        "KAFKA_PORT": str(PORT),
        "KAFKA_CONTROLLER_PORT": str(CPORT),
        "KAFKA_SECURE": "1",
        "KAFKA_SECURE_PORT": str(SPORT),
        "PYTHON": sys.executable,
    }
    subprocess.run(
        ["bash", "scripts/kafka.sh", action], cwd=ROOT, env=env, check=True, timeout=240, capture_output=True
    )


@pytest.fixture(scope="module")
def secure_broker() -> Iterator[dict[str, str]]:
    kafka_sh("up")
    try:
        yield {
            "CONTACTPULSE_KAFKA_BOOTSTRAP": SECURE,
            "CONTACTPULSE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "CONTACTPULSE_KAFKA_USERNAME": "contactpulse",
            "CONTACTPULSE_KAFKA_PASSWORD_FILE": str(TLS / "scram.password"),
            "CONTACTPULSE_KAFKA_CA_FILE": str(TLS / "ca.pem"),
        }
    finally:
        kafka_sh("reset")


def cli(args: list[str], env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        timeout=timeout,
    )


def test_every_client_over_sasl_ssl(tmp_path: Path, secure_broker: dict[str, str]) -> None:
    suffix = uuid.uuid4().hex[:8]
    topics = Topics(f"events-{suffix}", f"dlq-{suffix}", f"group-{suffix}")
    env = {
        **secure_broker,
        "CONTACTPULSE_EVENTS_TOPIC": topics.events,
        "CONTACTPULSE_DLQ_TOPIC": topics.dlq,
        "CONTACTPULSE_WEBHOOKS_TOPIC": f"webhooks-{suffix}",
        "CONTACTPULSE_CONSUMER_GROUP": topics.group,
        "CONTACTPULSE_PSEUDONYM_KEY": "a secure test key, 16+ bytes",
    }
    made = subprocess.run(
        [sys.executable, "-m", "services.kafka", "create-topics", "--bootstrap", SECURE],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    sim = cli(["simulate", "--mode", "history", "--days", "1"], env)
    assert sim.returncode == 0, sim.stderr
    export = tmp_path / "calls.csv"
    export.write_text(
        "Call ID,Call Start,Queue,CLI,Queue Time,Talk Time,Hold Time,Wrap Time,Outcome,Agent ID\n"
        f"S1,{time.strftime('%d/%m/%Y %H:%M:%S', time.gmtime(time.time() - 3600))},Revenues,"
        "01205 310010,10,60,0,0,Answered,A1\n"
    )
    adapted = cli(
        [
            "adapt",
            "csv",
            str(export),
            "--council",
            "boston",
            "--mapping",
            str(ROOT / "docs" / "adapters" / "call-detail.toml"),
        ],
        {**env, "TZ": "UTC"},
    )
    assert adapted.returncode == 0, adapted.stderr

    port = free_port()
    tokens = tmp_path / "tokens.json"
    token = (
        cli(
            ["gateway-token", "add", "--council", "all", "--source", "/"],
            {**env, "CONTACTPULSE_GATEWAY_TOKENS": str(tokens)},
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    gw_env = {**os.environ, "PYTHONPATH": str(ROOT), **env, "CONTACTPULSE_GATEWAY_TOKENS": str(tokens)}
    gateway = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "gateway", "--port", str(port)],
        cwd=ROOT,
        env=gw_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    consumer = Consumer(tmp_path / "s.duckdb", topics, free_port(), env=env)
    try:
        event = ev("contact.queued", 0, contact="GW-1", channel="webchat", queue="webchat")
        event["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
        deadline = time.monotonic() + 60
        status = 0
        while status != 202 and time.monotonic() < deadline:  # 503 until the gateway has connected
            with contextlib.suppress(OSError):  # not listening yet
                status = post(
                    f"http://127.0.0.1:{port}/v1/events", orjson.dumps(event), "application/cloudevents+json", token
                ).status
            time.sleep(0.5)
        assert status == 202
        consumer.start()
        seen = consumer.wait_for(1, timeout=120)
        time.sleep(3)
        seen = consumer.metrics()
        assert seen["contactpulse_events_total"] > 4  # the simulator's, the adapter's four, the gateway's one
    finally:
        gateway.terminate()
        gateway.wait(timeout=30)
        consumer.stop()
    import duckdb

    con = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)
    ids = {r[0] for r in con.execute("SELECT contact_id FROM contact_events").fetchall()}
    con.close()
    assert {"GW-1", "S1"} <= ids and len(ids) > 2


@pytest.mark.parametrize("change", ["password", "ca"])
def test_a_wrong_password_or_an_untrusted_certificate_is_one_line(
    tmp_path: Path, secure_broker: dict[str, str], change: str
) -> None:
    env = dict(secure_broker)
    if change == "password":
        env.pop("CONTACTPULSE_KAFKA_PASSWORD_FILE")
        env["CONTACTPULSE_KAFKA_PASSWORD"] = "not-the-password-1234"
    else:
        env.pop("CONTACTPULSE_KAFKA_CA_FILE")  # the system's CAs do not know the broker's
    expected = "the user or password was refused" if change == "password" else "certificate is not trusted"
    export = tmp_path / "calls.csv"
    export.write_text("Call ID,Call Start,Queue,CLI,Queue Time,Talk Time,Hold Time,Wrap Time,Outcome,Agent ID\n")
    commands = [
        ["simulate", "--mode", "history", "--days", "1"],
        [
            "adapt",
            "csv",
            str(export),
            "--council",
            "boston",
            "--mapping",
            str(ROOT / "docs" / "adapters" / "call-detail.toml"),
        ],
        ["consume", "--db", str(tmp_path / "c.duckdb"), "--metrics-port", str(free_port())],
        ["gateway", "--port", str(free_port())],
    ]
    # an untrusted certificate takes kafka-python its 30 s bootstrap to give up on: one command shows it
    for args in commands if change == "password" else commands[:1]:
        done = cli(args, env, timeout=120)
        assert done.returncode == 2, (args, done.stderr[-2000:])
        last = done.stderr.strip().splitlines()[-1]
        assert expected in last and "Traceback" not in done.stderr, (args, done.stderr[-2000:])
        assert "not-the-password-1234" not in done.stderr + done.stdout
