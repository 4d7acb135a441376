"""``contactpulse consume``: the FastStream consumer on Kafka (wiring only; the work is in services.stream.processor).

Delivery: FastStream's manual ack policy (no auto-commit). Each partition's next
offset is stored in DuckDB in the same transaction as the batch's effects, and
the consumer seeks to the stored offsets whenever partitions are assigned, so a
crash at any point replays at most the uncommitted batch, whose duplicates the
store recognises. Dead letters are published before that transaction commits:
a crash in between re-publishes them (at least once), never loses them.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Coroutine
from typing import Any

import duckdb
from aiokafka import ConsumerRebalanceListener, TopicPartition
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy
from prometheus_client import CollectorRegistry, disable_created_metrics

from pipelines.calendar import LocalDays
from pipelines.engine import FactEngine
from pipelines.live import LiveBoard
from services.exposition.http import serve
from services.exposition.metrics import LiveCollector, PipelineMetrics
from services.exposition.standards import StandardsCollector, refresh
from services.exposition.webconfig import load_web_config
from services.kafka import KafkaSecurity, refused, wait_async
from services.settings import Settings
from services.store.location import Location
from services.store.opening import open_store
from services.store.readers import snapshot_path
from services.store.store import Store
from services.stream.gcpolicy import THRESHOLDS, gc_paused, gc_thresholds
from services.stream.processor import StreamProcessor
from services.stream.writer import Writer

log = logging.getLogger("contactpulse.consumer")
MAX_RECORDS = 5000
GROUP_COMMIT_SECONDS = 5.0


class SeekToStoredOffsets(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, continue from the offsets committed with the data in DuckDB.

    FastStream runs this listener as a task, so a batch may be fetched before the
    seek lands; ``StreamProcessor.decode`` skips records below the stored offsets.
    """

    def __init__(self, processor: StreamProcessor, topic: str, writer: Writer) -> None:
        self.processor = processor
        self.topic = topic
        self.writer = writer
        self.subscriber: Any = None

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # what was read from these partitions is committed before the group hands them on (aiokafka awaits
        # this before it rejoins), so their next owner resumes where this one stopped
        if self.processor.store.lake:
            self.processor.revoke({tp.partition for tp in revoked if tp.topic == self.topic})
        if revoked and self.writer.failed is None:
            await self.writer.drain()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        consumer = self.subscriber.consumer
        await self.writer.drain()  # the offsets of the write in flight, once it has committed
        stored = self.processor.store.offsets(self.topic)
        if self.processor.store.lake:  # partitions shared with other consumers: state follows the assignment
            restored = self.processor.reassign({tp.partition for tp in assigned if tp.topic == self.topic}, stored)
            log.info("%d open contacts restored for the partitions assigned", restored)
        for tp in assigned:
            if tp.partition in stored:  # otherwise auto_offset_reset=earliest or the group's own offset
                consumer.seek(tp, stored[tp.partition])
        log.info("assigned %s; resuming from stored offsets %s", sorted(tp.partition for tp in assigned), stored)


async def _raw_batch(msg: KafkaMessage) -> Any:
    """Keep the raw bytes: validity is decided by the contract, not by FastStream's JSON decoder."""
    return [r.value for r in msg.raw_message]


class Snapshots:
    """Publishes FILE.snapshot.duckdb for readers: at most every ``interval`` seconds, once data changed.

    The copy runs on the writer thread, between batch writes."""

    def __init__(self, store: Store, interval: float, writer: Writer) -> None:
        self.store, self.interval, self.writer = store, interval, writer
        self.last = time.monotonic()
        self.copied = -1  # the writer's count of committed writes that the last snapshot holds
        if store.path is None:  # a lake's readers see every commit: no snapshot
            self.interval = 0.0

    async def maybe(self, force: bool = False) -> None:
        # "changed" is a write committed since the last copy, not a batch handled: a batch's write commits up
        # to a second later, and a copy taken between the two would otherwise be the last one (the chaos suite)
        changed = self.writer.commits != self.copied
        if self.interval <= 0 or not (force or (changed and time.monotonic() - self.last >= self.interval)):
            return
        self.last, self.copied = time.monotonic(), self.writer.commits  # the copy runs after those writes
        try:
            path = self.store.path
            assert path is not None
            await self.writer.run(lambda: self.store.snapshot(snapshot_path(path)))
        except (duckdb.Error, OSError) as exc:  # a full disk: readers keep the last copy; the next one retries
            self.copied = -1
            log.warning("cannot write the snapshot: %s", str(exc).splitlines()[0] if str(exc) else exc)

    async def run(self) -> None:
        while self.interval > 0:
            await asyncio.sleep(min(1.0, self.interval))
            await self.maybe()


class Retention:
    """``retention_days`` applied at start and then once a day (services/store/retention.py)."""

    def __init__(self, store: Store, days: int, every: float = 86400.0) -> None:
        self.store, self.days, self.every = store, days, every
        self.last = time.monotonic()

    def due(self) -> bool:
        return self.days > 0 and time.monotonic() - self.last >= self.every

    def apply(self) -> None:
        self.last = time.monotonic()
        if self.days > 0:
            done = self.store.apply_retention(self.days)
            log.info(
                "retention (%d days): %d contacts' %d raw events and %d rejected lines deleted",
                self.days,
                done.contacts,
                done.events,
                done.rejected_lines,
            )


