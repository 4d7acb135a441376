"""``contactpulse standards``: a month's met rates against targets, from a replayed database, with the change
from the previous month, the pending verdicts, "N of M standards met", and the out-of-hours share."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from services.cli import main
from services.views.standards import month
from tests.support.builders import STANDARDS_TOML, ev

DAY = 86400.0
CONFIG = STANDARDS_TOML


def events() -> list[dict[str, object]]:
    """T0 is Monday 2 March 2026, 09:00 in London (GMT)."""
    out = []
    for contact, at, answer in (("P-0", -5 * DAY, 5), ("C-1", 0, 10), ("C-2", 100, 30)):  # P-0: February
        out += [ev("contact.started", at, contact), ev("contact.queued", at, contact)]
        out += [ev("contact.answered", at + answer, contact), ev("contact.ended", at + 60, contact)]
    out += [ev("contact.started", 200, "C-3"), ev("contact.queued", 200, "C-3"), ev("contact.ended", 260, "C-3")]
    lincs = {"council": "east-lindsey"}
    out += [ev("contact.started", 300, "L-1", **lincs), ev("contact.queued", 300, "L-1", **lincs)]
    out += [ev("contact.answered", 305, "L-1", **lincs), ev("contact.ended", 400, "L-1", **lincs)]
    # E-1 at 10:00 Monday, answered in full on Friday 13th (due: Tuesday 17th, 00:00); E-2 still open
    email = {"channel": "email"}
    out += [ev("contact.started", 3600, "E-1", **email), ev("contact.queued", 3600, "E-1", queue="emails", **email)]
    out += [ev("contact.ended", 11 * DAY, "E-1"), ev("contact.wrapped_up", 11 * DAY, "E-1")]
    out += [ev("contact.started", 3660, "E-2", **email), ev("contact.queued", 3660, "E-2", queue="emails", **email)]
    # a web form on Saturday 7 March: opened out of hours
    out += [ev("contact.started", 5 * DAY, "W-1", channel="web"), ev("contact.ended", 5 * DAY + 60, "W-1")]
    return out


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join(orjson.dumps(e) for e in events()) + b"\n")
    config = tmp_path / "contactpulse.toml"
    config.write_text(CONFIG)
    monkeypatch.setenv("CONTACTPULSE_CONFIG", str(config))
    assert main(["replay", str(source), "--db", str(tmp_path / "cp.duckdb")]) == 0
    return tmp_path / "cp.duckdb"


def rows(text: str) -> dict[str, list[str]]:
    """The table's rows by their first two cells (standard title, council)."""
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃]", line)[1:-1]]
        if len(cells) >= 2 and cells[0]:
            out[f"{cells[0]} / {cells[1]}"] = cells[2:]
    return out


def test_the_months_met_rates_against_their_targets(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["standards", "--db", str(db), "--period", "2026-03"]) == 0
    out = capsys.readouterr().out
    table = rows(out)
    # C-1 met, C-2 answered after 30 s and C-3 abandoned: missed; February's one call was met
    assert table["Calls answered within 20 seconds / boston"] == ["33% of 3", "80%", "missed", "-67 pts", "0"]
    assert table["Calls answered within 20 seconds / east-lindsey"] == ["100% of 1", "80%", "met", "-", "0"]
    assert table["Calls answered within 20 seconds / partnership"] == ["50% of 4", "80%", "missed", "-50 pts", "0"]
    # E-1 met; E-2 pending: the watermark (13 March) is before its due date (17 March)
    assert table["Emails answered in full within 10 working days / boston"] == ["100% of 1", "90%", "met", "-", "1"]
    assert "1 of 2 standards met across the partnership" in out
    assert table["web / 100% (1)"] == ["1"] and table["phone / 0% (0)"] == ["4"]


def test_one_council_and_the_errors(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["standards", "--db", str(db), "--period", "2026-03", "--council", "east-lindsey"]) == 0
    table = rows(capsys.readouterr().out)
    assert table["Calls answered within 20 seconds / east-lindsey"][:3] == ["100% of 1", "80%", "met"]
    assert not any(k.endswith("/ partnership") or "/ boston" in k for k in table)
    assert main(["standards", "--db", str(db), "--period", "2026-03", "--council", "lincoln"]) == 0
    assert "no verdicts" in capsys.readouterr().out
    assert main(["standards", "--db", str(db), "--period", "March"]) == 2
    assert "--period 'March' is a month, YYYY-MM" in capsys.readouterr().err
    assert main(["standards", "--db", str(db.with_name("none.duckdb")), "--period", "2026-03"]) == 2


@pytest.mark.parametrize(("period", "expected"), [
    ("2026-11", ("2026-11-01", "2026-12-01", "2026-10-01")),
    ("2026-12", ("2026-12-01", "2027-01-01", "2026-11-01")),
    ("2027-01", ("2027-01-01", "2027-02-01", "2026-12-01")),
])  # fmt: skip
def test_a_month_and_its_neighbours(period: str, expected: tuple[str, str, str]) -> None:
    assert tuple(d.isoformat() for d in month(period)) == expected
