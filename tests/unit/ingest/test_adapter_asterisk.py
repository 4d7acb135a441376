"""The Asterisk queue_log adapter on lines in Asterisk's own format: the "Queue Logs" page of the Asterisk
documentation (docs.asterisk.org, Operation > Logging > Queue Logs: ``epoch|callid|queue|agent|event|data``
and each event's data fields), the production log quoted in asterisk/asterisk#759 (an attended transfer
to another queue), FreePBX's DID lines, and a ``systemname`` prefix on call ids (asterisk.conf). The
expected facts are worked out by hand beside each case."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from services.ingest.adapters.asterisk import Memory, QueueLog
from services.ingest.adapters.asterisk_cli import read_once
from services.ingest.adapters.asterisk_hold import ami_holds, cel_holds
from services.ingest.adapters.base import Emitter, rfc3339_seconds
from services.ingest.adapters.run import Runner
from tests.support.adapters import ListSink, facts_by_contact

EMITTER = Emitter("boston", "/boston/telephony/asterisk", b"k" * 32)
# asterisk/asterisk#759, verbatim: call 1717397243.239826 enters queue 1501, agent 7009 answers after 12 s,
# consults queue 1509 (call 1717397390.239830, caller id 7009) and transfers; agent 7051 answers after 7 s
ISSUE_759 = """\
1717397259|1717397243.239826|1501|NONE|DID|4957877871
1717397259|1717397243.239826|1501|NONE|ENTERQUEUE||9031396745|1
1717397271|1717397243.239826|1501|PJSIP/7009|CONNECT|12|1717397259.239827|11
1717397390|1717397390.239830|1509|NONE|DID|
1717397390|1717397390.239830|1509|NONE|ENTERQUEUE||7009|1
1717397391|1717397390.239830|1501|PJSIP/7009|ATTENDEDTRANSFER|APP|Queue|12|120|1
1717397397|1717397243.239826|1509|PJSIP/7051|CONNECT|7|1717397390.239831|6
1717397570|1717397243.239826|1509|PJSIP/7051|COMPLETEAGENT|7|173|1
"""


def run(text: str, memory: Memory | None = None) -> tuple[ListSink, QueueLog]:
    """The log read once, as ``adapt asterisk-queue-log FILE`` reads it."""
    sink = ListSink()
    qlog = QueueLog(EMITTER, Memory.from_json(copy.deepcopy(memory.to_json())) if memory else None)
    read_once(qlog, enumerate(text.splitlines(), start=1), Runner(sink, "queue_log"))
    return sink, qlog


def facts(text: str) -> dict[str, Any]:
    sink, _ = run(text)
    assert not sink.rejects, sink.rejects
    return facts_by_contact(sink.sent)


def test_an_attended_transfer_to_another_queue_is_one_contact_with_one_transfer() -> None:
    f = facts(ISSUE_759)
    assert list(f) == ["1717397243.239826"]  # the consultation leg is no contact of its own
    c = f["1717397243.239826"]
    assert (c.queue, c.last_queue, c.transfers, c.outcome) == ("1501", "1509", 1, "handled")
    assert c.wait_seconds == 12 + 6  # 1501 until the first answer; 1509 from the transfer (391) to 397
    assert c.talk_seconds == 120 + 173  # both agents: ATTENDEDTRANSFER's calltime, then COMPLETEAGENT's
    assert c.hold_seconds == 0  # CONNECT's "holdtime" is the queue wait, not hold
    assert c.time_to_answer_seconds == 12 and c.agent_ref == "PJSIP/7009"
    assert c.customer_ref is None  # 9031396745: no country code, no 0: not linked, never kept


def test_holdtime_is_the_queue_wait() -> None:
    c = facts(
        "1700000000|1700000000.1|revenues|NONE|ENTERQUEUE||01205310010|1\n"
        "1700000030|1700000000.1|revenues|PJSIP/201|CONNECT|30|1700000030.2|4\n"
        "1700000200|1700000000.1|revenues|PJSIP/201|COMPLETECALLER|30|170|1\n"
    )["1700000000.1"]
    assert (c.wait_seconds, c.time_to_answer_seconds, c.talk_seconds, c.hold_seconds) == (30, 30, 170, 0)
    assert c.answered_within_sl is False  # phone's 20 s
    assert c.customer_ref is not None and len(c.customer_ref) == 43  # 01205 310010's pseudonym


def test_a_call_that_never_gets_a_complete_line_is_answered_with_no_talk_and_frees_nothing_else() -> None:
    lines = (
        "1700000000|sys1-1700000000.7|revenues|NONE|ENTERQUEUE||01205310010|1\n"
        "1700000005|sys1-1700000000.7|revenues|PJSIP/201|CONNECT|5|x|2\n"
        # five hours later agent 201's own extension rings a queue: a caller, not a consultation
        "1700018005|sys1-1700018005.8|revenues|NONE|ENTERQUEUE||201|1\n"
        "1700018065|sys1-1700018005.8|revenues|NONE|ABANDON|1|1|60\n"
    )
    f = facts(lines)
    stuck = f["sys1-1700000000.7"]
    assert (stuck.outcome, stuck.ended_at, stuck.talk_seconds) == ("handled", None, 0)  # talk ends at its last event
    assert f["sys1-1700018005.8"].outcome == "abandoned"


def test_a_system_name_prefix_is_part_of_the_call_id_and_transfers_still_link() -> None:
    prefixed = ISSUE_759.replace("1717397243.", "pbx-boston-1717397243.").replace(
        "1717397390.", "pbx-boston-1717397390."
    )
    f = facts(prefixed)
    assert list(f) == ["pbx-boston-1717397243.239826"] and f["pbx-boston-1717397243.239826"].transfers == 1


def test_did_lines_make_no_contact_and_the_contact_starts_at_enterqueue() -> None:
    f = facts(
        "1700000000|1700000000.3|general|NONE|DID|01205310000\n"
        "1700000004|1700000000.3|general|NONE|ENTERQUEUE||07700900123|1\n"
        "1700000010|1700000010.4|general|NONE|DID|01205310000\n"
    )
    assert list(f) == ["1700000000.3"] and f["1700000000.3"].started_at == 1700000004 * 1_000_000


def test_lines_without_a_call_make_no_contact() -> None:
    sink, _ = run(
        "1700000000|NONE|NONE|NONE|QUEUESTART||\n"
        "1700000001|MANAGER|revenues|PJSIP/201|ADDMEMBER|\n"
        "1700000002|NONE|revenues|PJSIP/201|PAUSE||lunch\n"
        "1700000003|1700000003.9|revenues|PJSIP/201|RINGNOANSWER|15000\n"
    )
    assert sink.sent == [] and sink.rejects == []


@pytest.mark.parametrize(("verb", "data", "outcome"), [
    ("ABANDON", "1|1|45", "abandoned"),
    ("EXITWITHTIMEOUT", "1|1|45", "abandoned"),
    ("EXITWITHKEY", "5|1|1|45", "abandoned"),
    ("EXITEMPTY", "1|1|45", "abandoned"),
])  # fmt: skip
def test_leaving_the_queue_unanswered(verb: str, data: str, outcome: str) -> None:
    c = facts(f"1700000000|1.1|revenues|NONE|ENTERQUEUE||01205310010|1\n1700000045|1.1|revenues|NONE|{verb}|{data}\n")
    assert (c["1.1"].outcome, c["1.1"].wait_seconds) == (outcome, 45)


def test_a_blind_transfer_into_another_queue_and_one_out_of_the_queues() -> None:
    into = facts(
        "1700000000|2.1|revenues|NONE|ENTERQUEUE||01205310010|1\n"
        "1700000010|2.1|revenues|PJSIP/201|CONNECT|10|x|3\n"
        "1700000070|2.1|revenues|PJSIP/201|BLINDTRANSFER|601|from-internal|10|60|1\n"
        "1700000071|2.1|benefits|NONE|ENTERQUEUE||01205310010|1\n"
        "1700000100|2.1|benefits|PJSIP/305|CONNECT|29|x|2\n"
        "1700000400|2.1|benefits|PJSIP/305|COMPLETEAGENT|29|300|1\n"
    )["2.1"]
    assert (into.transfers, into.last_queue, into.wait_seconds, into.talk_seconds) == (1, "benefits", 10 + 30, 60 + 300)
    out = facts(
        "1700000000|3.1|revenues|NONE|ENTERQUEUE||01205310010|1\n"
        "1700000010|3.1|revenues|PJSIP/201|CONNECT|10|x|3\n"
        "1700000070|3.1|revenues|PJSIP/201|BLINDTRANSFER|2345|from-internal|10|60|1\n"
    )["3.1"]
    assert (out.transfers, out.outcome, out.talk_seconds) == (0, "handled", 60)  # ends at the transfer
    assert out.ended_at == 1700000070 * 1_000_000


def test_the_wrapup_convention_gives_resolution_and_after_contact_work() -> None:
    c = facts(
        "1700000000|4.1|revenues|NONE|ENTERQUEUE||01205310010|1\n"
        "1700000010|4.1|revenues|PJSIP/201|CONNECT|10|x|3\n"
        "1700000100|4.1|revenues|PJSIP/201|COMPLETECALLER|10|90|1\n"
        "1700000160|4.1|revenues|PJSIP/201|WRAPUP|resolved\n"
    )["4.1"]
    assert (c.resolution, c.acw_seconds, c.handle_seconds) == ("resolved", 60, 150)


def test_unreadable_lines_are_rejected_with_their_line_and_no_number() -> None:
    sink, _ = run(
        "1700000000|5.1|revenues|NONE|ENTERQUEUE||01205310010|1\n"
        "garbage from a half-written line\n"
        "soon|5.2|revenues|NONE|ENTERQUEUE||01205 310011|1\n"
        "1700000100|5.1|revenues|PJSIP/201|WRAPUP|sorted\n"
    )
    assert [(r.line, r.reason) for r in sink.rejects] == [
        (2, "unmappable:not_queue_log"),
        (3, "unmappable:bad_time"),
        (4, "bad_field:resolution"),
    ]
    assert "310011" not in sink.rejects[1].record and "[number]" in sink.rejects[1].record


@pytest.mark.parametrize("line", [
    "99999999999999999999|6.1|revenues|NONE|ENTERQUEUE||01205310010|1",  # past what a 64-bit integer holds
    "9999999999999|6.1|revenues|NONE|ENTERQUEUE||01205310010|1",  # the year 318857
    "253402300800|6.1|revenues|NONE|ENTERQUEUE||01205310010|1",  # the year 10000
    "-5|6.1|revenues|NONE|ENTERQUEUE||01205310010|1",
    "1700000000|6.1|revenues|PJSIP/201|CONNECT|99999999999|x|1",  # a holdtime from before 1970
])  # fmt: skip
def test_a_time_no_calendar_holds_is_a_rejected_line_not_a_crash(line: str) -> None:
    sink, _ = run(f"{line}\n1700000000|6.2|revenues|NONE|ENTERQUEUE||01205310010|1\n")
    assert [(r.line, r.reason) for r in sink.rejects] == [(1, "unmappable:bad_time")]
    assert {e["data"]["contact_id"] for e in sink.sent} == {"6.2"}


def test_the_same_lines_give_the_same_ids_and_memory_survives_json() -> None:
    once, _ = run(ISSUE_759)
    lines = ISSUE_759.splitlines(keepends=True)
    first, qlog = run("".join(lines[:5]))  # stopped after the consultation's ENTERQUEUE, not closed
    saved = Memory.from_json(orjson.loads(orjson.dumps(qlog.m.to_json())))
    rest, _ = run("".join(lines[5:]), saved)
    assert [e["id"] for e in first.sent + rest.sent] == [e["id"] for e in once.sent]


HOLD_CALL = (
    "1700000000|6.1|revenues|NONE|ENTERQUEUE||01205310010|1\n"
    "1700000010|6.1|revenues|PJSIP/201|CONNECT|10|6.2|3\n"
    "1700000300|6.1|revenues|PJSIP/201|COMPLETEAGENT|10|290|1\n"
)


def test_hold_from_a_cel_csv_in_the_sample_mapping() -> None:
    # cel_custom.conf.sample's legacy Master.csv columns; holds are the dialplan's CELGenUserEvent(HOLD)
    cel = [
        '"USER_DEFINED","1700000100.250000","","201","","","","","from-internal","PJSIP/201-00000a1","","",'
        '"DOCUMENTATION","","6.2","6.1","","","HOLD",""',
        '"USER_DEFINED","1700000160.250000","","201","","","","","from-internal","PJSIP/201-00000a1","","",'
        '"DOCUMENTATION","","6.2","6.1","","","UNHOLD",""',
        '"ANSWER","1700000010.000000","","201","","","","","from-internal","PJSIP/201-00000a1","","",'
        '"DOCUMENTATION","","6.2","6.1","","","",""',
        '"HOLD","not a time","","","","","","","","","","","","","6.1","6.1","","","",""',
        '"HOLD","1e20","","","","","","","","","","","","","6.1","6.1","","","",""',
    ]
    sink, qlog = run(HOLD_CALL)
    runner = Runner(sink, "cel")
    runner.feed(cel_holds(cel, qlog.seen, EMITTER, ZoneInfo("Europe/London")))
    c = facts_by_contact(sink.sent)["6.1"]
    assert (c.hold_seconds, c.hold_count, c.talk_seconds) == (60, 1, 290 - 60)
    assert [(r.line, r.reason) for r in sink.rejects] == [(4, "unmappable:bad_cel_row"), (5, "unmappable:bad_cel_row")]


def test_hold_from_saved_ami_events() -> None:
    ami = [
        "Event: Hold",
        "Privilege: call,all",
        "Timestamp: 1700000100.000000",
        "Channel: PJSIP/trunk-00000a0",
        "Uniqueid: 6.1",
        "Linkedid: 6.1",
        "",
        "Event: Newchannel",
        "Uniqueid: 9.9",
        "",
        "Event: Unhold",
        "Timestamp: 1700000130.500000",
        "Uniqueid: 6.1",
        "Linkedid: 6.1",
        "",
    ]
    sink, qlog = run(HOLD_CALL)
    Runner(sink, "ami").feed(ami_holds(ami, qlog.seen, EMITTER))
    assert facts_by_contact(sink.sent)["6.1"].hold_seconds == 30.5


@pytest.mark.parametrize("epoch", [0, 59, 86399, 86400, 951_782_399, 951_868_800, 1_772_442_123, 1_798_761_599,
                                   4_102_444_799])  # fmt: skip
def test_event_times_are_strftime_s(epoch: int) -> None:
    """Epoch seconds as RFC 3339 by arithmetic: the same text as strftime, across days, leap days, years."""
    expected = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert rfc3339_seconds(epoch) == expected
