from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.events import EventType
from schemas.export import SCHEMA_DIR, drift, export, schemas


def test_exported_files_match_the_models() -> None:
    assert drift(SCHEMA_DIR) == [], "run: contactpulse export-schemas"


def test_drift_is_detected(tmp_path: Path) -> None:
    export(tmp_path)
    assert drift(tmp_path) == []
    name = next(iter(schemas()))
    (tmp_path / name).write_text("{}")
    assert drift(tmp_path) == [name]


def test_event_schema_names_every_type_and_its_requirements() -> None:
    schema = json.loads((SCHEMA_DIR / "contact-event.v1.schema.json").read_text())
    defs = schema["$defs"]
    assert {v["properties"]["type"]["const"] for k, v in defs.items() if k.endswith("Event")} == {
        t.value for t in EventType
    }
    assert set(defs["QueuedData"]["required"]) >= {"contact_id", "council", "channel", "queue"}
    assert "rating" in defs["SurveyedData"]["required"]


def test_the_integrators_documents_are_exported_and_in_step(monkeypatch) -> None:
    from services.cli import _exported_documents

    monkeypatch.setenv("CONTACTPULSE_EVENTS_TOPIC", "not-the-default")  # the documents describe the defaults
    docs = _exported_documents()
    assert drift(SCHEMA_DIR, docs) == [], "run: contactpulse export-schemas"
    topics: Any = docs["topics.asyncapi.json"]
    addresses = {c["address"] for c in topics["channels"].values()}
    assert addresses == {"contact.events.v1", "contact.events.dlq.v1", "contact.webhooks.v1"}
    assert "QueuedEvent" in topics["components"]["schemas"]
    gateway: Any = docs["gateway.openapi.json"]
    assert "/v1/events" in gateway["paths"] and "ContactEvent" in gateway["components"]["schemas"]
