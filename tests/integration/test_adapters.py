"""Adapters end to end on the real broker. The Asterisk follower, with the consumer: lines appended
while it runs reach DuckDB; ``kill -9`` in the middle and a restart, then a log rotation (lines written
to the old file after its rename, the rest to a new one), give the same facts as reading the whole log
once. The CSV adapter: a bad row goes to the dead-letter topic and the reject file, with its line."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from pipelines.rules import MetricRules
from services.store.store import Store
from tests.conftest import BOOTSTRAP, ROOT, Consumer, Topics
from tests.integration.test_streaming import contacts
from tests.support.incremental import numbered_lines, replay
from tests.support.net import free_port
from tests.support.queue_log import queue_log

pytestmark = pytest.mark.integration
KEY = "integration pseudonym key, 16+ bytes"


def adapter_env(topics: Topics) -> dict[str, str]:
    return {
        **os.environ,
        "CONTACTPULSE_EVENTS_TOPIC": topics.events,
        "CONTACTPULSE_DLQ_TOPIC": topics.dlq,
        "CONTACTPULSE_KAFKA_BOOTSTRAP": BOOTSTRAP,
        "CONTACTPULSE_PSEUDONYM_KEY": KEY,
        "PYTHONPATH": str(ROOT),
    }


def adapter(args: list[str], topics: Topics, log: Path) -> subprocess.Popen[bytes]:
    env = adapter_env(topics)
    command = [sys.executable, "-m", "services.cli", "adapt", "asterisk-queue-log", *args, "--council", "boston"]
    return subprocess.Popen(command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def append(path: Path, lines: list[str]) -> None:
    with path.open("a") as f:
        f.writelines(lines)


def test_follow_kill_and_rotate_give_the_facts_of_one_read(
    tmp_path: Path, topics: Topics, consumer_factory: type[Consumer]
) -> None:
    lines = queue_log(900, int(time.time()) - 6 * 3600)
    a, b, c, d = (
        lines[: len(lines) // 4],
        lines[len(lines) // 4 : len(lines) // 2],
        lines[len(lines) // 2 : 3 * len(lines) // 4],
        lines[3 * len(lines) // 4 :],
    )
    log, state, out = tmp_path / "queue_log", tmp_path / "position.json", tmp_path / "adapter.log"
    append(log, a)
    args = [str(log), "--follow", "--state", str(state)]
    follower = adapter(args, topics, out)
    consumer = consumer_factory(tmp_path / "stream.duckdb", topics, free_port())
    consumer.start()
    try:
        deadline = time.monotonic() + 60
        while not state.exists() and time.monotonic() < deadline:  # the first lines are through
            time.sleep(0.05)
        append(log, b)  # appended while it runs
        time.sleep(0.05)
        follower.send_signal(signal.SIGKILL)  # somewhere in the middle
        follower.wait(timeout=10)
        follower = adapter(args, topics, out)
        time.sleep(1.0)
        os.rename(log, tmp_path / "queue_log.1")  # logrotate
        append(tmp_path / "queue_log.1", c)  # Asterisk still writing the old file until it reopens the log
        time.sleep(0.3)
        append(log, d)  # the new file
        # the same log, read once
        once = tmp_path / "once.jsonl"
        whole = tmp_path / "whole_log"
        append(whole, lines)
        env = {**os.environ, "CONTACTPULSE_PSEUDONYM_KEY": KEY, "PYTHONPATH": str(ROOT)}
        subprocess.run(
            [
                sys.executable,
                "-m",
                "services.cli",
                "adapt",
                "asterisk-queue-log",
                str(whole),
                "--council",
                "boston",
                "--out",
                str(once),
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        expected = [orjson.loads(x) for x in once.read_bytes().splitlines()]
        deadline = time.monotonic() + 120
        while consumer.metrics().get("contactpulse_events_total", 0) < len(expected) and time.monotonic() < deadline:
            assert follower.poll() is None, out.read_text()
            time.sleep(0.5)
        time.sleep(1.5)  # the last write
        assert consumer.metrics()["contactpulse_events_total"] == len(expected)
    finally:
        follower.send_signal(signal.SIGTERM)
        assert follower.wait(timeout=20) == 0, out.read_text()
        consumer.stop()
    with Store(tmp_path / "replay.duckdb") as store:
        replay(numbered_lines("once", io.BytesIO(once.read_bytes())), store, MetricRules())
    assert contacts(tmp_path / "stream.duckdb") == contacts(tmp_path / "replay.duckdb")
    text = out.read_text()
    assert "rotated" in text
    resumed = int(text.split("records read")[-1].split()[0].replace(",", ""))
    assert resumed < len(lines)  # the restart went on from the stored position, not from the start


def test_a_csv_to_kafka_with_a_bad_row_sends_it_to_the_dead_letter_topic_and_the_reject_file(
    tmp_path: Path, topics: Topics
) -> None:
    export = tmp_path / "calls.csv"
    export.write_text(
        "Call ID,Call Start,Queue,CLI,Queue Time,Talk Time,Hold Time,Wrap Time,Outcome,Agent ID\n"
        "K1,02/03/2026 09:00:00,Revenues,01205 310010,10,60,0,0,Answered,A1\n"
        "K2,31/02/2026 09:00:00,Revenues,01205 310011,10,60,0,0,Answered,A1\n"
    )
    env = adapter_env(topics)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "adapt",
            "csv",
            str(export),
            "--council",
            "boston",
            "--mapping",
            str(ROOT / "docs" / "adapters" / "call-detail.toml"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "records read  2" in done.stderr and "unmappable:bad_time" in done.stderr
    events = subprocess.run(
        ["kcat", "-C", "-b", BOOTSTRAP, "-t", topics.events, "-e", "-q", "-f", "%k\n"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert events == ["K1"] * 4  # started, queued, answered, ended
    dead = subprocess.run(
        ["kcat", "-C", "-b", BOOTSTRAP, "-t", topics.dlq, "-e", "-q", "-f", "%h\t%s\n"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert len(dead) == 1 and "reason=unmappable:bad_time" in dead[0] and "original_line=3" in dead[0]
    assert "310011" not in dead[0] and "[number]" in dead[0]  # the caller's number never leaves the adapter
    rejected = [orjson.loads(x) for x in (tmp_path / "calls.csv.rejects.jsonl").read_bytes().splitlines()]
    assert [(r["line"], r["reason"]) for r in rejected] == [(3, "unmappable:bad_time")]
