"""Vendors' webhooks at the gateway, over a real uvicorn server on loopback: the payload is kept on the
webhooks topic (cut, identifiers as pseudonyms) before the 200; a body the webhook's mapping does not read
is 415 and kept nowhere; a body is decoded by its type; a form mapping (and Twilio TaskRouter) keeps
only the fields it reads; refused JSON goes to the dead-letter topic masked; the token rules and rate
limit, 404, 413 and 503; the metrics."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from prometheus_client import CollectorRegistry

from services.ingest.gateway.app import Limits, Webhooks, create_app
from services.ingest.gateway.edge import keys_from_env
from services.ingest.gateway.tokens import TokenFile
from services.ingest.webhooks.config import load_webhooks
from tests.support import chatwoot as cw
from tests.support.gateway import Recording, post, serving

ROOT = Path(__file__).resolve().parents[3]
KEY = "a test pseudonym key, 16+ bytes"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WEBHOOK_BURST = 8  # requests a token may send at once; refilled at one per 100 s: no timing in the tests


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[str, Recording, dict[str, str], CollectorRegistry]]:
    tokens = TokenFile(tmp_path / "tokens.json")
    secrets = {
        name: tokens.add(council, source)[1]
        for name, council, source in [
            ("chatwoot", "boston", "/boston/webchat/chatwoot"),
            ("forms", "boston", "/boston/web"),
            ("elsewhere", "east-lindsey", "/"),
        ]
    }
    publisher, registry = Recording(), CollectorRegistry()
    webhooks = Webhooks(load_webhooks(ROOT / "docs" / "webhooks.example.toml"), "contact.webhooks.v1", "dlq")
    limits = Limits(max_body_bytes=16 * 1024, webhook_rate_per_second=0.01, webhook_burst=WEBHOOK_BURST)
    app = create_app(
        tokens, publisher, registry, keys_from_env({"CONTACTPULSE_PSEUDONYM_KEY": KEY}), limits, webhooks=webhooks
    )
    secrets["_tokens"] = str(tokens.path)
    with serving(app) as url:
        yield url + "/v1/webhooks/", publisher, secrets, registry


def created(conv_id: int = 10) -> bytes:
    return orjson.dumps(cw.conversation_event("conversation_created", cw.conversation(conv_id, NOW)))


def test_a_chatwoot_payload_with_the_token_in_the_url_is_kept_before_the_answer(gateway: Any) -> None:
    url, publisher, secrets, registry = gateway
    answer = post(url + "chatwoot-boston/" + secrets["chatwoot"], created(), "application/json")
    assert (answer.status, orjson.loads(answer.body)) == (200, {"received": True})
    ((topic, key, value, headers),) = publisher.kept
    assert (topic, key, headers["webhook"]) == ("contact.webhooks.v1", b"chatwoot-boston:10", "chatwoot-boston")
    assert abs(int(headers["received_at_us"]) / 1e6 - datetime.now(UTC).timestamp()) < 60
    kept = orjson.loads(value)
    assert kept["event"] == "conversation_created" and kept["id"] == 10 and len(kept["customer_ref"]) == 43
    assert b"jane" not in value and b"acme" not in value
    assert publisher.sent == []  # contract events come from the mapper, after Kafka
    assert (
        registry.get_sample_value(
            "contactpulse_gateway_webhook_payloads_total", {"webhook": "chatwoot-boston", "outcome": "kept"}
        )
        == 1
    )


@pytest.mark.parametrize(("body", "content_type"), [
    (b"name=Jane+Bloggs&phone=07700+900123&&=", "application/x-www-form-urlencoded"),  # not a form
    (b"name: Jane Bloggs, phone 07700 900123", "text/plain"),
    (b'{"event_type": "form_response", "phone": "07700 900123"', "application/json"),  # cut short
])  # fmt: skip
def test_a_body_the_mapping_does_not_read_is_415_and_nothing_is_published(
    gateway: Any, body: bytes, content_type: str
) -> None:
    url, publisher, secrets, _ = gateway
    assert (
        post(url + "forms-boston", b'{"event_type": "form_response"}', "application/json", secrets["forms"]).status
        == 200
    )  # a bearer token works too
    before = len(publisher.kept)
    answer = post(url + "forms-boston", body, content_type, secrets["forms"])
    assert answer.status == 415 and answer.headers["content-type"] == "application/problem+json"
    assert len(publisher.kept) == before  # neither the webhooks topic nor the dead-letter topic
    assert b"900123" not in answer.body


def test_a_body_is_decoded_by_the_type_it_was_sent_as_and_only_the_mapped_fields_are_kept(gateway: Any) -> None:
    """A form posted to a webhook whose source declares JSON is read as the form it says it is."""
    url, publisher, secrets, _ = gateway
    body = b"event_type=form_response&name=Jane+Bloggs&phone=07700+900123"
    answer = post(url + "forms-boston", body, "application/x-www-form-urlencoded", secrets["forms"])
    assert answer.status == 200
    _, _, value, _ = publisher.kept[-1]
    assert orjson.loads(value) == {"event_type": "form_response"}


def test_a_taskrouter_callback_with_the_token_in_the_url_is_kept_cut(gateway: Any) -> None:
    """Twilio TaskRouter posts form fields and cannot send a header (docs/webhooks.md)."""
    url, publisher, secrets, _ = gateway
    secret = TokenFile(Path(secrets["_tokens"])).add("boston", "/boston/contact-centre/twilio")[1]
    form = {
        "EventType": "task.created",
        "WorkspaceSid": "WS0123456789abcdef0123456789abcdef",
        "WorkspaceName": "Boston Borough Council",
        "TaskSid": "WT0123",
        "TaskAttributes": '{"from": "+447700900123", "name": "Jane Bloggs"}',
        "TaskChannelUniqueName": "voice",
        "Timestamp": "1772442000",
    }
    answer = post(url + "taskrouter-boston/" + secret, urlencode(form).encode(), "application/x-www-form-urlencoded")
    assert answer.status == 200
    _, key, value, headers = publisher.kept[-1]
    assert key == b"taskrouter-boston:WT0123" and headers["webhook"] == "taskrouter-boston"
    kept = orjson.loads(value)
    assert set(kept) == {"EventType", "WorkspaceSid", "TaskSid", "TaskChannelUniqueName", "Timestamp", "customer_ref"}
    assert b"Jane" not in value and b"900123" not in value and b"Boston" not in value


def test_a_form_mapping_keeps_the_fields_it_reads_and_no_digit_of_the_callers_number(gateway: Any) -> None:
    """Twilio's voice status callback, form-encoded, as its documentation lists the parameters."""
    url, publisher, secrets, _ = gateway
    form = {
        "CallSid": "CA5a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "AccountSid": "AC0123",
        "CallStatus": "initiated",
        "From": "+447700900123",
        "To": "+441205310000",
        "Direction": "inbound",
        "CallerName": "Jane Bloggs",
        "Timestamp": "Mon, 02 Mar 2026 09:00:00 +0000",
        "ApiVersion": "2010-04-01",
    }
    tokens = TokenFile(Path(secrets["_tokens"]))
    secret = tokens.add("boston", "/boston/telephony")[1]
    answer = post(url + "twilio-calls-boston", urlencode(form).encode(), "application/x-www-form-urlencoded", secret)
    assert answer.status == 200
    topic, key, value, _ = publisher.kept[-1]
    kept = orjson.loads(value)
    assert topic == "contact.webhooks.v1" and key == b"twilio-calls-boston:CA5a1b2c3d4e5f60718293a4b5c6d7e8f9"
    assert set(kept) == {"CallSid", "CallStatus", "Timestamp", "customer_ref"} and len(kept["customer_ref"]) == 43
    for digits in ("7700", "900123", "1205", "310000"):
        assert digits.encode() not in value
    assert b"Jane" not in value


