"""The CSV adapter on the two shipped mappings (docs/adapters/call-detail.toml and front-desk.toml), with
exports in the shapes those systems write: UK dates (dd/mm/yyyy), Europe/London local times, durations
as seconds or hh:mm:ss, an outcome column. Rows straddle both 2026 clock changes (29 March 01:00 GMT:
clocks forward; 25 October 02:00 BST: clocks back)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.errors import UserError
from services.ingest.adapters import csv_cli
from services.ingest.adapters.base import Emitter, Reject
from services.ingest.adapters.csv_cli import load_mapping
from services.ingest.adapters.run import Item, Runner, attempt
from services.ingest.adapters.table import Table, duration
from tests.support.adapters import ListSink, facts_by_contact

ROOT = Path(__file__).resolve().parents[3]
E = Emitter("boston", "/boston/telephony/mitel", b"k" * 32)
CALLS = "Call ID,Call Start,Queue,CLI,Queue Time,Talk Time,Hold Time,Wrap Time,Outcome,Agent ID\n"


def adapted(path: Path, mapping: str, now: datetime) -> ListSink:
    sink = ListSink()
    table = Table(E, load_mapping(ROOT / "docs" / "adapters" / mapping))
    runner = Runner(sink, str(path), lambda: now)
    for batch in csv_cli.encoded_rows(path, table, 1, now, None):
        runner.send_batch(batch)
    return sink


def rows(path: Path, table: Table) -> Iterator[Item]:
    """The oracle: the file read by csv record by record, each row mapped on its own."""
    with path.open(encoding=table.m.encoding, newline="") as f:
        reader = csv.reader(f, delimiter=table.m.delimiter)
        table.set_header(next(reader))
        for row in reader:
            if any(cell.strip() for cell in row):
                yield table.item(reader.line_num, row)


def same_output(a: ListSink, b: ListSink) -> None:
    """The same events (in any order between contacts) and the same rejections, line and reason."""
    assert sorted(orjson.dumps(e, option=orjson.OPT_SORT_KEYS) for e in a.sent) == sorted(
        orjson.dumps(e, option=orjson.OPT_SORT_KEYS) for e in b.sent
    )
    assert sorted((r.line, r.reason, r.record) for r in a.rejects) == sorted(
        (r.line, r.reason, r.record) for r in b.rejects
    )


def run(tmp_path: Path, text: str, mapping: str = "call-detail.toml") -> ListSink:
    """The export as the adapter reads it (batches of whole records), which must agree with the oracle."""
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8-sig")
    now = datetime.now(UTC)
    sink = adapted(path, mapping, now)
    oracle, table = ListSink(), Table(E, load_mapping(ROOT / "docs" / "adapters" / mapping))
    Runner(oracle, str(path), lambda: now).feed(rows(path, table))
    same_output(sink, oracle)
    return sink


def utc(f: Any, name: str) -> str:
    value = getattr(f, name)
    return datetime.fromtimestamp(value / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%S")


def test_answered_and_abandoned_calls_with_durations_in_both_forms(tmp_path: Path) -> None:
    sink = run(
        tmp_path,
        CALLS + "C1,02/03/2026 09:00:00,Council Tax,01205 310010,45,00:05:00,30,1:00,Answered,A17\n"
        "C2,02/03/2026 09:10:00,Council Tax,01205 310011,00:00:04,0,0,0,Abandoned,\n",
    )
    f = facts_by_contact(sink.sent)
    c1, c2 = f["C1"], f["C2"]
    assert (c1.queue, c1.wait_seconds, c1.talk_seconds, c1.hold_seconds, c1.acw_seconds) == (
        "council-tax",
        45,
        300,
        30,
        60,
    )
    assert (c1.outcome, c1.agent_ref, c1.channel, c1.resolution) == ("handled", "A17", "phone", "resolved")
    assert c1.customer_ref is not None and "310010" not in c1.customer_ref
    assert (c2.outcome, c2.wait_seconds, c2.short_abandon) == ("abandoned", 4, True)
    assert utc(c1, "started_at") == "2026-03-02 09:00:00"  # GMT: local is UTC in March before the change


def test_rows_either_side_of_both_clock_changes(tmp_path: Path) -> None:
    sink = run(
        tmp_path,
        CALLS + "S1,29/03/2026 00:59:30,Revenues,,10,60,0,0,Answered,A1\n"  # GMT
        "S2,29/03/2026 02:00:10,Revenues,,10,60,0,0,Answered,A1\n"  # BST: 01:00:10 UTC
        "S3,25/10/2026 01:30:00,Revenues,,10,60,0,0,Answered,A1\n"  # the first 01:30: BST
        "S4,25/10/2026 02:30:00,Revenues,,10,60,0,0,Answered,A1\n",
    )  # GMT
    f = facts_by_contact(sink.sent)
    assert [utc(f[c], "started_at") for c in ("S1", "S2", "S3", "S4")] == [
        "2026-03-29 00:59:30",
        "2026-03-29 01:00:10",
        "2026-10-25 00:30:00",
        "2026-10-25 02:30:00",
    ]
    assert f["S1"].ended_at is not None and utc(f["S1"], "ended_at") == "2026-03-29 01:00:40"  # across the change


def test_a_ticket_whose_times_fall_in_the_repeated_hour_keeps_its_order(tmp_path: Path) -> None:
    head = "Ticket No,Issued,Called,Served,Ended,Branch,Service,Status\n"
    row = "T1,25/10/2026 01:50,25/10/2026 01:55,25/10/2026 01:56,25/10/2026 01:10,Bury St Edmunds,Housing,Served\n"
    sink = run(tmp_path, head + row, "front-desk.toml")
    t1 = facts_by_contact(sink.sent)["T1"]
    # issued 01:50 BST (00:50 UTC); ended at the second 01:10, GMT (01:10 UTC): 20 minutes, not minus 40
    assert (utc(t1, "started_at"), utc(t1, "ended_at")) == ("2026-10-25 00:50:00", "2026-10-25 01:10:00")
    assert (t1.channel, t1.site, t1.service, t1.queue, t1.wait_seconds) == (
        "face_to_face",
        "bury-st-edmunds",
        "housing",
        "housing",
        300,
    )


def test_front_desk_tickets(tmp_path: Path) -> None:
    head = "Ticket No,Issued,Called,Served,Ended,Branch,Service,Status\n"
    sink = run(
        tmp_path,
        head + "T7,02/03/2026 10:00,02/03/2026 10:12,02/03/2026 10:13,02/03/2026 10:30,Haverhill,"
        "Council Tax,Served\n"
        "T8,02/03/2026 10:05,,,02/03/2026 10:45,Haverhill,Benefits,No show\n"
        "T9,02/03/2026 10:06,,,02/03/2026 10:08,Haverhill,General,Signposted\n",
        "front-desk.toml",
    )
    f = facts_by_contact(sink.sent)
    assert (f["T7"].outcome, f["T7"].wait_seconds, f["T7"].talk_seconds, f["T7"].answered_within_sl) == (
        "handled",
        720,
        1080,
        True,
    )  # face to face: 900 s
    assert (f["T8"].outcome, f["T8"].wait_seconds) == ("abandoned", 2400)
    assert f["T9"].outcome == "self_served"


def test_bad_rows_are_rejected_with_their_line_and_no_number(tmp_path: Path) -> None:
    sink = run(
        tmp_path,
        CALLS + "B1,31/02/2026 09:00:00,Revenues,01205 310012,1,1,0,0,Answered,A\n"
        ",02/03/2026 09:00:00,Revenues,,1,1,0,0,Answered,A\n"
        "B3,02/03/2026 09:00:00,Revenues,,a while,1,0,0,Answered,A\n"
        "B4,02/03/2026 09:00:00,Revenues,,1,1,0,0,Transferred out,A\n"
        "B5,29/03/2026 01:30:00,Revenues,,1,1,0,0,Answered,A\n"
        "B6,02/03/2026 09:00:00,Revenues,,1,1,0,0,Answered,A\n",
    )
    assert [(r.line, r.reason) for r in sink.rejects] == [
        (2, "unmappable:bad_time"),
        (3, "unmappable:missing:contact_id"),
        (4, "unmappable:bad_duration"),
        (5, "unmappable:unknown_outcome"),
        (6, "unmappable:no_such_local_time"),
    ]
    assert "310012" not in sink.rejects[0].record
    assert list(facts_by_contact(sink.sent)) == ["B6"]


def test_times_past_the_calendar_are_rejected_rows_not_a_crash(tmp_path: Path) -> None:
    sink = run(
        tmp_path,
        CALLS + "Y1,31/12/9999 23:59:00,Waste,,10,9999999,0,0,Answered,A\n"  # past 9999
        "Y2,31/12/9999 23:59:00,Waste,,10,30,0,0,Answered,A\n"  # in the future
        "Y3,01/01/0001 00:00:00,Waste,,10,30,0,0,Answered,A\n"  # before 2000
        "Y4,02/03/2026 09:00:00,Waste,,10,30,0,0,Answered,A\n",
    )
    assert [(r.line, r.reason) for r in sink.rejects] == [
        (2, "unmappable:bad_time"),
        (3, "future_time"),
        (4, "before_2000"),
    ]
    assert list(facts_by_contact(sink.sent)) == ["Y4"]


@pytest.mark.parametrize(("text", "seconds"), [("", 0), ("75", 75), ("75.5", 75.5), ("01:15", 75), ("1:01:15", 3675),
                                               ("00:00:04", 4)])  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert duration(text) == seconds


def test_a_mapping_or_file_that_does_not_fit_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "m.toml"
    bad.write_text('[columns]\ncontact_id = "ID"\nstarted = "Start"\noutcome = "O"\n[outcomes]\nDone = "finished"\n')
    with pytest.raises(UserError, match="finished is not one of answered, abandoned, self_served"):
        load_mapping(bad)
    with pytest.raises(UserError, match="has no column 'Outcome'"):
        run(tmp_path, "Call ID,Call Start,Queue,CLI,Queue Time,Talk Time,Hold Time,Wrap Time,Agent ID\n")


def test_worker_processes_give_the_same_events_and_rejects_as_one(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(csv_cli, "BATCH_ROWS", 7)  # many batches from a small file
    body = "".join(
        f"R{i},02/03/2026 09:{i % 60:02d}:00,Revenues,01205 3100{i % 100:02d},{i % 50},120,0,30,"
        f"{'Answered' if i % 5 else 'Abandoned'},A{i % 9}\n"
        for i in range(200)
    )
    body += 'Q1,02/03/2026 10:00:00,"Revenues\nand benefits",,5,60,0,0,Answered,A1\n'  # a newline inside a cell
    body += "B1,soon,Revenues,,5,60,0,0,Answered,A1\n"
    path = tmp_path / "calls.csv"
    path.write_text(CALLS + body)
    table = Table(E, load_mapping(ROOT / "docs" / "adapters" / "call-detail.toml"))
    now = datetime.now(UTC)

    def everything(workers: int) -> tuple[list[bytes], list[tuple[int, str]], int]:
        lines, rejects, records = [], [], 0
        for b in csv_cli.encoded_rows(path, table, workers, now):
            lines += b.blob.splitlines()
            rejects += [(r.line, r.reason) for r in b.rejects]
            records += b.records
        return sorted(lines), rejects, records

    one, two = everything(1), everything(2)
    assert one == two and one[2] == 202
    assert one[1] == [(204, "unmappable:bad_time")]  # its line in the file, past the two-line record
    assert any(b'"queue":"revenues-and-benefits"' in line for line in one[0])


def test_a_mapper_surprised_by_a_value_rejects_the_record_in_its_words_numbers_masked() -> None:
    def mapper(record: str) -> list[dict[str, Any]]:
        return [{"n": int(record)}]

    line, item = attempt(7, "01205 310012 x", mapper)
    assert isinstance(item, Reject) and (line, item.reason) == (7, "unmappable:bad_value")
    assert item.detail == "ValueError: invalid literal for int() with base 10: '[number] x'"
    assert "310012" not in item.record


@pytest.mark.parametrize("batch", [2, 4000])
def test_a_stray_quote_in_an_unquoted_cell_is_read_as_csv_reads_it(
    tmp_path: Path, monkeypatch: Any, batch: int
) -> None:
    # S1's quote is text (mid-cell); S2's opens a quoted cell that csv carries over S3's line to S4's quote
    monkeypatch.setattr(csv_cli, "BATCH_ROWS", batch)  # 2: a batch is cut inside it
    sink = run(
        tmp_path,
        CALLS + 'S1,02/03/2026 09:00:00,Benefits",,1,1,0,0,Answered,A\n'
        'S2,02/03/2026 09:00:00,Benefits,,1,",0,0,Answered,A\n'
        "S3,02/03/2026 09:00:00,Benefits,,1,1,0,0,Answered,A\n"
        'S4",02/03/2026 09:00:00,Benefits,,1,1,0,0,Answered,A\n'
        "S5,02/03/2026 09:00:00,Benefits,,1,1,0,0,Answered,A\n",
    )
    assert [(r.line, r.reason) for r in sink.rejects] == [(5, "unmappable:bad_duration")]
    assert list(facts_by_contact(sink.sent)) == ["S1", "S5"]
    assert facts_by_contact(sink.sent)["S1"].queue == "benefits"


def test_a_quote_in_a_header_name_loses_no_row(tmp_path: Path) -> None:
    header = CALLS.replace("\n", ',Caller"s note\n')  # a column the mapping does not use
    sink = run(
        tmp_path,
        header + "H1,02/03/2026 09:00:00,Waste,,10,30,0,0,Answered,A,\n"
        "H2,02/03/2026 09:05:00,Waste,,10,30,0,0,Answered,A,\n",
    )
    assert list(facts_by_contact(sink.sent)) == ["H1", "H2"] and not sink.rejects
