"""``POST /v1/webhooks/{name}``: a vendor's webhook, kept on Kafka before it is answered.

Once the caller is known (its token covers the webhook's council and source, within its rate limit) and
the body fits, the body is decoded by its content type: JSON, or an HTML form's
``application/x-www-form-urlencoded`` fields as a flat object (a body sent without a type is read as the
type the webhook's source declares). Any other type, or a body that is not what its type says, is 415,
and nothing of it is published anywhere. A decoded body is cut by the webhook's adapter to the
fields its mapping reads (identifiers already pseudonyms) and kept on the webhooks topic; one the
adapter refuses (not an object, say) goes to the dead-letter topic with its reason and the vendor, every
identifier masked (pipelines.redact). The answer is 200 once Kafka holds it; 503 when Kafka does not
acknowledge, in which case the payload may still have been kept: the vendor's retry is then mapped to
the same event ids, and the consumer drops the repeat. Vendors that cannot send a header put the token
in the URL (``/v1/webhooks/{name}/{token}``, Chatwoot's own mechanism); either way it is never logged.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi.responses import JSONResponse, Response

from pipelines.redact import redact
from services.ingest.gateway.binding import media_type
from services.ingest.gateway.edge import KeyFor
from services.ingest.gateway.limits import RateLimit
from services.ingest.gateway.metrics import GatewayMetrics
from services.ingest.gateway.problems import problem
from services.ingest.gateway.publisher import Publisher, Unavailable
from services.ingest.gateway.tokens import Token
from services.ingest.sources import FORM_BODY, JSON_BODY, of_kind
from services.ingest.webhooks.adapter import (
    RECEIVED_HEADER,
    WEBHOOK_HEADER,
    Adapter,
    Unmappable,
)

WEBHOOKS_ROUTE = "/v1/webhooks/{name}"
UNACKNOWLEDGED = (
    "Kafka did not acknowledge. The payload may still have been kept: send it again; the repeat "
    "makes the same event ids, and the consumer drops it as a duplicate."
)


class NotDecodable(Exception):
    """A body that is not of the type the webhook's mapping declares (415)."""


def decode(body: bytes, declared: str, content_type: str | None) -> Any:
    """The payload of a body, decoded by the type it was sent as (JSON, or an HTML form's fields as a flat
    object); a body sent with no type is read as the type its webhook's source declares. NotDecodable
    for any other type, or for a body that is not what its type says."""
    sent = media_type(content_type) or declared
    if sent == FORM_BODY:
        try:
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body)))
        except (UnicodeDecodeError, ValueError):
            raise NotDecodable(f"the body is not {FORM_BODY}") from None
    if sent != JSON_BODY and not sent.endswith("+json"):
        raise NotDecodable(f"{sent} is neither {JSON_BODY} nor {FORM_BODY}")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise NotDecodable(f"the body is not JSON, as its type {sent} says") from None


class Vendors:
    def __init__(
        self,
        adapters: Mapping[str, Adapter],
        publisher: Publisher,
        metrics: GatewayMetrics,
        key_for: KeyFor,
        webhooks_topic: str,
        dlq_topic: str,
        rate: RateLimit,
    ) -> None:
        self.adapters, self.publisher, self.metrics, self.key_for = adapters, publisher, metrics, key_for
        self.webhooks_topic, self.dlq_topic, self.rate = webhooks_topic, dlq_topic, rate

    def known(self, name: str) -> Adapter | None:
        return self.adapters.get(name)

    async def receive(self, name: str, token: Token, body: bytes, content_type: str | None = None) -> Response:
        adapter = self.adapters.get(name)
        if adapter is None:
            return problem(404, "Not found", f"no webhook {name[:40]!r} is configured (gateway_webhooks)")
        if not token.may_emit(adapter.council, adapter.source):
            return problem(
                403,
                "Forbidden",
                f"this token may not emit for council {adapter.council!r} or source {adapter.source!r}",
            )
        wait = self.rate.take(token.id, 1)
        if wait:
            return problem(
                429,
                "Too many requests",
                f"over this token's limit of {self.rate.rate:g} webhook requests a second",
                headers={"Retry-After": f"{wait:.0f}"},
            )
        now_us = str(time.time_ns() // 1000)
        headers = {WEBHOOK_HEADER: name, RECEIVED_HEADER: now_us}
        try:
            payload = decode(body, adapter.content_type, content_type)
        except NotDecodable as exc:
            return problem(415, "Unsupported media type", f"{exc}; nothing of it was kept")
        try:
            key, kept = adapter.admit(payload, self.key_for)
        except Unmappable as exc:
            return await self._dead(name, adapter, headers, exc, redact(body.decode("utf-8", "replace")).encode())
        return await self._publish(name, "kept", (key, orjson.dumps(kept)), self.webhooks_topic, headers)

    async def _dead(
        self, name: str, adapter: Adapter, headers: dict[str, str], exc: Unmappable, value: bytes
    ) -> Response:
        dead = {
            **headers,
            "reason": exc.reason,
            "detail": redact(exc.detail),
            "vendor": adapter.vendor,
            "original_topic": self.webhooks_topic,
        }
        return await self._publish(name, "dead_lettered", (None, value), self.dlq_topic, dead)

    async def _publish(
        self, name: str, outcome: str, message: tuple[bytes | None, bytes], topic: str, headers: dict[str, str]
    ) -> Response:
        try:
            await self.publisher.publish([message], topic, headers)
        except Unavailable as exc:
            return problem(
                503,
                "Service unavailable",
                f"{exc}; the payload was not kept, send it again",
                headers={"Retry-After": "5"},
            )
        self.metrics.webhook_payloads.labels(name, outcome).inc()
        return JSONResponse({"received": True}, status_code=200)


def webhook_doc() -> dict[str, Any]:
    """The route's OpenAPI entry; its vendors are the webhook sources' declarations (services/ingest/sources.py)."""
    vendors = "; ".join(f"`{s.name}` ({s.content_type}): {s.title}" for s in of_kind("webhook").values())
    return {
        "requestBody": {
            "required": True,
            "description": "The vendor's own webhook payload, decoded by its content type (JSON, or an HTML form's "
            f"fields; none: the vendor's own). The webhook's `vendor` in the webhooks file is one of: {vendors}.",
            "content": {JSON_BODY: {"schema": {"type": "object"}}, FORM_BODY: {"schema": {"type": "object"}}},
        },
        "responses": {
            "200": {
                "description": "Kept on Kafka; mapped to contract events after it.",
                "content": {"application/json": {"example": {"received": True}}},
            },
            "503": {"description": UNACKNOWLEDGED, "content": {"application/problem+json": {}}},
        },
    }
