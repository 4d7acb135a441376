"""Real data: a month of the Technion bank's call records through the adapter and `replay`.

The facts ContactPulse computes must agree with what the raw records say directly.
"""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import orjson
import pytest

from pipelines.rules import MetricRules
from services.ingest.technion import read_calls, to_events
from services.simulator.calibration import CALIBRATION, calibrate
from services.store.store import Store
from tests.support.incremental import numbered_lines, replay

RAW = Path(__file__).resolve().parents[3] / "shared" / "data" / "technion-anonymous-bank" / "raw"
pytestmark = pytest.mark.skipif(not RAW.is_dir(), reason="the Technion records live in ../shared/data")


def test_a_month_of_real_calls_gives_the_facts_the_records_state(tmp_path: Path) -> None:
    calls = list(read_calls(RAW / "february_1999.txt"))
    assert len(calls) > 30_000
    lines = [orjson.dumps(e) for c in calls for e in to_events(c)]
    db = tmp_path / "technion.duckdb"
    with Store(db) as store:
        summary = replay(numbered_lines("feb", io.BytesIO(b"\n".join(lines))), store, MetricRules())
    assert sum(summary.rejected.values()) == 0

    queued = [c for c in calls if c.q_start is not None]
    answered = [c for c in queued if c.outcome == "AGENT" and c.ser_start is not None]
    hung_up = [c for c in queued if c.outcome != "AGENT" or c.ser_start is None]
    short = [c for c in hung_up if c.q_time < 5]
    con = duckdb.connect(str(db), read_only=True)
    got = dict(con.execute("SELECT outcome, count(*) FROM contacts WHERE queued_at IS NOT NULL GROUP BY 1").fetchall())
    assert got == {"handled": len(answered), "abandoned": len(hung_up)}
    assert con.execute("SELECT count(*) FROM contacts WHERE short_abandon").fetchone() == (len(short),)
    expected_tta = sum(max(c.ser_start or 0, c.q_start or 0) - (c.q_start or 0) for c in answered) / len(answered)
    mean_tta = con.execute(
        "SELECT avg(time_to_answer_seconds) FROM contacts WHERE outcome = 'handled' AND queued_at IS NOT NULL"
    ).fetchone()
    assert mean_tta is not None and mean_tta[0] == pytest.approx(expected_tta)
    waits = con.execute("SELECT sum(wait_seconds) FROM contacts WHERE outcome = 'abandoned'").fetchone()
    assert waits == (pytest.approx(sum(c.q_time for c in hung_up)),)
    con.close()


def test_the_committed_calibration_is_what_the_records_give() -> None:
    assert calibrate(RAW) == CALIBRATION
