"""The gateway's OpenAPI document, as served on ``/openapi.json`` and exported to ``schemas/json/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from schemas.export import schemas
from services.ingest.gateway.app import create_app
from services.ingest.gateway.publisher import Publisher
from services.ingest.gateway.tokens import TokenFile

FILE = "gateway.openapi.json"


def event_schema() -> dict[str, Any]:
    return next(v for k, v in schemas().items() if k.startswith("contact-event."))


def document() -> dict[str, Any]:
    """The document of an app built as ``contactpulse gateway`` builds it (nothing connects)."""
    app = create_app(
        TokenFile(Path("unused")),
        Publisher("127.0.0.1:9092", "contact.events.v1"),
        CollectorRegistry(),
        lambda council: None,
        event_schema=event_schema(),
    )
    return app.openapi()
