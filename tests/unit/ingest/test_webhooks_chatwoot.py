"""Chatwoot's webhook payloads (tests/support/chatwoot.py cites the formats) through the adapter as the
gateway admits them and the mapper maps them, then through the contract and the facts engine."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest

from pipelines.facts import compute_facts
from pipelines.rules import MetricRules
from schemas.facts import ContactFacts
from services.ingest.webhooks.adapter import Unmappable
from services.ingest.webhooks.chatwoot import Chatwoot
from services.ingest.webhooks.mapper import DEAD_LETTERED, IGNORED, MAPPED, Record, WebhookMapper
from tests.support import chatwoot as cw
from tests.support.builders import T0
from tests.support.facts import to_events

KEY = b"k" * 32
ADAPTER = Chatwoot("chatwoot-boston", "boston", "/boston/webchat/chatwoot", cw.ACCOUNT, {"1": "revenues"})


def key_for(council: str) -> bytes | None:
    return KEY if council == "boston" else None


def at(seconds: float) -> Any:
    return T0 + timedelta(seconds=seconds)


def run(payloads: list[dict[str, Any]], adapter: Chatwoot = ADAPTER) -> tuple[list[dict[str, Any]], WebhookMapper]:
    """Admit each payload as the gateway does, then map them in order on one partition."""
    mapper = WebhookMapper({adapter.name: adapter})
    records = []
    for i, p in enumerate(payloads):
        key, kept = adapter.admit(orjson.loads(orjson.dumps(p)), key_for)
        headers = {"webhook": adapter.name, "received_at_us": str(int(at(i * 0.001).timestamp() * 1e6))}
        records.append(Record("contact.webhooks.v1", 0, i, key, orjson.dumps(kept), headers))
    out = mapper.map(records, now=T0 + timedelta(days=1))
    assert not out.dead_letters, out.dead_letters
    return [orjson.loads(v) for _, v in out.events], mapper


def facts(events: list[dict[str, Any]]) -> dict[str, ContactFacts]:
    by_contact: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_contact.setdefault(e["data"]["contact_id"], []).append(e)
    return {c: compute_facts(to_events(es), MetricRules()) for c, es in by_contact.items()}


def a_chat(conv_id: int = 10, rating: int | None = 5) -> list[dict[str, Any]]:
    """Created at 0 s, the customer writes at 2 s, a private note at 20 s, an agent replies at 45 s and
    again at 60 s; resolved at 300 s; the CSAT answer at 320 s."""
    c0 = cw.conversation(conv_id, at(0), "open")
    out = [
        cw.conversation_event("conversation_created", c0),
        cw.message("message_created", 118, cw.conversation(conv_id, at(2)), at(2)),
        cw.message("message_created", 119, cw.conversation(conv_id, at(20)), at(20), "outgoing", "user", private=True),
        cw.message("message_created", 120, cw.conversation(conv_id, at(45)), at(45), "outgoing", "user"),
        cw.message("message_created", 121, cw.conversation(conv_id, at(60)), at(60), "outgoing", "user"),
        cw.conversation_event("conversation_status_changed", cw.conversation(conv_id, at(300), "resolved")),
    ]
    if rating is not None:
        out.append(cw.csat(122, cw.conversation(conv_id, at(300), "resolved"), at(300), rating))
    return out


def test_a_chat_is_one_contact_with_the_expected_facts() -> None:
    events, _ = run(a_chat())
    assert [e["type"] for e in events] == [
        "contact.started",
        "contact.queued",
        "contact.answered",
        "contact.ended",
        "contact.wrapped_up",
        "contact.surveyed",
    ]
    f = facts(events)["cw1-10"]
    assert (f.channel, f.queue, f.outcome, f.resolution, f.rating) == ("webchat", "revenues", "handled", "resolved", 5)
    assert f.time_to_answer_seconds == 45.0  # the first public agent reply, not the private note at 20 s
    assert f.agent_ref == "cw1-user-1"
    assert f.customer_ref is not None and len(f.customer_ref) == 43  # the email's pseudonym
    assert f.answered_within_sl is True  # webchat's 60 s
    assert f.talk_seconds == 255.0


def test_no_raw_identifier_or_text_leaves_the_gateway() -> None:
    for p in a_chat():
        _, kept = ADAPTER.admit(p, key_for)
        text = orjson.dumps(kept).decode()
        assert "jane@acme.inc" not in text and "little-haze" not in text and "John" not in text
        assert '"content":' not in text  # no message text
        assert "405f1d30" not in text and "referer" not in text


def test_retried_deliveries_change_nothing() -> None:
    once, _ = run(a_chat())
    twice, _ = run([p for p in a_chat() for _ in (0, 1)])
    assert {e["id"] for e in twice} == {e["id"] for e in once}
    assert facts(twice) == facts(once)


def test_a_reopened_conversation_is_a_new_contact() -> None:
    reopened = [
        *a_chat(rating=None),
        cw.message("message_created", 130, cw.conversation(10, at(900), "resolved"), at(900)),
        cw.conversation_event("conversation_status_changed", cw.conversation(10, at(900), "open")),
        cw.message("message_created", 131, cw.conversation(10, at(1000)), at(1000), "outgoing", "user"),
        cw.conversation_event("conversation_status_changed", cw.conversation(10, at(1200), "resolved")),
        cw.csat(132, cw.conversation(10, at(1200), "resolved"), at(1200), 2),
    ]
    f = facts(run(reopened)[0])
    second = f"cw1-10-r{int(at(900).timestamp())}"
    assert set(f) == {"cw1-10", second}
    assert f["cw1-10"].rating is None and f["cw1-10"].ended_at is not None
    assert (f[second].time_to_answer_seconds, f[second].outcome, f[second].rating) == (100.0, "handled", 2)


def test_a_chat_nobody_answers_is_abandoned_and_a_team_is_its_queue() -> None:
    c = cw.conversation(11, at(0), team="Council Tax")
    resolved = cw.conversation(11, at(90), "resolved", team="Council Tax")
    events, _ = run(
        [
            cw.conversation_event("conversation_created", c),
            cw.conversation_event("conversation_status_changed", resolved),
        ]
    )
    f = facts(events)["cw1-11"]
    assert (f.outcome, f.queue, f.wait_seconds, f.answered_within_sl) == ("abandoned", "council-tax", 90.0, False)


def test_payloads_that_count_nothing_are_ignored_and_others_dead_lettered() -> None:
    mapper = WebhookMapper({ADAPTER.name: ADAPTER})
    good = cw.conversation_event("conversation_created", cw.conversation(12, at(0)))
    widget = {"id": 12, "event": "webwidget_triggered", "account": {"id": 1}}
    other_account = {**cw.message("message_created", 5, cw.conversation(12, at(1)), at(1)), "account": {"id": 7}}
    no_id = cw.conversation_event("conversation_status_changed", {**cw.conversation(12, at(2)), "id": None})
    bad_rating = cw.csat(6, cw.conversation(12, at(3)), at(3), 9)
    headers = {"webhook": ADAPTER.name, "received_at_us": str(int(T0.timestamp() * 1e6))}
    records = [
        Record("t", 0, i, None, orjson.dumps(ADAPTER.admit(p, key_for)[1]), headers)
        for i, p in enumerate([good, widget, other_account, no_id, bad_rating])
    ]
    records.append(Record("t", 0, 5, None, b"{not json", headers))
    records.append(Record("t", 0, 6, None, orjson.dumps(ADAPTER.admit(good, key_for)[1]), {"webhook": "gone"}))
    out = mapper.map(records, now=T0)
    assert out.counts == {
        (ADAPTER.name, MAPPED): 1,
        (ADAPTER.name, IGNORED): 1,
        (ADAPTER.name, DEAD_LETTERED): 4,
        ("gone", DEAD_LETTERED): 1,
    }
    reasons = [h["reason"] for _, _, h in out.dead_letters]
    assert reasons == [
        "unmappable:account_mismatch",
        "unmappable:missing:conversation_id",
        "unmappable:bad_rating",
        "unmappable:not_json",
        "unmappable:unknown_webhook",
    ]
    assert all(h["vendor"] in ("chatwoot", "unknown") and h["original_offset"] for _, _, h in out.dead_letters)
    assert out.dead_letters[3][1] == b"{not json"  # unchanged


def test_memory_rebuilt_from_the_topic_maps_the_rest_the_same() -> None:
    payloads = a_chat()
    straight, _ = run(payloads)
    mapper = WebhookMapper({ADAPTER.name: ADAPTER})
    headers = {"webhook": ADAPTER.name, "received_at_us": str(int(T0.timestamp() * 1e6))}
    records = [
        Record("t", 0, i, None, orjson.dumps(ADAPTER.admit(p, key_for)[1]), headers) for i, p in enumerate(payloads)
    ]
    for r in records[:4]:  # mapped before a restart
        mapper.rebuild(r)
    rest = mapper.map(records, now=T0 + timedelta(days=1))  # the group's consumer reads from offset 4
    assert [orjson.loads(v)["id"] for _, v in rest.events] == [e["id"] for e in straight[3:]]


def test_an_admitted_payload_that_is_not_an_object_is_unmappable() -> None:
    with pytest.raises(Unmappable) as exc:
        ADAPTER.admit([1, 2], key_for)
    assert exc.value.reason == "unmappable:not_object"


def test_a_conversation_without_an_inbox_is_missing_its_inbox_not_a_bad_queue() -> None:
    mapper = WebhookMapper({ADAPTER.name: ADAPTER})
    conv = {k: v for k, v in cw.conversation(13, at(0)).items() if k != "inbox_id"}
    headers = {"webhook": ADAPTER.name, "received_at_us": str(int(T0.timestamp() * 1e6))}
    kept = ADAPTER.admit(cw.conversation_event("conversation_created", conv), key_for)[1]
    out = mapper.map([Record("t", 0, 0, None, orjson.dumps(kept), headers)], now=T0)
    assert [h["reason"] for _, _, h in out.dead_letters] == ["unmappable:missing:inbox_id"]  # not bad_field:queue


@pytest.mark.parametrize("where", ["account_id", "message"])
def test_a_conversation_event_of_another_account_is_refused(where: str) -> None:
    """Chatwoot puts the account on a conversation payload as ``account_id``, and on each of its
    ``messages``; the check covers every event type, not only message events."""
    mapper = WebhookMapper({ADAPTER.name: ADAPTER})
    conv = cw.conversation(14, at(0))
    if where == "account_id":
        conv["account_id"] = 7
    else:
        conv["messages"] = [{"id": 1, "account_id": 7, "inbox_id": 1, "conversation_id": 14, "message_type": 0}]
    headers = {"webhook": ADAPTER.name, "received_at_us": str(int(T0.timestamp() * 1e6))}
    payloads = [cw.conversation_event(e, conv) for e in ("conversation_created", "conversation_status_changed")]
    records = [
        Record("t", 0, i, None, orjson.dumps(ADAPTER.admit(p, key_for)[1]), headers) for i, p in enumerate(payloads)
    ]
    out = mapper.map(records, now=T0)
    assert [h["reason"] for _, _, h in out.dead_letters] == ["unmappable:account_mismatch"] * 2 and not out.events
