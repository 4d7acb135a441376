"""Periods are calendar periods in the configured time zone (METRICS.md section 3), across both 2026 clock
changes (29 March at 01:00 UTC, 25 October at 01:00 UTC): in DuckDB's macros, the board pack and the summary."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipelines.periods import Period
from pipelines.rules import MetricRules
from services.errors import UserError
from services.replay.bulk import bulk_replay
from services.store.store import Store
from services.views import summary
from services.views.report.data import load
from tests.support.builders import T0, ev
from tests.support.generator import jsonl

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def contact_at(moment: str, name: str) -> list[dict[str, object]]:
    at = (datetime.fromisoformat(moment) - T0).total_seconds()
    return [
        ev("contact.queued", at, contact=name),
        ev("contact.answered", at + 10, contact=name),
        ev("contact.ended", at + 60, contact=name),
    ]


def store_with(path: Path | str, moments: dict[str, str], timezone: str = "Europe/London") -> Store:
    store = Store(path, timezone=timezone)
    events = [e for name, moment in moments.items() for e in contact_at(moment, name)]
    bulk_replay([("t.jsonl", io.BytesIO(jsonl(events)))], store, MetricRules(), ingest_time=NOW)
    return store


@pytest.mark.parametrize(
    ("moment", "grain", "period"),
    [
        ("2026-03-31T23:30:00+00:00", "month", date(2026, 4, 1)),  # 00:30 BST on 1 April
        ("2026-03-31T22:59:59+00:00", "month", date(2026, 3, 1)),  # 23:59:59 BST on 31 March
        ("2026-10-31T23:30:00+00:00", "month", date(2026, 10, 1)),  # GMT again: 23:30 on 31 October
        ("2026-03-31T23:30:00+00:00", "quarter", date(2026, 4, 1)),
        ("2026-03-29T00:30:00+00:00", "day", date(2026, 3, 29)),  # still GMT: the clocks go forward at 01:00
        ("2026-03-29T23:30:00+00:00", "day", date(2026, 3, 30)),  # BST: 00:30 on Monday 30 March
        ("2026-03-29T23:30:00+00:00", "week", date(2026, 3, 30)),  # so the next ISO week
        ("2026-03-29T22:30:00+00:00", "week", date(2026, 3, 23)),  # 23:30 BST on Sunday: the week of the change
        ("2026-03-22T23:30:00+00:00", "week", date(2026, 3, 16)),  # GMT: still Sunday 22 March
        ("2026-10-24T23:30:00+00:00", "day", date(2026, 10, 25)),  # BST: 00:30 on 25 October
        ("2026-10-25T23:30:00+00:00", "day", date(2026, 10, 25)),  # GMT from 01:00 UTC: 23:30 on the 25th
        ("2026-10-25T23:30:00+00:00", "week", date(2026, 10, 19)),  # Sunday 25 October: the week of the change
    ],
)
def test_macros_use_the_local_calendar(moment: str, grain: str, period: date) -> None:
    with store_with(":memory:", {"C-1": moment}) as store:
        counted = store.con.execute("SELECT period FROM period_counts(?) WHERE offered > 0", [grain]).fetchall()
        rolled = store.con.execute(
            "SELECT period FROM period_rollup(?) WHERE council = 'partnership'", [grain]
        ).fetchall()
    assert counted == rolled == [(period,)]


def test_a_week_across_the_clock_change_has_its_seven_local_days() -> None:
    # Monday 23 March 00:00 GMT to Sunday 29 March 23:59 BST (22:59 UTC); the next contact is the next week
    moments = {
        "first": "2026-03-23T00:00:00+00:00",
        "last": "2026-03-29T22:59:00+00:00",
        "next": "2026-03-29T23:00:00+00:00",
        "before": "2026-03-22T23:59:00+00:00",
    }
    with store_with(":memory:", moments) as store:
        weeks = dict(store.con.execute("SELECT period, sum(offered) FROM period_counts('week') GROUP BY 1").fetchall())
    assert weeks == {date(2026, 3, 16): 1, date(2026, 3, 23): 2, date(2026, 3, 30): 1}


def test_another_time_zone_is_one_setting() -> None:
    with store_with(":memory:", {"C-1": "2026-03-31T23:30:00+00:00"}, timezone="UTC") as store:
        assert store.con.execute("SELECT period FROM period_counts('month') WHERE offered > 0").fetchall() == [
            (date(2026, 3, 1),)
        ]


def test_board_pack_counts_the_contact_in_the_uk_month(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    store_with(db, {"C-1": "2026-03-31T23:30:00+00:00", "C-2": "2026-03-15T12:00:00+00:00"}).close()
    with Store(db) as store:
        figures = load(store.con, Period(2026, 4, "month"), None, n_periods=2)
        assert figures.at(Period(2026, 4, "month")).offered == 1
        assert figures.at(Period(2026, 3, "month")).offered == 1
    with Store(db) as store, pytest.raises(UserError, match="no contacts in May 2026"):
        load(store.con, Period(2026, 5, "month"), None)


def test_summary_span_is_in_uk_days(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    db = tmp_path / "s.duckdb"
    store_with(db, {"C-1": "2026-03-31T23:30:00+00:00"}).close()
    summary.run(db, {"phone": 30})
    out = capsys.readouterr().out
    assert "2026-04-01 to 2026-04-01" in out
    assert "answered in 30 s" in out
