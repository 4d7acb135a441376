"""The gateway's Prometheus series, on an injected registry; every label is bounded (routes are the app's,
statuses HTTP's, reasons the contract's stable set,
webhooks the webhooks file's names)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

PUBLISH_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        p = "contactpulse_gateway_"
        self.requests = Counter(p + "requests", "HTTP requests answered.", ("route", "status"), registry=registry)
        self.accepted = Counter(p + "events_accepted", "Events published to Kafka.", registry=registry)
        self.rejected = Counter(p + "events_rejected", "Events refused, by reason.", ("reason",), registry=registry)
        self.publish = Histogram(
            p + "publish_seconds",
            "From a request's first send until Kafka acknowledged all.",
            buckets=PUBLISH_BUCKETS,
            registry=registry,
        )
        # webhook: the webhooks file's names only (an unknown name is a 404, never a label)
        self.webhook_payloads = Counter(
            p + "webhook_payloads",
            "Vendors' webhook payloads kept on Kafka, by webhook and outcome (kept, dead_lettered).",
            ("webhook", "outcome"),
            registry=registry,
        )
        self.webhook_mapped = Counter(
            "contactpulse_webhook_mapped_payloads",
            "Webhook payloads the mapper read, by webhook and outcome (mapped, ignored, dead_lettered).",
            ("webhook", "outcome"),
            registry=registry,
        )
