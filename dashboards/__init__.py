"""Observability as code: Prometheus rules and Grafana dashboards generated from dashboards/config.toml."""
