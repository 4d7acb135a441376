#!/usr/bin/env bash
# Local Prometheus, Alertmanager and the example alert webhook (Debian's packages), with the repo's config files.
# Usage: scripts/monitoring.sh up|down
#   MON_DIR (var/demo/monitoring)  PROM_PORT (9090)  AM_PORT (9093)  WEBHOOK_PORT (9099)
#   TARGETS_DIR (dashboards/prometheus/targets/local)  PROM_INTERVAL (unset: the config's own intervals)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${MON_DIR:-$ROOT/var/demo/monitoring}"
PROM_PORT="${PROM_PORT:-9090}"
AM_PORT="${AM_PORT:-9093}"
WEBHOOK_PORT="${WEBHOOK_PORT:-9099}"
TARGETS="${TARGETS_DIR:-$ROOT/dashboards/prometheus/targets/local}"
CP="${CONTACTPULSE:-$ROOT/.venv/bin/contactpulse}"

start() {  # name, port, command...
  local name=$1 port=$2; shift 2
  if [ -f "$DIR/$name.pid" ] && kill -0 "$(cat "$DIR/$name.pid")" 2>/dev/null; then return 0; fi
  # another process on the port would answer the readiness check in this one's place
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "monitoring: port $port is in use by another process; stop it or choose another port for $name" >&2; exit 1
  fi
  nohup "$@" >"$DIR/$name.log" 2>&1 &
  echo $! >"$DIR/$name.pid"
}

wait_http() {  # url, name
  for _ in $(seq 1 120); do curl -sf "$1" >/dev/null && return 0; sleep 0.25; done
  echo "monitoring: $2 did not come up; see $DIR/$2.log" >&2; tail -5 "$DIR/$2.log" >&2; exit 1
}

up() {
  mkdir -p "$DIR/prometheus-data" "$DIR/alertmanager-data" "$DIR/prometheus"
  # prometheus.yml finds rules/ and targets/ beside it, as in docker-compose
  if [ -n "${PROM_INTERVAL:-}" ]; then
    sed -e "s/scrape_interval: .*/scrape_interval: $PROM_INTERVAL/" -e "s/evaluation_interval: .*/evaluation_interval: $PROM_INTERVAL/" \
        "$ROOT/dashboards/prometheus/prometheus.yml" >"$DIR/prometheus/prometheus.yml"
  else
    ln -sfn "$ROOT/dashboards/prometheus/prometheus.yml" "$DIR/prometheus/prometheus.yml"
  fi
  ln -sfn "$ROOT/dashboards/prometheus/rules" "$DIR/prometheus/rules"
  ln -sfn "$TARGETS" "$DIR/prometheus/targets"
  start webhook "$WEBHOOK_PORT" "$CP" alert-webhook --port "$WEBHOOK_PORT" --log "$DIR/alerts.jsonl"
  start alertmanager "$AM_PORT" prometheus-alertmanager --config.file="$ROOT/dashboards/alertmanager/alertmanager.yml" \
      --storage.path="$DIR/alertmanager-data" --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address=
  start prometheus "$PROM_PORT" prometheus --config.file="$DIR/prometheus/prometheus.yml" --storage.tsdb.path="$DIR/prometheus-data" \
      --web.listen-address="127.0.0.1:$PROM_PORT" --web.enable-lifecycle
  wait_http "http://127.0.0.1:$AM_PORT/-/ready" alertmanager
  wait_http "http://127.0.0.1:$PROM_PORT/-/ready" prometheus
  echo "monitoring: Prometheus http://127.0.0.1:$PROM_PORT  Alertmanager http://127.0.0.1:$AM_PORT  alerts log $DIR/alerts.jsonl" >&2
}

down() {
  for name in prometheus alertmanager webhook; do
    if [ -f "$DIR/$name.pid" ]; then kill "$(cat "$DIR/$name.pid")" 2>/dev/null || true; rm -f "$DIR/$name.pid"; fi
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
