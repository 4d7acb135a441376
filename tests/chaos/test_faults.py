"""The fault suite (``make chaos``; ``make test`` runs it too): faults injected into a running pipeline on
the real broker, and after each the facts must equal those of an uninterrupted replay of the same
events, with every event stored once: nothing lost, nothing counted twice. The consumer recovers on its
own, or exits non-zero with a one-line reason and recovers on restart.

- SIGKILL of the consumer at 10 random points;
- the broker killed (SIGKILL) and restarted mid-run;
- the broker paused (SIGSTOP) for 30 s;
- a DuckDB write that fails for lack of disk space (the file on a small tmpfs, then made larger).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from services.store.readers import snapshot_path
from tests.conftest import PORT, ROOT, Consumer, Topics
from tests.integration.test_streaming import contacts, kcat_produce, keyed_lines, replayed
from tests.support.generator import Generator
from tests.support.net import free_port

pytestmark = pytest.mark.chaos
PIDFILE = ROOT / ".cache" / "kafka" / f"broker-{PORT}.pid"


def events(seed: int, n: int) -> list[dict[str, Any]]:
    out = [e for c in Generator(seed).contacts(n) for e in c]
    random.Random(seed).shuffle(out)
    return out


def caught_up(consumer: Consumer, expected: int, timeout: float = 180) -> None:
    """Until the consumer's snapshot (written each second) holds ``expected`` events, then a clean stop."""
    deadline = time.monotonic() + timeout
    snap = snapshot_path(consumer.db)
    while True:
        try:
            con = duckdb.connect(str(snap), read_only=True)
            try:
                row = con.execute("SELECT count(*) FROM contact_events").fetchone()
            finally:
                con.close()
            if row is not None and row[0] >= expected:
                break
        except (duckdb.Error, OSError):
            pass  # not written yet, or being replaced
        assert consumer.proc is not None and consumer.proc.poll() is None, "the consumer exited"
        assert time.monotonic() < deadline, "the consumer did not catch up"
        time.sleep(0.5)
    consumer.stop()  # SIGTERM: it drains its last write


def stored_once(db: Path, expected: int) -> None:
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*), count(DISTINCT id) FROM contact_events").fetchone() == (expected, expected)
    finally:
        con.close()


def broker(action: str) -> None:
    env = {**os.environ, "KAFKA_PORT": str(PORT), "KAFKA_CONTROLLER_PORT": str(PORT + 1), "PYTHON": sys.executable}
    subprocess.run(
        ["bash", "scripts/kafka.sh", action], cwd=ROOT, env=env, check=True, timeout=180, capture_output=True
    )


def test_sigkill_of_the_consumer_at_ten_random_points(
    tmp_path: Path, topics: Topics, consumer_factory: type[Consumer]
) -> None:
    items = events(31, 9000)
    kcat_produce(topics.events, keyed_lines(items), tmp_path / "in.tsv")
    db = tmp_path / "stream.duckdb"
    rng = random.Random(7)
    for _ in range(10):
        c = consumer_factory(db, topics, free_port())
        c.start()
        time.sleep(rng.uniform(0.5, 3.0))  # at start-up, mid-batch, mid-write or after the end
        c.stop(signal.SIGKILL)
    last = consumer_factory(db, topics, free_port())
    last.start()
    caught_up(last, len(items))
    assert contacts(db) == replayed(tmp_path, items)
    stored_once(db, len(items))


def test_the_broker_killed_and_restarted_mid_run(
    tmp_path: Path, topics: Topics, consumer_factory: type[Consumer]
) -> None:
    items = events(32, 6000)
    first, second = items[: len(items) // 2], items[len(items) // 2 :]
    kcat_produce(topics.events, keyed_lines(first), tmp_path / "a.tsv")
    db = tmp_path / "stream.duckdb"
    c = consumer_factory(db, topics, free_port())
    c.start()
    time.sleep(2)
    os.kill(int(PIDFILE.read_text()), signal.SIGKILL)
    time.sleep(3)
    broker("up")  # the same data directory: the topics and committed offsets are still there
    kcat_produce(topics.events, keyed_lines(second), tmp_path / "b.tsv")
    if c.proc is not None and c.proc.poll() is not None:  # it may stop with a one-line reason: restart it
        c = consumer_factory(db, topics, free_port())
        c.start()
    caught_up(c, len(first) + len(second))
    assert contacts(db) == replayed(tmp_path, first + second)
    stored_once(db, len(first) + len(second))


def test_the_broker_paused_for_thirty_seconds(tmp_path: Path, topics: Topics, consumer_factory: type[Consumer]) -> None:
    items = events(34, 4000)
    kcat_produce(topics.events, keyed_lines(items[: len(items) // 2]), tmp_path / "a.tsv")
    db = tmp_path / "stream.duckdb"
    c = consumer_factory(db, topics, free_port())
    c.start()
    time.sleep(2)
    pid = int(PIDFILE.read_text())
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(30)
    finally:
        os.kill(pid, signal.SIGCONT)
    kcat_produce(topics.events, keyed_lines(items[len(items) // 2 :]), tmp_path / "b.tsv")
    caught_up(c, len(items))  # on its own, without a restart
    assert contacts(db) == replayed(tmp_path, items)
    stored_once(db, len(items))


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    assert done.returncode == 0, f"the disk-full fault needs a tmpfs (root): {done.stderr.strip()}"
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_write_that_fails_for_lack_of_disk_space(
    tmp_path: Path, topics: Topics, small_disk: Path, consumer_factory: type[Consumer]
) -> None:
    items = events(35, 30000)
    kcat_produce(topics.events, keyed_lines(items), tmp_path / "in.tsv")
    db = small_disk / "stream.duckdb"
    c = consumer_factory(db, topics, free_port())
    c.start()
    assert c.proc is not None
    assert c.proc.wait(timeout=180) != 0  # it stops, not carries on without its writes
    log = (db.parent / "consumer.log").read_text()
    assert "stopped after a failed DuckDB write" in log and "Traceback" not in log.split("stopped after")[-1]
    subprocess.run(["mount", "-o", "remount,size=400m", str(small_disk)], check=True)  # space made
    again = consumer_factory(db, topics, free_port())
    again.start()
    caught_up(again, len(items), timeout=300)
    assert contacts(db) == replayed(tmp_path, items)
    stored_once(db, len(items))
