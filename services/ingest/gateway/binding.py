"""The CloudEvents HTTP binding (CloudEvents 1.0, HTTP protocol binding): a request's events, in its mode.

- structured: ``Content-Type: application/cloudevents+json``, the body one event;
- batched: ``application/cloudevents-batch+json``, the body a JSON array of events;
- binary: ``ce-`` headers for the attributes, the body the event's ``data`` (JSON). ``Content-Type``
  is the event's ``datacontenttype``, so a sender that leaves that optional attribute out (the official
  Python SDK's default) sends none: its data is then taken as JSON, the only kind the contract carries.
  The binding has the sender percent-encode a header value's space, ``"``, ``%`` and every character outside printable
  ASCII (UTF-8, RFC 3986), and the receiver decode it: ``ce-subject: P1%20enc%20sp`` is ``P1 enc sp``.

Each event comes out as the contract's structured JSON object, so that the same models judge it as on
Kafka. Problems of the request as a whole raise ``BindingError`` with its HTTP status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import orjson

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
JSON = "application/json"
# the context attributes of binary mode's ce- headers: the contract's, and any extension
CORE_ATTRIBUTES = ("specversion", "id", "source", "type", "time", "subject")


@dataclass(frozen=True)
class BindingError(Exception):
    status: int
    title: str
    detail: str


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def events_of(content_type: str | None, headers: Mapping[str, str], body: bytes, max_events: int) -> list[Any]:
    """The request's events as JSON values (each judged later, one by one); BindingError for the request."""
    kind = media_type(content_type)
    if kind == STRUCTURED:
        return [_json(body)]
    if kind == BATCH:
        batch = _json(body)
        if not isinstance(batch, list):
            raise BindingError(400, "Not a batch", "a batched request's body is a JSON array of events")
        if len(batch) > max_events:
            raise BindingError(413, "Too many events", f"{len(batch)} events; at most {max_events} a request")
        if not batch:
            raise BindingError(400, "Empty batch", "a batch holds at least one event")
        return batch
    if "ce-specversion" in headers:
        if kind not in (JSON, ""):
            detail = f"binary mode carries JSON data (Content-Type: {JSON}, or none), not {kind}"
            raise BindingError(415, "Unsupported media type", detail)
        return [_binary(headers, body)]
    raise BindingError(
        415,
        "Unsupported media type",
        f"send {STRUCTURED}, {BATCH}, or {JSON} with ce- headers (binary mode); not {kind or 'no content type'}",
    )


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BindingError(400, "Not JSON", f"the body is not JSON: {exc}") from None


def _binary(headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    try:
        return _attributes(headers, body)
    except UnicodeDecodeError:
        raise BindingError(400, "Bad header", "a ce- header's percent-encoding is not UTF-8") from None


def _attributes(headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    event: dict[str, Any] = {}
    for name, value in headers.items():
        if name.startswith("ce-"):
            event[name.removeprefix("ce-")] = unquote(value, errors="strict") if "%" in value else value
    event["datacontenttype"] = JSON
    event["data"] = _json(body)
    return event
