"""One batch through the engine into the store: the step replay and the consumer share.

Duplicates are found against the store (so across runs and restarts), contacts
the engine has not seen are loaded from the store first (so a restart in the
middle of a contact gives the same facts), and everything the batch changes is
written in one transaction, with the consumer's next offsets when streaming.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipelines.engine import ContactKey, FactEngine
from pipelines.events import Event
from schemas.facts import ContactFacts
from services.store import RejectedMessage, Store


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    accepted: list[Event]
    duplicates: int
    facts: list[ContactFacts]


def process_batch(
    engine: FactEngine,
    store: Store,
    events: Sequence[Event],
    rejected: Sequence[RejectedMessage] = (),
    offsets: dict[tuple[str, int], int] | None = None,
) -> BatchOutcome:
    stored = store.existing_ids(e.id for e in events) if events else set()
    fresh = [e for e in events if e.id not in stored]
    unknown: set[ContactKey] = engine.unknown(e.contact for e in fresh)
    if unknown:
        engine.restore(store.load_events(unknown))
        engine.ensure(unknown)
    result = engine.apply(fresh)
    facts = engine.facts(result.touched)
    store.write_batch(
        result.accepted,
        facts,
        dict(engine.watermarks),
        rejected,
        offsets,
        contact_timeout_seconds=engine.rules.contact_timeout_seconds,
        fcr_window_days=engine.rules.fcr_window_days,
    )
    return BatchOutcome(result.accepted, result.duplicates + len(events) - len(fresh), facts)
