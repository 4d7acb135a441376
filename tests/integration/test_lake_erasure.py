"""Data protection on a lake: after erasure (and retention), the person's rows are in no table, no Parquet
file under the data path and nowhere in the PostgreSQL catalog, so no snapshot can bring them back."""

from __future__ import annotations

import io
import os
import re
import subprocess
from pathlib import Path

import duckdb
import orjson
import pytest

from services.cli import main
from services.replay.bulk import bulk_replay
from services.store.location import parse_location
from services.store.readers import open_read_only
from services.store.store import Store
from tests.conftest import PG_PORT, Lake
from tests.integration.test_erasure import CONTACTS, KEY, PHONE, RULES, A, events, replay_into

pytestmark = pytest.mark.integration


def everywhere(lake: Lake) -> str:
    """Every row of every Parquet file under the lake's data path, and a dump of its catalog, as text."""
    con = duckdb.connect()
    parts = [
        str(con.execute(f"SELECT * FROM read_parquet('{f}')").fetchall()) for f in lake.data_path.rglob("*.parquet")
    ]
    con.close()
    dbname = re.search(r"dbname=(\S+)", lake.uri)
    assert dbname is not None
    password = Path(lake.env["CONTACTPULSE_PG_PASSWORD_FILE"]).read_text().strip()
    dump = subprocess.run(
        ["pg_dump", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "contactpulse", dbname.group(1)],
        capture_output=True, text=True, check=True, timeout=60, env={**os.environ, "PGPASSWORD": password},
    )  # fmt: skip
    return "\n".join([*parts, dump.stdout])


def lake_rows(lake: Lake, sql: str) -> list[tuple[object, ...]]:
    con, _ = open_read_only(parse_location(lake.uri))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_erasure_on_a_lake_leaves_the_person_in_no_file_and_no_snapshot(
    tmp_path: Path, lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    everything = events()
    where = parse_location(lake.uri, str(lake.data_path))
    for part in (everything[:8], everything[8:]):  # several commits: the person is in more than one snapshot
        with Store(where) as store:
            data = b"\n".join(orjson.dumps(e) for e in part) + b"\n"
            bulk_replay([("f", io.BytesIO(data))], store, RULES)
    before = everywhere(lake)
    assert A in before and "1205310099" in before  # in the files or the catalog, before erasure

    monkeypatch.setenv("CONTACTPULSE_PSEUDONYM_KEY", KEY)
    assert main(["erase", "--db", lake.uri, "--phone", PHONE]) == 0
    after = everywhere(lake)
    assert A not in after and "1205310099" not in after
    snapshots = lake_rows(lake, "SELECT count(*) FROM ducklake_snapshots('lake')")
    assert snapshots == [(1,)], "only the current snapshot is left to travel to"

    # and the lake's tables are what a file's are after the same erasure
    db = tmp_path / "c.duckdb"
    replay_into(db, everything)
    assert main(["erase", "--db", str(db), "--phone", PHONE]) == 0
    con = duckdb.connect(str(db), read_only=True)
    assert lake_rows(lake, CONTACTS) == con.execute(CONTACTS).fetchall()
    con.close()


def test_retention_on_a_lake_removes_the_raw_events_from_every_file(lake: Lake) -> None:
    where = parse_location(lake.uri, str(lake.data_path))
    with Store(where) as store:
        data = b"\n".join(orjson.dumps(e) for e in events()) + b"\n"
        bulk_replay([("f", io.BytesIO(data))], store, RULES)
    ids = [str(r[0]) for r in lake_rows(lake, "SELECT id FROM contact_events")]
    assert ids and all(i in everywhere(lake) for i in ids)
    assert main(["retention", "--db", lake.uri, "--days", "7"]) == 0  # the events are from March 2026
    assert lake_rows(lake, "SELECT count(*) FROM contact_events") == [(0,)]
    left = everywhere(lake)
    assert not [i for i in ids if re.search(rf"{i}\b", left)], left
    assert lake_rows(lake, "SELECT count(*) FROM contacts") == [(6,)], "facts are kept"
