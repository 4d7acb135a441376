"""The consumer's writer: the one thread that uses the store's read-write connection.

The event loop prepares each batch (engine, live series) and hands its write here. While a
write runs, and for a second after one starts, the batches that arrive are merged into
the next one, so the live series never wait for DuckDB, and many batches share one
transaction. Writes
and other jobs (snapshots) run one at a time, in order. A failed write is fatal (the
engine has moved past DuckDB): it stops the consumer, which restarts from the offsets
stored with the data.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from services.stream.batch import StoreWrite
from services.stream.processor import StreamProcessor

T = TypeVar("T")

log = logging.getLogger("contactpulse.writer")
MAX_PENDING_EVENTS = 50_000
# at most one write a second (DuckDB lags the live series by about that): each write's set-based statements
# have a fixed cost, so fewer, larger writes leave the cores to the event loop (docs/performance.md)
WRITE_INTERVAL_SECONDS = 1.0


class Writer:
    def __init__(
        self,
        processor: StreamProcessor,
        stop: asyncio.Event,
        max_pending: int = MAX_PENDING_EVENTS,
        interval: float = WRITE_INTERVAL_SECONDS,
    ) -> None:
        self.processor = processor
        self.interval = interval
        self.last_start = -interval
        self.stop = stop
        self.max_pending = max_pending
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="duckdb-writer")
        self.pending: StoreWrite | None = None
        self.inflight: StoreWrite | None = None
        self.task: asyncio.Task[None] | None = None
        self.failed: BaseException | None = None
        self.commits = 0  # writes committed so far (snapshots copy when it moves)

    async def add(self, write: StoreWrite) -> None:
        """Queue a prepared batch's write; waits only when too much is pending (backpressure)."""
        if self.failed is not None:
            raise self.failed
        self.processor.hold(write)
        self.pending = write if self.pending is None else self.pending.merge(write)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run())
        if len(self.pending.events) >= self.max_pending:
            await self.drain()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self.pending is not None:
            # a pause between writes lets more batches share one: DuckDB's cost is mostly per statement
            await asyncio.sleep(max(0.0, self.last_start + self.interval - time.perf_counter()))
            write, self.pending = self.pending, None
            self.inflight = write
            started = self.last_start = time.perf_counter()
            try:
                await loop.run_in_executor(self.pool, self._write, write)
            except Exception as exc:
                self.fail(exc)
                return
            self.inflight = None
            self.commits += 1
            self.processor.written(write)
            self.processor.metrics.batch_duration.observe(time.perf_counter() - started)

    def _write(self, write: StoreWrite) -> None:
        # the offsets this consumer last committed or resumed from: another's commit since fences the write
        positions = self.processor.positions
        write.apply(self.processor.store, {tp: positions[tp] for tp in write.offsets or () if tp in positions})

    def fail(self, exc: BaseException) -> None:
        """Stop the consumer: the store could not be written (or read for a batch); a restart resumes from
        the offsets stored with the data, so the batches not written are read again."""
        self.failed = exc
        self.stop.set()
        log.critical("DuckDB write failed; stopping (restart resumes from the stored offsets): %s", exc)

    def unwritten_contacts(self) -> set[tuple[str, str]]:
        """Contacts with events waiting to be written or being written."""
        return {(f.council, f.contact_id) for w in (self.pending, self.inflight) if w for f in w.facts}

    async def drain(self) -> None:
        """Wait until everything queued is committed (or the writer has failed)."""
        while self.task is not None and not self.task.done():
            await self.task
        if self.failed is not None:
            raise self.failed

    async def run(self, fn: Callable[[], T]) -> T:
        """Any other use of the connection (snapshots, the standards' counts), in turn with the writes."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
