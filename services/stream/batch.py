"""One batch through the engine into a store write: the consumer's step (and the tests' incremental replay).

Duplicates are found against the store (so across runs and restarts), contacts the engine has not seen
are loaded from the store first (so a restart in the middle of a contact gives the same facts), and
everything the batch changes becomes one ``StoreWrite``: one transaction, with the consumer's next
offsets when streaming. The consumer prepares a batch (engine, live series) while the previous write
runs on its writer thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import orjson

from pipelines.engine import ContactKey, FactEngine
from pipelines.events import Event
from pipelines.rules import MetricRules
from schemas.facts import ContactFacts
from services.store.retention import BEYOND_RETENTION
from services.store.schema import RejectedMessage
from services.store.store import Store
from services.stream.known import Known


@dataclass(frozen=True, slots=True)
class StoreWrite:
    """Everything one or more batches change in DuckDB, already computed: one transaction, on any thread."""

    events: list[Event]  # the new events (duplicates dropped)
    facts: list[ContactFacts]  # the latest facts of every contact they touched
    watermarks: dict[str, int]
    rejected: Sequence[RejectedMessage]
    offsets: dict[tuple[str, int], int] | None
    rules: MetricRules
    duplicates: int = 0
    owners: dict[ContactKey, int] | None = None  # on a lake: each contact's partition (services/store/writers.py)

    def merge(self, later: StoreWrite) -> StoreWrite:
        """This write and a later one as one transaction: a contact's latest facts, the latest watermarks."""
        facts = {(f.council, f.contact_id): f for f in self.facts}
        facts.update({(f.council, f.contact_id): f for f in later.facts})
        offsets = dict(self.offsets or {})
        for tp, offset in (later.offsets or {}).items():
            offsets[tp] = max(offset, offsets.get(tp, offset))
        owners = {**(self.owners or {}), **(later.owners or {})}
        return StoreWrite(
            [*self.events, *later.events],
            list(facts.values()),
            later.watermarks,
            [*self.rejected, *later.rejected],
            offsets or None,
            later.rules,
            self.duplicates + later.duplicates,
            owners or None,
        )

    def apply(self, store: Store, expected: dict[tuple[str, int], int] | None = None) -> None:
        """The write, one transaction; ``expected``: the stored offsets it must find (fencing)."""
        store.write_batch(
            self.events, self.facts, self.watermarks, self.rules, self.rejected, self.offsets, expected, self.owners
        )


def prepare_batch(
    engine: FactEngine,
    store: Store,
    events: Sequence[Event],
    rejected: Sequence[RejectedMessage] = (),
    offsets: dict[tuple[str, int], int] | None = None,
    pending_ids: AbstractSet[str] = frozenset(),
    known: Known | None = None,
    retired: AbstractSet[ContactKey] = frozenset(),
    owners: dict[ContactKey, int] | None = None,
) -> StoreWrite:
    """Apply a batch to the engine; ``pending_ids`` are those of writes not committed yet, ``known`` (the
    consumer's) spares DuckDB the ids and contacts it cannot hold, and ``retired`` are contacts the
    caller found retired (services/store/retention.py): their events are refused as beyond_retention."""
    ids = [e.id for e in events]
    probe = known.ids_maybe_stored(ids) if known else ids
    stored = store.existing_ids(probe) if probe else set()
    fresh = [e for e in events if e.id not in stored and e.id not in pending_ids]
    unknown: set[ContactKey] = engine.unknown(e.contact for e in fresh)
    if unknown:
        stored_events, more = stored_and_retired(store, unknown, known)
        retired = {*retired, *more}
        engine.restore(stored_events)
        engine.ensure(unknown - retired)
    late = [e for e in fresh if e.contact in retired] if retired else []
    if late:  # their raw events are gone: a late event cannot be added to them
        fresh = [e for e in fresh if e.contact not in retired]
        rejected = [*rejected, *(beyond_retention(e) for e in late)]
    applied = engine.apply(fresh)
    return StoreWrite(
        applied.accepted,
        engine.facts(applied.touched),
        dict(engine.watermarks),
        rejected,
        offsets,
        engine.rules,
        applied.duplicates + len(events) - len(fresh) - len(late),
        owners,
    )


def stored_and_retired(
    store: Store, keys: Iterable[ContactKey], known: Known | None
) -> tuple[list[Event], set[ContactKey]]:
    """The stored events of these contacts, and those of them whose events retention deleted."""
    ask = known.contacts_maybe_stored(keys) if known else list(keys)
    if not ask:
        return [], set()
    # every contact asked about, not only those with nothing stored: a late event written while the contact
    # was still in memory would otherwise pass for its whole history after the next restart
    retired = store.retired(ask)
    return [e for e in store.load_events(ask) if e.contact not in retired], retired


def beyond_retention(e: Event) -> RejectedMessage:
    """A late event of a retired contact, kept as a rejected line (its fields as JSON: the raw bytes are gone)."""
    return RejectedMessage(
        orjson.dumps(e._asdict()),
        BEYOND_RETENTION,
        "its contact's raw events were deleted by retention; its facts are kept",
        "",
    )


def load_stored(store: Store, keys: Iterable[ContactKey], known: Known | None = None) -> list[Event]:
    """The stored events of these contacts (none asked of DuckDB for contacts ``known`` says are new)."""
    ask = known.contacts_maybe_stored(keys) if known else list(keys)
    return store.load_events(ask) if ask else []
