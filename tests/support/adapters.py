"""Adapters' output for tests: a sink that keeps what it is given, and the facts of its events."""

from __future__ import annotations

from typing import Any

import orjson

from pipelines.facts import compute_facts
from pipelines.rules import MetricRules
from schemas.facts import ContactFacts
from services.ingest.adapters.base import Reject
from tests.support.facts import to_events


class ListSink:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.raw: list[tuple[bytes, bytes]] = []  # (key, JSON) of each event, as sent
        self.rejects: list[Reject] = []
        self.flushes = 0

    def events(self, events: list[tuple[bytes, bytes]]) -> None:
        self.sent.extend(orjson.loads(v) for _, v in events)
        self.raw.extend(events)

    def lines(self, blob: bytes, keys: list[bytes], sizes: list[int]) -> None:
        lines = blob.splitlines()
        assert [len(x) + 1 for x in lines] == sizes and len(keys) == len(lines)
        self.sent.extend(orjson.loads(line) for line in lines)
        self.raw.extend(zip(keys, lines, strict=True))

    def reject(self, r: Reject, origin: str) -> None:
        self.rejects.append(r)

    def flush(self) -> None:
        self.flushes += 1

    def close(self) -> None:
        return None


def facts_by_contact(events: list[dict[str, Any]], rules: MetricRules | None = None) -> dict[str, ContactFacts]:
    by: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by.setdefault(e["data"]["contact_id"], []).append(e)
    return {c: compute_facts(to_events(es), rules or MetricRules()) for c, es in by.items()}
