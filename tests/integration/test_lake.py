"""The DuckLake store on a real PostgreSQL (Debian's package, scripts/postgres.sh): the same tables as a
DuckDB file, fresh readers, export, redone conflicts, fencing, and two consumers of one group on a real
Kafka broker giving the facts and FCR of a replay."""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from pipelines.events import micros
from pipelines.rules import MetricRules
from services.replay.bulk import bulk_replay
from services.store.location import parse_location
from services.store.readers import open_read_only
from services.store.store import Store
from services.store.writers import Fenced
from tests.conftest import ROOT, Consumer, Lake, Topics
from tests.integration.test_bulk_replay import TABLES
from tests.integration.test_streaming import kcat_produce, keyed_lines
from tests.support.builders import STANDARDS_TOML, T0, ev
from tests.support.generator import Generator
from tests.support.incremental import numbered_lines, replay

pytestmark = pytest.mark.integration

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def read(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    return {name: con.execute(sql).fetchall() for name, sql in TABLES.items()}


def replay_into(where: Any, data: bytes) -> None:
    with Store(where) as store:
        bulk_replay([("f.jsonl", io.BytesIO(data))], store, MetricRules(), ingest_time=NOW)


def test_replay_into_a_lake_equals_a_file_and_readers_see_each_commit(tmp_path: Path, lake: Lake) -> None:
    events = [e for c in Generator(31).contacts(600) for e in c]
    random.Random(2).shuffle(events)
    half = len(events) // 2
    first, second = (b"\n".join(orjson.dumps(e) for e in part) + b"\n" for part in (events[:half], events[half:]))
    where = parse_location(lake.uri, str(lake.data_path))
    for data in (first, second):
        replay_into(tmp_path / "file.duckdb", data)
        replay_into(where, data)
    file_con = duckdb.connect(str(tmp_path / "file.duckdb"), read_only=True)
    expected = read(file_con)
    file_con.close()
    reader, what = open_read_only(where)
    assert "as committed now" in what
    assert read(reader) == expected
    assert list(lake.data_path.rglob("*.parquet")), "the lake's rows are in Parquet files under its data path"

    # a reader that stays open sees the next commit, with no snapshot file
    more = [ev("contact.started", 0, "C-late", channel="phone"), ev("contact.ended", 60, "C-late")]
    replay_into(where, b"\n".join(orjson.dumps(e) for e in more) + b"\n")
    assert reader.execute("SELECT count(*) FROM contacts WHERE contact_id = 'C-late'").fetchall() == [(1,)]
    reader.close()

    # the commands read the lake as they read a file
    env = {**os.environ, **lake.env, "COLUMNS": "200"}
    summary = subprocess.run(
        [sys.executable, "-m", "services.cli", "summary", "--db", lake.uri],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert summary.returncode == 0, summary.stderr
    assert "as committed now" in summary.stdout

    out = tmp_path / "export.duckdb"
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "export", "--db", lake.uri, "--out", str(out)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    exported = duckdb.connect(str(out), read_only=True)
    n = exported.execute("SELECT count(*) FROM contacts").fetchall()[0][0]
    assert n == len(expected["contacts"]) + 1
    exported.close()


def test_a_wrong_password_is_one_line_without_the_password(lake: Lake) -> None:
    env = {**os.environ, **lake.env, "CONTACTPULSE_PG_PASSWORD": "not-the-password-42"}
    env.pop("CONTACTPULSE_PG_PASSWORD_FILE")
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "summary", "--db", lake.uri],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert out.returncode != 0
    assert "password authentication failed" in out.stderr
    assert "not-the-password-42" not in out.stderr + out.stdout
    assert "Traceback" not in out.stderr


def test_a_conflicting_commit_is_redone_and_a_stale_consumer_is_fenced(lake: Lake) -> None:
    where = parse_location(lake.uri, str(lake.data_path))
    rules = MetricRules()
    mine, other = Store(where), Store(where)
    started = ev("contact.started", 0, "C-1", channel="phone")
    # a writer that does not take turns (ad hoc SQL, say) commits while this one's transaction is open:
    # the write token makes this commit conflict, and it is redone
    other.turns = None
    calls = []
    real = mine.con.execute

    def body() -> None:
        calls.append(1)
        real("INSERT INTO watermarks VALUES ('boston', now())")
        if len(calls) == 1:
            replay(numbered_lines("x", io.BytesIO(orjson.dumps(started) + b"\n")), other, rules)

    mine._commit(body)
    assert len(calls) == 2 and mine.stats.conflicts == 1
    assert other.con.execute("SELECT count(*) FROM contacts").fetchall() == [(1,)]

    # partition 0: this consumer resumed from offset 10, then another committed it to 20
    other.write_batch([], [], {}, rules, offsets={("t", 0): 10})
    other.write_batch([], [], {}, rules, offsets={("t", 0): 20}, expected={("t", 0): 10})
    with pytest.raises(Fenced, match="partition 0 of t was committed up to offset 20"):
        mine.write_batch([], [], {"boston": micros(T0)}, rules, offsets={("t", 0): 15}, expected={("t", 0): 10})
    assert mine.offsets("t") == {0: 20}
    mine.close()
    other.close()


def test_two_consumers_in_one_group_on_a_lake_give_the_facts_of_a_replay(
    tmp_path: Path, lake: Lake, topics: Topics, consumer_factory: type[Consumer]
) -> None:
    events = [e for c in Generator(13).contacts(1500) for e in c]
    random.Random(8).shuffle(events)
    dups = random.Random(9).sample(events, 100)
    consumers = [consumer_factory(tmp_path / f"c{i}" / "-", topics, 19480 + i, lake.env, lake.uri) for i in range(2)]
    for c in consumers:  # each its own log, consumer.log in its folder
        c.db.parent.mkdir()
        c.start()
    deadline = time.monotonic() + 90
    while not all(_owns_half(c) for c in consumers):  # the group has settled: three partitions each
        assert time.monotonic() < deadline, "the two consumers did not share the partitions"
        time.sleep(0.3)
    kcat_produce(topics.events, keyed_lines(events + dups), tmp_path / "in.tsv")
    total = len(events) + len(dups)
    deadline = time.monotonic() + 180
    while sum(_read(c) for c in consumers) < total:
        assert all(c.proc is not None and c.proc.poll() is None for c in consumers), "a consumer exited"
        assert time.monotonic() < deadline, "the group did not read every message"
        time.sleep(0.5)
    shares = [_read(c) for c in consumers]
    for c in consumers:
        c.stop()
    assert all(c.proc is not None and c.proc.returncode == 0 for c in consumers)
    assert min(shares) > total / 5, f"both consumers did their share: {shares}"

    where = parse_location(lake.uri, str(lake.data_path))
    con, _ = open_read_only(where)
    stored = con.execute("SELECT count(*), count(DISTINCT id) FROM contact_events").fetchall()[0]
    assert stored == (len(events), len(events)), "every event stored once"
    got = con.execute(TABLES["contacts"]).fetchall(), con.execute(TABLES["contact_fcr"]).fetchall()
    con.close()
    replay_into(tmp_path / "replay.duckdb", b"\n".join(orjson.dumps(e) for e in events) + b"\n")
    ref = duckdb.connect(str(tmp_path / "replay.duckdb"), read_only=True)
    want = ref.execute(TABLES["contacts"]).fetchall(), ref.execute(TABLES["contact_fcr"]).fetchall()
    ref.close()
    assert got[0] == want[0]
    assert got[1] == want[1]
    # the customers' contacts were spread over partitions both consumers owned
    owners = {e["data"]["customer_ref"] for e in events if e["data"].get("customer_ref")}
    assert len(owners) > 100


def _owns_half(c: Consumer) -> bool:
    """The consumer's latest assignment is three of the six partitions (its log says so)."""
    lines = [ln for ln in (c.db.parent / "consumer.log").read_text().splitlines() if "resuming from stored" in ln]
    return bool(lines) and lines[-1].split("assigned [", 1)[1].split("]")[0].count(",") == 2


def _read(c: Consumer) -> float:
    try:
        return c.read_total()
    except OSError:
        return 0.0


def test_writers_take_turns_so_a_write_waits_instead_of_being_redone(lake: Lake) -> None:
    where = parse_location(lake.uri, str(lake.data_path))
    first, second = Store(where), Store(where)
    assert first.turns is not None
    done = threading.Event()

    def write() -> None:
        second.write_batch([], [], {"boston": micros(T0)}, MetricRules(), offsets={("t", 1): 5})
        done.set()

    with first.turns.turn():  # another writer's turn, held
        writer = threading.Thread(target=write)
        writer.start()
        assert not done.wait(2.0), "the second writer waited for its turn"
    assert done.wait(30)
    writer.join()
    assert second.stats.conflicts == 0 and second.offsets("t") == {1: 5}
    first.close()
    second.close()


def test_every_command_that_takes_db_works_on_a_lake(
    tmp_path: Path, lake: Lake, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.cli import main

    monkeypatch.setenv("COLUMNS", "250")  # the standards table whole, as a wide terminal shows it
    config = tmp_path / "settings.toml"
    config.write_text(STANDARDS_TOML)
    events = [e for c in Generator(33).contacts(300) for e in c]
    data = tmp_path / "events.jsonl"
    data.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\n")
    cfg = ["--config", str(config)]
    assert main([*cfg, "replay", str(data), "--db", lake.uri]) == 0
    assert main([*cfg, "replay", str(data), "--db", lake.uri]) == 0  # again: every line a duplicate
    month = events[0]["time"][:7]
    out = tmp_path / "board.html"
    assert main([*cfg, "report", "--db", lake.uri, "--period", month, "--out", str(out)]) == 0
    assert "as committed now" in out.read_text()
    capsys.readouterr()
    assert main([*cfg, "standards", "--db", lake.uri, "--period", month]) == 0
    said = " ".join(capsys.readouterr().out.split())  # the title wraps
    assert "Calls answered within 20 seconds" in said and "as committed now" in said
    con, _ = open_read_only(parse_location(lake.uri))
    assert con.execute("SELECT count(*), count(DISTINCT id) FROM contact_events").fetchall() == [
        (len(events), len(events))
    ]
    assert con.execute("SELECT count(*) FROM contact_standards").fetchall()[0][0] > 0
    con.close()
