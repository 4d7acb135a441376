"""The queue log's SQL lane against Python alone: the same bytes in the same order, the same rejections and
the same memory, on generated logs read over many blocks, with lines made to leave the lane (texts that
are not plain, ids long enough to be hashed, values the contract refuses) and lines that cannot be read,
at random places: first in a block, last, and between the lane's own lines."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from services.ingest.adapters import queue_lane
from services.ingest.adapters.asterisk import QueueLog
from services.ingest.adapters.asterisk_cli import read_once
from services.ingest.adapters.base import Emitter
from services.ingest.adapters.run import Runner
from tests.support.adapters import ListSink
from tests.support.queue_log import queue_log

EMITTER = Emitter("boston", "/boston/telephony/asterisk", b"k" * 32)
START = 1_780_000_000  # 2026-05-28


def odd_calls(t: int, i: int) -> list[tuple[str, bool]]:
    """One call's lines each of which leaves the lane (True) or makes no event of its own (False)."""
    cid = f"{t}.9{i}"
    cases = [
        [(f"{t}|{cid}é|waste|NONE|ENTERQUEUE||01205111111|1", True)],  # not ASCII
        [(f'{t}|{cid}"q|waste|NONE|ENTERQUEUE||01205111111|1', True)],  # a double quote
        [(f"{t}|{cid}\\b|waste|NONE|ENTERQUEUE||01205111111|1", True)],  # a backslash
        [(f"{t}|{cid}{'x' * 100}|waste|NONE|ENTERQUEUE||01205111111|1", True)],  # a hashed id
        [(f"{t}|{cid}{'x' * 130}|waste|NONE|ENTERQUEUE||01205111111|1", True)],  # too long: rejected
        [
            (f"{t}|{cid}|waste|NONE|ENTERQUEUE||01205111111|1", False),
            (f"{t + 5}|{cid}|waste|SIP/ägent|CONNECT|5|x|1", True),
        ],  # an agent not in ASCII
        [
            (f"{t}|{cid}|waste|NONE|ENTERQUEUE||01205111111|1", False),
            (f"{t + 5}|{cid}|waste|SIP/7|CONNECT|5|x|1", False),
            (f"{t + 9}|{cid}|waste|SIP/7|COMPLETEAGENT|5|4|1", False),
            (f"{t + 20}|{cid}|waste|SIP/7|WRAPUP|sorted", True),
        ],  # not a resolution: rejected
        [
            (f"{t}|{cid}|waste|NONE|ENTERQUEUE||01205111111|1", False),
            (f'{t + 20}|{cid}|waste|SIP/7|WRAPUP|re"solved', True),
        ],  # a double quote: rejected in Python
        [
            (f"{t}|{cid}|waste|NONE|ENTERQUEUE||01205111111|1", False),
            (f"{t + 3}|{cid}|waste|SIP/7|CONNECT|3|x|1", False),
            (f"{t + 30}|{cid}|waste|SIP/7|BLINDTRANSFER|Local/1@x|3|27", False),
        ],  # ended by a later line
        [(f"946684700|{cid}|waste|NONE|ENTERQUEUE||01205111111|1", True)],  # before 2000
        [(f"{t}|{cid}", False), (f"soon|{cid}|waste|NONE|ABANDON|1|1|1", False)],  # unreadable
    ]
    return cases[i % len(cases)]


def log_with_odd_lines(calls: int, odd: int, seed: int) -> tuple[list[str], int]:
    rng = random.Random(seed)
    lines = queue_log(calls, START, seed)
    leaving = 0
    for i in range(odd):
        at = rng.randrange(len(lines))
        t = int(lines[at].split("|")[0])
        case = odd_calls(t, i)
        lines[at:at] = [text + "\n" for text, _ in case]
        leaving += sum(leaves for _, leaves in case)
    return lines, leaving


def by_engine(lines: list[str], engine: str, now: datetime) -> tuple[ListSink, QueueLog, Runner]:
    sink, qlog = ListSink(), QueueLog(EMITTER)
    runner = Runner(sink, "queue_log", lambda: now)
    read_once(qlog, enumerate(lines, start=1), runner, engine)
    return sink, qlog, runner


@pytest.mark.parametrize(("calls", "odd", "block", "seed"), [(400, 0, 97, 1), (1500, 60, 211, 2), (600, 40, 64, 3)])
def test_the_lane_sends_what_python_sends(monkeypatch: pytest.MonkeyPatch, calls: int, odd: int, block: int,
                                          seed: int) -> None:  # fmt: skip
    monkeypatch.setattr(queue_lane, "BLOCK_LINES", block)
    lines, _ = log_with_odd_lines(calls, odd, seed)
    now = datetime.now(UTC)
    sink, qlog, runner = by_engine(lines, "python", now)
    lane_sink, lane_qlog, lane_runner = by_engine(lines, "sql", now)
    assert len(lines) > 5 * block  # many blocks
    assert len(lane_sink.raw) == len(sink.raw) > 3 * calls
    assert lane_sink.raw == sink.raw  # the same bytes, keys and order
    assert lane_sink.rejects == sink.rejects
    assert (lane_qlog.m, lane_qlog.seen) == (qlog.m, qlog.seen)
    assert lane_runner.summary == runner.summary
    reasons = set(runner.summary.rejected)
    if odd:
        assert reasons == {"unmappable:not_queue_log", "unmappable:bad_time", "bad_field:resolution",
                           "bad_field:contact_id", "before_2000"}  # fmt: skip
        assert any(len(e["id"]) == 121 for e in sink.sent)  # a hashed id (80 + ":" + 40), through Python


def test_the_lane_leaves_only_the_lines_it_is_not_sure_of(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    finish = queue_lane.QueueLane._python

    def counting(self: queue_lane.QueueLane, b: object, left: list[int], *args: object) -> None:
        seen.extend(left)
        finish(self, b, left, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(queue_lane.QueueLane, "_python", counting)
    lines, leaving = log_with_odd_lines(500, 33, 4)
    by_engine(lines, "sql", datetime.now(UTC))
    assert len(seen) == leaving > 20  # each odd line that makes an event, and no other line