def test_the_webhook_route_has_its_own_rate_limit(gateway: Any) -> None:
    url, _, secrets, _ = gateway
    answers = [
        post(url + "forms-boston", b'{"event_type": "form_response"}', "application/json", secrets["forms"])
        for _ in range(WEBHOOK_BURST + 1)
    ]
    assert [a.status for a in answers] == [200] * WEBHOOK_BURST + [429]
    assert int(answers[-1].headers["retry-after"]) >= 1


def test_json_the_adapter_refuses_is_dead_lettered_with_its_identifiers_masked(gateway: Any) -> None:
    url, publisher, secrets, _ = gateway
    body = b'["07700 900123", "447700900123", "jane@example.org"]'  # JSON, but no object: not_object
    assert post(url + "forms-boston", body, "application/json", secrets["forms"]).status == 200
    topic, _, value, headers = publisher.kept[-1]
    assert topic == "dlq" and headers["reason"] == "unmappable:not_object"
    assert value == b'["[number]", "[number]", "[email]"]'


@pytest.mark.parametrize(("path", "token", "status"), [
    ("chatwoot-boston", None, 401),
    ("chatwoot-boston/cpg_not-a-token", None, 401),
    ("chatwoot-boston", "elsewhere", 403),  # a token for another council
    ("chatwoot-boston", "forms", 403),  # the right council, another source
    ("zendesk", "chatwoot", 404),
])  # fmt: skip
def test_refusals(gateway: Any, path: str, token: str | None, status: int) -> None:
    url, publisher, secrets, registry = gateway
    answer = post(url + path, created(), "application/json", secrets[token] if token else None)
    assert answer.status == status and answer.headers["content-type"] == "application/problem+json"
    assert publisher.kept == [] and publisher.sent == []
    for secret in secrets.values():
        assert secret not in answer.body.decode()
    assert (
        registry.get_sample_value(
            "contactpulse_gateway_requests_total", {"route": "/v1/webhooks/{name}", "status": str(status)}
        )
        == 1
    )


def test_too_large_and_kafka_unavailable(gateway: Any) -> None:
    url, publisher, secrets, _ = gateway
    big = orjson.dumps({"event": "message_created", "content": "x" * 20_000})
    assert post(url + "chatwoot-boston", big, "application/json", secrets["chatwoot"]).status == 413
    publisher.down = True
    answer = post(url + "chatwoot-boston", created(), "application/json", secrets["chatwoot"])
    assert (answer.status, answer.headers["retry-after"]) == (503, "5")
    assert publisher.kept == []


def test_the_token_in_a_url_never_reaches_the_metrics(gateway: Any) -> None:
    url, _, secrets, _ = gateway
    post(url + "chatwoot-boston/" + secrets["chatwoot"], created(), "application/json")
    with urllib.request.urlopen(url.removesuffix("/v1/webhooks/") + "/metrics") as r:
        assert secrets["chatwoot"] not in r.read().decode()
