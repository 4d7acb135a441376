"""The generic JSON mapper on the worked mapping shipped in docs/webhooks.example.toml, with payloads in
Typeform's webhook format: Typeform's "Example webhook payload" page
(https://www.typeform.com/developers/webhooks/example-payload/): ``event_id``, ``event_type``
("form_response"), ``form_response`` with ``form_id``, ``token`` (the response), ``landed_at``,
``submitted_at`` (RFC 3339, UTC), ``hidden`` (the form's hidden fields), ``definition`` and ``answers``."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from pipelines.facts import compute_facts
from pipelines.rules import MetricRules
from services.errors import UserError
from services.ingest.webhooks.config import load_webhooks
from services.ingest.webhooks.jsonmap import JsonMapping
from services.ingest.webhooks.mapper import DEAD_LETTERED, IGNORED, MAPPED, Record, WebhookMapper
from tests.support.builders import T0
from tests.support.facts import to_events

ROOT = Path(__file__).resolve().parents[3]
WEBHOOKS = load_webhooks(ROOT / "docs" / "webhooks.example.toml")
FORMS = WEBHOOKS["forms-boston"]
KEY = b"k" * 32


def typeform(
    token: str = "a3a12ec67a1365927098a606107fac15",
    event_type: str = "form_response",
    hidden: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "event_id": "LtWXD3crgy",
        "event_type": event_type,
        "form_response": {
            "form_id": "lT4Z3j",
            "token": token,
            "landed_at": "2026-03-02T09:00:00Z",
            "submitted_at": "2026-03-02T09:04:30Z",
            "hidden": hidden if hidden is not None else {"service": "waste", "email": "resident@example.org"},
            "definition": {
                "id": "lT4Z3j",
                "title": "Report a missed bin",
                "fields": [{"id": "DlXFaesGBpoF", "title": "Which street?", "type": "short_text", "ref": "street"}],
            },
            "answers": [
                {
                    "type": "text",
                    "text": "12 High Street, Boston",
                    "field": {"id": "DlXFaesGBpoF", "type": "short_text"},
                }
            ],
        },
    }


def mapped(payloads: list[Any]) -> tuple[list[dict[str, Any]], Any]:
    mapper = WebhookMapper(WEBHOOKS)
    records = []
    for i, p in enumerate(payloads):
        key, kept = FORMS.admit(p, lambda council: KEY)
        records.append(Record("t", 0, i, key, orjson.dumps(kept), {"webhook": FORMS.name, "received_at_us": "0"}))
    out = mapper.map(records, now=T0.replace(day=3))
    return [orjson.loads(v) for _, v in out.events], out


def test_a_submitted_form_is_a_self_served_web_contact() -> None:
    events, out = mapped([typeform()])
    assert [e["type"] for e in events] == ["contact.started", "contact.ended"]
    f = compute_facts(to_events(events), MetricRules())
    assert (f.channel, f.service, f.outcome, f.answered_within_sl) == ("web", "waste", "self_served", None)
    assert f.ended_at is not None and (f.ended_at - f.started_at) / 1e6 == 270.0  # landed 09:00:00, submitted 09:04:30
    assert f.customer_ref is not None and f.contact_id == "a3a12ec67a1365927098a606107fac15"
    assert out.counts == {("forms-boston", MAPPED): 1}


def test_only_the_mapped_fields_are_kept_and_the_email_is_a_pseudonym() -> None:
    _, kept = FORMS.admit(typeform(), lambda council: KEY)
    text = orjson.dumps(kept).decode()
    assert "resident@example.org" not in text and "High Street" not in text and "missed bin" not in text
    assert set(kept) == {"event_type", "form_response", "customer_ref"}


def test_retries_give_the_same_ids_and_statuses_are_looked_up() -> None:
    events, _ = mapped([typeform(), typeform()])
    assert len({e["id"] for e in events}) == 2
    _, out = mapped(
        [typeform(event_type="form_response_partial"), typeform(event_type="form_deleted"), typeform(token="")]
    )
    assert out.counts == {("forms-boston", IGNORED): 1, ("forms-boston", DEAD_LETTERED): 2}
    assert [h["reason"] for _, _, h in out.dead_letters] == [
        "unmappable:unknown_status",
        "unmappable:missing:contact_id",
    ]
    assert out.dead_letters[0][2]["vendor"] == "json"


def test_a_mapping_that_makes_an_invalid_event_dead_letters_with_the_contracts_reason() -> None:
    _, out = mapped([typeform(hidden={"service": "Council Tax!"})])
    assert [h["reason"] for _, _, h in out.dead_letters] == ["unmappable:bad_field:service"]


@pytest.mark.parametrize(("fmt", "zone", "value", "iso"), [
    ("auto", "Europe/London", "2026-07-01T10:00:00+01:00", "2026-07-01T09:00:00.000Z"),
    ("auto", "Europe/London", "2026-07-01 10:00:00", "2026-07-01T09:00:00.000Z"),  # no offset: BST
    ("auto", "Europe/London", 1772442000, "2026-03-02T09:00:00.000Z"),
    ("epoch_ms", "UTC", 1772442000123, "2026-03-02T09:00:00.123Z"),
    ("%d/%m/%Y %H:%M", "Europe/London", "02/03/2026 09:00", "2026-03-02T09:00:00.000Z"),  # GMT in March
])  # fmt: skip
def test_time_formats_and_zones(fmt: str, zone: str, value: Any, iso: str) -> None:
    m = JsonMapping(
        "f",
        "boston",
        "/boston/web/f",
        {"contact_id": "/id", "status": "/s", "time": "/t"},
        {"done": ("contact.started",)},
        ZoneInfo(zone),
        time_format=fmt,
    )
    (event,) = m.map({"id": "1", "s": "done", "t": value}, 0, {})
    assert event["time"] == iso


def test_a_time_that_does_not_parse_is_unmappable() -> None:
    _, out = mapped([{**typeform(), "form_response": {**typeform()["form_response"], "submitted_at": "soon"}}])
    assert [h["reason"] for _, _, h in out.dead_letters] == ["unmappable:bad_time"]


HEAD = 'vendor = "json"\ncouncil = "boston"\nsource = "/b"\n[webhook.x.fields]\n'
MAPPED_THREE = 'contact_id = "/i"\nstatus = "/s"\ntime = "/t"\n'


@pytest.mark.parametrize(("table", "message"), [
    (HEAD + 'contact_id = "/id"', "status, time must be mapped"),
    (HEAD + 'contact_id = "id"\nstatus = "/s"\ntime = "/t"', "not a JSON pointer"),
    (HEAD + MAPPED_THREE + '[webhook.x.events]\ndone = ["contact.finished"]', "unknown event type(s) contact.finished"),
    ('vendor = "chatwoot"\ncouncil = "boston"\nsource = "/b"', "missing account: the Chatwoot account's number"),
    ('vendor = "chatwoot"\ncouncil = "boston"\nsource = "/b"\naccount = "7"', "account is a whole number"),
    ('vendor = "chatwoot"\ncouncil = "boston"\nsource = "/b"\naccount = 7\ninbox = 1', "unknown key(s) inbox"),
    ('vendor = "twilio-taskrouter"\ncouncil = "boston"\nsource = "/b"', "missing workspace"),
    ('vendor = "twilio-taskrouter"\ncouncil = "boston"\nsource = "/b"\nworkspace = "WS1"\ndefault_resolution = "done"',
     "default_resolution is one of"),
    ('vendor = "zendesk"\ncouncil = "boston"\nsource = "/b"', "vendor 'zendesk' is not one of"),
    ('vendor = "json"\ncouncil = "Boston"\nsource = "/b"', "not a council slug"),
])  # fmt: skip
def test_a_wrong_webhooks_file_is_one_line_naming_the_webhook(tmp_path: Path, table: str, message: str) -> None:
    path = tmp_path / "webhooks.toml"
    path.write_text("[webhook.x]\n" + table + "\n")
    with pytest.raises(UserError) as exc:
        load_webhooks(path)
    assert str(exc.value).startswith(f"{path}: webhook x: ") and message in str(exc.value)
    assert "\n" not in str(exc.value)
