"""The gateway's answers over a real uvicorn server on loopback: every refusal status with its RFC 9457
problem document, the three modes of the CloudEvents HTTP binding, pseudonyms at the edge, the token
rules and the metrics. Kafka is out of reach here on purpose (a recording publisher stands in for the
publish); tests/integration/test_gateway.py runs the real broker and consumer."""

from __future__ import annotations

import socket
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from pipelines.pseudonym import customer_ref
from services.ingest.gateway.app import Limits, create_app
from services.ingest.gateway.edge import keys_from_env
from services.ingest.gateway.tokens import TokenFile
from tests.support.builders import ev
from tests.support.gateway import Recording, post, serving

KEY = "a test pseudonym key, 16+ bytes"
STRUCTURED, BATCH = "application/cloudevents+json", "application/cloudevents-batch+json"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[str, Recording, dict[str, str], CollectorRegistry]]:
    tokens = TokenFile(tmp_path / "tokens.json")
    secrets = {
        name: tokens.add(council, source)[1]
        for name, council, source in [("boston", "boston", "/boston/webchat"), ("all", "all", "/")]
    }
    publisher, registry = Recording(), CollectorRegistry()
    limits = Limits(max_body_bytes=64 * 1024, max_events=20, rate_per_second=1, burst=60)  # slow refill: no timing
    app = create_app(tokens, publisher, registry, keys_from_env({"CONTACTPULSE_PSEUDONYM_KEY": KEY}), limits)
    with serving(app) as url:
        yield url + "/v1/events", publisher, secrets, registry


def chat(type_: str, at: float, contact: str = "W-1", **data: Any) -> dict[str, Any]:
    e = ev(type_, at, contact=contact, channel="webchat", **data)
    e["source"] = "/boston/webchat/widget"
    return e


def problem(answer: Any) -> dict[str, Any]:
    assert answer.headers["content-type"] == "application/problem+json"
    doc: dict[str, Any] = orjson.loads(answer.body)
    assert doc["status"] == answer.status and doc["type"].startswith("https://contactpulse.org/problems/")
    return doc


def test_structured_batched_and_binary_are_published_keyed_by_contact(gateway) -> None:
    url, publisher, secrets, registry = gateway
    one = chat("contact.queued", 0)
    a = post(url, orjson.dumps(one), STRUCTURED, secrets["boston"])
    assert (a.status, orjson.loads(a.body)) == (202, {"accepted": 1, "ids": [one["id"]]})
    batch = [chat("contact.answered", 5), chat("contact.ended", 60, contact="W-2")]
    assert post(url, orjson.dumps(batch), BATCH, secrets["boston"]).status == 202
    binary = chat("contact.ended", 90)
    headers = {f"ce-{k}": v for k, v in binary.items() if k != "data"}
    assert post(url, orjson.dumps(binary["data"]), "application/json", secrets["boston"], headers).status == 202
    sent = [(k.decode(), orjson.loads(v)) for k, v in publisher.sent]
    assert [k for k, _ in sent] == ["W-1", "W-1", "W-2", "W-1"]
    assert [e["id"] for _, e in sent] == [one["id"], batch[0]["id"], batch[1]["id"], binary["id"]]
    assert sent[3][1]["data"] == binary["data"] and sent[3][1]["type"] == "contact.ended"
    assert registry.get_sample_value("contactpulse_gateway_events_accepted_total") == 4
    assert (
        registry.get_sample_value("contactpulse_gateway_requests_total", {"route": "/v1/events", "status": "202"}) == 3
    )


def test_a_batch_with_an_invalid_event_is_refused_whole_with_each_reason(gateway) -> None:
    url, publisher, secrets, registry = gateway
    bad_time = chat("contact.queued", 0, contact="W-3")
    bad_time["time"] = "1999-12-31T23:59:59Z"
    batch = [chat("contact.queued", 0), bad_time, {"not": "an event"}, chat("contact.ended", 9)]
    a = post(url, orjson.dumps(batch), BATCH, secrets["boston"])
    doc = problem(a)
    assert a.status == 400
    assert [(e["index"], e["reason"]) for e in doc["errors"]] == [(1, "before_2000"), (2, "not_cloudevent")]
    assert publisher.sent == []
    assert registry.get_sample_value("contactpulse_gateway_events_rejected_total", {"reason": "before_2000"}) == 1


