"""The webhooks topic's payloads as contract events (pure: records in, messages out).

Each partition has its own memory (a conversation's payloads share a key, so a partition); ``rebuild``
feeds it from payloads already mapped before a restart, without output, so the same payloads give the
same contacts afterwards. A payload that maps to nothing valid goes, as it is on the webhooks topic, to
the dead-letter topic with its reason (``unmappable:<why>``, or ``unmappable:`` and the contract's
reason for an event the mapping made wrong), the vendor and the webhook's name.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from pipelines.decode import decode
from pipelines.events import micros
from pipelines.redact import redact
from schemas.reasons import Rejected
from services.ingest.webhooks.adapter import RECEIVED_HEADER, UNMAPPABLE, WEBHOOK_HEADER, Adapter, Unmappable

FORGET_AFTER = timedelta(days=35)  # a conversation quiet this long is forgotten (a later payload starts afresh)
SWEEP_EVERY = 10_000  # payloads between two sweeps for quiet conversations
MAPPED, IGNORED, DEAD_LETTERED = "mapped", "ignored", "dead_lettered"


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Mapping[str, str]


@dataclass
class Outcome:
    events: list[tuple[bytes, bytes]] = field(default_factory=list)  # (contact_id, CloudEvent JSON)
    dead_letters: list[tuple[bytes | None, bytes, dict[str, str]]] = field(default_factory=list)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (webhook, outcome) -> payloads


class WebhookMapper:
    def __init__(self, adapters: Mapping[str, Adapter]) -> None:
        self.adapters = adapters
        self.states: dict[int, dict[str, dict[str, Any]]] = {}  # partition -> webhook -> its adapter's state
        self.positions: dict[int, int] = {}  # partition -> next offset to map
        self._payloads = 0

    def forget_partitions(self, partitions: Iterable[int]) -> None:
        for p in partitions:
            self.states.pop(p, None)
            self.positions.pop(p, None)

    def rebuild(self, r: Record) -> None:
        """A payload mapped before: into memory only."""
        with contextlib.suppress(Unmappable, Rejected, orjson.JSONDecodeError):
            self._map(r)
        self.positions[r.partition] = r.offset + 1

    def map(self, records: Iterable[Record], now: datetime | None = None) -> Outcome:
        now = now or datetime.now(UTC)
        now_us = micros(now)
        out = Outcome()
        for r in records:
            if r.offset < self.positions.get(r.partition, 0):
                continue  # mapped already (read again after a seek)
            self.positions[r.partition] = r.offset + 1
            webhook = r.headers.get(WEBHOOK_HEADER, "")
            try:
                events = self._map(r)
                raws = [orjson.dumps(e) for e in events]
                for raw in raws:
                    decode(raw, now, now_us)  # the contract's rules, as the consumer will apply them
            except Unmappable as exc:
                self._dead(out, r, webhook, exc.reason, exc.detail)
                continue
            except Rejected as exc:
                self._dead(out, r, webhook, UNMAPPABLE + exc.reason, exc.detail)
                continue
            except orjson.JSONDecodeError:
                self._dead(out, r, webhook, UNMAPPABLE + "not_json", "")
                continue
            out.events.extend((e["data"]["contact_id"].encode(), raw) for e, raw in zip(events, raws, strict=True))
            self._count(out, webhook, MAPPED if events else IGNORED)
        return out

    def _map(self, r: Record) -> list[dict[str, Any]]:
        webhook = r.headers.get(WEBHOOK_HEADER, "")
        adapter = self.adapters.get(webhook)
        if adapter is None:
            raise Unmappable("unknown_webhook", f"no webhook {webhook[:40]!r} in the webhooks file")
        payload = orjson.loads(r.value)
        if not isinstance(payload, dict):
            raise Unmappable("not_object", "the payload is not a JSON object")
        received_us = int(r.headers.get(RECEIVED_HEADER) or 0)
        state = self.states.setdefault(r.partition, {}).setdefault(webhook, {})
        events = adapter.map(payload, received_us, state)
        self._payloads += 1
        if self._payloads % SWEEP_EVERY == 0:
            self._forget_quiet(datetime.fromtimestamp(received_us / 1e6, UTC) - FORGET_AFTER)
        return events

    def _forget_quiet(self, before: datetime) -> None:
        for by_webhook in self.states.values():
            for state in by_webhook.values():
                for key in [k for k, v in state.items() if getattr(v, "seen", before) < before]:
                    del state[key]

    def _dead(self, out: Outcome, r: Record, webhook: str, reason: str, detail: str) -> None:
        adapter = self.adapters.get(webhook)
        headers = {
            "reason": reason,
            "detail": redact(detail)[:200],
            "vendor": adapter.vendor if adapter else "unknown",
            WEBHOOK_HEADER: webhook,
            "original_topic": r.topic,
            "original_partition": str(r.partition),
            "original_offset": str(r.offset),
        }
        out.dead_letters.append((r.key, r.value, headers))
        self._count(out, webhook, DEAD_LETTERED)

    @staticmethod
    def _count(out: Outcome, webhook: str, outcome: str) -> None:
        out.counts[(webhook, outcome)] = out.counts.get((webhook, outcome), 0) + 1
