"""Exposition: what the consumer shows the outside world live. The HTTP endpoint (``/metrics``,
``/wallboard.json``), the Prometheus series and collectors, and the example Alertmanager receiver."""
