"""``contactpulse adapt SOURCE``: source systems' own records as contract events, published to Kafka
(or written to a JSON Lines file). One module per system; ``base`` and ``run`` are what they share."""
