"""The gateway's HTTP API (FastAPI): ``POST /v1/events`` in the three modes of the CloudEvents HTTP binding,
vendors' webhooks on ``POST /v1/webhooks/{name}`` (``vendors``), ``GET /healthz`` and ``GET /metrics``.
A request of events is all or nothing: 202 once Kafka has acknowledged every event; otherwise an RFC 9457
problem document, and nothing of it is published."""

# no `from __future__ import annotations` here: FastAPI evaluates the routes' annotations, which name the
# local dependency `caller`
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel
from starlette.requests import ClientDisconnect

from services.exposition.webconfig import WebConfig
from services.ingest.gateway.binding import BATCH, CORE_ATTRIBUTES, JSON, STRUCTURED, BindingError, events_of
from services.ingest.gateway.edge import Judged, KeyFor, judge
from services.ingest.gateway.limits import RateLimit
from services.ingest.gateway.metrics import GatewayMetrics
from services.ingest.gateway.problems import PROBLEM, EventProblem, Problem, problem
from services.ingest.gateway.publisher import Publisher, Unavailable
from services.ingest.gateway.tokens import Token, TokenFile
from services.ingest.gateway.vendors import WEBHOOKS_ROUTE, Vendors, webhook_doc
from services.ingest.webhooks.adapter import Adapter

RETRY_AFTER_UNAVAILABLE = 5
EVENTS_ROUTE = "/v1/events"


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1 << 20
    max_events: int = 500
    rate_per_second: float = 5000.0
    burst: float = 10000.0
    webhook_rate_per_second: float = 20.0  # webhook requests, per token
    webhook_burst: float = 100.0
    liveness_seconds: float = 120.0  # /healthz is 503 once unable to publish this long


class Accepted(BaseModel):
    accepted: int
    ids: list[str]


def _request_body_doc() -> dict[str, Any]:
    event = {"$ref": "#/components/schemas/ContactEvent"}
    example = {
        "specversion": "1.0",
        "id": "b7d0a3c2-0001",
        "source": "/boston/webchat/widget",
        "type": "contact.queued",
        "time": "2026-03-02T09:15:02Z",
        "subject": "W-1001",
        "data": {
            "contact_id": "W-1001",
            "council": "boston",
            "channel": "webchat",
            "queue": "revenues",
            "customer": {"email": "resident@example.org"},
        },
    }
    binary_mode = [
        {
            "name": f"ce-{a}",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": f"binary mode: the event's {a} (with Content-Type: application/json)",
        }
        for a in CORE_ATTRIBUTES
    ]
    return {
        "parameters": binary_mode,
        "requestBody": {
            "required": True,
            "description": "Structured (one event), batched (a JSON array, at most the configured count) or "
            "binary mode (ce- headers, the body the event's data). In data, customer {phone | email | uprn} "
            "may stand for customer_ref: the gateway turns it into the pseudonym and keeps nothing of it.",
            "content": {
                STRUCTURED: {"schema": event, "example": example},
                BATCH: {"schema": {"type": "array", "items": event, "maxItems": 500}, "example": [example]},
                JSON: {"schema": {"type": "object"}, "example": example["data"]},
            },
        },
    }


