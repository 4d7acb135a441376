"""What every webhook adapter shares: JSON pointers (RFC 6901), the cut payload, times and event ids.

At the gateway an adapter *admits* a payload: it keeps only the fields its mapping reads (never message
text, names or addresses), turns the customer's identifier into ``customer_ref`` with the council's key,
and names the Kafka key that keeps one conversation's payloads in order. After Kafka the mapper *maps*
the admitted payload to contract events; what it cannot map raises ``Unmappable`` with a stable reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol

from pipelines.pseudonym import PseudonymError, customer_ref
from services.ingest.sources import FORM_BODY, JSON_BODY

UNMAPPABLE = "unmappable:"
MAX_ID = 128
BODY_TYPES = (JSON_BODY, FORM_BODY)  # what a webhook's mapping may declare its vendor posts
_MISSING = object()


class Unmappable(ValueError):
    """A payload no contract event can be made of; ``reason`` is stable (``unmappable:<why>``)."""

    def __init__(self, why: str, detail: str = "") -> None:
        super().__init__(f"{why}: {detail}" if detail else why)
        self.reason = UNMAPPABLE + why
        self.detail = detail


KeyFor = Callable[[str], bytes | None]  # council -> its pseudonym key
State = MutableMapping[str, Any]  # an adapter's memory of one partition's conversations


class Adapter(Protocol):
    @property
    def name(self) -> str:  # the webhook's name in the webhooks file: its URL, the events' ids, dead letters
        ...

    @property
    def vendor(self) -> str: ...

    @property
    def content_type(self) -> str:  # JSON_BODY or FORM_BODY: how the vendor's body is decoded
        ...

    @property
    def council(self) -> str: ...

    @property
    def source(self) -> str: ...

    def admit(self, payload: Any, key_for: KeyFor) -> tuple[bytes | None, dict[str, Any]]:
        """(Kafka key, the cut payload) at the gateway; Unmappable if it is not even an object."""
        ...

    def map(self, payload: dict[str, Any], received_us: int, state: State) -> list[dict[str, Any]]:
        """The contract events (CloudEvents objects) of one admitted payload, in order."""
        ...


def pointer(doc: Any, path: str) -> Any:
    """The value at a JSON pointer (RFC 6901: ``/a/0/b``, ``~1`` for '/', ``~0`` for '~'); None if absent."""
    if path == "":
        return doc
    for token in path.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(doc, dict):
            doc = doc.get(token, _MISSING)
        elif isinstance(doc, list) and token.isdigit() and int(token) < len(doc):
            doc = doc[int(token)]
        else:
            return None
        if doc is _MISSING:
            return None
    return doc


def check_pointer(path: str) -> str:
    if path != "" and not path.startswith("/"):
        raise ValueError(f"{path!r} is not a JSON pointer (RFC 6901: it starts with '/', e.g. /form_response/token)")
    return path


def cut(doc: Any, paths: Iterable[str]) -> dict[str, Any]:
    """A new object holding only the values at these pointers, at the same places (arrays as objects)."""
    out: dict[str, Any] = {}
    for path in paths:
        value = pointer(doc, path)
        if value is None or isinstance(value, (dict, list)):
            continue  # only scalars are kept: a pointer to an object never drags its contents along
        place = out
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in path.split("/")[1:]]
        for token in tokens[:-1]:
            place = place.setdefault(token, {})
        place[tokens[-1]] = value
    return out


def pseudonymise(kind: str, value: Any, council: str, key_for: KeyFor) -> str | None:
    """The customer_ref of an identifier, or None (no key, or not a valid identifier: it is dropped)."""
    key = key_for(council)
    if key is None or not isinstance(value, str) or not value.strip():
        return None
    try:
        return customer_ref(kind, value, key)
    except PseudonymError:
        return None


def parse_time(value: Any, fmt: str = "auto", zone: tzinfo = UTC) -> datetime:
    """A vendor's time: epoch seconds (int), RFC 3339 / ISO 8601, ``2020-03-03 13:05:57 UTC``, or ``fmt``
    (``epoch``, ``epoch_ms`` or a strptime format); a time without an offset is in ``zone``."""
    try:
        if fmt == "epoch_ms":
            return datetime.fromtimestamp(float(value) / 1000, UTC)
        if fmt == "epoch" or (fmt == "auto" and isinstance(value, (int, float)) and not isinstance(value, bool)):
            return datetime.fromtimestamp(float(value), UTC)
        if not isinstance(value, str):
            raise ValueError("not a string")
        if fmt == "auto":
            text = value.strip().removesuffix(" UTC").replace("Z", "+00:00")
            parsed = datetime.fromisoformat(text)
            if value.strip().endswith(" UTC"):
                parsed = parsed.replace(tzinfo=UTC)
        else:
            parsed = datetime.strptime(value.strip(), fmt)
    except (ValueError, TypeError, OverflowError, OSError) as exc:
        raise Unmappable("bad_time", f"{str(value)[:40]!r} is not a time ({exc})") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_id(*parts: object) -> str:
    """A deterministic id from what identifies the event in the vendor's payload (a retry gives the same)."""
    text = ":".join(str(p) for p in parts)
    return text if len(text) <= MAX_ID else text[:80] + ":" + hashlib.sha256(text.encode()).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class Emit:
    """What one contract event of an adapter is made of."""

    type: str
    contact_id: str
    time: datetime
    data: dict[str, Any]


def cloudevent(adapter: Adapter, e: Emit, *id_parts: object) -> dict[str, Any]:
    extra = {k: v for k, v in e.data.items() if v is not None}
    data = {"contact_id": e.contact_id, "council": adapter.council, **extra}
    return {
        "specversion": "1.0",
        "id": event_id(adapter.name, *id_parts),
        "source": adapter.source,
        "type": e.type,
        "time": rfc3339(e.time),
        "subject": e.contact_id,
        "datacontenttype": "application/json",
        "data": data,
    }


# the webhooks topic's headers, set by the gateway
WEBHOOK_HEADER = "webhook"
RECEIVED_HEADER = "received_at_us"
