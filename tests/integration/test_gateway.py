"""The gateway against the real broker and consumer: events posted in each of the three modes end in
DuckDB with the same facts as a replay of the same events; nothing of a refused request reaches Kafka;
with the broker stopped, requests get 503, and once it is back nothing that was accepted is missing."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from pipelines.rules import MetricRules
from services.store.store import Store
from tests.conftest import BOOTSTRAP, PORT, ROOT, Consumer, Topics
from tests.integration.test_streaming import contacts
from tests.support.gateway import Answer, post
from tests.support.generator import Generator
from tests.support.incremental import numbered_lines, replay
from tests.support.net import free_port

pytestmark = pytest.mark.integration
STRUCTURED, BATCH = "application/cloudevents+json", "application/cloudevents-batch+json"


class Gateway:
    def __init__(self, tmp: Path, topics: Topics, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "CONTACTPULSE_EVENTS_TOPIC": topics.events,
            "CONTACTPULSE_KAFKA_BOOTSTRAP": BOOTSTRAP,
            "CONTACTPULSE_GATEWAY_TOKENS": str(tmp / "tokens.json"),
            "PYTHONPATH": str(ROOT),
            **(env or {}),
        }
        made = subprocess.run(
            [sys.executable, "-m", "services.cli", "gateway-token", "add", "--council", "all", "--source", "/"],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        self.token = made.stdout.strip().splitlines()[-1]  # the token is the last line, shown once
        self.log = (tmp / "gateway.log").open("ab")
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "gateway", "--port", str(self.port)],
            env=self.env,
            stdout=self.log,
            stderr=self.log,
        )

    def connected(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if orjson.loads(r.read())["kafka"] == "connected":
                        return
            except OSError:
                pass
            assert self.proc.poll() is None, "the gateway exited"
            time.sleep(0.2)
        raise AssertionError("the gateway did not connect to Kafka")

    def post(self, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> Answer:
        return post(self.url + "/v1/events", body, content_type, self.token, headers)

    def stop(self) -> None:
        self.proc.terminate()
        assert self.proc.wait(timeout=30) == 0  # SIGTERM stops it cleanly


@pytest.fixture
def gateway(tmp_path: Path, topics: Topics) -> Iterator[Gateway]:
    g = Gateway(tmp_path, topics)
    try:
        g.connected()
        yield g
    finally:
        if g.proc.poll() is None:
            g.stop()
        assert g.token.encode() not in (tmp_path / "gateway.log").read_bytes()  # never logged


def binary(event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    return orjson.dumps(event["data"]), {f"ce-{k}": str(v) for k, v in event.items() if k != "data"}


def test_three_modes_give_the_facts_of_a_replay(
    tmp_path: Path, topics: Topics, gateway: Gateway, consumer_factory: type[Consumer]
) -> None:
    events = [e for c in Generator(23).contacts(240) for e in c]
    third = len(events) // 3
    for e in events[:third]:
        assert gateway.post(orjson.dumps(e), STRUCTURED).status == 202
    rest = events[third : 2 * third]
    for i in range(0, len(rest), 100):
        assert gateway.post(orjson.dumps(rest[i : i + 100]), BATCH).status == 202
    for e in events[2 * third :]:
        body, headers = binary(e)
        assert gateway.post(body, "application/json", headers).status == 202
    refused = gateway.post(orjson.dumps([events[0], {"specversion": "1.0"}]), BATCH)
    assert refused.status == 400  # and nothing of it published: the consumer reads exactly len(events)
    consumer = consumer_factory(tmp_path / "stream.duckdb", topics, free_port())
    consumer.start()
    seen = consumer.wait_for(len(events))
    time.sleep(1.5)  # the last write
    consumer.stop()
    assert seen["contactpulse_events_total"] == len(events) and seen.get("contactpulse_events_rejected_total", 0) == 0
    data = b"\n".join(orjson.dumps(e) for e in events) + b"\n"
    with Store(tmp_path / "replay.duckdb") as store:
        replay(numbered_lines("f", io.BytesIO(data)), store, MetricRules())
    assert contacts(tmp_path / "stream.duckdb") == contacts(tmp_path / "replay.duckdb")


def broker(action: str) -> None:
    env = {**os.environ, "KAFKA_PORT": str(PORT), "KAFKA_CONTROLLER_PORT": str(PORT + 1), "PYTHON": sys.executable}
    subprocess.run(
        ["bash", "scripts/kafka.sh", action], cwd=ROOT, env=env, check=True, timeout=180, capture_output=True
    )


def test_a_stopped_broker_is_503_and_nothing_accepted_is_lost(
    tmp_path: Path, topics: Topics, gateway: Gateway, consumer_factory: type[Consumer]
) -> None:
    events = [e for c in Generator(24).contacts(60) for e in c]
    accepted: set[str] = set()
    for e in events[:50]:
        assert gateway.post(orjson.dumps(e), STRUCTURED).status == 202
        accepted.add(e["id"])
    broker("down")
    try:
        down = gateway.post(orjson.dumps(events[50]), STRUCTURED)
        assert down.status == 503 and down.headers["retry-after"] == "5"
    finally:
        broker("up")
    pending = events[50:]
    deadline = time.monotonic() + 120
    while pending and time.monotonic() < deadline:  # a sender retries what got 503
        a = gateway.post(orjson.dumps(pending[0]), STRUCTURED)
        if a.status == 202:
            accepted.add(pending.pop(0)["id"])
        else:
            assert a.status == 503
            time.sleep(1)
    assert not pending
    consumer = consumer_factory(tmp_path / "after.duckdb", topics, free_port())
    consumer.start()
    consumer.wait_for(len(events))
    time.sleep(1.5)
    consumer.stop()
    con = duckdb.connect(str(tmp_path / "after.duckdb"), read_only=True)
    stored = {r[0] for r in con.execute("SELECT id FROM contact_events").fetchall()}
    con.close()
    assert accepted <= stored and len(stored) == len(events)