class Ingest:
    """``POST /v1/events``: checks in the order a sender can fix them, then one publish of every event."""

    def __init__(self, publisher: Publisher, metrics: GatewayMetrics, key_for: KeyFor, limits: Limits) -> None:
        self.publisher, self.metrics, self.key_for, self.limits = publisher, metrics, key_for, limits
        self.rate = RateLimit(limits.rate_per_second, limits.burst)

    async def body(self, request: Request) -> bytes | Response:
        """The body; or 413 when it is over the limit (read no further than that). A body that does not
        arrive in time is the server protocol's to answer (408, protocol.py): the read then ends in a
        disconnect, answered here with a 408 that nobody receives."""
        length = request.headers.get("content-length")
        too_large = problem(413, "Too large", f"the body is over {self.limits.max_body_bytes:,} bytes")
        if length is not None and length.isdigit() and int(length) > self.limits.max_body_bytes:
            return too_large
        body = bytearray()
        try:
            async for part in request.stream():
                body += part
                if len(body) > self.limits.max_body_bytes:
                    return too_large
        except ClientDisconnect:
            return problem(408, "Request timeout", "the request did not arrive in time")
        return bytes(body)

    async def accept(self, request: Request, token: Token) -> Response:
        body = await self.body(request)
        if isinstance(body, Response):
            return body
        try:
            events = events_of(request.headers.get("content-type"), request.headers, body, self.limits.max_events)
        except BindingError as exc:
            return problem(exc.status, exc.title, exc.detail)
        wait = self.rate.take(token.id, len(events))
        if wait:
            return problem(
                429,
                "Too many requests",
                f"over this token's limit of {self.limits.rate_per_second:g} events a second",
                headers={"Retry-After": f"{wait:.0f}"},
            )
        judged = judge(events, token, datetime.now(UTC), self.key_for)
        refused = [j for j in judged if j.reason is not None]
        if refused:
            return self.refusal(refused)
        started = time.perf_counter()
        try:
            await self.publisher.publish([(j.event.contact_id.encode(), j.raw) for j in judged if j.event and j.raw])
        except Unavailable as exc:
            return problem(
                503,
                "Service unavailable",
                f"{exc}; nothing of this request was accepted, send it again",
                headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE)},
            )
        self.metrics.publish.observe(time.perf_counter() - started)
        self.metrics.accepted.inc(len(judged))
        ids = [j.event.id for j in judged if j.event]
        return JSONResponse(Accepted(accepted=len(ids), ids=ids).model_dump(), status_code=202)

    def refusal(self, refused: list[Judged]) -> JSONResponse:
        for reason, n in Counter(j.reason for j in refused).items():
            self.metrics.rejected.labels(reason).inc(n)
        errors = [EventProblem(index=j.index, reason=j.reason or "", detail=j.detail) for j in refused]
        forbidden = [e for e, j in zip(errors, refused, strict=True) if j.forbidden]
        if forbidden:
            return problem(
                403, "Forbidden", "the token may not emit some of these events; none was published", forbidden
            )
        return problem(
            400, "Invalid events", f"{len(errors)} invalid event(s); none of this request was published", errors
        )


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    s: {"model": Problem, "content": {PROBLEM: {}}} for s in (400, 401, 403, 408, 413, 415, 429, 503)
}
PROBLEM_RESPONSES[503]["description"] = (
    "Kafka did not acknowledge in time (or is not connected). The events may still have been published: "
    "send the request again; repeated events keep their ids and the consumer drops them as duplicates."
)
WEBHOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    **{s: PROBLEM_RESPONSES[s] for s in (400, 401, 403, 408, 413, 415, 429, 503)},
    404: {"model": Problem, "content": {PROBLEM: {}}, "description": "No webhook of that name is configured"},
}


@dataclass(frozen=True)
class Webhooks:
    adapters: Mapping[str, Adapter]
    topic: str = "contact.webhooks.v1"
    dlq_topic: str = "contact.events.dlq.v1"


def create_app(
    tokens: TokenFile,
    publisher: Publisher,
    registry: CollectorRegistry,
    key_for: KeyFor,
    limits: Limits = Limits(),
    event_schema: dict[str, Any] | None = None,
    webhooks: Webhooks = Webhooks({}),
    web: WebConfig | None = None,
) -> FastAPI:
    """``web``: the web config's basic auth guards ``/metrics`` (its TLS is uvicorn's, in the CLI)."""
    metrics = GatewayMetrics(registry)
    ingest = Ingest(publisher, metrics, key_for, limits)
    vendors = Vendors(
        webhooks.adapters,
        publisher,
        metrics,
        key_for,
        webhooks.topic,
        webhooks.dlq_topic,
        RateLimit(limits.webhook_rate_per_second, limits.webhook_burst),
    )
    app = FastAPI(
        title="ContactPulse ingest gateway",
        version="1",
        description="Contact events over HTTP: the CloudEvents HTTP binding of contract v1.",
    )

    def caller(request: Request) -> Token:
        scheme, _, secret = request.headers.get("authorization", "").partition(" ")
        secret = secret.strip() if scheme.lower() == "bearer" else ""
        secret = secret or request.path_params.get("secret", "")  # a vendor's webhook may carry it in its URL
        token = tokens.lookup(secret) if secret else None
        if token is None:
            raise HTTPException(
                401,
                "send Authorization: Bearer <token> with a valid, unrevoked gateway token",
                headers={"WWW-Authenticate": 'Bearer realm="contactpulse"'},
            )
        return token

    @app.exception_handler(HTTPException)
    async def http_problem(request: Request, exc: HTTPException) -> JSONResponse:
        titles = {401: "Unauthorized", 404: "Not found", 405: "Method not allowed"}
        metrics.requests.labels(_route(request), str(exc.status_code)).inc()
        return problem(
            exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail), headers=dict(exc.headers or {})
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        metrics.requests.labels(_route(request), "400").inc()
        return problem(400, "Bad request", str(exc.errors()[0].get("msg", "invalid request"))[:200])

    @app.post(
        EVENTS_ROUTE,
        status_code=202,
        response_model=Accepted,
        openapi_extra=_request_body_doc(),
        responses=PROBLEM_RESPONSES,
    )
    async def post_events(request: Request, token: Annotated[Token, Depends(caller)]) -> Response:
        response = await ingest.accept(request, token)
        metrics.requests.labels(EVENTS_ROUTE, str(response.status_code)).inc()
        return response

    app.state.metrics = metrics  # the webhooks mapper counts on the same series
    _webhook_routes(app, Depends(caller), ingest, vendors, metrics)

    @app.get(
        "/healthz",
        responses={
            503: {
                "description": "Unable to publish for longer than the liveness "
                "limit (gateway_liveness_seconds): restart the gateway"
            }
        },
    )
    async def healthz() -> JSONResponse:
        """Liveness: 503 only once the gateway has been unable to publish for ``liveness_seconds``."""
        st = publisher.status()
        stuck = not st.ready and st.failing_for >= limits.liveness_seconds
        body = {
            "status": "unhealthy" if stuck else "ok",
            "kafka": st.state,
            "reason": st.reason,
            "failing_seconds": round(st.failing_for, 1),
        }
        return JSONResponse(body, status_code=503 if stuck else 200)

    not_ready = "Cannot publish now (no broker, a producer being replaced, or the last publish refused)"

    @app.get("/readyz", responses={503: {"description": not_ready}})
    async def readyz() -> JSONResponse:
        """Readiness: 200 while events can be published, else 503 with the reason."""
        st = publisher.status()
        body = {"status": "ready" if st.ready else "not_ready", "kafka": st.state, "reason": st.reason}
        return JSONResponse(body, status_code=200 if st.ready else 503)

    @app.get("/metrics", response_class=Response)
    async def prometheus(request: Request) -> Response:
        if web is not None and not web.allows(request.headers.get("authorization")):
            return problem(
                401,
                "Unauthorized",
                "send the web config's basic auth credentials",
                headers={"WWW-Authenticate": 'Basic realm="contactpulse"'},
            )
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    if event_schema is not None:
        _with_event_schema(app, event_schema)
    return app


