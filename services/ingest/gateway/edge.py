"""What the gateway does to each event before it is published: the caller's identifier becomes the
pseudonym (``data.customer`` → ``data.customer_ref``, the raw value never kept), the contract's models
judge it (the same reasons as the dead-letter topic), and the token must cover its council and source."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from pipelines.decode import decode
from pipelines.events import Event, micros
from pipelines.pseudonym import IdentifierKind, PseudonymError, customer_ref
from schemas.reasons import Rejected
from services.ingest.gateway.tokens import Token

CUSTOMER = "customer"
NO_KEY = "no_pseudonym_key"
BAD_CUSTOMER = "bad_field:customer"
KeyFor = Callable[[str], bytes | None]  # council -> its pseudonym key


@dataclass(frozen=True, slots=True)
class Judged:
    index: int
    raw: bytes | None = None  # the event to publish, as the contract's JSON
    event: Event | None = None
    reason: str | None = None
    detail: str = ""
    forbidden: bool = False


def pseudonymise(obj: Any, key_for: KeyFor) -> tuple[Any, str | None, str]:
    """``data.customer`` as ``data.customer_ref``; (event, reason, detail) with a reason when it cannot be."""
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), dict) or CUSTOMER not in obj["data"]:
        return obj, None, ""
    data = dict(obj["data"])
    customer = data.pop(CUSTOMER)
    if not (isinstance(customer, dict) and len(customer) == 1):
        return obj, BAD_CUSTOMER, "customer is one of {phone | email | uprn: value}"
    ((kind, value),) = customer.items()
    if kind not in {k.value for k in IdentifierKind} or not isinstance(value, str):
        return obj, BAD_CUSTOMER, "customer is one of {phone | email | uprn: value}"
    if "customer_ref" in data:
        return obj, BAD_CUSTOMER, "customer and customer_ref together"
    key = key_for(str(data.get("council", "")))
    if key is None:
        return obj, NO_KEY, "this gateway has no pseudonym key for the council: send customer_ref"
    try:
        data["customer_ref"] = customer_ref(kind, value, key)
    except PseudonymError:
        return obj, BAD_CUSTOMER, f"customer.{kind} is not a valid {kind}"  # never the value itself
    return {**obj, "data": data}, None, ""


def judge(events: list[Any], token: Token, now: datetime, key_for: KeyFor) -> list[Judged]:
    """Each event of a request judged, in order."""
    now_us = micros(now)
    out = []
    for i, obj in enumerate(events):
        obj, reason, detail = pseudonymise(obj, key_for)
        if reason is not None:
            out.append(Judged(i, reason=reason, detail=detail))
            continue
        raw = orjson.dumps(obj)
        try:
            event = decode(raw, now, now_us)
        except Rejected as exc:
            out.append(Judged(i, reason=exc.reason, detail=exc.detail))
            continue
        if not token.may_emit(event.council, event.source):
            out.append(
                Judged(
                    i,
                    raw,
                    event,
                    "forbidden",
                    f"this token may not emit for council {event.council!r} or source {event.source!r}",
                    forbidden=True,
                )
            )
            continue
        out.append(Judged(i, raw, event))
    return out


def keys_from_env(env: Mapping[str, str], name: str = "CONTACTPULSE_PSEUDONYM_KEY") -> KeyFor:
    """A council's key: ``NAME_<COUNCIL>`` (the slug upper-cased, '-' as '_'), else ``NAME``; None if neither."""

    def key_for(council: str) -> bytes | None:
        value = env.get(f"{name}_{council.upper().replace('-', '_')}") or env.get(name)
        return value.encode() if value else None

    return key_for
