"""Shared fixtures: a real Apache Kafka broker (scripts/kafka.sh) on a test port, and consumer processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.kafka import create_topics

ROOT = Path(__file__).resolve().parents[1]
PORT = int(os.environ.get("CONTACTPULSE_TEST_KAFKA_PORT", "19092"))
BOOTSTRAP = f"127.0.0.1:{PORT}"


@pytest.fixture(scope="session")
def kafka() -> Iterator[str]:
    env = {**os.environ, "KAFKA_PORT": str(PORT), "KAFKA_CONTROLLER_PORT": str(PORT + 1), "PYTHON": sys.executable}
    subprocess.run(["bash", "scripts/kafka.sh", "up"], cwd=ROOT, env=env, check=True, timeout=180)
    yield BOOTSTRAP
    subprocess.run(["bash", "scripts/kafka.sh", "reset"], cwd=ROOT, env=env, check=False, timeout=60)


@dataclass
class Topics:
    events: str
    dlq: str
    group: str


@pytest.fixture
def topics(kafka: str) -> Topics:
    suffix = uuid.uuid4().hex[:8]
    t = Topics(f"events-{suffix}", f"dlq-{suffix}", f"group-{suffix}")
    create_topics(kafka, {t.events: 6, t.dlq: 1})
    return t


class Consumer:
    def __init__(
        self, db: Path, topics: Topics, port: int, env: dict[str, str] | None = None, db_arg: str | None = None
    ) -> None:
        """``db``: the DuckDB file (its folder holds the log); ``db_arg``: another ``--db`` (a lake's URI)."""
        self.db, self.topics, self.port = db, topics, port
        self.db_arg = db_arg or str(db)
        self.extra_env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "CONTACTPULSE_KAFKA_BOOTSTRAP": BOOTSTRAP,
            "CONTACTPULSE_EVENTS_TOPIC": self.topics.events,
            "CONTACTPULSE_DLQ_TOPIC": self.topics.dlq,
            "CONTACTPULSE_CONSUMER_GROUP": self.topics.group,
            "CONTACTPULSE_METRICS_PORT": str(self.port),
            "CONTACTPULSE_SNAPSHOT_SECONDS": "1",
            **self.extra_env,
        }
        log = (self.db.parent / "consumer.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "consume", "--db", self.db_arg],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )

    def metrics(self) -> dict[str, float]:
        """Sum of each series over its labels."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
            text = r.read().decode()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("contactpulse_"):
                name = line.split("{")[0].split(" ")[0]
                out[name] = out.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
        return out

    def read_total(self) -> float:
        m = self.metrics()
        return sum(
            m.get(k, 0.0)
            for k in (
                "contactpulse_events_total",
                "contactpulse_events_duplicate_total",
                "contactpulse_events_rejected_total",
            )
        )

    def wait_for(self, total: int, timeout: float = 120) -> dict[str, float]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.read_total() >= total:
                    return self.metrics()
            except OSError:
                pass
            assert self.proc is not None and self.proc.poll() is None, "consumer exited"
            time.sleep(0.2)
        raise AssertionError(f"consumer did not read {total} messages in {timeout} s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)


@pytest.fixture
def consumer_factory(tmp_path: Path, topics: Topics) -> Iterator[type[Consumer]]:
    started: list[Consumer] = []

    class Tracked(Consumer):
        def start(self) -> None:
            super().start()
            started.append(self)

    yield Tracked
    for c in started:
        c.stop(signal.SIGKILL)


PG_PORT = int(os.environ.get("CONTACTPULSE_TEST_PG_PORT", "15544"))
PSQL = ("psql", "-h", "127.0.0.1", "-U", "contactpulse", "-d", "postgres")


@dataclass
class Lake:
    """A fresh PostgreSQL database for one test's DuckLake catalog, and its data folder."""

    uri: str
    data_path: Path
    env: dict[str, str]  # what a process needs to open it (the password's file, the data path)


@pytest.fixture(scope="session")
def postgres() -> Iterator[dict[str, str]]:
    """PostgreSQL from Debian's package (scripts/postgres.sh) on a test port; the password's file in the env."""
    env = {**os.environ, "PG_PORT": str(PG_PORT)}
    subprocess.run(["bash", "scripts/postgres.sh", "up"], cwd=ROOT, env=env, check=True, timeout=120)
    yield {"CONTACTPULSE_PG_PASSWORD_FILE": str(ROOT / ".cache" / "postgres" / "password")}
    subprocess.run(["bash", "scripts/postgres.sh", "down"], cwd=ROOT, env=env, check=False, timeout=60)


@pytest.fixture
def lake(postgres: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lake:
    name = f"lake_{uuid.uuid4().hex[:10]}"
    password = Path(postgres["CONTACTPULSE_PG_PASSWORD_FILE"]).read_text().strip()
    subprocess.run(
        [*PSQL, "-p", str(PG_PORT), "-qc", f"CREATE DATABASE {name}"],
        env={**os.environ, "PGPASSWORD": password},
        check=True,
        timeout=30,
    )
    data = tmp_path / "lake-data"
    env = {**postgres, "CONTACTPULSE_DUCKLAKE_DATA_PATH": str(data)}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return Lake(f"ducklake:postgres:dbname={name} host=127.0.0.1 port={PG_PORT} user=contactpulse", data, env)