def _webhook_routes(app: FastAPI, caller: Any, ingest: Ingest, vendors: Vendors, metrics: GatewayMetrics) -> None:
    """``POST /v1/webhooks/{name}`` with the token as a bearer token, or in the URL for vendors that cannot
    send a header."""

    async def post_webhook(request: Request, name: str, token: Token) -> Response:
        if vendors.known(name) is None:  # before reading the body; unknown names are never a metric label
            response: Response = problem(404, "Not found", f"no webhook {name[:40]!r} is configured")
        else:
            body = await ingest.body(request)
            content_type = request.headers.get("content-type")
            response = body if isinstance(body, Response) else await vendors.receive(name, token, body, content_type)
        metrics.requests.labels(WEBHOOKS_ROUTE, str(response.status_code)).inc()
        return response

    @app.post(
        WEBHOOKS_ROUTE,
        openapi_extra=webhook_doc(),
        responses=WEBHOOK_RESPONSES,
        summary="A vendor's webhook (token in Authorization: Bearer)",
    )
    async def webhook(request: Request, name: str, token: Annotated[Token, caller]) -> Response:
        return await post_webhook(request, name, token)

    @app.post(
        WEBHOOKS_ROUTE + "/{secret}",
        openapi_extra=webhook_doc(),
        responses=WEBHOOK_RESPONSES,
        summary="A vendor's webhook (token in the URL, for vendors that cannot send a header)",
    )
    async def webhook_token_in_url(
        request: Request, name: str, secret: str, token: Annotated[Token, caller]
    ) -> Response:
        return await post_webhook(request, name, token)


def _route(request: Request) -> str:
    if request.url.path == EVENTS_ROUTE:
        return EVENTS_ROUTE
    return WEBHOOKS_ROUTE if request.url.path.startswith("/v1/webhooks/") else "other"


def _with_event_schema(app: FastAPI, event_schema: dict[str, Any]) -> None:
    """The contract's JSON Schema as ``components.schemas.ContactEvent`` of the OpenAPI document."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = base()
            schema = {k: v for k, v in event_schema.items() if k not in ("$schema", "$id")}
            defs = schema.pop("$defs", {})
            components = doc.setdefault("components", {}).setdefault("schemas", {})
            components.update(_rebased(defs))
            components["ContactEvent"] = _rebased(schema)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _rebased(value: Any) -> Any:
    """JSON Schema's ``#/$defs/X`` references as OpenAPI's ``#/components/schemas/X``."""
    if isinstance(value, dict):
        return {
            k: (v.replace("#/$defs/", "#/components/schemas/") if k == "$ref" and isinstance(v, str) else _rebased(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rebased(v) for v in value]
    return value
