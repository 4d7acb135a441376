"""The board pack: figures against direct SQL, and the page rendered in headless Chromium."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from services.settings import load_settings
from services.simulator.model import SimConfig, Simulation
from services.store.store import Store
from tests.support.builders import STANDARDS_TOML
from tests.support.chromium import console_errors, run
from tests.support.incremental import numbered_lines, replay

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ["channel-shift", "cost", "waits", "standards", "out-of-hours", "fcr", "csat", "demand", "councils"]
STANDARDS = (
    STANDARDS_TOML
    + """
[[standards]]
name = "chat-5m"
title = "Webchats answered within 5 minutes of opening hours"
channels = ["webchat"]
milestone = "answered"
working_seconds = 300
target = 0.5
"""
)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three months of simulated traffic (February to April 2026) for three councils, at a third of the volume."""
    path = tmp_path_factory.mktemp("report") / "board.duckdb"
    config = path.with_name("contactpulse.toml")  # the standards, for the replay and for the report
    config.write_text(STANDARDS)
    events = Simulation(dataclasses.replace(SimConfig(), volume_multiplier=0.3), seed=5).events(
        datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)
    )
    data = b"\n".join(orjson.dumps(e) for e in events)
    with Store(path) as store:
        replay(numbered_lines("sim", io.BytesIO(data)), store, load_settings(config).rules())
    return path


def report(db: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "services.cli", "report", "--db", str(db), "--out", str(out), *args]
    env = {**os.environ, "CONTACTPULSE_CONFIG": str(db.with_name("contactpulse.toml"))}
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


