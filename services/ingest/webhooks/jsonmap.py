"""Any other vendor's webhook, mapped by a table in the webhooks file (no code).

```toml
[webhook.forms-boston]
vendor = "json"
council = "boston"
source = "/boston/web/typeform"
time_format = "auto"           # auto (RFC 3339, ISO 8601, epoch seconds), epoch, epoch_ms, or a strptime format
time_zone = "Europe/London"    # for times that carry no offset
content_type = "application/json"  # or "application/x-www-form-urlencoded": its fields as a flat object
[webhook.forms-boston.fields]  # contract field -> JSON pointer (RFC 6901) into the vendor's payload
contact_id = "/form_response/token"
status = "/event_type"         # the value looked up in [events]
time = "/form_response/submitted_at"
service = "/form_response/hidden/service"
[webhook.forms-boston.times]   # optional: a type's own time
"contact.started" = "/form_response/landed_at"
[webhook.forms-boston.constants]
channel = "web"
[webhook.forms-boston.customer] # identifier kind -> pointer: made a pseudonym at the gateway, never kept
email = "/form_response/hidden/email"
[webhook.forms-boston.events]  # the vendor's status -> contract event types, in order ([] ignores it)
form_response = ["contact.started", "contact.ended"]
```

A status missing from ``[events]`` is unmappable (the payload goes to the dead-letter topic), so a new
kind of payload from the vendor is seen rather than silently dropped. Each event's id is the webhook's
name, the contact, the status, the type and the time: a repeated delivery gives the same ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines.pseudonym import IdentifierKind
from schemas.events import EventType
from services.ingest.sources import FORM_BODY, JSON_BODY, Option, Source
from services.ingest.webhooks.adapter import (
    BODY_TYPES,
    Emit,
    KeyFor,
    State,
    Unmappable,
    check_pointer,
    cloudevent,
    cut,
    parse_time,
    pointer,
    pseudonymise,
)

VENDOR = "json"
MAPPED_FIELDS = (
    "contact_id",
    "status",
    "time",
    "channel",
    "service",
    "queue",
    "site",
    "agent_ref",
    "resolution",
    "rating",
)
REQUIRED_FIELDS = ("contact_id", "status", "time")
SOURCE = Source(
    VENDOR,
    "webhook",
    "any other vendor's JSON (or form) webhook, mapped by a table: no code",
    "webhooks/json",
    "services.ingest.webhooks.jsonmap:build",
    "https://www.rfc-editor.org/rfc/rfc6901",
    (
        Option("fields", "contract field -> JSON pointer (contact_id, status and time at least)", dict, dict),
        Option("events", "the vendor's status -> the contract event types it makes, in order", dict, dict),
        Option("times", "a type's own time: contract type -> JSON pointer", dict, dict),
        Option("constants", "contract field -> a fixed value (channel, service, queue...)", dict, dict),
        Option(
            "customer", "identifier kind (phone, email...) -> JSON pointer: made a pseudonym at the gateway", dict, dict
        ),
        Option(
            "time_format",
            "auto (RFC 3339, ISO 8601, epoch seconds), epoch, epoch_ms or a strptime format",
            default="auto",
        ),
        Option("time_zone", "the IANA zone of times that carry no offset", default="Europe/London"),
        Option("content_type", f"what the vendor posts: {JSON_BODY} or {FORM_BODY}", default=JSON_BODY),
    ),
)


def build(name: str, council: str, source: str, o: dict[str, Any]) -> JsonMapping:
    """The mapping of a ``[webhook.NAME] vendor = "json"`` table (its options checked by SOURCE)."""
    try:
        zone = ZoneInfo(o["time_zone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time_zone {o['time_zone']!r} (an IANA name)") from None
    events = {str(k): tuple(v) for k, v in o["events"].items()}
    return JsonMapping(
        name, council, source, dict(o["fields"]), events, zone, dict(o["times"]), dict(o["constants"]),
        dict(o["customer"]), o["time_format"], o["content_type"],
    )  # fmt: skip


@dataclass(frozen=True)
class JsonMapping:
    name: str
    council: str
    source: str
    fields: dict[str, str]  # contract field -> pointer
    events: dict[str, tuple[str, ...]]  # vendor status -> contract types
    zone: tzinfo
    times: dict[str, str] = field(default_factory=dict)  # contract type -> pointer
    constants: dict[str, Any] = field(default_factory=dict)
    customer: dict[str, str] = field(default_factory=dict)  # identifier kind -> pointer
    time_format: str = "auto"
    content_type: str = JSON_BODY  # or FORM_BODY: what the vendor posts
    vendor: str = VENDOR

    def __post_init__(self) -> None:
        if self.content_type not in BODY_TYPES:
            raise ValueError(f"content_type is one of {', '.join(BODY_TYPES)}")
        unknown = set(self.fields) - set(MAPPED_FIELDS)
        if unknown:
            raise ValueError(
                f"fields: unknown contract field(s) {', '.join(sorted(unknown))} (one of {', '.join(MAPPED_FIELDS)})"
            )
        missing = [f for f in REQUIRED_FIELDS if f not in self.fields]
        if missing:
            raise ValueError(f"fields: {', '.join(missing)} must be mapped")
        types = {t.value for t in EventType}
        bad = sorted({t for ts in self.events.values() for t in ts} - types | set(self.times) - types)
        if bad:
            raise ValueError(f"events: unknown event type(s) {', '.join(bad)}")
        kinds = {k.value for k in IdentifierKind}
        if set(self.customer) - kinds:
            raise ValueError(f"customer: the identifier is one of {', '.join(sorted(kinds))}")
        for path in (*self.fields.values(), *self.times.values(), *self.customer.values()):
            check_pointer(path)

    def admit(self, payload: Any, key_for: KeyFor) -> tuple[bytes | None, dict[str, Any]]:
        if not isinstance(payload, dict):
            raise Unmappable("not_object", "the payload is not a JSON object")
        kept = cut(payload, [*self.fields.values(), *self.times.values()])
        for kind, path in self.customer.items():
            ref = pseudonymise(kind, pointer(payload, path), self.council, key_for)
            if ref:
                kept["customer_ref"] = ref
                break
        contact = pointer(payload, self.fields["contact_id"])
        return (None if contact is None else f"{self.name}:{contact}".encode()), kept

    def map(self, payload: dict[str, Any], received_us: int, state: State) -> list[dict[str, Any]]:
        status = pointer(payload, self.fields["status"])
        if status is None:
            raise Unmappable("missing:status", f"nothing at {self.fields['status']}")
        if str(status) not in self.events:
            raise Unmappable("unknown_status", f"{str(status)[:60]!r} is not in [events] of webhook {self.name}")
        contact = pointer(payload, self.fields["contact_id"])
        if contact is None or str(contact) == "":
            raise Unmappable("missing:contact_id", f"nothing at {self.fields['contact_id']}")
        data = {**self.constants}
        for name in MAPPED_FIELDS[3:]:
            if name in self.fields:
                value = pointer(payload, self.fields[name])
                if value is not None:
                    data[name] = value
        if "customer_ref" in payload:
            data["customer_ref"] = payload["customer_ref"]
        out = []
        for type_ in self.events[str(status)]:
            path = self.times.get(type_, self.fields["time"])
            raw = pointer(payload, path)
            if raw is None:
                raise Unmappable("missing:time", f"nothing at {path}")
            at = parse_time(raw, self.time_format, self.zone)
            e = Emit(type_, str(contact), at, data)
            out.append(cloudevent(self, e, contact, status, type_, int(at.timestamp() * 1000)))
        return out
