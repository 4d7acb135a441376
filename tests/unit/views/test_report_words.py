"""The board pack's words follow the settings: the FCR window and the short-abandon time are not fixed."""

from __future__ import annotations

from pathlib import Path

from pipelines.periods import Period
from pipelines.rules import MetricRules
from services.store.store import Store
from services.views.report.data import load
from services.views.report.page import render
from tests.unit.store.test_local_periods import store_with


def test_the_words_follow_the_rules(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    store_with(db, {"C-1": "2026-03-10T10:00:00+00:00", "C-2": "2026-02-10T10:00:00+00:00"}).close()
    with Store(db) as store:
        figures = load(store.con, Period(2026, 3, "month"), None, n_periods=2)
    rules = MetricRules(fcr_window_days=14, short_abandon_seconds=8, sl_seconds={"phone": 30})
    html = render(figures, Period(2026, 3, "month"), None, rules, "test")
    assert "within 14 days" in html and "once 14 days have passed" in html
    assert "within 8 seconds are left out" in html and "after 8 seconds or more" in html
    assert "phone 30 seconds" in html and "7 days" not in html
