"""Amazon Connect contact records and contact events, built from the Amazon Connect Administrator Guide:
"Data model for Amazon Connect contact records" (ContactId, InitialContactId, PreviousContactId,
NextContactId, Channel, InitiationMethod, the Queue and Agent objects and their timestamps,
NumberOfHolds, CustomerHoldDuration, DisconnectReason, CustomerEndpoint, Attributes; records are
delivered at least once) and "Amazon Connect contact events" (EventBridge ``detail-type`` and
``detail.eventType``). Firehose writes the records back to back, without a newline between them."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from services.ingest.adapters.base import Emitter
from services.ingest.adapters.connect import Connect
from services.ingest.adapters.json_records import objects
from services.ingest.adapters.run import Runner, attempt
from tests.support.adapters import ListSink, facts_by_contact

E = Emitter("boston", "/boston/telephony/amazon-connect", b"k" * 32)
ARN = "arn:aws:connect:eu-west-2:111122223333:instance/5c4e0a7e-1111-4222-8333-444455556666"


def record(contact: str, *, initial: str | None = None, method: str = "INBOUND", channel: str = "VOICE",
           start: str = "2026-03-02T09:00:00Z", queue: str | None = "Council Tax",
           enqueue: str | None = "2026-03-02T09:00:30Z", connected: str | None = "2026-03-02T09:01:10Z",
           acw_start: str | None = "2026-03-02T09:07:10Z", acw_end: str | None = "2026-03-02T09:08:00Z",
           disconnect: str = "2026-03-02T09:07:10Z", reason: str = "CUSTOMER_DISCONNECT", holds: int = 0,
           hold_seconds: int = 0, next_contact: str | None = None, attributes: dict[str, str] | None = None,
           ) -> dict[str, Any]:  # fmt: skip
    agent = None if connected is None else {
        "ARN": f"{ARN}/agent/0d3b8c7a-aaaa-4bbb-8ccc-dddddddddddd", "Username": "jsmith",
        "ConnectedToAgentTimestamp": connected, "AfterContactWorkStartTimestamp": acw_start,
        "AfterContactWorkEndTimestamp": acw_end, "NumberOfHolds": holds, "CustomerHoldDuration": hold_seconds,
        "LongestHoldDuration": hold_seconds, "AgentInteractionDuration": 300}  # fmt: skip
    return {
        "AWSAccountId": "111122223333", "AWSContactTraceRecordFormatVersion": "2017-03-10", "Agent": agent,
        "AgentConnectionAttempts": 1, "Attributes": attributes or {}, "Channel": channel,
        "ContactId": contact, "InitialContactId": initial, "PreviousContactId": initial,
        "NextContactId": next_contact,
        "CustomerEndpoint": {"Address": "+441205310010", "Type": "TELEPHONE_NUMBER"},
        "DisconnectTimestamp": disconnect, "DisconnectReason": reason, "InitiationMethod": method,
        "InitiationTimestamp": start, "InstanceARN": ARN, "LastUpdateTimestamp": disconnect,
        "Queue": None if queue is None else {"ARN": f"{ARN}/queue/q1", "Name": queue, "EnqueueTimestamp": enqueue,
                                             "DequeueTimestamp": connected, "Duration": 40},
        "SystemEndpoint": {"Address": "+441205310000", "Type": "TELEPHONE_NUMBER"},
    }  # fmt: skip


def run(data: bytes) -> ListSink:
    sink = ListSink()
    connect = Connect(E)
    Runner(sink, "ctr").feed(attempt(line, v, connect.record) for line, v in objects(data))
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
    first = record("c-1", next_contact="c-2", acw_start="2026-03-02T09:03:00Z", acw_end="2026-03-02T09:03:20Z",
                   disconnect="2026-03-02T09:03:00Z")  # fmt: skip
    second = record("c-2", initial="c-1", method="TRANSFER", start="2026-03-02T09:03:00Z", queue="Benefits",
                    enqueue="2026-03-02T09:03:05Z", connected="2026-03-02T09:04:05Z",
                    acw_start="2026-03-02T09:10:05Z", disconnect="2026-03-02T09:10:05Z")  # fmt: skip
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


def test_contact_events_from_eventbridge() -> None:
    def event(kind: str, **detail: Any) -> dict[str, Any]:
        return {"version": "0", "id": f"evt-{kind}", "detail-type": "Amazon Connect Contact Event",
                "source": "aws.connect", "account": "111122223333", "time": "2026-03-02T09:00:00Z",
                "region": "eu-west-2", "resources": [ARN],
                "detail": {"eventType": kind, "contactId": "c-5", "channel": "CHAT", "instanceArn": ARN,
                           "initiationMethod": "API", **detail}}  # fmt: skip

    lines = [event("INITIATED", initiationTimestamp="2026-03-02T09:00:00.000Z"),
             event("QUEUED", queueInfo={"queueArn": f"{ARN}/queue/webchat-q",
                                        "enqueueTimestamp": "2026-03-02T09:00:05.000Z"}),
             event("CONNECTED_TO_AGENT", agentInfo={"agentArn": f"{ARN}/agent/a-1",
                                                    "connectedToAgentTimestamp": "2026-03-02T09:00:50.000Z"}),
             event("CONTACT_DATA_UPDATED"),
             event("DISCONNECTED", disconnectTimestamp="2026-03-02T09:06:50.000Z")]  # fmt: skip
    sink = run(b"\n".join(orjson.dumps(x) for x in lines))
    c = facts_by_contact(sink.sent)["c-5"]
    assert (c.channel, c.queue, c.time_to_answer_seconds, c.talk_seconds, c.outcome) == (
        "webchat",
        "webchat-q",
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
        (1, "unmappable:bad_value"), (2, "unmappable:bad_field:NumberOfHolds"), (3, "unmappable:bad_value")
    ]  # fmt: skip
    assert sink.rejects[0].detail == "ValueError: invalid literal for int() with base 10: 'two'"
    assert list(facts_by_contact(sink.sent)) == ["c-4"]