class Tables(HTMLParser):
    """Each table as {caption: [[cells]]}, and the summary bullets."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.bullets: list[str] = []
        self._caption: str | None = None
        self._rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in.append(tag)
        if tag == "table":
            self._rows, self._caption = [], ""
        elif tag == "tr":
            self._rows.append([])
        elif tag in ("td", "th", "li"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if self._in:
            self._in.pop()
        if tag in ("td", "th") and self._cell is not None:
            self._rows[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "li" and self._cell is not None:
            self.bullets.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table" and self._caption is not None:
            self.tables[self._caption] = self._rows
            self._caption = None

    def handle_data(self, data: str) -> None:
        if self._in and self._in[-1] == "caption" and self._caption is not None:
            self._caption += data
        elif self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> Tables:
    t = Tables()
    t.feed(html)
    return t


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


# March 2026 in the UK: from midnight GMT on the 1st to midnight BST on 1 April (23:00 UTC on the 31st)
MARCH = "timezone('Europe/London', {col}) >= '2026-03-01' AND timezone('Europe/London', {col}) < '2026-04-01'"
NOT_SHORT = "(count(*) - count(*) FILTER (WHERE short_abandon))"
UNIT_COST = "CASE channel WHEN 'phone' THEN 2.83 WHEN 'face_to_face' THEN 8.62 WHEN 'web' THEN 0.15 END"
DIGITAL = "channel IN ('web', 'webchat', 'chatbot', 'email', 'social')"


def test_figures_match_direct_sql(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "board.html"
    assert report(db, out, "--period", "2026-03").returncode == 0
    html = out.read_text()
    t = parse(html)
    con = duckdb.connect(str(db), read_only=True)

    def one(sql: str) -> Any:
        row = con.execute(sql).fetchone()
        assert row is not None
        return row[0]

    phone = {r[0]: r for r in t.tables["Phone calls by council, March 2026"][1:]}
    for council, name in (("boston", "Boston"), ("east-lindsey", "East Lindsey")):
        q = f"FROM contacts WHERE council = '{council}' AND channel = 'phone' AND {MARCH.format(col='queued_at')}"
        abandoned = "count(*) FILTER (WHERE outcome = 'abandoned' AND NOT short_abandon)"
        assert phone[name][1] == f"{one(f'SELECT count(*) {q}'):,}"
        assert phone[name][2] == pct(one(f"SELECT count(*) FILTER (WHERE answered_within_sl) / {NOT_SHORT} {q}"))
        assert phone[name][4] == pct(one(f"SELECT {abandoned} / {NOT_SHORT} {q}"))
    # contacts, digital share, FCR and CSAT "N% of M" for the partnership, by started_at
    s = f"FROM contacts LEFT JOIN contact_fcr USING (council, contact_id) WHERE {MARCH.format(col='started_at')}"
    side = {r[0]: r for r in t.tables["Councils side by side, March 2026"][1:]}["All councils"]
    assert side[1] == f"{one(f'SELECT count(*) {s}'):,}"
    assert side[2] == pct(one(f"SELECT count(*) FILTER (WHERE {DIGITAL}) / count(*) {s}"))
    resolved = "count(*) FILTER (WHERE first_contact_resolved AND fcr_final)"
    assert side[6] == pct(one(f"SELECT {resolved} / count(*) FILTER (WHERE fcr_eligible AND fcr_final) {s}"))
    csat = one(f"SELECT count(*) FILTER (WHERE rating >= 4) / count(rating) {s}")
    assert side[7] == f"{pct(csat)} of {one(f'SELECT count(rating) {s}'):,}"
    assert f"Known cost £{one(f'SELECT sum({UNIT_COST}) {s}'):,.0f}." in html
    # the standards: met and final over final, from contact_standards, against the targets
    ours = {r[0]: r for r in t.tables["Our standards, March 2026"][1:]}
    v = f"FROM contact_standards JOIN contacts USING (council, contact_id) WHERE {MARCH.format(col='started_at')}"
    met = 0
    for name, title, target in (("calls-20s", "Calls answered within 20 seconds", 0.8),
                                ("email-10wd", "Emails answered in full within 10 working days", 0.9)):  # fmt: skip
        final = one(f"SELECT count(*) FILTER (WHERE final) {v} AND standard = '{name}'")
        rate = one(f"SELECT count(*) FILTER (WHERE final AND met) / count(*) FILTER (WHERE final) {v} "
                   f"AND standard = '{name}'")  # fmt: skip
        assert final > 100 and ours[title][1:4] == [
            f"{pct(rate)} of {final:,}",
            pct(target),
            "Met" if rate >= target else "Missed",
        ]
        met += rate >= target
    met += ours["Webchats answered within 5 minutes of opening hours"][3] == "Met"
    assert any(f"{met} of 3 customer care standards met" in b for b in t.bullets), t.bullets
    closed = {r[0]: r for r in t.tables["Contacts while we were closed, March 2026"][1:]}["Phone"]
    assert closed[1] == pct(
        one(f"SELECT count(*) FILTER (WHERE opened_out_of_hours) / count(*) {s} AND channel = 'phone'")
    )
    con.close()


def test_bad_period_and_council_are_one_line(db: Path, tmp_path: Path) -> None:
    cases = [
        (["--period", "2026-13"], "--period wants"),
        (["--period", "2024-01"], "no contacts in January 2024"),
        (["--period", "2026-03", "--council", "atlantis"], "no council 'atlantis'"),
    ]
    for args, message in cases:
        out = report(db, tmp_path / "x.html", *args)
        assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1


def test_the_pack_renders_in_chromium(db: Path, tmp_path: Path) -> None:
    page = tmp_path / "board.html"
    assert report(db, page, "--period", "2026-Q1").returncode == 0
    html = page.read_text()
    assert not re.search(r'(src|href)="(?!#)', html), "the pack must make no external requests"
    t = parse(html)
    assert 1 <= len(t.bullets) <= 10
    for sid in SECTIONS:
        block = html.split(f'id="{sid}"', 1)[1].split("</section>", 1)[0]
        assert "<svg" in block and "<title" in block and "<desc" in block, sid
        assert "<table>" in block and "<caption>" in block and 'scope="col"' in block, sid

    png, pdf = tmp_path / "board.png", tmp_path / "board.pdf"
    shot = run(page, tmp_path / "p1", f"--screenshot={png}", "--window-size=1100,3000")
    assert png.stat().st_size > 50_000, shot.stderr[-2000:]
    assert console_errors(shot.stderr) == []
    printed = run(page, tmp_path / "p2", f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 20_000, printed.stderr[-2000:]
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    assert pages >= 1 + len(SECTIONS)  # the summary, then each chart on a page of its own when printed


def test_the_console_check_catches_errors(tmp_path: Path) -> None:
    """The detector above is real: a page that logs an error is caught."""
    page = tmp_path / "bad.html"
    page.write_text("<!doctype html><title>x</title><script>console.error('boom'); undefinedFn();</script>")
    out = run(page, tmp_path / "p3", f"--screenshot={tmp_path / 'bad.png'}")
    assert console_errors(out.stderr), out.stderr[-2000:]
