"""Many contacts' facts at once, for replay, by the one fact engine (``pipelines.facts``).

DuckDB hands the contacts' events over as Arrow, sorted by contact; they are cut into batches so that no
contact's events span two, and each batch is walked, here or (for a large write) in worker processes,
into an Arrow table of facts. The walk is the consumer's: only the events' transport differs.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from itertools import pairwise
from multiprocessing.pool import Pool

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.events import Event
from pipelines.facts import compute_facts
from pipelines.rules import MetricRules
from pipelines.standards import verdict_rows
from services.store.schema import FACTS, arrow_table, verdicts_table

BATCH_ROWS = 65_536  # events a batch, about
IN_PROCESS_BELOW = 100_000  # events: fewer are walked here (below it, starting the workers costs about what they save)
WORKERS = min(os.cpu_count() or 1, 4)
FIELD = {name: i for i, name in enumerate(Event._fields)}


Walked = tuple[pa.Table, pa.Table]  # the contacts' facts, and their standards' verdicts


def facts_table(batch: pa.RecordBatch, rules: MetricRules) -> Walked:
    """The facts of the contacts in ``batch`` (an Event's columns, sorted by contact; each contact's events
    all there), and their standards' verdicts before the watermark rule."""
    events = list(map(Event._make, zip(*(column.to_pylist() for column in batch.columns), strict=True)))
    starts = contact_starts(batch)
    facts = [compute_facts(events[a:b], rules) for a, b in pairwise(starts)]
    return arrow_table(facts, FACTS), verdicts_table(verdict_rows(facts, rules.standards, rules.calendars))


def contact_starts(batch: pa.RecordBatch) -> list[int]:
    """Where each contact's events begin in ``batch`` (sorted by contact), then its length: found by Arrow in
    one pass rather than by comparing keys in Python."""
    n = batch.num_rows
    if n == 0:
        return [0]
    council, contact = batch.column(FIELD["council"]), batch.column(FIELD["contact_id"])
    changed = pc.or_(
        pc.not_equal(contact.slice(1), contact.slice(0, n - 1)), pc.not_equal(council.slice(1), council.slice(0, n - 1))
    )
    return [0, *pc.add(pc.indices_nonzero(changed), 1).to_pylist(), n]


def whole_contacts(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``batches`` (sorted by council and contact) cut again so that each holds whole contacts."""
    carry: pa.RecordBatch | None = None
    for batch in batches:
        if carry is not None:
            batch = pa.concat_batches([carry, batch])
        if batch.num_rows == 0:
            continue
        council, contact = batch.column(FIELD["council"]), batch.column(FIELD["contact_id"])
        last = pc.and_(pc.equal(council, council[-1]), pc.equal(contact, contact[-1]))
        cut = pc.index(last, True).as_py()  # where the last contact's events begin
        carry = batch.slice(cut)
        if cut:
            yield batch.slice(0, cut)
    if carry is not None and carry.num_rows:
        yield carry


class Walker:
    """Walks the batches of one replay: in this process, or in ``workers`` spawned processes started at
    the first large write and kept until ``close`` (spawned, not forked: a fork would copy the locks of
    DuckDB's threads)."""

    def __init__(self, rules: MetricRules, workers: int = WORKERS) -> None:
        self.rules, self.workers = rules, workers
        self.pool: Pool | None = None

    def submit(self, events: pa.Table) -> Callable[[], Walked]:
        """The facts of every contact in ``events`` (sorted by contact), to be collected by calling what this
        returns: in the workers, already under way, so that this process can write meanwhile."""
        whole = list(whole_contacts(events.to_batches(max_chunksize=BATCH_ROWS)))
        if events.num_rows < IN_PROCESS_BELOW or self.workers <= 1:
            return lambda: _concat([facts_table(b, self.rules) for b in whole])
        if self.pool is None:
            portable = replace(
                self.rules, sl_seconds=dict(self.rules.sl_seconds), unit_costs=dict(self.rules.unit_costs)
            )  # a mappingproxy does not pickle
            self.pool = multiprocessing.get_context("spawn").Pool(self.workers, _start_worker, (portable,))
        pending = self.pool.map_async(_walk, whole)
        return lambda: _concat(pending.get())

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None

    def __enter__(self) -> Walker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _concat(walked: list[Walked]) -> Walked:
    if not walked:
        return arrow_table([], FACTS), verdicts_table([])
    return pa.concat_tables([w[0] for w in walked]), pa.concat_tables([w[1] for w in walked])


_rules: MetricRules | None = None  # a worker's own


def _start_worker(rules: MetricRules) -> None:
    global _rules
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the pool
    _rules = rules


def _walk(batch: pa.RecordBatch) -> Walked:
    assert _rules is not None
    return facts_table(batch, _rules)
