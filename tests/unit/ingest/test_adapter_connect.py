"""Amazon Connect contact records and contact events, built from the Amazon Connect Administrator Guide:
"Data model for Amazon Connect contact records" (ContactId, InitialContactId, PreviousContactId,
NextContactId, Channel, InitiationMethod, the Queue and Agent objects and their timestamps,
NumberOfHolds, CustomerHoldDuration, DisconnectReason, CustomerEndpoint, Attributes; records are
delivered at least once) and "Amazon Connect contact events" (EventBridge ``detail-type`` and
``detail.eventType``; its examples print the envelope and the bare ``detail``, with ``"channel": "Voice"``
as well as ``VOICE``, ``queueInfo`` / ``agentInfo`` and their timestamps, ``initialContactId`` and
``previousContactId`` on a transferred leg). Firehose writes the records back to back, without a
newline between them."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from services.ingest.adapters.base import Emitter
from services.ingest.adapters.connect import Connect
from services.ingest.adapters.json_records import objects
from services.ingest.adapters.records_cli import items
from services.ingest.adapters.run import Runner
from tests.support.adapters import ListSink, facts_by_contact

E = Emitter("boston", "/boston/telephony/amazon-connect", b"k" * 32)
ARN = "arn:aws:connect:eu-west-2:111122223333:instance/5c4e0a7e-1111-4222-8333-444455556666"
QUEUES = {"q-ct": "Council Tax", "q-ben": "Benefits"}  # the mapping file's [queues]: id -> name
QUEUE_IDS = {name: qid for qid, name in QUEUES.items()}


def record(
    contact: str,
    *,
    initial: str | None = None,
    method: str = "INBOUND",
    channel: str = "VOICE",
    start: str = "2026-03-02T09:00:00Z",
    queue: str | None = "Council Tax",
    enqueue: str | None = "2026-03-02T09:00:30Z",
    connected: str | None = "2026-03-02T09:01:10Z",
    acw_start: str | None = "2026-03-02T09:07:10Z",
    acw_end: str | None = "2026-03-02T09:08:00Z",
    disconnect: str = "2026-03-02T09:07:10Z",
    reason: str = "CUSTOMER_DISCONNECT",
    holds: int = 0,
    hold_seconds: int = 0,
    next_contact: str | None = None,
    attributes: dict[str, str] | None = None,
) -> dict[str, Any]:
    agent = (
        None
        if connected is None
        else {
            "ARN": f"{ARN}/agent/0d3b8c7a-aaaa-4bbb-8ccc-dddddddddddd",
            "Username": "jsmith",
            "ConnectedToAgentTimestamp": connected,
            "AfterContactWorkStartTimestamp": acw_start,
            "AfterContactWorkEndTimestamp": acw_end,
            "NumberOfHolds": holds,
            "CustomerHoldDuration": hold_seconds,
            "LongestHoldDuration": hold_seconds,
            "AgentInteractionDuration": 300,
        }
    )
    return {
        "AWSAccountId": "111122223333",
        "AWSContactTraceRecordFormatVersion": "2017-03-10",
        "Agent": agent,
        "AgentConnectionAttempts": 1,
        "Attributes": attributes or {},
        "Channel": channel,
        "ContactId": contact,
        "InitialContactId": initial,
        "PreviousContactId": initial,
        "NextContactId": next_contact,
        "CustomerEndpoint": {"Address": "+441205310010", "Type": "TELEPHONE_NUMBER"},
        "DisconnectTimestamp": disconnect,
        "DisconnectReason": reason,
        "InitiationMethod": method,
        "InitiationTimestamp": start,
        "InstanceARN": ARN,
        "LastUpdateTimestamp": disconnect,
        "Queue": None
        if queue is None
        else {
            "ARN": f"{ARN}/queue/{QUEUE_IDS.get(queue, 'q-x')}",
            "Name": queue,
            "EnqueueTimestamp": enqueue,
            "DequeueTimestamp": connected,
            "Duration": 40,
        },
        "SystemEndpoint": {"Address": "+441205310000", "Type": "TELEPHONE_NUMBER"},
    }


def run(data: bytes, queues: dict[str, str] = QUEUES) -> ListSink:
    """As ``contactpulse adapt amazon-connect`` reads a file."""
    sink = ListSink()
    runner = Runner(sink, "ctr")
    runner.feed(items(objects(data), Connect(E, queues=queues), runner.summary), counted=False)
    sink.summary = runner.summary  # type: ignore[attr-defined]
    return sink


def test_a_record_with_hold_totals_and_after_contact_work() -> None:
    sink = run(orjson.dumps(record("c-1", holds=2, hold_seconds=60, attributes={"resolution": "referred"})))
    c = facts_by_contact(sink.sent)["c-1"]
    assert (c.channel, c.queue, c.outcome, c.wait_seconds, c.time_to_answer_seconds) == (
        "phone",
        "council-tax",
        "handled",
        40,
        40,
    )
    assert (c.hold_count, c.hold_seconds) == (2, 60)  # Connect's totals, kept exactly
    assert c.talk_seconds == 360 - 60  # connected 09:01:10 to the disconnect at 09:07:10, less hold
    assert (c.acw_seconds, c.resolution) == (50, "referred")
    assert c.customer_ref is not None and c.agent_ref == "0d3b8c7a-aaaa-4bbb-8ccc-dddddddddddd"


def test_a_transfer_chain_is_one_contact_whatever_the_order_and_duplicates() -> None:
    first = record(
        "c-1",
        next_contact="c-2",
        acw_start="2026-03-02T09:03:00Z",
        acw_end="2026-03-02T09:03:20Z",
        disconnect="2026-03-02T09:03:00Z",
    )
    second = record(
        "c-2",
        initial="c-1",
        method="TRANSFER",
        start="2026-03-02T09:03:00Z",
        queue="Benefits",
        enqueue="2026-03-02T09:03:05Z",
        connected="2026-03-02T09:04:05Z",
        acw_start="2026-03-02T09:10:05Z",
        disconnect="2026-03-02T09:10:05Z",
    )
    # Firehose writes objects back to back; the second is delivered twice, and before the first
    data = orjson.dumps(second) + orjson.dumps(first) + b"\n" + orjson.dumps(second)
    sink = run(data)
    (c,) = facts_by_contact(sink.sent).values()
    assert (c.contact_id, c.transfers, c.queue, c.last_queue) == ("c-1", 1, "council-tax", "benefits")
    assert c.wait_seconds == 40 + 60  # 09:00:30-09:01:10, then from the transfer's enqueue 09:03:05 to 09:04:05
    # served 09:01:10 until the transfer waits in Benefits at 09:03:05 (115 s: the transfer's flow is the
    # first agent's), then 09:04:05 to the disconnect at 09:10:05 (360 s)
    assert c.talk_seconds == 115 + 360
    assert len({e["id"] for e in sink.sent}) == len(sink.sent) - 4  # the repeated record: its four events, same ids


def test_a_queued_record_with_no_agent_and_a_customer_disconnect_is_abandoned() -> None:
    sink = run(orjson.dumps(record("c-9", connected=None, disconnect="2026-03-02T09:02:00Z")))
    c = facts_by_contact(sink.sent)["c-9"]
    assert (c.outcome, c.wait_seconds, c.answered_within_sl) == ("abandoned", 90, False)


@pytest.mark.parametrize(("channel", "expected"), [("VOICE", "phone"), ("CHAT", "webchat"), ("TASK", "web"),
                                                   ("EMAIL", "email")])  # fmt: skip
def test_channels(channel: str, expected: str) -> None:
    sink = run(orjson.dumps(record("c-3", channel=channel)))
    assert facts_by_contact(sink.sent)["c-3"].channel == expected


def event(kind: str, contact: str = "c-5", channel: str = "CHAT", **detail: Any) -> dict[str, Any]:
    """An EventBridge contact event as the guide prints one."""
    return {
        "version": "0",
        "id": f"evt-{contact}-{kind}",
        "detail-type": "Amazon Connect Contact Event",
        "source": "aws.connect",
        "account": "111122223333",
        "time": "2026-03-02T09:00:00Z",
        "region": "eu-west-2",
        "resources": [ARN],
        "detail": {
            "eventType": kind,
            "contactId": contact,
            "channel": channel,
            "instanceArn": ARN,
            "initiationMethod": "API",
            **detail,
        },
    }


def leg(contact: str, initial: str, previous: str | None, steps: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """One voice leg's events: (eventType, time on 2026-03-02, queue id or agent id)."""
    out = []
    for kind, at, who in steps:
        t = f"2026-03-02T{at}.000Z"
        extra: dict[str, Any] = {
            "initialContactId": initial,
            "initiationMethod": "INBOUND" if previous is None else "TRANSFER",
        }
        if previous:
            extra["previousContactId"] = previous
        by_kind: dict[str, dict[str, Any]] = {
            "INITIATED": {"initiationTimestamp": t},
            "QUEUED": {"queueInfo": {"queueArn": f"{ARN}/queue/{who}", "enqueueTimestamp": t, "queueType": "STANDARD"}},
            "CONNECTED_TO_AGENT": {"agentInfo": {"agentArn": f"{ARN}/agent/{who}", "connectedToAgentTimestamp": t}},
            "DISCONNECTED": {"disconnectTimestamp": t, "disconnectReason": "AGENT_DISCONNECT"},
        }
        extra |= by_kind[kind]
        out.append(event(kind, contact, "VOICE", **extra))
    return out


