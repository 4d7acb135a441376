"""The gateway as an integrator's client sees it: events made and sent by the official CloudEvents SDK
for Python (``cloudevents``, its current ``cloudevents.core`` API), in binary and structured modes, to
the gateway on the real broker. The SDK percent-encodes ``ce-`` header values as the HTTP binding says
(3.1.3.2); the gateway decodes them, so a subject with a space and a non-ASCII letter arrives whole."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from cloudevents.core.bindings import http
from cloudevents.core.v1.event import CloudEvent
from kafka import KafkaConsumer

from tests.conftest import BOOTSTRAP, Topics
from tests.integration.test_gateway import Gateway
from tests.support.gateway import post

pytestmark = pytest.mark.integration
CONTACT = "P1 enc sp\u00e9"  # a space and a non-ASCII letter


def event(event_id: str, **extra: str) -> CloudEvent:
    attributes = {
        "id": event_id,
        "source": "/boston/webchat/widget",
        "type": "contact.queued",
        "subject": CONTACT,
        "time": datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        **extra,
    }
    data = {"contact_id": CONTACT, "council": "boston", "channel": "webchat", "queue": "revenues"}
    return CloudEvent(attributes=attributes, data=data)


def test_the_official_sdk_in_binary_and_structured_modes(tmp_path: Path, topics: Topics) -> None:
    gateway = Gateway(tmp_path, topics)
    try:
        gateway.connected()
        binary = http.to_binary_event(event("sdk-binary"))  # no datacontenttype: no Content-Type header
        assert binary.headers["ce-subject"] == "P1%20enc%20sp%C3%A9"  # what the SDK sends
        assert not any(k.lower() == "content-type" for k in binary.headers)
        typed = http.to_binary_event(event("sdk-binary-typed", datacontenttype="application/json"))
        structured = http.to_structured_event(event("sdk-structured"))
        for message in (binary, typed, structured):  # the SDK's headers exactly as it made them
            answer = post(gateway.url + "/v1/events", message.body, None, gateway.token, dict(message.headers))
            assert answer.status == 202, answer.body
    finally:
        gateway.stop()
    consumer = KafkaConsumer(
        topics.events,
        bootstrap_servers=BOOTSTRAP,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=5000,
    )
    try:
        got = {e["id"]: e for e in (orjson.loads(m.value) for m in consumer)}
    finally:
        consumer.close()
    assert sorted(got) == ["sdk-binary", "sdk-binary-typed", "sdk-structured"]
    for e in got.values():
        assert e["subject"] == e["data"]["contact_id"] == CONTACT and e["time"].startswith("2026-03-02T09:00:00")
