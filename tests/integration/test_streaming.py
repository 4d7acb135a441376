"""The pipeline on a real Kafka broker: kcat and Python producers, dead letters, restart after SIGKILL."""

from __future__ import annotations

import io
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from pipelines.rules import MetricRules
from services.store.readers import snapshot_path
from services.store.store import Store
from tests.conftest import BOOTSTRAP, Consumer, Topics
from tests.support.generator import Generator
from tests.support.incremental import numbered_lines, replay

pytestmark = pytest.mark.integration


def keyed_lines(events: list[dict[str, Any]]) -> list[bytes]:
    return [e["data"]["contact_id"].encode() + b"\t" + orjson.dumps(e) for e in events]


BAD = [
    b"k-bad-1\t{not json",
    b'k-bad-2\t{"specversion":"1.0","id":"x1","source":"/s","type":"contact.teleported","time":"2026-03-01T00:00:00Z","data":{}}',
    b'k-bad-3\t{"specversion":"1.0","id":"x2","source":"/s","type":"contact.queued","time":"2026-03-01T00:00:00Z",'
    b'"data":{"contact_id":"C-x","council":"boston","channel":"phone"}}',
    b'k-bad-4\t{"specversion":"1.0","id":"x3","source":"/s","type":"contact.started","time":"2026-03-01T00:00:00Z",'
    b'"data":{"contact_id":"C-y","council":"boston","channel":"phone","customer_ref":"07700900123"}}',
]
BAD_REASONS = ["invalid_json", "unknown_type", "bad_field:queue", "pii_in_customer_ref"]


def kcat_produce(topic: str, lines: list[bytes], path: Path) -> None:
    path.write_bytes(b"\n".join(lines) + b"\n")
    subprocess.run(["kcat", "-P", "-b", BOOTSTRAP, "-t", topic, "-K", "\t", "-l", str(path)], check=True, timeout=60)


def contacts(db: Path) -> list[tuple[Any, ...]]:
    """The contacts table with each contact's FCR verdict: the two must agree between stream and replay."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT * FROM contacts JOIN contact_fcr USING (council, contact_id) ORDER BY council, contact_id"
        ).fetchall()
    finally:
        con.close()


def replayed(tmp: Path, events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    db = tmp / "replay.duckdb"
    with Store(db) as store:
        replay(numbered_lines("x", io.BytesIO(b"\n".join(orjson.dumps(e) for e in events))), store, MetricRules())
    return contacts(db)


def test_kcat_events_with_duplicates_disorder_and_bad_messages(
    tmp_path: Path, topics: Topics, consumer_factory: type[Consumer]
) -> None:
    events = [e for c in Generator(11).contacts(400) for e in c]
    rng = random.Random(3)
    dups = rng.sample(events, 150)
    shuffled = events + dups
    rng.shuffle(shuffled)  # out of order, also within a contact's partition
    lines = keyed_lines(shuffled) + BAD
    kcat_produce(topics.events, lines, tmp_path / "in.tsv")

    consumer = consumer_factory(tmp_path / "stream.duckdb", topics, 19470)
    consumer.start()
    m = consumer.wait_for(len(lines))
    readers_work_while_the_consumer_writes(tmp_path / "stream.duckdb", len({e["data"]["contact_id"] for e in events}))
    consumer.stop()
    # counts add up: read = processed + duplicates + dead-lettered
    assert m["contactpulse_events_total"] == len(events)
    assert m["contactpulse_events_duplicate_total"] == len(dups)
    assert m["contactpulse_events_rejected_total"] == len(BAD)

    assert contacts(tmp_path / "stream.duckdb") == replayed(tmp_path, events)

    out = subprocess.run(
        ["kcat", "-C", "-b", BOOTSTRAP, "-t", topics.dlq, "-e", "-q", "-f", "%h\\t%s\\n"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    dead = [line.split(b"\t", 1) for line in out.stdout.splitlines() if line]
    assert len(dead) == len(BAD)
    by_value = {value: dict(h.split("=", 1) for h in headers.decode().split(",")) for headers, value in dead}
    for line, reason in zip(BAD, BAD_REASONS, strict=True):
        headers = by_value[line.split(b"\t", 1)[1]]  # the message is unchanged
        assert headers["reason"] == reason
        assert headers["original_topic"] == topics.events
        assert {"original_partition", "original_offset"} <= set(headers)


def readers_work_while_the_consumer_writes(db: Path, expected_contacts: int) -> None:
    """DuckDB lets no other process open a file its writer holds: readers use the consumer's snapshot."""
    with pytest.raises(duckdb.IOException):
        duckdb.connect(str(db), read_only=True)
    deadline = time.monotonic() + 30
    while True:  # the consumer publishes a snapshot every second in these tests
        try:
            con = duckdb.connect(str(snapshot_path(db)), read_only=True)
            n = con.execute("SELECT count(*) FROM contacts").fetchone()
            con.close()
            if n == (expected_contacts,):
                break
        except duckdb.Error:
            pass
        assert time.monotonic() < deadline, "no up-to-date snapshot"
        time.sleep(0.2)
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "summary", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert out.returncode == 0, out.stderr
    assert "(snapshot" in out.stdout
    assert re.search(rf"partnership\s*│\s*{expected_contacts:,}\b", out.stdout), out.stdout


def test_sigkill_mid_run_then_restart_gives_the_same_facts(
    tmp_path: Path, topics: Topics, consumer_factory: type[Consumer]
) -> None:
    events = [e for c in Generator(12).contacts(6000) for e in c]
    random.Random(5).shuffle(events)
    kcat_produce(topics.events, keyed_lines(events), tmp_path / "in.tsv")
    db = tmp_path / "stream.duckdb"

    first = consumer_factory(db, topics, 19471)
    first.start()
    deadline = time.monotonic() + 60
    read_at_kill = 0.0
    while time.monotonic() < deadline and not read_at_kill:
        try:
            read = first.read_total()
            if 0 < read < len(events):
                read_at_kill = read
        except OSError:
            pass
        time.sleep(0.02)
    first.stop(signal.SIGKILL)
    assert 0 < read_at_kill < len(events), "the consumer must be killed in the middle of the run"

    second = consumer_factory(db, topics, 19472)
    second.start()
    m = second.wait_for(1)
    deadline = time.monotonic() + 120
    while (
        m.get("contactpulse_consumer_lag_messages", 1) > 0
        or m.get("contactpulse_batch_committed_timestamp_seconds", 0) == 0
    ):
        assert time.monotonic() < deadline, m
        time.sleep(0.3)
        m = second.metrics()
    time.sleep(1)
    second.stop()
    assert contacts(db) == replayed(tmp_path, events)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM contact_events").fetchone() == (len(events),)
    con.close()
