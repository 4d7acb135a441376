"""The mapper on Kafka (wiring only; the work is in ``mapper``): it reads the webhooks topic in group
``<consumer_group>-webhooks`` and publishes contract events to the events topic, dead letters to the
dead-letter topic, with an idempotent producer and ``acks=all``; the group's offsets are committed only
once Kafka has acknowledged everything a batch made. It runs inside ``contactpulse gateway``.

On assignment, the memory of each partition is rebuilt from the start of the partition up to the
committed offset (a second client without a group), and the group's consumer is sought back to the
committed offset, so no payload is mapped on a memory that lacks what came before it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy

from services.ingest.webhooks.adapter import Adapter
from services.ingest.webhooks.mapper import Record, WebhookMapper
from services.kafka import PLAINTEXT, KafkaSecurity, faststream_broker

log = logging.getLogger("contactpulse.webhooks")
MAX_RECORDS = 500
RETRY_SECONDS = 1.0


def record(r: Any) -> Record:
    headers = {k: v.decode("utf-8", "replace") for k, v in (r.headers or ())}
    return Record(r.topic, r.partition, r.offset, r.key, r.value or b"", headers)


class Rebuild(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, mapper: WebhookMapper, bootstrap: str, security: KafkaSecurity = PLAINTEXT) -> None:
        self.mapper, self.bootstrap, self.security = mapper, bootstrap, security
        self.subscriber: Any = None
        self.rebuilt: set[int] = set()
        self.ready = asyncio.Event()

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.ready.clear()
        self.rebuilt -= {tp.partition for tp in revoked}
        self.mapper.forget_partitions(tp.partition for tp in revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.ready.clear()
        consumer = self.subscriber.consumer
        new = sorted((tp for tp in assigned if tp.partition not in self.rebuilt), key=lambda tp: tp.partition)
        committed = {tp: (await consumer.committed(tp)) or 0 for tp in new}
        self.mapper.forget_partitions(tp.partition for tp in new)
        replayed = await self._replay(committed)
        for tp, offset in committed.items():
            self.mapper.positions[tp.partition] = offset
            consumer.seek(tp, offset)
        self.rebuilt |= {tp.partition for tp in new}
        self.ready.set()
        log.info(
            "webhooks partitions %s assigned; memory rebuilt from %d payload(s)", [tp.partition for tp in new], replayed
        )

    async def _replay(self, until: Mapping[TopicPartition, int]) -> int:
        wanted = {tp: end for tp, end in until.items() if end > 0}
        if not wanted:
            return 0
        reader = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None, **self.security.aiokafka()
        )
        await reader.start()
        n = 0
        try:
            reader.assign(list(wanted))
            await reader.seek_to_beginning(*wanted)
            while wanted:
                for tp, records in (await reader.getmany(*wanted, timeout_ms=500)).items():
                    for r in records:
                        if r.offset < wanted.get(tp, 0):
                            self.mapper.rebuild(record(r))
                            n += 1
                for tp in list(wanted):
                    if await reader.position(tp) >= wanted[tp]:
                        del wanted[tp]
        finally:
            await reader.stop()
        return n


def build(
    bootstrap: str,
    topic: str,
    group: str,
    events_topic: str,
    dlq_topic: str,
    adapters: Mapping[str, Adapter],
    counted: Any,
    security: KafkaSecurity = PLAINTEXT,
) -> tuple[KafkaBroker, Rebuild]:
    """The mapper's broker; ``counted(webhook, outcome, n)`` is told what each payload came to."""
    broker: KafkaBroker = faststream_broker(bootstrap, security, log)
    mapper = WebhookMapper(adapters)
    listener = Rebuild(mapper, bootstrap, security)

    async def handle(body: list[bytes], msg: KafkaMessage) -> None:
        await listener.ready.wait()
        records = [record(r) for r in msg.raw_message if r.partition in listener.rebuilt]
        out = mapper.map(records)
        failures = 0
        while True:  # the memory has moved on: this outcome is published, however long Kafka takes to return
            try:
                pending = [await broker.publish(v, events_topic, key=k, no_confirm=True) for k, v in out.events]
                pending += [
                    await broker.publish(v, dlq_topic, key=k, headers=h, no_confirm=True)
                    for k, v, h in out.dead_letters
                ]
                await asyncio.gather(*pending)
                break
            except Exception as exc:  # not acknowledged: send it all again (same ids: nothing counts twice)
                if not failures:  # one line when it starts failing and one when it works again
                    log.warning(
                        "cannot publish %d mapped event(s) to Kafka: %s; retrying every %g s",
                        len(out.events),
                        type(exc).__name__,
                        RETRY_SECONDS,
                    )
                failures += 1
                await asyncio.sleep(RETRY_SECONDS)
        if failures:
            log.info("published the mapped events after %d failed attempt(s)", failures)
        offsets = {TopicPartition(topic, r.partition): mapper.positions[r.partition] for r in records}
        try:
            if offsets:
                await listener.subscriber.consumer.commit(offsets)
        except Exception as exc:  # a rebalance or a restart: the next batch's commit covers these
            log.warning("cannot commit the webhooks offsets: %s", exc)
        for (webhook, outcome), n in out.counts.items():
            counted(webhook, outcome, n)

    subscriber = broker.subscriber(
        topic,
        batch=True,
        group_id=group,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        max_records=MAX_RECORDS,
        batch_timeout_ms=10,
        listener=listener,
        decoder=_raw_batch,
    )
    subscriber(handle)
    listener.subscriber = subscriber
    return broker, listener


async def _raw_batch(msg: KafkaMessage) -> Any:
    return [r.value for r in msg.raw_message]