def test_customer_becomes_the_pseudonym_and_the_raw_value_goes_nowhere(gateway) -> None:
    url, publisher, secrets, _registry = gateway
    e = chat("contact.queued", 0, customer={"email": " Resident@Example.org "})
    a = post(url, orjson.dumps(e), STRUCTURED, secrets["boston"])
    assert a.status == 202
    ((_, value),) = publisher.sent
    data = orjson.loads(value)["data"]
    assert data["customer_ref"] == customer_ref("email", "resident@example.org", KEY.encode())
    assert "customer" not in data and b"xample" not in value and b"esident" not in value
    bad = chat("contact.queued", 0, customer={"phone": "not a phone 07700"})
    a = post(url, orjson.dumps(bad), STRUCTURED, secrets["boston"])
    assert a.status == 400 and b"07700" not in a.body


@pytest.mark.parametrize(
    ("token", "status"), [(None, 401), ("cpg_not-a-token", 401), ("revoked", 401)], ids=["none", "unknown", "revoked"]
)
def test_no_valid_token_is_401(gateway, tmp_path: Path, token: str | None, status: int) -> None:
    url, publisher, secrets, _ = gateway
    if token == "revoked":
        tokens = TokenFile(tmp_path / "tokens.json")
        t = next(t for t in tokens.load() if t.council == "boston")
        tokens.revoke(t.id)
        token = secrets["boston"]
    a = post(url, orjson.dumps(chat("contact.queued", 0)), STRUCTURED, token)
    assert a.status == status and "bearer" in a.headers["www-authenticate"].lower()
    assert problem(a)["title"] == "Unauthorized"
    assert publisher.sent == [] and secrets["boston"].encode() not in a.body


def test_a_token_may_emit_only_for_its_council_and_source(gateway) -> None:
    url, publisher, secrets, _ = gateway
    other_council = ev("contact.queued", 0, council="south-holland")
    other_council["source"] = "/boston/webchat/widget"
    other_source = chat("contact.queued", 0)
    other_source["source"] = "/boston/telephony/cms"
    for event in (other_council, other_source):
        a = post(url, orjson.dumps([chat("contact.queued", 0), event]), BATCH, secrets["boston"])
        assert a.status == 403 and [e["index"] for e in problem(a)["errors"]] == [1]
    assert post(url, orjson.dumps(other_council), STRUCTURED, secrets["all"]).status == 202
    assert len(publisher.sent) == 1


def test_size_count_type_and_rate_limits(gateway) -> None:
    url, _publisher, secrets, _ = gateway
    token = secrets["boston"]
    assert post(url, b"x" * (64 * 1024 + 1), STRUCTURED, token).status == 413
    many = [chat("contact.queued", i, contact=f"W-{i}") for i in range(21)]
    a = post(url, orjson.dumps(many), BATCH, token)
    assert a.status == 413 and "at most 20" in problem(a)["detail"]
    assert post(url, orjson.dumps(chat("contact.queued", 0)), "text/plain", token).status == 415
    assert post(url, orjson.dumps(chat("contact.queued", 0)), "application/json", token).status == 415  # no ce-
    assert post(url, b"{oops", STRUCTURED, token).status == 400
    statuses = [
        post(
            url, orjson.dumps([chat("contact.queued", i, contact=f"R-{n}-{i}") for i in range(20)]), BATCH, token
        ).status
        for n in range(4)
    ]
    assert statuses == [202, 202, 202, 429]  # a burst of 60 events, then 1 a second
    last = post(url, orjson.dumps(chat("contact.queued", 0)), STRUCTURED, secrets["all"])
    assert last.status == 202  # another token has its own bucket


def test_kafka_unavailable_is_503_with_retry_after(gateway) -> None:
    url, publisher, secrets, _ = gateway
    publisher.down = True
    a = post(url, orjson.dumps(chat("contact.queued", 0)), STRUCTURED, secrets["boston"])
    assert a.status == 503 and a.headers["retry-after"] == "5"
    assert "send it again" in problem(a)["detail"]


def test_the_served_openapi_document_is_the_exported_one(tmp_path: Path) -> None:
    from services.ingest.gateway.openapi import FILE, document, event_schema

    app = create_app(
        TokenFile(tmp_path / "t.json"), Recording(), CollectorRegistry(), lambda c: None, event_schema=event_schema()
    )
    with serving(app) as url, urllib.request.urlopen(url + "/openapi.json") as r:
        served = orjson.loads(r.read())
    assert served == document()
    exported = orjson.loads((Path(__file__).resolve().parents[3] / "schemas/json" / FILE).read_bytes())
    assert exported == served
    body = served["paths"]["/v1/events"]["post"]
    assert set(body["requestBody"]["content"]) == {STRUCTURED, BATCH, "application/json"}
    assert set(body["responses"]) == {"202", "400", "401", "403", "408", "413", "415", "429", "503"}


