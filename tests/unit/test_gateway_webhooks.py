"""Vendors' webhooks at the gateway, over a real uvicorn server on loopback: the payload is kept on the
webhooks topic (cut, identifiers as pseudonyms) before the 200; a body that is not JSON goes to the
dead-letter topic as its size and SHA-256, refused JSON masked, with its reason and vendor; the token
rules, 404, 413 and 503; the metrics."""

from __future__ import annotations

import hashlib
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from services.ingest.gateway.app import Limits, Webhooks, create_app
from services.ingest.gateway.edge import keys_from_env
from services.ingest.gateway.tokens import TokenFile
from services.ingest.webhooks.config import load_webhooks
from tests.support import chatwoot as cw
from tests.support.gateway import Recording, post, serving

ROOT = Path(__file__).resolve().parents[2]
KEY = "a test pseudonym key, 16+ bytes"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[str, Recording, dict[str, str], CollectorRegistry]]:
    tokens = TokenFile(tmp_path / "tokens.json")
    secrets = {name: tokens.add(council, source)[1] for name, council, source in
               [("chatwoot", "boston", "/boston/webchat/chatwoot"), ("forms", "boston", "/boston/web"),
                ("elsewhere", "east-lindsey", "/")]}  # fmt: skip
    publisher, registry = Recording(), CollectorRegistry()
    webhooks = Webhooks(load_webhooks(ROOT / "docs" / "webhooks.example.toml"), "contact.webhooks.v1", "dlq")
    app = create_app(tokens, publisher, registry, keys_from_env({"CONTACTPULSE_PSEUDONYM_KEY": KEY}),
                     Limits(max_body_bytes=16 * 1024), webhooks=webhooks)  # fmt: skip
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
    assert registry.get_sample_value("contactpulse_gateway_webhook_payloads_total",
                                     {"webhook": "chatwoot-boston", "outcome": "kept"}) == 1  # fmt: skip


def test_a_bearer_token_works_too_and_a_body_that_is_not_json_is_dead_lettered_as_its_size_and_hash(
    gateway: Any,
) -> None:
    url, publisher, secrets, registry = gateway
    assert post(url + "forms-boston", b'{"event_type": "form_response"}', "application/json",
                secrets["forms"]).status == 200  # fmt: skip
    body = b"name=Jane+Bloggs&phone=07700+900123&submitted=1"
    answer = post(url + "forms-boston", body, "application/x-www-form-urlencoded", secrets["forms"])
    assert answer.status == 200  # vendors do not read error bodies: its evidence is kept, never its text
    topic, _, value, headers = publisher.kept[-1]
    assert topic == "dlq" and orjson.loads(value) == {"bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    assert (headers["reason"], headers["vendor"], headers["webhook"]) == ("unmappable:not_json", "json", "forms-boston")
    assert registry.get_sample_value("contactpulse_gateway_webhook_payloads_total",
                                     {"webhook": "forms-boston", "outcome": "dead_lettered"}) == 1  # fmt: skip


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
    assert registry.get_sample_value("contactpulse_gateway_requests_total",
                                     {"route": "/v1/webhooks/{name}", "status": str(status)}) == 1  # fmt: skip


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
