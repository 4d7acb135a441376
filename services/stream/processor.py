"""The consumer's batch core, free of Kafka client code: decode, process, hand to sinks.

``StreamProcessor.decode`` splits a batch of records into valid events and dead
letters (a ``DecodedBatch``); the caller publishes the dead letters, then ``prepare``
runs the batch through the engine and onto the live series and returns its
``StoreWrite`` (the batch's effects and each partition's next offset, one
transaction), which the consumer runs on its writer thread while it prepares the
next batch. Restart recovery: ``recover`` restores watermarks and open contacts
from DuckDB.

The live board is read by the HTTP threads: every change to it here is made under
``board.lock``, which its readers take too.
"""

from __future__ import annotations

import contextlib
import heapq
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from pipelines.decode import decode
from pipelines.engine import ContactKey, FactEngine
from pipelines.events import US, Event, micros
from pipelines.labels import BoundedLabels
from pipelines.live import LiveBoard, Observations
from pipelines.rules import timed_out
from schemas.facts import ContactFacts
from schemas.reasons import Rejected
from services.exposition.metrics import PipelineMetrics
from services.store.erasure import ErasedFilter
from services.store.retention import BEYOND_RETENTION
from services.store.schema import RejectedMessage
from services.store.store import Store
from services.stream.batch import StoreWrite, load_stored, prepare_batch, stored_and_retired
from services.stream.known import Known

EVICT_EVERY_BATCHES = 500