def lines(events: list[dict[str, Any]]) -> bytes:
    return b"\n".join(orjson.dumps(x) for x in events)


def test_contact_events_from_eventbridge() -> None:
    lines = [
        event("INITIATED", initiationTimestamp="2026-03-02T09:00:00.000Z"),
        event(
            "QUEUED", queueInfo={"queueArn": f"{ARN}/queue/webchat-q", "enqueueTimestamp": "2026-03-02T09:00:05.000Z"}
        ),
        event(
            "CONNECTED_TO_AGENT",
            agentInfo={"agentArn": f"{ARN}/agent/a-1", "connectedToAgentTimestamp": "2026-03-02T09:00:50.000Z"},
        ),
        event("CONTACT_DATA_UPDATED"),
        event("DISCONNECTED", disconnectTimestamp="2026-03-02T09:06:50.000Z"),
    ]
    sink = run(b"\n".join(orjson.dumps(x) for x in lines), queues={})
    c = facts_by_contact(sink.sent)["c-5"]
    assert (c.channel, c.queue, c.time_to_answer_seconds, c.talk_seconds, c.outcome) == (
        "webchat",
        "webchat-q",  # no name for it in the mapping: its id
        45,
        360,
        "handled",
    )


def test_unreadable_records_are_rejected_with_their_line() -> None:
    data = orjson.dumps(record("c-1")) + b"\n" + b'{"ContactId": "c-2", "Channel": "FAX"}\n{"not": "connect"}\n'
    sink = run(data + b'{"ContactId": "c-4", "Channel": "VOICE"}\n')
    assert [(r.line, r.reason) for r in sink.rejects] == [
        (2, "unmappable:unknown_channel"),
        (3, "unmappable:not_connect"),
        (4, "unmappable:missing:InitiationTimestamp"),
    ]


