"""Genesys Cloud analytics conversation details. The chat is the sample conversation of the Genesys
"Conversation model to SQL" blueprint (GenesysCloudBlueprints/conversation-model-to-sql-blueprint,
README: a response of ``POST /api/v2/analytics/conversations/details/query``), kept verbatim in
tests/fixtures/genesys/. The voice call is built on the same schema (participants, sessions, segments,
``disconnectType``, ``wrapUpCode``) to hold the traps: the queue's segment ending in ``transfer`` on an
answered call, a missed ring, the same agent twice, and a real transfer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from services.ingest.adapters.base import Emitter
from services.ingest.adapters.genesys import Genesys, GenesysNames, conversations
from services.ingest.adapters.json_records import objects
from services.ingest.adapters.run import Runner, attempt
from tests.support.adapters import ListSink, facts_by_contact

E = Emitter("boston", "/boston/telephony/genesys", b"k" * 32)
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "genesys" / "blueprint-chat.json"
NAMES = GenesysNames({"q-rev": "Revenues", "q-ben": "Benefits"}, {"wc-sorted": "resolved", "wc-passed": "referred"})


def run(data: bytes) -> ListSink:
    sink, g = ListSink(), Genesys(E, NAMES)
    Runner(sink, "genesys").feed(
        attempt(line, c, g.conversation) for line, v in objects(data) for c in conversations(v)
    )
    return sink


def seg(kind: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {
        "segmentType": kind,
        "segmentStart": f"2026-03-02T09:{start}Z",
        "segmentEnd": f"2026-03-02T09:{end}Z",
        **extra,
    }


def participant(purpose: str, pid: str, segments: list[dict[str, Any]], user: str | None = None) -> dict[str, Any]:
    session = {"mediaType": "voice", "sessionId": f"s-{pid}", "segments": segments}
    p: dict[str, Any] = {"participantId": pid, "purpose": purpose, "sessions": [session]}
    if user:
        p["userId"] = user
    if purpose == "customer":
        p["sessions"][0]["ani"] = "tel:+441205310010"
    return p


VOICE = {"conversationId": "v-1", "conversationStart": "2026-03-02T09:00:00.000Z",
         "conversationEnd": "2026-03-02T09:20:00.000Z", "originatingDirection": "inbound", "participants": [
    participant("customer", "p-c", [seg("interact", "00:00.000", "20:00.000")]),
    participant("ivr", "p-i", [seg("ivr", "00:00.000", "00:30.000")]),
    participant("acd", "p-q1", [seg("interact", "00:30.000", "01:30.000", queueId="q-rev", disconnectType="transfer")]),
    participant("agent", "p-a0", [seg("alert", "00:40.000", "00:55.000", queueId="q-rev")], user="u-missed"),
    participant("agent", "p-a1", [seg("alert", "01:20.000", "01:30.000", queueId="q-rev"),
                                  seg("interact", "01:30.000", "04:00.000", queueId="q-rev"),
                                  seg("hold", "04:00.000", "05:00.000", queueId="q-rev"),
                                  seg("interact", "05:00.000", "08:00.000", queueId="q-rev", disconnectType="transfer"),
                                  seg("wrapup", "08:00.000", "08:40.000", wrapUpCode="wc-passed")], user="u-1"),
    participant("acd", "p-q2", [seg("interact", "08:00.000", "09:00.000", queueId="q-ben", disconnectType="transfer")]),
    participant("agent", "p-a2", [seg("alert", "08:50.000", "09:00.000", queueId="q-ben"),
                                  seg("interact", "09:00.000", "20:00.000", queueId="q-ben", disconnectType="peer"),
                                  seg("wrapup", "20:00.000", "21:00.000", wrapUpCode="wc-sorted")], user="u-2"),
]}  # fmt: skip


def test_the_blueprints_chat() -> None:
    sink = run(FIXTURE.read_bytes())
    c = facts_by_contact(sink.sent)["1bc96a39-6725-40c4-9345-db72aa67b8c6"]
    assert (c.channel, c.outcome, c.transfers) == ("webchat", "handled", 0)
    assert c.queue == "a623d83c-96d7-4baa-af1f-d46ad6700d8b"  # no name for it in the mapping: its id
    # the acd's interact from 12:27:53.388 to the agent's interact at 12:28:04.569
    assert c.wait_seconds == pytest.approx(11.181)
    assert c.agent_ref == "50fcd33c-f432-4726-abc9-979f3ca01555"  # the alert before it is no answer
    assert c.hold_seconds == pytest.approx(544.176)  # 12:34:19.130 until the customer left at 12:43:23.306
    assert c.talk_seconds == pytest.approx(918.737 - 544.176)


def test_a_voice_call_with_a_missed_ring_a_hold_and_a_real_transfer() -> None:
    sink = run(orjson.dumps({"conversations": [VOICE], "totalHits": 1}))
    c = facts_by_contact(sink.sent)["v-1"]
    assert (c.queue, c.last_queue, c.transfers) == ("revenues", "benefits", 1)  # q1's "transfer" is the hand-off
    assert c.agent_ref == "u-1" and c.time_to_answer_seconds == 60  # u-missed only rang
    assert c.wait_seconds == 60 + 60  # 00:30-01:30 in Revenues; 08:00-09:00 in Benefits
    assert (c.hold_count, c.hold_seconds) == (1, 60)
    assert c.talk_seconds == (8 * 60 - 90 - 60) + 11 * 60  # first agent less hold, then the second agent
    assert (c.resolution, c.outcome, c.customer_ref is not None) == ("resolved", "handled", True)  # the last wrap-up


def test_an_unknown_wrapup_code_takes_the_default_and_a_bad_record_is_rejected() -> None:
    calls = {**VOICE, "conversationId": "v-2"}
    bad = {"conversationId": "v-3", "conversationStart": "soon", "participants": []}
    sink = run(b"\n".join(orjson.dumps(x) for x in [calls, {"no": "id"}, bad]))
    assert facts_by_contact(sink.sent)["v-2"].resolution == "resolved"
    assert [(r.line, r.reason) for r in sink.rejects] == [
        (2, "unmappable:not_conversation"),
        (3, "unmappable:bad_time"),
    ]


def _s(at: str) -> str:
    return f"2016-09-06T07:06:{at}Z"


# An internal call, as in the sample response of POST /api/v2/analytics/conversations/details/query in
# Genesys's developer tools (MyPureCloud/developer-tools, app/controllers/analytics-query-builder.js,
# conversation 585f63eb-...): a user dials (outbound session, a "dialing" segment, then its own leg's
# interact from 11.510), the IVR, the queue from 19.528, an agent whose alert failed, and the agent who
# answers at 33.227. The record has no conversationEnd; every segment is closed.
INTERNAL = {"conversationId": "585f63eb-e0be-47b6-a1d0-c65ba586bef2", "conversationStart": _s("11.478"),
            "participants": [
    {"participantId": "b8718784", "userId": "d787f85c-caller", "purpose": "user", "sessions": [
        {"mediaType": "voice", "sessionId": "ec856b29", "ani": "sip:ipadphone@172.18.182.10",
         "direction": "outbound", "dnis": "tel:+81359891323", "segments": [
            {"segmentStart": _s("11.478"), "segmentEnd": _s("11.510"), "segmentType": "dialing"},
            {"segmentStart": _s("11.510"), "segmentEnd": _s("49.303"), "disconnectType": "peer",
             "segmentType": "interact"}]}]},
    {"participantId": "f3ddaeaf", "participantName": "Tokyo, Japan", "purpose": "ivr", "sessions": [
        {"mediaType": "voice", "sessionId": "416bb21f", "direction": "inbound", "segments": [
            {"segmentStart": _s("11.502"), "segmentEnd": _s("11.506"), "segmentType": "system"},
            {"segmentStart": _s("11.506"), "segmentEnd": _s("19.492"), "segmentType": "ivr"}]}]},
    {"participantId": "a481b492", "participantName": "JATest Queue", "purpose": "acd", "sessions": [
        {"mediaType": "voice", "sessionId": "4458ac71", "direction": "inbound", "segments": [
            {"segmentStart": _s("19.524"), "segmentEnd": _s("19.528"), "queueId": "95c9d5f7",
             "segmentType": "delay"},
            {"segmentStart": _s("19.528"), "segmentEnd": _s("33.231"), "queueId": "95c9d5f7",
             "disconnectType": "transfer", "segmentType": "interact"}]}]},
    {"participantId": "8f619b51", "userId": "8c88c7f8-agent", "purpose": "agent", "sessions": [
        {"mediaType": "voice", "sessionId": "d793e20d", "direction": "inbound", "segments": [
            {"segmentStart": _s("24.901"), "segmentEnd": _s("24.901"), "queueId": "95c9d5f7",
             "errorCode": "error.ininedgecontrol.connection.protocol", "segmentType": "alert"}]}]},
    {"participantId": "5e14f33d", "userId": "8c88c7f8-agent", "purpose": "agent", "sessions": [
        {"mediaType": "voice", "sessionId": "1c5764ba", "direction": "inbound", "segments": [
            {"segmentStart": _s("27.802"), "segmentEnd": _s("33.227"), "queueId": "95c9d5f7",
             "segmentType": "alert"},
            {"segmentStart": _s("33.227"), "segmentEnd": _s("49.299"), "queueId": "95c9d5f7",
             "disconnectType": "client", "segmentType": "interact"},
            {"segmentStart": _s("49.016"), "segmentEnd": _s("54.016"), "queueId": "95c9d5f7",
             "wrapUpCode": "1ccb1c09", "disconnectType": "client", "segmentType": "wrapup"}]}]},
]}  # fmt: skip


def test_an_internal_callers_own_leg_is_not_the_answer() -> None:
    sink = run(orjson.dumps({"conversations": [INTERNAL]}))
    c = facts_by_contact(sink.sent)["585f63eb-e0be-47b6-a1d0-c65ba586bef2"]
    # the caller's interact at 11.510 came before any queue: it is their own leg. Queued at 19.528,
    # answered by the second agent participant at 33.227 (the first only failed to ring)
    assert c.agent_ref == "8c88c7f8-agent"
    assert c.time_to_answer_seconds == pytest.approx(13.699) and c.answered_within_sl is True
    # no conversationEnd: the last segment to end (wrap-up aside) is the caller's leg, at 49.303
    assert c.outcome == "handled" and c.talk_seconds == pytest.approx(49.303 - 33.227)
    assert c.acw_seconds == pytest.approx(54.016 - 49.303)
    assert c.customer_ref is None  # a SIP URI with no number in it cannot be linked


def test_a_conversation_read_while_a_segment_is_open_is_counted_not_ended() -> None:
    live = orjson.loads(orjson.dumps(INTERNAL))
    del live["participants"][4]["sessions"][0]["segments"][1]["segmentEnd"]  # the agent is still talking
    del live["participants"][4]["sessions"][0]["segments"][2]  # and has not wrapped up
    g = Genesys(E, NAMES)
    events = g.record(live)
    assert "contact.ended" not in [e["type"] for e in events] and "contact.answered" in [e["type"] for e in events]
    assert g.notes() == {"still open": 1}
