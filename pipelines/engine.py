"""The fact engine: contact states and council watermarks, fed in batches.

Both paths use it: ``replay`` feeds a file as batches, the consumer feeds Kafka
batches. The caller removes ids already stored (duplicates across runs and
restarts) and loads the stored events of contacts the engine has not seen;
the engine does the rest in memory, with no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pipelines.events import Event
from pipelines.facts import ContactState
from pipelines.rules import MetricRules
from schemas.facts import ContactFacts

ContactKey = tuple[str, str]


@dataclass(slots=True)
class Applied:
    """What a batch did to the engine: its new events, duplicates, and the contacts it touched."""

    accepted: list[Event] = field(default_factory=list)
    duplicates: int = 0
    touched: dict[ContactKey, None] = field(default_factory=dict)  # an ordered set: first touched first


class FactEngine:
    def __init__(self, rules: MetricRules) -> None:
        self.rules = rules
        self.states: dict[ContactKey, ContactState] = {}
        self.watermarks: dict[str, int] = {}

    def unknown(self, keys: Iterable[ContactKey]) -> set[ContactKey]:
        """Contacts whose stored events must be loaded before a batch touching them."""
        return {k for k in keys if k not in self.states}

    def restore(self, events: Iterable[Event]) -> None:
        """Load stored (already accepted) events; watermarks are restored separately."""
        for e in events:
            self._state(e).add(e)

    def ensure(self, keys: Iterable[ContactKey]) -> None:
        """Start empty states for contacts that have nothing stored yet (they are new)."""
        for key in keys:
            if key not in self.states:
                self.states[key] = ContactState(*key)

    def restore_watermarks(self, watermarks: dict[str, int]) -> None:
        for council, t in watermarks.items():
            self.watermarks[council] = max(t, self.watermarks.get(council, t))

    def apply(self, events: Iterable[Event]) -> Applied:
        """Apply new events; an id seen already (in this batch or before) is a duplicate.

        Events are grouped by contact first, so a contact whose events arrive
        shuffled within the batch is sorted and walked once.
        """
        result = Applied()
        batch_ids: set[str] = set()
        by_contact: dict[ContactKey, list[Event]] = {}
        for e in events:
            if e.id in batch_ids:
                result.duplicates += 1
                continue
            batch_ids.add(e.id)
            by_contact.setdefault((e.council, e.contact_id), []).append(e)
        for key, group in by_contact.items():
            state = self.states.get(key)
            if state is None:
                state = self.states[key] = ContactState(*key)
            fresh = state.add_many(group)
            result.duplicates += len(group) - len(fresh)
            if fresh:
                result.accepted.extend(fresh)
                result.touched[key] = None
                latest = fresh[-1].t
                if latest > self.watermarks.get(key[0], latest - 1):
                    self.watermarks[key[0]] = latest
        return result

    def facts(self, keys: Iterable[ContactKey]) -> list[ContactFacts]:
        return [self.states[k].facts(self.rules, self.watermarks.get(k[0])) for k in keys]

    def evict(self, keys: Iterable[ContactKey]) -> None:
        for k in keys:
            self.states.pop(k, None)

    def quiet(self, horizon_seconds: float) -> list[ContactKey]:
        """Contacts with no event for ``horizon_seconds`` of their council's watermark: safe to drop from memory,
        because a late event reloads a contact's stored events first (as after a restart)."""
        horizon = round(horizon_seconds * 1_000_000)
        out = []
        for key, state in self.states.items():
            mark = self.watermarks.get(key[0])
            last = state.walk.last_event
            if mark is not None and last is not None and mark - last > horizon:
                out.append(key)
        return out

    def _state(self, e: Event) -> ContactState:
        key = (e.council, e.contact_id)
        state = self.states.get(key)
        if state is None:
            state = self.states[key] = ContactState(e.council, e.contact_id)
        return state
