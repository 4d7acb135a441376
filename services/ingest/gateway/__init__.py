"""The HTTP ingest gateway: CloudEvents over HTTP (structured, batched and binary modes) with per-source
tokens, validated by the contract's own models and published to Kafka keyed by ``contact_id``."""
