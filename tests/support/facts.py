"""Helpers: raw test events to facts, through the real parser, on both paths."""

from __future__ import annotations

from typing import Any

from pipelines.events import US, Event, from_contract
from pipelines.facts import ContactState, compute_facts
from pipelines.rules import MetricRules
from schemas.facts import ContactFacts
from schemas.reasons import parse_event
from tests.support.builders import T0, raw

T0_US = round(T0.timestamp() * US)


def to_events(events: list[dict[str, Any]]) -> list[Event]:
    return [from_contract(parse_event(raw(e), T0.replace(year=2030))) for e in events]


def both_paths(
    events: list[dict[str, Any]], rules: MetricRules | None = None, watermark_s: float | None = None
) -> ContactFacts:
    """Facts from the whole list and from applying events one at a time; asserts they agree."""
    rules = rules or MetricRules()
    parsed = to_events(events)
    watermark = None if watermark_s is None else T0_US + round(watermark_s * US)
    whole = compute_facts(parsed, rules, watermark)
    state = ContactState(parsed[0].council, parsed[0].contact_id)
    for e in parsed:
        state.add(e)
    assert state.facts(rules, watermark) == whole
    return whole


def at(seconds: float) -> int:
    return T0_US + round(seconds * US)
