"""The CSV adapter's SQL lane gives the events and rejections of the Python mapping (``Table.row``), on
generated exports for both shipped mappings whose rows take every path: plain rows the lane maps, and
the rows it must leave to Python (quoted cells, newlines in cells, tabs and no-break spaces, times in
the hours the clocks change, durations it does not read, unknown outcomes, ids too long or needing a
JSON escape, agents the contract refuses, blank and short rows), over many blocks and the lane processes."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.ingest.adapters import csv_blocks
from services.ingest.adapters.csv_blocks import blocks, cuttable
from services.ingest.adapters.csv_cli import load_mapping
from services.ingest.adapters.table import Table
from services.ingest.adapters.table_lane import TableLane
from tests.unit.test_adapter_csv import ROOT, E, by_engine, same_output

START = datetime(2026, 3, 28, 22, 0)  # the night the clocks go forward; the night they go back is 211 days on


def when(rng: random.Random, fmt: str) -> str:
    base = START + timedelta(days=rng.choice((0, 0, 1, 211, 211, 30)), minutes=rng.randint(0, 300))
    if rng.random() < 0.03:
        return rng.choice(("31/02/2026 09:00:00", "soon", "2026-03-02 09:00:00", " 02/03/2026 09:00:00\u00a0"))
    return base.strftime(fmt)


def seconds(rng: random.Random) -> str:
    n = rng.randint(0, 700)
    if rng.random() < 0.04:  # what the lane does not read: Python's to map, or to reject
        return rng.choice(("75.5", "1e2", "a while", "-5", "\t12", "12345678"))
    return rng.choice((str(n), str(n), f"{n // 60:02d}:{n % 60:02d}", f"0:{n // 60:02d}:{n % 60:02d}", ""))


def call_detail(rng: random.Random, n: int) -> str:
    out = ["Call ID,Call Start,Queue,CLI,Queue Time,Talk Time,Hold Time,Wrap Time,Outcome,Agent ID\n"]
    for i in range(n):
        cid = rng.choice((f"C{i}",) * 12 + ("", "X" * 110 + str(i), f"Cé{i}", f"C\\{i}", f"C\x07{i}"))
        queue = rng.choice(("Revenues", "Council Tax", '"Benefits, Housing"', '"Waste\nand recycling"', "Ysgol Gymraeg",
                            "", "Pārvalde"))  # fmt: skip
        cli = rng.choice(("01205 310010", "+441205310011", "", "anonymous", "0044 1205 310012"))
        outcome = rng.choice(("Answered", "Answered", "Abandoned", "IVR Complete", "Transferred out", "answered",
                              "abandoned", "self_served"))  # fmt: skip
        agent = rng.choice(("A17", "A17", "A17", "", "A" * 140, "Agent\u00a0Nine"))
        cells = [cid, when(rng, "%d/%m/%Y %H:%M:%S"), queue, cli, seconds(rng), seconds(rng),
                 rng.choice(("0", "30", "", "00:45")), seconds(rng), outcome, agent]  # fmt: skip
        if rng.random() < 0.02:
            cells = cells[: rng.randint(1, 6)]  # a short row
        out.append(",".join(cells) + rng.choice(("\n", "\n", "\r\n")))
        if rng.random() < 0.02:
            out.append(rng.choice(("\n", ",,,,,,,,,\n", " , ,\t\n")))  # blank rows: no record
    return "".join(out)


def front_desk(rng: random.Random, n: int) -> str:
    out = ["Ticket No,Issued,Called,Served,Ended,Branch,Service,Status\n"]
    for i in range(n):
        issued = START + timedelta(days=rng.choice((0, 1, 211, 211)), minutes=rng.randint(0, 300))
        called = issued + timedelta(minutes=rng.randint(0, 40))
        ended = called + timedelta(minutes=rng.randint(0, 40))
        status = rng.choice(("Served", "Served", "No show", "Left", "Signposted", "Cancelled"))
        cells = [f"T{i}", issued.strftime("%d/%m/%Y %H:%M"),
                 called.strftime("%d/%m/%Y %H:%M") if status == "Served" else "", "",
                 ended.strftime("%d/%m/%Y %H:%M") if rng.random() < 0.9 else "",
                 rng.choice(("Haverhill", "Bury St Edmunds", '"Mildenhall, Hub"')),
                 rng.choice(("Council Tax", "Housing", "Benefits", "")), status]  # fmt: skip
        out.append(",".join(cells) + "\n")
    return "".join(out)


@pytest.mark.parametrize(("mapping", "make", "seed"), [("call-detail.toml", call_detail, 1),
                                                       ("call-detail.toml", call_detail, 2),
                                                       ("front-desk.toml", front_desk, 3)])  # fmt: skip
def test_the_lane_gives_what_python_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mapping: str,
                                          make: object, seed: int) -> None:  # fmt: skip
    monkeypatch.setattr(csv_blocks, "BLOCK_BYTES", 8192)  # many blocks, so the lane processes
    path = tmp_path / "export.csv"
    path.write_bytes(b"\xef\xbb\xbf" + make(random.Random(seed), 1500).encode())  # type: ignore[operator]
    now = datetime.now(UTC)
    python, sql = by_engine(path, mapping, "python", now), by_engine(path, mapping, "sql", now)
    same_output(python, sql)
    reasons = {r.reason for r in python.rejects}
    assert len(python.sent) > 2000 and len(python.rejects) > 20, "the export takes the paths it is meant to"
    table = Table(E, load_mapping(ROOT / "docs" / "adapters" / mapping))
    with path.open("rb") as raw:
        table.set_header(csv_blocks.header(raw, table.m.encoding, table.m.delimiter) or [])
        first, lines = csv_blocks.decoded((2, raw.read()), table.m.encoding)
    in_process = TableLane(table, now)
    try:
        own, *_ = in_process.block(first, lines)
    finally:
        in_process.close()
    assert own.records > 200 and not own.rejects, "the lane mapped rows itself, and left the others"
    if mapping == "call-detail.toml":  # the Python rows did happen: rejections of every kind the lane leaves
        assert {"unmappable:bad_time", "unmappable:bad_duration", "unmappable:unknown_outcome",
                "unmappable:missing:contact_id", "unmappable:no_such_local_time"} <= reasons  # fmt: skip


def test_blocks_cut_only_between_records_and_count_lines_as_text_mode_does(tmp_path: Path) -> None:
    text = 'a,b\n1,"x\ny"\r\n2,z\r3,w\n' * 50 + '4,"open\n'
    path = tmp_path / "e.csv"
    path.write_bytes(text.encode())
    with path.open("rb") as raw:
        found = list(blocks(raw, 1, size=7))
    assert b"".join(b for _, b in found) == text.encode()
    with path.open(encoding="utf-8", newline="") as f:
        lines = list(f)
    at = 1
    for first, data in found:
        assert first == at
        assert data.count(b'"') % 2 == 0 or data is found[-1][1]  # no cut inside a quoted cell
        at += len(list(csv_blocks.decoded((first, data), "utf-8")[1]))
    assert at - 1 == len(lines)


def test_blocks_cut_where_csv_ends_a_record_when_a_quote_is_text(tmp_path: Path) -> None:
    # the first line's quote is text to csv (mid-cell); the second's opens a cell that the fourth closes
    text = 'a,b"c\nd,"e\nf,g\nh",i\nj,k\n' * 40
    path = tmp_path / "e.csv"
    path.write_bytes(text.encode())
    with path.open(newline="") as f:
        reader = csv.reader(f)
        ends = {reader.line_num for _ in reader}  # the lines csv's records end on
    for size in (5, 23, 64):
        with path.open("rb") as raw:
            found = list(blocks(raw, 1, size=size))
        assert b"".join(b for _, b in found) == text.encode()
        for first, data in found[:-1]:
            assert first + len(csv_blocks.decoded((first, data), "utf-8")[1]) - 1 in ends


def test_only_encodings_whose_line_ends_are_bytes_are_cut() -> None:
    assert cuttable("utf-8-sig") and cuttable("latin-1") and cuttable("cp1252")
    assert not cuttable("utf-16") and not cuttable("no-such-codec")


def test_a_mapping_the_lane_does_not_read_goes_to_python(tmp_path: Path) -> None:
    mapping = tmp_path / "iso.toml"
    mapping.write_text((ROOT / "docs" / "adapters" / "call-detail.toml").read_text()
                       .replace('time_format = "%d/%m/%Y %H:%M:%S"', 'time_format = "%d.%m.%Y %H:%M:%S"'))  # fmt: skip
    path = tmp_path / "export.csv"
    path.write_text("Call ID,Call Start,Queue,CLI,Queue Time,Talk Time,Hold Time,Wrap Time,Outcome,Agent ID\n"
                    "C1,02.03.2026 09:00:00,Revenues,,5,60,0,0,Answered,A1\n")  # fmt: skip
    now = datetime.now(UTC)
    python, lane = by_engine(path, str(mapping), "python", now), by_engine(path, str(mapping), "sql", now)
    same_output(python, lane)
    assert len(lane.sent) == 4
