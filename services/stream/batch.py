"""One batch through the engine into the store: the step replay and the consumer share.

Duplicates are found against the store (so across runs and restarts), contacts
the engine has not seen are loaded from the store first (so a restart in the
middle of a contact gives the same facts), and everything the batch changes is
written in one transaction, with the consumer's next offsets when streaming. The
consumer prepares a batch (engine, live series) while the previous one's
transaction runs on the writer thread; ``prepare_batch`` and ``BatchWrite`` are
the two halves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from pipelines.engine import ContactKey, FactEngine
from pipelines.events import Event
from schemas.facts import ContactFacts
from services.store.store import RejectedMessage, Store
from services.stream.known import Known


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    accepted: list[Event]
    duplicates: int
    facts: list[ContactFacts]


@dataclass(frozen=True, slots=True)
class BatchWrite:
    """Everything one batch changes in DuckDB, already computed: its one transaction can run on another thread."""

    events: list[Event]
    facts: list[ContactFacts]
    watermarks: dict[str, int]
    rejected: Sequence[RejectedMessage]
    offsets: dict[tuple[str, int], int] | None
    contact_timeout_seconds: float
    fcr_window_days: int
    # judge FCR in DuckDB, which holds no interpreter lock (the consumer: its event loop needs the lock)
    fcr_in_sql: bool = False

    def merge(self, later: BatchWrite) -> BatchWrite:
        """This write and a later one as one transaction: a contact's latest facts, the latest watermarks."""
        facts = {(f.council, f.contact_id): f for f in self.facts}
        facts.update({(f.council, f.contact_id): f for f in later.facts})
        offsets = dict(self.offsets or {})
        for tp, offset in (later.offsets or {}).items():
            offsets[tp] = max(offset, offsets.get(tp, offset))
        return BatchWrite([*self.events, *later.events], list(facts.values()), later.watermarks,
                          [*self.rejected, *later.rejected], offsets or None, later.contact_timeout_seconds,
                          later.fcr_window_days, later.fcr_in_sql)  # fmt: skip

    def apply(self, store: Store) -> None:
        store.write_batch(self.events, self.facts, self.watermarks, self.rejected, self.offsets,
                          self.contact_timeout_seconds, self.fcr_window_days, self.fcr_in_sql)  # fmt: skip


def prepare_batch(
    engine: FactEngine,
    store: Store,
    events: Sequence[Event],
    rejected: Sequence[RejectedMessage] = (),
    offsets: dict[tuple[str, int], int] | None = None,
    pending_ids: AbstractSet[str] = frozenset(),
    known: Known | None = None,
    fcr_in_sql: bool = False,
) -> tuple[BatchOutcome, BatchWrite]:
    """Apply a batch to the engine; ``pending_ids`` are those of writes not committed yet, and ``known``
    (the consumer's) spares DuckDB the ids and contacts it cannot hold."""
    ids = [e.id for e in events]
    probe = known.ids_maybe_stored(ids) if known else ids
    stored = store.existing_ids(probe) if probe else set()
    fresh = [e for e in events if e.id not in stored and e.id not in pending_ids]
    unknown: set[ContactKey] = engine.unknown(e.contact for e in fresh)
    if unknown:
        engine.restore(load_stored(store, unknown, known))
        engine.ensure(unknown)
    result = engine.apply(fresh)
    facts = engine.facts(result.touched)
    write = BatchWrite(result.accepted, facts, dict(engine.watermarks), rejected, offsets,
                       engine.rules.contact_timeout_seconds, engine.rules.fcr_window_days, fcr_in_sql)  # fmt: skip
    return BatchOutcome(result.accepted, result.duplicates + len(events) - len(fresh), facts), write


def load_stored(store: Store, keys: Iterable[ContactKey], known: Known | None = None) -> list[Event]:
    """The stored events of these contacts (none asked of DuckDB for contacts ``known`` says are new)."""
    ask = known.contacts_maybe_stored(keys) if known else list(keys)
    return store.load_events(ask) if ask else []


def process_batch(
    engine: FactEngine,
    store: Store,
    events: Sequence[Event],
    rejected: Sequence[RejectedMessage] = (),
    offsets: dict[tuple[str, int], int] | None = None,
) -> BatchOutcome:
    outcome, write = prepare_batch(engine, store, events, rejected, offsets)
    write.apply(store)
    return outcome