def build_broker(
    settings: Settings, processor: StreamProcessor, snapshots: Snapshots, writer: Writer, retention: Retention
) -> tuple[KafkaBroker, SeekToStoredOffsets]:
    broker = KafkaBroker(
        settings.kafka_bootstrap, logger=log, security=KafkaSecurity.from_settings(settings).faststream()
    )
    listener = SeekToStoredOffsets(processor, settings.events_topic, writer)

    async def handle(body: list[bytes], msg: KafkaMessage) -> None:
        if writer.failed is not None:  # stopping: the records are read again, from the stored offsets, on restart
            return
        records = msg.raw_message
        batch = processor.decode(records)  # while the previous batch's write runs
        for dl in batch.dead_letters:
            await broker.publish(dl.value, topic=settings.dlq_topic, key=dl.key, headers=dl.headers)
        if retention.due():
            await writer.drain()  # once a day: the raw events past retention go, and the known ids with them
            await writer.run(retention.apply)
            processor.evict_quiet(keep=writer.unwritten_contacts())  # retired contacts leave memory too
            processor.reload_known()
        if processor.due_for_eviction():
            processor.evict_quiet(keep=writer.unwritten_contacts())
            if processor.known_needs_reload():
                await writer.drain()  # rare (every 200,000 new events or more): a pause of about a second
                processor.reload_known()
        try:
            with gc_paused():
                write = processor.prepare(batch)  # the live series now count this batch
        except duckdb.Error as exc:  # a read for the batch failed (a lake's catalog gone too long): stop, so
            writer.fail(exc)  # that no later batch's offsets pass this one's
            return
        await writer.add(write)  # written soon, with any batches that arrive meanwhile
        processor.metrics.observe_ingest((r.timestamp for r in records), time.time())
        _update_lag(listener.subscriber.consumer, processor, batch.next_offsets)
        log.debug(
            "batch: %d read, %d new, %d duplicates, %d dead-lettered",
            batch.read,
            len(write.events),
            write.duplicates,
            len(batch.rejected),
        )

    subscriber = broker.subscriber(
        settings.events_topic,
        batch=True,
        group_id=settings.consumer_group,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        max_records=MAX_RECORDS,
        batch_timeout_ms=10,  # FastStream also sleeps this long after an empty poll: it bounds freshness
        listener=listener,
        decoder=_raw_batch,
    )
    subscriber(handle)
    listener.subscriber = subscriber
    return broker, listener


async def lake_upkeep(store: Store, writer: Writer, every: float) -> None:
    """A lake's maintenance (services/store/maintenance.py) every ``every`` seconds, in turn with the writes."""
    while store.lake and every > 0:
        await asyncio.sleep(every)
        try:
            await writer.run(store.maintain)
        except duckdb.Error as exc:  # the next round tries again; the data is safe either way
            log.warning("lake upkeep failed: %s", str(exc).splitlines()[0] if str(exc) else exc)


async def follow_lake_watermarks(processor: StreamProcessor, writer: Writer, every: float = 15.0) -> None:
    """On a lake, the councils' watermarks as every consumer has raised them, every ``every`` seconds."""
    while processor.store.lake:
        await asyncio.sleep(every)
        try:
            stored = await writer.run(processor.store.watermarks)
        except duckdb.Error as exc:  # the catalog away: the next round tries again
            log.warning("cannot read the lake's watermarks: %s", str(exc).splitlines()[0] if str(exc) else exc)
            continue
        processor.follow_watermarks(stored)


async def refresh_lag(listener: SeekToStoredOffsets, processor: StreamProcessor, every: float = 10.0) -> None:
    """Lag from the topic's end offsets and the offsets stored with the data, even while no batch arrives."""
    while True:
        await asyncio.sleep(every)
        consumer = listener.subscriber.consumer if listener.subscriber else None
        if consumer is None:
            continue
        try:
            assigned = consumer.assignment()
            ends = await consumer.end_offsets(list(assigned)) if assigned else {}
        except Exception as exc:  # the broker may be restarting: report lag again next time
            log.warning("cannot read end offsets: %s", exc)
            continue
        for tp, end in ends.items():
            done = processor.positions.get((tp.topic, tp.partition), 0)
            processor.metrics.lag.labels(str(tp.partition)).set(max(0, end - done))


