"""Every rule of EVENTS.md, and every rejection reason, as a table."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest

from schemas.events import EventType
from schemas.reasons import Rejected, parse_event
from tests.support.builders import T0, ev, raw

NOW = T0 + timedelta(hours=1)


def with_data(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**event, "data": {**event["data"], **changes}}


def without(event: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != key}


def data_without(event: dict[str, Any], key: str) -> dict[str, Any]:
    return {**event, "data": {k: v for k, v in event["data"].items() if k != key}}


QUEUED = ev("contact.queued", 0, customer_ref="k3J9sQ0vXb2mT8aLw1Ze", service="council-tax")

REJECTIONS: list[tuple[str, bytes, str]] = [
    ("truncated json", b'{"specversion":', "invalid_json"),
    ("not utf-8", b'{"a":"\xff"}', "invalid_json"),
    ("empty", b"", "invalid_json"),
    ("array", b"[1,2]", "not_cloudevent"),
    ("string", b'"hello"', "not_cloudevent"),
    ("no specversion", raw(without(QUEUED, "specversion")), "not_cloudevent"),
    ("no id", raw(without(QUEUED, "id")), "not_cloudevent"),
    ("no source", raw(without(QUEUED, "source")), "not_cloudevent"),
    ("no type", raw(without(QUEUED, "type")), "not_cloudevent"),
    ("specversion 0.3", raw({**QUEUED, "specversion": "0.3"}), "not_cloudevent"),
    ("unknown type", raw({**QUEUED, "type": "contact.teleported"}), "unknown_type"),
    ("empty id", raw({**QUEUED, "id": ""}), "bad_field:id"),
    ("long id", raw({**QUEUED, "id": "x" * 129}), "bad_field:id"),
    ("empty source", raw({**QUEUED, "source": ""}), "bad_field:source"),
    ("no time", raw(without(QUEUED, "time")), "bad_field:time"),
    ("time without offset", raw({**QUEUED, "time": "2026-03-02T09:00:00"}), "bad_field:time"),
    ("time as number", raw({**QUEUED, "time": 1772442000}), "bad_field:time"),
    ("time not a date", raw({**QUEUED, "time": "yesterday"}), "bad_field:time"),
    ("before 2000", raw({**QUEUED, "time": "1999-12-31T23:59:59Z"}), "before_2000"),
    ("six minutes ahead", raw({**QUEUED, "time": (NOW + timedelta(minutes=6)).isoformat()}), "future_time"),
    ("datacontenttype", raw({**QUEUED, "datacontenttype": "text/xml"}), "bad_field:datacontenttype"),
    ("no data", raw(without(QUEUED, "data")), "bad_field:data"),
    ("data not object", raw({**QUEUED, "data": "x"}), "bad_field:data"),
    ("subject differs", raw({**QUEUED, "subject": "C-2"}), "subject_mismatch"),
    ("no contact_id", raw(data_without(QUEUED, "contact_id")), "bad_field:contact_id"),
    ("long contact_id", raw(with_data(QUEUED, contact_id="c" * 129, subject=None)), "bad_field:contact_id"),
    ("no council", raw(data_without(QUEUED, "council")), "bad_field:council"),
    ("council upper case", raw(with_data(QUEUED, council="Boston")), "bad_field:council"),
    ("council one char", raw(with_data(QUEUED, council="b")), "bad_field:council"),
    ("channel unknown", raw(with_data(QUEUED, channel="fax")), "bad_field:channel"),
    ("queued without channel", raw(data_without(QUEUED, "channel")), "bad_field:channel"),
    ("started without channel", raw(data_without(ev("contact.started", 0), "channel")), "bad_field:channel"),
    ("queued without queue", raw(data_without(QUEUED, "queue")), "bad_field:queue"),
    ("queued with null queue", raw(with_data(QUEUED, queue=None)), "bad_field:queue"),
    ("transferred without queue", raw(data_without(ev("contact.transferred", 0), "queue")), "bad_field:queue"),
    ("queue not a slug", raw(with_data(QUEUED, queue="Revenues Team")), "bad_field:queue"),
    ("service not a slug", raw(with_data(QUEUED, service="-tax")), "bad_field:service"),
    ("site not a slug", raw(with_data(QUEUED, site="Bury St Edmunds")), "bad_field:site"),
    (
        "wrapped_up without resolution",
        raw(data_without(ev("contact.wrapped_up", 0), "resolution")),
        "bad_field:resolution",
    ),
    ("resolution unknown", raw(with_data(ev("contact.wrapped_up", 0), resolution="sorted")), "bad_field:resolution"),
    ("surveyed without rating", raw(data_without(ev("contact.surveyed", 0), "rating")), "bad_field:rating"),
    ("rating 6", raw(with_data(ev("contact.surveyed", 0), rating=6)), "bad_field:rating"),
    ("rating 0", raw(with_data(ev("contact.surveyed", 0), rating=0)), "bad_field:rating"),
    ("rating as text", raw(with_data(ev("contact.surveyed", 0), rating="5")), "bad_field:rating"),
    ("rating as float", raw(with_data(ev("contact.surveyed", 0), rating=4.5)), "bad_field:rating"),
    ("customer_ref email", raw(with_data(QUEUED, customer_ref="jo.bloggs@example.org")), "pii_in_customer_ref"),
    ("customer_ref phone", raw(with_data(QUEUED, customer_ref="07700900123")), "pii_in_customer_ref"),
    ("customer_ref long digits", raw(with_data(QUEUED, customer_ref="447700900123000000")), "pii_in_customer_ref"),
    ("customer_ref uprn number", raw(with_data(QUEUED, customer_ref=100030123456)), "pii_in_customer_ref"),
    (
        "customer_ref phone with dashes",
        raw(with_data(QUEUED, customer_ref="0770-090-0123-4567")),
        "pii_in_customer_ref",
    ),
    ("customer_ref too short", raw(with_data(QUEUED, customer_ref="abc123")), "bad_field:customer_ref"),
    ("customer_ref bad chars", raw(with_data(QUEUED, customer_ref="abc def ghi jkl mno")), "bad_field:customer_ref"),
    ("pii wins over other faults", raw(with_data(QUEUED, customer_ref="a@b.co", council="X")), "pii_in_customer_ref"),
]


@pytest.mark.parametrize(("case", "message", "reason"), REJECTIONS, ids=[c[0] for c in REJECTIONS])
def test_rejection_reason(case: str, message: bytes, reason: str) -> None:
    with pytest.raises(Rejected) as exc:
        parse_event(message, NOW)
    assert exc.value.reason == reason, exc.value.detail


ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("the EVENTS.md example", QUEUED),
    ("every type with what it requires", ev("contact.surveyed", 0)),
    ("offset other than Z, stored as UTC", {**QUEUED, "time": "2026-03-02T10:00:00+01:00"}),
    ("five minutes ahead exactly", {**QUEUED, "time": (NOW + timedelta(minutes=5)).isoformat()}),
    ("no subject", without(QUEUED, "subject")),
    ("datacontenttype json", {**QUEUED, "datacontenttype": "application/json"}),
    ("optional null is absent", with_data(QUEUED, service=None, site=None, customer_ref=None, agent_ref=None)),
    ("rating ignored on answered", with_data(ev("contact.answered", 0), rating="very good")),
    ("resolution ignored on ended", with_data(ev("contact.ended", 0), resolution="sorted")),
    ("unknown data fields ignored", with_data(QUEUED, colour="blue")),
    ("extension attributes kept", {**QUEUED, "traceparent": "00-abc"}),
    ("channel optional on answered", ev("contact.answered", 0)),
]


@pytest.mark.parametrize(("case", "event"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_accepted(case: str, event: dict[str, Any]) -> None:
    parsed = parse_event(raw(event), NOW)
    assert parsed.id == event["id"]
    assert parsed.data.contact_id == event["data"]["contact_id"]
    assert parsed.time.utcoffset() == timedelta(0)


def test_time_is_stored_as_utc() -> None:
    parsed = parse_event(raw({**QUEUED, "time": "2026-03-02T10:00:00+01:00"}), NOW)
    assert parsed.time == T0


@pytest.mark.parametrize("type_", list(EventType))
def test_each_type_parses_to_its_model(type_: EventType) -> None:
    parsed = parse_event(raw(ev(type_.value, 0)), NOW)
    assert parsed.type is type_


def test_rating_and_resolution_kept_on_their_own_types() -> None:
    surveyed = parse_event(raw(ev("contact.surveyed", 0, rating=2)), NOW)
    wrapped = parse_event(raw(ev("contact.wrapped_up", 0, resolution="referred")), NOW)
    assert getattr(surveyed.data, "rating") == 2  # noqa: B009 - the union's common type has no rating
    assert getattr(wrapped.data, "resolution") == "referred"  # noqa: B009


def test_ingest_time_defaults_to_now() -> None:
    far = orjson.loads(raw(QUEUED))
    far["time"] = "2999-01-01T00:00:00Z"
    with pytest.raises(Rejected) as exc:
        parse_event(orjson.dumps(far))
    assert exc.value.reason == "future_time"