class Record(Protocol):
    """What the processor needs of a Kafka record (aiokafka's ConsumerRecord has it)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class DeadLetter:
    value: bytes
    key: bytes | None
    headers: dict[str, str]


@dataclass(slots=True)
class DecodedBatch:
    """A batch of Kafka records, decoded: valid events, and dead letters with their rows for DuckDB."""

    events: list[Event] = field(default_factory=list)
    rejected: list[RejectedMessage] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    owners: dict[ContactKey, int] = field(default_factory=dict)  # each contact's partition
    read: int = 0
    erased: int = 0  # events of an erased person, dropped


class StreamProcessor:
    def __init__(
        self,
        engine: FactEngine,
        store: Store,
        metrics: PipelineMetrics,
        board: LiveBoard,
        topic: str,
        source_label_limit: int = 1000,
    ) -> None:
        self.erased = ErasedFilter()  # loaded by ``recover``; ``contactpulse erase`` runs while this is stopped
        self.sources = BoundedLabels(
            "source", source_label_limit, over=lambda label: metrics.label_over_cap.labels(label).inc()
        )
        self.source_last: dict[str, int] = {}  # label -> the time it shows (``other`` shows the latest of all)
        self.engine = engine
        self.store = store
        self.metrics = metrics
        self.board = board
        self.topic = topic
        # next offset per partition, as committed in DuckDB: a record below it was accounted for already
        self.positions: dict[tuple[str, int], int] = {}
        self.batches = 0
        self.pending_ids: set[str] = set()
        self.known: Known | None = None  # loaded by ``recover``
        # council -> heap of (time-out deadline, contact) for contacts on the live board
        self.deadlines: dict[str, list[tuple[int, ContactKey]]] = {}
        self.timeout_us = engine.rules.timeout_us
        # on a lake, where consumers share the partitions: each contact's partition, and those assigned here
        self.partition_of: dict[ContactKey, int] = {}
        self.assigned: set[int] | None = None

    def _show_sources(self, latest: dict[str, int]) -> None:
        m = self.metrics
        for source, t in latest.items():
            label = self.sources(source)
            if t > self.source_last.get(label, -1):
                self.source_last[label] = t
                m.child(m.source_last, (label,)).set(t / US)

    def recover(self) -> int:
        """Restore watermarks and open contacts after a restart; returns the contacts restored."""
        self.known = Known.load(self.store.reader)
        self.erased = self.store.erased()
        self.engine.restore_watermarks(self.store.watermarks())
        self.positions = {(self.topic, p): o for p, o in self.store.offsets(self.topic).items()}
        self._show_sources(self.store.source_last_events())  # "silent after being active" survives restarts
        if self.store.lake:  # a group's consumers restore their partitions' contacts when assigned them
            return 0
        keys = self.store.open_contacts()
        self._restore(keys)
        return len(keys)

    def revoke(self, partitions: set[int]) -> None:
        """Partitions a rebalance is taking away (a lake's group): records of them still to come are left
        to their next owner. The caller then commits what was read of them before."""
        if self.assigned is not None:
            self.assigned -= partitions
        else:
            self.assigned = set()

    def reassign(self, assigned: set[int], stored: dict[int, int]) -> int:
        """Partitions assigned in a rebalance (a lake's consumer group): contacts of partitions gone elsewhere
        leave memory and the board (their new owner shows them), the stored offsets of these partitions are
        the ones a write expects, and the open contacts of partitions new here are restored. Call with
        nothing unwritten. Returns the contacts restored."""
        before = self.assigned or set()
        gone = [k for k, p in self.partition_of.items() if p not in assigned]
        self.engine.evict(gone)
        for k in gone:
            del self.partition_of[k]
        with self.board.lock:
            self.board.forget(gone, counted=True)
        for p in before - assigned:  # its lag is its new owner's to show now
            with contextlib.suppress(KeyError):
                self.metrics.lag.remove(str(p))
        self.positions = {(self.topic, p): o for p, o in stored.items() if p in assigned}
        self.assigned = set(assigned)
        self.known = Known.load(self.store.reader)  # ids and contacts other consumers stored meanwhile
        self.erased = self.store.erased()
        self.engine.restore_watermarks(self.store.watermarks())
        fresh = self.store.open_contacts_of(assigned - before)
        self.partition_of.update(fresh)
        self._restore(sorted(k for k in fresh if k not in self.engine.states))
        return len(fresh)

    def _restore(self, keys: Sequence[tuple[str, str]]) -> None:
        """Reload contacts from DuckDB and put them on the board as already counted (they were, before)."""
        self._show_restored(load_stored(self.store, keys, self.known), keys)

    def _show_restored(self, stored: Sequence[Event], keys: Iterable[ContactKey]) -> None:
        self.engine.restore(stored)
        keys = list(keys)
        with self.board.lock:
            for facts in self.engine.facts(k for k in keys if k in self.engine.states):
                self._show(facts, Observations())

    def evict_quiet(self, keep: AbstractSet[ContactKey] = frozenset()) -> int:
        """Forget contacts quiet for longer than the time-out and the FCR window: memory stays bounded for years.

        ``keep``: contacts with events not yet written (a contact is reloaded from DuckDB when it is needed
        again, so all its events must be there)."""
        rules = self.engine.rules
        horizon = rules.contact_timeout_seconds + (rules.fcr_window_days + 1) * 86400
        keys = [k for k in self.engine.quiet(horizon) if k not in keep]
        self.engine.evict(keys)
        for k in keys:
            self.partition_of.pop(k, None)
        with self.board.lock:
            self.board.forget(keys, counted=True)
        return len(keys)

    def _show(self, facts: ContactFacts, obs: Observations) -> None:
        """Put a contact's facts on the live board; a contact left waiting or on hold gets its time-out deadline."""
        key = (facts.council, facts.contact_id)
        walk = self.engine.states[key].walk
        self.board.update(facts, walk, obs)
        if walk.last_event is not None and self.board.is_live(key):
            heapq.heappush(self.deadlines.setdefault(facts.council, []), (walk.last_event + self.timeout_us, key))

    def follow_watermarks(self, stored: dict[str, int]) -> None:
        """Each council's watermark over every partition (a lake's, which other consumers raise too), so
        that this consumer's live series time contacts out when the partnership's events have moved on,
        even while its own partitions are quiet."""
        self.engine.restore_watermarks(stored)
        with self.board.lock:
            self._sweep_timed_out()

    def _sweep_timed_out(self) -> None:
        """A contact that times out leaves the live gauges even when no event touches it.

        Each council's deadlines are a heap (an entry is stale once the contact has a later event or left
        the board), so a batch looks only at contacts whose deadline its watermark has passed."""
        gone = []
        for council, heap in self.deadlines.items():
            mark = self.engine.watermarks.get(council)
            while heap and mark is not None and heap[0][0] <= mark:
                _, key = heapq.heappop(heap)
                if not self.board.is_live(key):
                    continue
                state = self.engine.states.get(key)
                if (
                    state is None
                    or state.walk.last_event is None
                    or timed_out(state.walk.last_event, mark, self.timeout_us)
                ):
                    gone.append(key)
        self.board.forget(gone)

    def decode(self, records: Sequence[Record], ingest_time: datetime | None = None) -> DecodedBatch:
        now = ingest_time or datetime.now(UTC)
        now_us = micros(now)
        out = DecodedBatch()
        positions, next_offsets, append = self.positions, out.next_offsets, out.events.append
        erased, owners, assigned = self.erased, out.owners, self.assigned
        for r in records:
            tp, offset = (r.topic, r.partition), r.offset
            if offset < positions.get(tp, 0):
                continue  # redelivered after a seek or restart: already in DuckDB
            if assigned is not None and r.partition not in assigned:
                continue  # fetched before a rebalance took the partition away: its new owner reads it
            out.read += 1
            if offset >= next_offsets.get(tp, 0):
                next_offsets[tp] = offset + 1
            raw = r.value or b""
            try:
                event = decode(raw, now, now_us)
                if erased and erased.drops(event):  # a person erased: counted, never stored
                    out.erased += 1
                    continue
                append(event)
                owners[event.contact] = r.partition
            except Rejected as exc:
                origin = f"{r.topic}/{r.partition}/{r.offset}"
                out.rejected.append(RejectedMessage(raw, exc.reason, exc.detail, origin))
                headers = {
                    "reason": exc.reason,
                    "original_topic": r.topic,
                    "original_partition": str(r.partition),
                    "original_offset": str(r.offset),
                }
                out.dead_letters.append(DeadLetter(raw, r.key, headers))
        return out

    def prepare(self, batch: DecodedBatch) -> StoreWrite:
        """The batch through the engine and onto the live series; returns its DuckDB write, not yet run.

        The live series lead DuckDB by at most the write in flight: a crash before it commits loses
        nothing, since the events are read again from the stored offsets (and the counters restart).
        """
        unknown = self.engine.unknown(e.contact for e in batch.events)
        retired: set[ContactKey] = set()
        if unknown:
            stored, retired = stored_and_retired(self.store, sorted(unknown), self.known)
            self._show_restored(stored, unknown)
            self.engine.ensure(unknown - retired)
        write = prepare_batch(
            self.engine,
            self.store,
            batch.events,
            batch.rejected,
            batch.next_offsets,
            self.pending_ids,
            self.known,
            retired,
            batch.owners if self.store.lake else None,
        )
        if self.store.lake:
            self.partition_of.update(batch.owners)
        late = len(write.rejected) - len(batch.rejected)
        if late:
            self.metrics.child(self.metrics.rejected, (BEYOND_RETENTION,)).inc(late)
        m = self.metrics
        obs = Observations()
        with self.board.lock:
            for facts in write.facts:
                self._show(facts, obs)
            self._sweep_timed_out()
        m.observe(obs)
        for typ, n in Counter(e.type for e in write.events).items():
            m.child(m.events, (typ,)).inc(n)
        latest: dict[str, int] = {}
        for e in write.events:
            if e.t > latest.get(e.source, -1):
                latest[e.source] = e.t
        self._show_sources(latest)
        if write.duplicates:
            m.duplicates.inc(write.duplicates)
        self.batches += 1
        for r in batch.rejected:
            m.child(m.rejected, (r.reason,)).inc()
        if batch.erased:
            m.erased.inc(batch.erased)
        return write

    def hold(self, write: StoreWrite) -> None:
        """A write not yet committed: until ``written``, its ids are duplicates for the batches prepared next."""
        self.pending_ids.update(e.id for e in write.events)

    def written(self, write: StoreWrite) -> None:
        """The write committed: its offsets are now the stored ones."""
        self.pending_ids.difference_update(e.id for e in write.events)
        if write.offsets:
            self.positions.update(write.offsets)
        self.metrics.batch_committed.set(time.time())

    def known_needs_reload(self) -> bool:
        return self.known is not None and self.known.needs_reload()

    def reload_known(self) -> None:
        """Fold the keys noted since into one sorted array, from DuckDB: call when nothing is unwritten."""
        self.known = Known.load(self.store.reader)
        self.erased = self.store.erased()

    def due_for_eviction(self) -> bool:
        return self.batches > 0 and self.batches % EVICT_EVERY_BATCHES == 0

    def commit(self, batch: DecodedBatch) -> StoreWrite:
        """Prepare and write one batch on this thread (tests, and callers with no writer thread)."""
        if self.due_for_eviction():
            self.evict_quiet()
        write = self.prepare(batch)
        self.hold(write)
        write.apply(self.store)
        self.written(write)
        return write
