"""Many contacts' facts at once, for bulk replay, by the one fact engine (``pipelines.facts``).

DuckDB streams the contacts' events out in Arrow batches sorted by contact; the batches are cut so that
no contact's events span two, and each is walked, here or (for a large write) in worker processes, into
an Arrow table of facts. The walk is the consumer's: only the events' transport differs.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Iterable, Iterator
from dataclasses import replace
from itertools import starmap
from multiprocessing.pool import Pool

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.events import Event
from pipelines.facts import facts_of_contacts
from pipelines.rules import MetricRules
from services.store.schema import FACTS, arrow_table

BATCH_ROWS = 65_536  # events a batch, about
IN_PROCESS_BELOW = 100_000  # events: fewer are walked in this process (a worker takes about a second to start)
WORKERS = min(os.cpu_count() or 1, 4)


def facts_table(batch: pa.RecordBatch, rules: MetricRules) -> pa.Table:
    """The facts of the contacts in ``batch`` (an Event's columns; each contact's events all there)."""
    events = starmap(Event, zip(*(column.to_pylist() for column in batch.columns), strict=True))
    return arrow_table(list(facts_of_contacts(events, rules)), FACTS)


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


FIELD = {name: i for i, name in enumerate(Event._fields)}


class Walker:
    """Walks the batches of one replay: in this process, or in ``workers`` spawned processes started at
    the first large write and kept until ``close`` (spawned, not forked: a fork would copy the locks of
    DuckDB's threads)."""

    def __init__(self, rules: MetricRules, workers: int = WORKERS) -> None:
        self.rules, self.workers = rules, workers
        self.pool: Pool | None = None

    def facts(self, batches: Iterable[pa.RecordBatch], events: int) -> pa.Table:
        """The facts of every contact in ``batches`` (sorted by contact), ``events`` of them in all."""
        whole = whole_contacts(batches)
        if events < IN_PROCESS_BELOW or self.workers <= 1:
            tables = [facts_table(b, self.rules) for b in whole]
        else:
            if self.pool is None:
                context = multiprocessing.get_context("spawn")
                portable = replace(
                    self.rules, sl_seconds=dict(self.rules.sl_seconds), unit_costs=dict(self.rules.unit_costs)
                )  # a mappingproxy does not pickle
                self.pool = context.Pool(self.workers, _start_worker, (portable,))
            tables = list(self.pool.imap(_walk, whole))
        return pa.concat_tables(tables) if tables else arrow_table([], FACTS)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None

    def __enter__(self) -> Walker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_rules: MetricRules | None = None  # a worker's own


def _start_worker(rules: MetricRules) -> None:
    global _rules
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the pool
    _rules = rules


def _walk(batch: pa.RecordBatch) -> pa.Table:
    assert _rules is not None
    return facts_table(batch, _rules)