async def commit_group_offsets(listener: SeekToStoredOffsets, processor: StreamProcessor, every: float) -> None:
    """Kafka's own group offsets, for outside tools: every few seconds, the offsets DuckDB holds.

    Never ahead of DuckDB, so not ``msg.ack()``: that commits everything fetched, including the batches
    not yet written, and a restart that read from there before its seek landed would skip the rest.
    Not per batch either: a commit is a round trip to the group coordinator, on the live path."""
    committed: dict[Any, int] = {}
    while True:
        await asyncio.sleep(every)
        consumer = listener.subscriber.consumer if listener.subscriber else None
        if consumer is None:
            continue
        offsets = {
            tp: processor.positions[(tp.topic, tp.partition)]
            for tp in consumer.assignment()
            if (tp.topic, tp.partition) in processor.positions
        }
        if offsets and offsets != committed:
            try:
                await consumer.commit(offsets)
                committed = offsets
            except Exception as exc:  # a rebalance or a broker restart: try again next time
                log.warning("cannot commit group offsets: %s", exc)


def _update_lag(consumer: Any, processor: StreamProcessor, next_offsets: dict[tuple[str, int], int]) -> None:
    for (topic, partition), offset in next_offsets.items():
        high = consumer.highwater(TopicPartition(topic, partition))
        if high is not None:
            processor.metrics.lag.labels(str(partition)).set(max(0, high - offset))


async def run(settings: Settings, db: Location, stop: asyncio.Event | None = None) -> None:
    with gc_thresholds(THRESHOLDS):
        await _consume(settings, db, stop)


async def _consume(settings: Settings, db: Location, stop: asyncio.Event | None) -> None:
    # no ``*_created`` series: they doubled every counter and histogram in a scrape, which no rule or
    # dashboard reads, and a scrape holds the interpreter lock the event loop needs
    disable_created_metrics()  # type: ignore[no-untyped-call]
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    registry = CollectorRegistry()
    days = LocalDays(settings.timezone)
    metrics = PipelineMetrics(registry, settings.rules().sl_seconds)
    board = LiveBoard(
        settings.queue_label_limit,
        day_of=days,
        council_label_limit=settings.council_label_limit,
        over=lambda label: metrics.label_over_cap.labels(label).inc(),
    )
    registry.register(LiveCollector(board))
    standards = StandardsCollector(settings.council_label_limit) if settings.standards else None
    if standards is not None:
        registry.register(standards)
    server = serve(
        settings.metrics_host,
        settings.metrics_port,
        registry,
        board,
        days,
        (settings.wallboard_amber_seconds, settings.wallboard_red_seconds),
        load_web_config(settings.web_config),
        standards.due_soon_by_queue if standards is not None else None,
    )
    try:
        store = open_store(settings, db)
    except BaseException:
        server.close()
        raise
    processor = StreamProcessor(
        FactEngine(settings.rules()), store, metrics, board, settings.events_topic, settings.source_label_limit
    )
    writer = Writer(processor, stop)
    try:
        retention = Retention(store, settings.retention_days)
        retention.apply()  # before the known ids are loaded: they shrink with it
        restored = processor.recover()
        log.info(
            "%d open contacts restored from %s; metrics on http://%s:%d/metrics",
            restored,
            db,
            settings.metrics_host,
            settings.metrics_port,
        )
        snapshots = Snapshots(store, settings.snapshot_seconds, writer)
        await snapshots.maybe(force=True)
        if await wait_async(settings.kafka_bootstrap, stop, KafkaSecurity.from_settings(settings)):
            log.info("consuming %s from %s", settings.events_topic, settings.kafka_bootstrap)
            live = refresh(standards, writer.run, store, settings.working_calendars()) if standards else None
            await _run_broker(settings, processor, snapshots, writer, stop, retention, live)
        if writer.failed is None:
            await writer.drain()
            await snapshots.maybe(force=True)
    finally:
        writer.close()
        server.close()
        try:
            store.close()
        except duckdb.Error as exc:  # a full disk, say: the reason is the write's, said below
            log.warning("closing %s: %s", db, str(exc).splitlines()[0])
    if writer.failed is not None:
        why = str(writer.failed).splitlines()[0] if str(writer.failed) else type(writer.failed).__name__
        raise SystemExit(f"contactpulse consume: stopped after a failed DuckDB write: {why}")
    log.info("stopped cleanly")


async def _run_broker(
    settings: Settings,
    processor: StreamProcessor,
    snapshots: Snapshots,
    writer: Writer,
    stop: asyncio.Event,
    retention: Retention,
    standards: Coroutine[Any, Any, None] | None = None,
) -> None:
    broker, listener = build_broker(settings, processor, snapshots, writer, retention)
    async with broker:
        try:
            await broker.start()
        except Exception as exc:  # refused credentials or an untrusted certificate: one line, no secret
            raise refused(exc, settings.kafka_bootstrap) from None
        tasks = [
            asyncio.create_task(refresh_lag(listener, processor)),
            asyncio.create_task(snapshots.run()),
            asyncio.create_task(commit_group_offsets(listener, processor, GROUP_COMMIT_SECONDS)),
            asyncio.create_task(lake_upkeep(processor.store, writer, settings.lake_maintenance_seconds)),
            asyncio.create_task(follow_lake_watermarks(processor, writer)),
        ]
        if standards is not None:  # the standards' live series, refreshed on the writer's thread
            tasks.append(asyncio.create_task(standards))
        await stop.wait()
        for task in tasks:
            task.cancel()