def test_hold_counts_no_contact_has_are_rejected_records_not_a_crash_or_a_flood() -> None:
    odd = [record(f"c-{i}", holds=2, hold_seconds=30) for i in range(1, 5)]
    odd[0]["Agent"]["NumberOfHolds"] = "two"
    odd[1]["Agent"]["NumberOfHolds"] = 10**9  # would be two billion events
    odd[2]["Agent"]["CustomerHoldDuration"] = "long"
    sink = run(b"\n".join(orjson.dumps(r) for r in odd))
    assert [(r.line, r.reason) for r in sink.rejects] == [
        (1, "unmappable:bad_value"),
        (2, "unmappable:bad_field:NumberOfHolds"),
        (3, "unmappable:bad_value"),
    ]
    assert sink.rejects[0].detail == "ValueError: invalid literal for int() with base 10: 'two'"
    assert list(facts_by_contact(sink.sent)) == ["c-4"]


# A warm transfer: agent a-1 brings agent a-2 in before leaving. Leg c-2 (TRANSFER, previous c-1) queues
# in Benefits at 09:03:05 and a-2 answers at 09:03:15; a-1's leg c-1 disconnects at 09:03:35, and the
# caller talks with a-2 until 09:12:15.
WARM = (
    leg(
        "c-1",
        "c-1",
        None,
        [("INITIATED", "09:00:00", ""), ("QUEUED", "09:00:10", "q-ct"), ("CONNECTED_TO_AGENT", "09:00:40", "a-1")],
    )
    + leg(
        "c-2",
        "c-1",
        "c-1",
        [("INITIATED", "09:03:00", ""), ("QUEUED", "09:03:05", "q-ben"), ("CONNECTED_TO_AGENT", "09:03:15", "a-2")],
    )
    + leg("c-1", "c-1", None, [("DISCONNECTED", "09:03:35", "")])
    + leg("c-2", "c-1", "c-1", [("DISCONNECTED", "09:12:15", "")])
)


def test_a_warm_transfer_ends_with_the_last_leg_not_the_first_agent_leaving() -> None:
    c = facts_by_contact(run(lines(WARM)).sent)["c-1"]
    assert (c.queue, c.last_queue, c.transfers, c.outcome, c.agent_ref) == (
        "council-tax",
        "benefits",
        1,
        "handled",
        "a-1",
    )
    assert c.time_to_answer_seconds == 30  # queued 09:00:10, answered 09:00:40
    assert c.wait_seconds == 30 + 10  # then 09:03:05-09:03:15 in Benefits
    # a-1 from 09:00:40 to the transfer at 09:03:05 (145 s), a-2 from 09:03:15 to 09:12:15 (540 s); ending
    # at c-1's disconnect (the defect) gave 145 + 20
    assert c.talk_seconds == 145 + 540
    assert c.ended_at is not None and c.ended_at % 86_400_000_000 == (9 * 3600 + 12 * 60 + 15) * 1_000_000


