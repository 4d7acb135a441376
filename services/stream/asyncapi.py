"""The AsyncAPI document of ContactPulse's topics (FastStream generates it), exported to ``schemas/json/``.

It describes the wire, not the consumer's code: the events topic, keyed by ``contact_id``, whose messages
are the contract's CloudEvents (EVENTS.md); the dead-letter topic, whose messages are the bad ones
unchanged, with their reason in the headers; and the webhooks topic, vendors' payloads before mapping.
"""

from __future__ import annotations

import json
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from schemas.events import ContactEvent
from services.settings import Settings

FILE = "topics.asyncapi.json"


def document(settings: Settings | None = None) -> dict[str, Any]:
    s = settings or Settings.model_construct()  # the defaults, whatever the environment says
    broker = KafkaBroker(s.kafka_bootstrap, description="The council's Kafka cluster (KRaft).")
    broker.publisher(
        s.dlq_topic,
        title="dead letters",
        schema=bytes,
        description="Each bad message unchanged, with headers reason (schemas/reasons.py), "
        "original_topic, original_partition and original_offset. A vendor's webhook payload "
        "that cannot be mapped is here too, with reason unmappable:<why>, vendor and webhook "
        "(services/ingest/webhooks).",
    )

    @broker.subscriber(
        s.webhooks_topic,
        title="vendors' webhooks",
        group_id=s.consumer_group + "-webhooks",
        description="Vendors' webhook payloads as the gateway kept them: cut to the fields the "
        "webhook's mapping reads, the customer's identifier already a pseudonym (customer_ref); "
        "headers webhook (its name in the webhooks file) and received_at_us; keyed by the "
        "webhook and the vendor's conversation or record. The gateway's mapper reads them "
        "and publishes contract events to the events topic.",
    )
    async def vendor_webhooks(payload: dict[str, Any]) -> None:
        return None

    @broker.subscriber(
        s.events_topic,
        title="contact events",
        group_id=s.consumer_group,
        description="Contact events, contract v1 (CloudEvents 1.0 structured JSON), keyed by "
        "data.contact_id; from emitters, adapters and the HTTP gateway.",
    )
    async def contact_events(event: ContactEvent) -> None:  # the consumer reads the raw bytes; this names them
        return None

    spec = AsyncAPI(
        broker,
        title="ContactPulse topics",
        version="1",
        description="What ContactPulse reads from and writes to Kafka.",
    ).to_specification()
    loaded: dict[str, Any] = json.loads(spec.to_json())
    return loaded