def test_metrics_and_health_are_served(gateway) -> None:
    url, _, secrets, _ = gateway
    base = url.removesuffix("/v1/events")
    post(url, b"{}", "text/plain", secrets["boston"])
    with urllib.request.urlopen(base + "/metrics") as r:
        text = r.read().decode()
    assert 'contactpulse_gateway_requests_total{route="/v1/events",status="415"} 1.0' in text
    assert secrets["boston"] not in text
    with urllib.request.urlopen(base + "/healthz") as r:
        assert orjson.loads(r.read()) == {"status": "ok", "kafka": "connected", "reason": "", "failing_seconds": 0}
    with urllib.request.urlopen(base + "/readyz") as r:
        assert orjson.loads(r.read()) == {"status": "ready", "kafka": "connected", "reason": ""}


def half_sent(url: str, request: bytes, wait: float = 10.0) -> bytes:
    """What the server answers to ``request``, sent and never finished, within ``wait`` seconds."""
    host, port = url.removeprefix("http://").split("/", 1)[0].split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as s:
        s.sendall(request)
        answer = b""
        while chunk := s.recv(65536):  # until the server closes the connection
            answer += chunk
    return answer


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_half_sent_request_is_408_and_its_connection_closed(tmp_path: Path, part: str) -> None:
    tokens = TokenFile(tmp_path / "tokens.json")
    secret = tokens.add("boston", "/boston/webchat")[1]
    app = create_app(tokens, Recording(), CollectorRegistry(), keys_from_env({}), Limits())
    head = f"POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {secret}\r\n"
    request = head if part == "headers" else head + f"Content-Type: {STRUCTURED}\r\nContent-Length: 500\r\n\r\n{{"
    with serving(app, read_timeout=0.5) as url:
        answer = half_sent(url, request.encode())
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 408 Request Timeout" and b"connection: close" in rest.lower()
    doc = orjson.loads(rest.partition(b"\r\n\r\n")[2])
    assert doc["status"] == 408 and doc["type"].endswith("/request-timeout")


def test_binary_mode_percent_decodes_ce_headers(gateway) -> None:
    """The CloudEvents HTTP binding (3.1.3.2): the sender percent-encodes a header value's space, '"', '%'
    and every character outside printable ASCII as UTF-8; the receiver decodes it."""
    url, publisher, secrets, _ = gateway
    e = chat("contact.ended", 90, contact="P1 enc sp\u00e9")
    e["subject"] = e["data"]["contact_id"]
    headers = {f"ce-{k}": urllib.parse.quote(str(v), safe="/:+") for k, v in e.items() if k != "data"}
    assert headers["ce-subject"] == "P1%20enc%20sp%C3%A9"
    assert post(url, orjson.dumps(e["data"]), "application/json", secrets["boston"], headers).status == 202
    assert orjson.loads(publisher.sent[-1][1])["subject"] == "P1 enc sp\u00e9"
    bad = {**headers, "ce-id": "%FF%FE"}  # not UTF-8
    assert post(url, orjson.dumps(e["data"]), "application/json", secrets["boston"], bad).status == 400


def test_binary_mode_without_a_content_type_is_json_data_and_another_type_is_415(gateway) -> None:
    """``Content-Type`` carries the optional ``datacontenttype``: a sender that leaves it out (the official
    Python SDK's default) sends no header, and its data is JSON; any other media type is refused."""
    url, publisher, secrets, _ = gateway
    e = chat("contact.ended", 90)
    headers = {f"ce-{k}": str(v) for k, v in e.items() if k != "data"}
    assert post(url, orjson.dumps(e["data"]), None, secrets["boston"], headers).status == 202
    published = orjson.loads(publisher.sent[-1][1])
    assert published["data"] == e["data"] and published["datacontenttype"] == "application/json"
    refused = post(url, orjson.dumps(e["data"]), "text/plain", secrets["boston"], {**headers, "ce-id": "x2"})
    assert refused.status == 415 and b"text/plain" in refused.body and len(publisher.sent) == 1


def test_connections_past_the_cap_are_answered_503_and_closed(tmp_path: Path) -> None:
    tokens = TokenFile(tmp_path / "tokens.json")
    app = create_app(tokens, Recording(), CollectorRegistry(), keys_from_env({}), Limits())
    with serving(app, read_timeout=5, max_connections=1) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as held:
            held.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # one connection open, its request unfinished
            time.sleep(0.3)
            answer = half_sent(url, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 503 ")
