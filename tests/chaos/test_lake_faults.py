"""Faults with a consumer group on a DuckLake (Debian's PostgreSQL as its catalog, the real broker): after
each, the facts and FCR equal those of an uninterrupted replay and every event is stored once.

- two consumers; one is SIGKILLed mid-stream; a third joins;
- PostgreSQL restarted mid-stream: the consumers wait for it and go on;
- the broker restarted with two consumers.

A consumer that stops with a one-line reason (fenced, or the broker gone too long) is started again, as
docker-compose's restart policy does; it resumes from the offsets stored in the lake.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.store.location import parse_location
from services.store.readers import open_read_only
from tests.chaos.test_faults import PIDFILE, broker, events
from tests.conftest import PG_PORT, ROOT, Consumer, Lake, Topics
from tests.integration.test_streaming import kcat_produce, keyed_lines, replayed
from tests.support.net import free_port

pytestmark = pytest.mark.chaos
FACTS = "SELECT * FROM contacts JOIN contact_fcr USING (council, contact_id) ORDER BY council, contact_id"


class Group:
    """Consumers of one group on one lake, each with its own log; one that exits is started again."""

    def __init__(self, tmp: Path, lake: Lake, topics: Topics, factory: type[Consumer]) -> None:
        self.tmp, self.lake, self.topics, self.factory = tmp, lake, topics, factory
        self.members: list[Consumer] = []
        self.started = self.restarts = 0

    def add(self) -> Consumer:
        self.started += 1
        folder = self.tmp / f"consumer-{self.started}"
        folder.mkdir()
        c = self.factory(folder / "-", self.topics, free_port(), self.lake.env, self.lake.uri)
        c.start()
        self.members.append(c)
        return c

    def supervise(self) -> None:
        for c in list(self.members):
            if c.proc is not None and c.proc.poll() is not None:
                self.members.remove(c)
                self.restarts += 1
                self.add()

    def stored(self) -> int:
        con, _ = open_read_only(parse_location(self.lake.uri))
        try:
            return int(con.execute("SELECT count(*) FROM contact_events").fetchall()[0][0])
        finally:
            con.close()

    def caught_up(self, expected: int, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.stored() >= expected:
                    break
            except Exception:  # the catalog restarting: ask again
                pass
            self.supervise()
            assert time.monotonic() < deadline, f"the group did not catch up ({self.restarts} restarts)"
            time.sleep(0.5)
        time.sleep(2)  # the last writes of every member
        for c in self.members:
            c.stop()

    def facts_equal_a_replay(self, items: list[dict[str, Any]]) -> None:
        con, _ = open_read_only(parse_location(self.lake.uri))
        try:
            got = con.execute(FACTS).fetchall()
            once = con.execute("SELECT count(*), count(DISTINCT id) FROM contact_events").fetchall()[0]
        finally:
            con.close()
        assert once == (len(items), len(items)), "every event stored once"
        assert got == replayed(self.tmp, items)


def postgres(action: str) -> None:
    env = {**os.environ, "PG_PORT": str(PG_PORT)}
    subprocess.run(["bash", "scripts/postgres.sh", action], cwd=ROOT, env=env, check=True, timeout=120)


def mid_stream(
    tmp: Path,
    lake: Lake,
    topics: Topics,
    factory: type[Consumer],
    seed: int,
    fault: Callable[[Group], None],
    then: Callable[[Group], object] = lambda group: None,
) -> None:
    """Two consumers; half the events; the fault; the other half; ``then``; caught up and exact."""
    items = events(seed, 6000)
    first, second = items[: len(items) // 2], items[len(items) // 2 :]
    group = Group(tmp, lake, topics, factory)
    group.add(), group.add()
    kcat_produce(topics.events, keyed_lines(first), tmp / "a.tsv")
    time.sleep(3)
    fault(group)
    kcat_produce(topics.events, keyed_lines(second), tmp / "b.tsv")
    then(group)
    group.caught_up(len(items))
    group.facts_equal_a_replay(items)


def sigkill_one(group: Group) -> None:
    victim = group.members.pop(0)
    victim.stop(signal.SIGKILL)


def restart_the_broker(group: Group) -> None:
    os.kill(int(PIDFILE.read_text()), signal.SIGKILL)
    time.sleep(3)
    broker("up")  # the same data directory: the topics and committed offsets are still there


def test_one_of_two_consumers_sigkilled_then_a_third_joins(
    tmp_path: Path, lake: Lake, topics: Topics, consumer_factory: type[Consumer]
) -> None:
    mid_stream(tmp_path, lake, topics, consumer_factory, 41, sigkill_one, then=Group.add)


def test_postgres_restarted_mid_stream(
    tmp_path: Path, lake: Lake, topics: Topics, consumer_factory: type[Consumer]
) -> None:
    items = events(42, 6000)
    group = Group(tmp_path, lake, topics, consumer_factory)
    group.add(), group.add()
    kcat_produce(topics.events, keyed_lines(items), tmp_path / "in.tsv")
    time.sleep(3)
    postgres("down")
    time.sleep(3)
    postgres("up")
    group.caught_up(len(items))
    group.facts_equal_a_replay(items)
    logs = "".join(p.read_text() for p in tmp_path.glob("consumer-*/consumer.log"))
    assert "cannot be reached; waiting for it" in logs


def test_the_broker_restarted_with_two_consumers(
    tmp_path: Path, lake: Lake, topics: Topics, consumer_factory: type[Consumer]
) -> None:
    mid_stream(tmp_path, lake, topics, consumer_factory, 43, restart_the_broker)
