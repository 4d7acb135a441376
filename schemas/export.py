"""Export the contract's JSON Schema for emitters written in other languages."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import TypeAdapter

from schemas.events import CONTRACT_VERSION, EVENT_ADAPTER
from schemas.facts import ContactFacts

SCHEMA_DIR = Path("schemas") / "json"  # in the repository, from its root (make schemas)


def schemas() -> dict[str, dict[str, object]]:
    event = EVENT_ADAPTER.json_schema(mode="validation")
    event = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://contactpulse.org/schemas/contact-event.v{CONTRACT_VERSION}.json",
        "title": f"ContactPulse contact event, contract v{CONTRACT_VERSION} (CloudEvents 1.0 structured JSON)",
        **event,
    }
    facts = TypeAdapter(ContactFacts).json_schema(mode="serialization")
    facts = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ContactPulse contact facts row",
        **facts,
    }
    return {
        f"contact-event.v{CONTRACT_VERSION}.schema.json": event,
        "contact-facts.schema.json": facts,
    }


def render(schema: dict[str, object]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def installed(path: Path) -> bool:
    """Whether ``path`` is inside an installed environment's packages (never a place to write)."""
    return any(part in ("site-packages", "dist-packages") for part in path.resolve().parts)


def export(out_dir: Path = SCHEMA_DIR, extra: dict[str, dict[str, object]] | None = None) -> list[Path]:
    if installed(out_dir):
        raise ValueError(f"{out_dir} is inside installed packages: export into the repository, or name --out")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in {**schemas(), **(extra or {})}.items():
        path = out_dir / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def drift(out_dir: Path = SCHEMA_DIR, extra: dict[str, dict[str, object]] | None = None) -> list[str]:
    """Names of exported files that differ from the models (empty when in step)."""
    return [
        name
        for name, schema in {**schemas(), **(extra or {})}.items()
        if not (out_dir / name).is_file() or (out_dir / name).read_text(encoding="utf-8") != render(schema)
    ]
