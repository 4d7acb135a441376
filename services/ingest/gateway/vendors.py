"""``POST /v1/webhooks/{name}``: a vendor's webhook, kept on Kafka before it is answered.

Vendors do not read error bodies, so once the caller is known and the body fits, the answer is 200 as
soon as Kafka holds the payload: on the webhooks topic, cut by the webhook's adapter to the fields its
mapping reads (identifiers already pseudonyms), or, if it cannot be, on the dead-letter topic with its
reason and the vendor: a body that is not JSON as its size and SHA-256 only (its text may hold anything),
one the adapter refuses with every identifier masked (pipelines.redact). The mapper turns the first
into contract events.
The caller's token must cover the webhook's council and source; vendors that cannot send a header put
it in the URL (``/v1/webhooks/{name}/{token}``, Chatwoot's own mechanism); either way it is never logged.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import Any

import orjson
from fastapi.responses import JSONResponse, Response

from pipelines.redact import redact
from services.ingest.gateway.edge import KeyFor
from services.ingest.gateway.metrics import GatewayMetrics
from services.ingest.gateway.problems import problem
from services.ingest.gateway.publisher import Publisher, Unavailable
from services.ingest.gateway.tokens import Token
from services.ingest.webhooks.adapter import RECEIVED_HEADER, WEBHOOK_HEADER, Adapter, Unmappable

WEBHOOKS_ROUTE = "/v1/webhooks/{name}"


class Vendors:
    def __init__(self, adapters: Mapping[str, Adapter], publisher: Publisher, metrics: GatewayMetrics,
                 key_for: KeyFor, webhooks_topic: str, dlq_topic: str) -> None:  # fmt: skip
        self.adapters, self.publisher, self.metrics, self.key_for = adapters, publisher, metrics, key_for
        self.webhooks_topic, self.dlq_topic = webhooks_topic, dlq_topic

    def known(self, name: str) -> Adapter | None:
        return self.adapters.get(name)

    async def receive(self, name: str, token: Token, body: bytes) -> Response:
        adapter = self.adapters.get(name)
        if adapter is None:
            return problem(404, "Not found", f"no webhook {name[:40]!r} is configured (gateway_webhooks)")
        if not token.may_emit(adapter.council, adapter.source):
            return problem(403, "Forbidden", f"this token may not emit for council {adapter.council!r} or source "
                           f"{adapter.source!r}")  # fmt: skip
        now_us = str(time.time_ns() // 1000)
        headers = {WEBHOOK_HEADER: name, RECEIVED_HEADER: now_us}
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            evidence = orjson.dumps({"bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()})
            return await self._dead(name, adapter, headers, Unmappable("not_json", "the body is not JSON"), evidence)
        try:
            key, kept = adapter.admit(payload, self.key_for)
        except Unmappable as exc:
            return await self._dead(name, adapter, headers, exc, redact(body.decode("utf-8", "replace")).encode())
        return await self._publish(name, "kept", (key, orjson.dumps(kept)), self.webhooks_topic, headers)

    async def _dead(self, name: str, adapter: Adapter, headers: dict[str, str], exc: Unmappable,
                    value: bytes) -> Response:  # fmt: skip
        dead = {**headers, "reason": exc.reason, "detail": redact(exc.detail), "vendor": adapter.vendor,
                "original_topic": self.webhooks_topic}  # fmt: skip
        return await self._publish(name, "dead_lettered", (None, value), self.dlq_topic, dead)

    async def _publish(self, name: str, outcome: str, message: tuple[bytes | None, bytes], topic: str,
                       headers: dict[str, str]) -> Response:  # fmt: skip
        try:
            await self.publisher.publish([message], topic, headers)
        except Unavailable as exc:
            return problem(503, "Service unavailable", f"{exc}; the payload was not kept, send it again",
                           headers={"Retry-After": "5"})  # fmt: skip
        self.metrics.webhook_payloads.labels(name, outcome).inc()
        return JSONResponse({"received": True}, status_code=200)


def webhook_doc() -> dict[str, Any]:
    return {"requestBody": {"required": True, "description": "The vendor's own webhook payload (JSON).",
                            "content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {"200": {"description": "Kept on Kafka; mapped to contract events after it.",
                                  "content": {"application/json": {"example": {"received": True}}}}}}  # fmt: skip