# A cold transfer: a-1 sends the caller to Benefits and leaves at once (c-1 disconnects at 09:02:00); the
# caller waits from 09:02:01 until a-2 answers at 09:04:01 and talks until 09:10:01. EventBridge does not
# keep order: here c-1's disconnect comes first in the file, before c-2 is known at all.
COLD = leg(
    "c-1",
    "c-1",
    None,
    [
        ("INITIATED", "09:00:00", ""),
        ("QUEUED", "09:00:10", "q-ct"),
        ("CONNECTED_TO_AGENT", "09:00:40", "a-1"),
        ("DISCONNECTED", "09:02:00", ""),
    ],
) + leg(
    "c-2",
    "c-1",
    "c-1",
    [
        ("INITIATED", "09:02:00", ""),
        ("QUEUED", "09:02:01", "q-ben"),
        ("CONNECTED_TO_AGENT", "09:04:01", "a-2"),
        ("DISCONNECTED", "09:10:01", ""),
    ],
)


@pytest.mark.parametrize("order", ["as_sent", "reversed"])
def test_a_cold_transfer_keeps_the_wait_in_the_second_queue(order: str) -> None:
    events = COLD if order == "as_sent" else COLD[::-1]
    sink = run(lines(events))
    c = facts_by_contact(sink.sent)["c-1"]
    assert (c.transfers, c.last_queue, c.outcome) == (1, "benefits", "handled")
    assert c.wait_seconds == 30 + 120  # 09:00:10-09:00:40, then 09:02:01-09:04:01
    assert c.talk_seconds == 81 + 360  # 09:00:40 to the transfer at 09:02:01, then 09:04:01-09:10:01
    assert [e["data"]["contact_id"] for e in sink.sent if e["type"] == "contact.ended"] == ["c-1"]  # one end
    assert sink.summary.records == 8  # type: ignore[attr-defined]


def test_the_bare_detail_in_aws_casing_and_the_envelope_time_when_a_timestamp_is_absent() -> None:
    bare: list[dict[str, Any]] = [
        {
            "EventType": "INITIATED",
            "ContactId": "c-7",
            "Channel": "Voice",
            "InitiationMethod": "Inbound",
            "InitiationTimestamp": "2026-03-02T10:00:00Z",
        },
        {
            "EventType": "QUEUED",
            "ContactId": "c-7",
            "Channel": "Voice",
            "QueueInfo": {"QueueArn": f"{ARN}/queue/q-ct", "EnqueueTimestamp": "2026-03-02T10:00:20Z"},
        },
        {
            "EventType": "CONNECTED_TO_AGENT",
            "ContactId": "c-7",
            "Channel": "Voice",
            "AgentInfo": {"AgentArn": f"{ARN}/agent/a-9", "ConnectedToAgentTimestamp": "2026-03-02T10:00:50Z"},
        },
    ]
    enveloped = event("DISCONNECTED", "c-7", "voice")  # no disconnectTimestamp: the envelope's time
    enveloped["time"] = "2026-03-02T10:05:50Z"
    c = facts_by_contact(run(lines([*bare, enveloped])).sent)["c-7"]
    assert (c.channel, c.queue, c.agent_ref, c.time_to_answer_seconds, c.talk_seconds) == (
        "phone",
        "council-tax",
        "a-9",
        30,
        300,
    )


def test_a_contact_record_and_contact_events_give_one_queue_one_label() -> None:
    events = leg("c-1", "c-1", None, [("INITIATED", "09:00:00", ""), ("QUEUED", "09:00:30", "q-ct")])
    for queues in (QUEUES, {}):
        by_record = facts_by_contact(run(orjson.dumps(record("c-1")), queues).sent)["c-1"].queue
        by_events = facts_by_contact(run(lines(events), queues).sent)["c-1"].queue
        assert by_record == by_events == ("council-tax" if queues else "q-ct")


def test_an_event_of_an_unknown_channel_is_rejected() -> None:
    sink = run(lines([event("QUEUED", "c-8", "FAX")]))
    assert [r.reason for r in sink.rejects] == ["unmappable:unknown_channel"]


def test_a_malformed_document_is_one_rejection_and_records_read_counts_documents() -> None:
    broken = b'{\n  "ContactId": "c-2",\n  "Queue": {"Name": "x"},\n  "Agent": {"ARN": "a"}, oops\n}\n'
    sink = run(orjson.dumps(record("c-1")) + orjson.dumps(record("c-3")) + b"\n" + broken + orjson.dumps(record("c-4")))
    assert [(r.line, r.reason) for r in sink.rejects] == [(2, "unmappable:not_json")]  # not one per "{"
    assert sorted(facts_by_contact(sink.sent)) == ["c-1", "c-3", "c-4"]
    assert sink.summary.records == 4  # type: ignore[attr-defined]
