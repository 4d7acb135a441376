"""Replay in bounded memory: chunks, each its own transaction, give the tables of one transaction; and a
replay interrupted (Ctrl-C, or SIGKILL) and run again gives the tables of one that was not."""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import orjson
import pytest

from pipelines.rules import MetricRules
from services.replay.bulk import bulk_replay
from services.store.store import Store
from tests.integration.test_bulk_replay import TABLES, tables
from tests.support.generator import BAD_LINES, Generator

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def shuffled_lines(seed: int, contacts: int, duplicates: int) -> list[bytes]:
    """Every contact's events scattered over the whole input, duplicates and bad lines among them."""
    events = [e for c in Generator(seed).contacts(contacts) for e in c]
    rng = random.Random(seed)
    lines = [orjson.dumps(e) for e in events + rng.sample(events, duplicates)] + list(BAD_LINES) * 4
    rng.shuffle(lines)
    return lines


def replayed(db: Path, data: bytes, chunk_events: int = 500_000, block_bytes: int = 32 << 20) -> None:
    with Store(db) as store:
        bulk_replay(
            [("f.jsonl", io.BytesIO(data))],
            store,
            MetricRules(),
            ingest_time=NOW,
            block_bytes=block_bytes,
            chunk_events=chunk_events,
        )


def reused_ids(lines: list[bytes], n: int) -> list[bytes]:
    """Copies of ``n`` events under their own ids for other contacts: an id's two lines then belong to
    different slices, and only the first line of an id is kept, whichever slice is written first."""
    out = []
    for i, line in enumerate(lines[:n]):
        e = orjson.loads(line)
        e["subject"] = e["data"]["contact_id"] = f"REUSED-{i}"
        out.append(orjson.dumps(e))
    return out


def test_chunks_give_the_tables_of_one_transaction(tmp_path: Path) -> None:
    lines = shuffled_lines(31, 1500, 400)
    valid = list({orjson.loads(line)["id"]: line for line in lines if line.startswith(b'{"specversion"')}.values())
    lines = reused_ids(valid[:20], 20) + lines + reused_ids(valid[20:40], 20)  # the copy first, then last
    data = b"\n".join(lines) + b"\n"
    replayed(tmp_path / "one.duckdb", data)
    replayed(tmp_path / "chunked.duckdb", data, chunk_events=97, block_bytes=4096)
    one, chunked = tables(tmp_path / "one.duckdb"), tables(tmp_path / "chunked.duckdb")
    for name in TABLES:
        assert one[name] == chunked[name], name
    assert len(one["contacts"]) == 1500 + 20 and len(one["rejected_events"]) == len(BAD_LINES)


def count_events(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("SELECT count(*) FROM contact_events").fetchone()
        return int(row[0]) if row else 0
    finally:
        con.close()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_an_interrupted_replay_run_again_ends_the_same(tmp_path: Path, sig: signal.Signals) -> None:
    lines = shuffled_lines(32, 6000, 500)
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CONTACTPULSE_REPLAY_CHUNK_EVENTS": "600"}
    command = [sys.executable, "-m", "services.cli", "replay", str(source), "--db"]
    whole = tmp_path / "whole.duckdb"
    subprocess.run([*command, str(whole)], env=env, check=True, capture_output=True, timeout=300)
    total = count_events(whole)

    cut = tmp_path / "cut.duckdb"
    for delay in (2.0, 1.2, 3.0, 0.8, 4.0):  # until the kill lands between the first and the last commit
        for f in tmp_path.glob("cut.duckdb*"):
            f.unlink()
        proc = subprocess.Popen([*command, str(cut)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        if cut.exists() and 0 < count_events(cut) < total:
            break
    else:
        pytest.fail("no interruption landed mid-replay")
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and b"Traceback" not in err, err
    subprocess.run([*command, str(cut)], env=env, check=True, capture_output=True, timeout=300)
    a, b = tables(whole), tables(cut)
    for name in TABLES:
        assert a[name] == b[name], name
