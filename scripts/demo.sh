#!/usr/bin/env bash
# make demo: broker, topics, consumer, Prometheus and Alertmanager, 28 days of simulated history, live traffic,
# wallboard; Ctrl-C stops all.
#   DEMO_MINUTES=N (or `make demo MINUTES=N`) ends it by itself after N minutes.
#   DEMO_UNDERSTAFF=revenues=0.3 runs the live traffic with that queue understaffed (an incident).
#   DEMO_SECURE=1 runs every Kafka client over SASL_SSL (SCRAM-SHA-512 over TLS; scripts/kafka.sh KAFKA_SECURE=1).
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES="${DEMO_MINUTES:-}"
VAR=var/demo
DB="$VAR/contactpulse.duckdb"
CP=.venv/bin/contactpulse
PORT="${KAFKA_PORT:-9092}"
export CONTACTPULSE_KAFKA_BOOTSTRAP="127.0.0.1:$PORT"
export CONTACTPULSE_CONFIG="${CONTACTPULSE_CONFIG:-$PWD/docs/contactpulse.example.toml}"  # calendars, standards
mkdir -p "$VAR"
pids=()

cleanup() {
  trap - EXIT INT TERM
  echo; echo "demo: stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  MON_DIR="$VAR/monitoring" bash scripts/monitoring.sh down || true
  bash scripts/kafka.sh down || true
  if [ -s "$VAR/monitoring/alerts.jsonl" ]; then
    echo "demo: alerts delivered to the example webhook ($VAR/monitoring/alerts.jsonl):"
    .venv/bin/python -c 'import collections,json,sys; c=collections.Counter(json.loads(l)["labels"]["alertname"] for l in open(sys.argv[1])); [print(f"  {n:5d}  {a}") for a,n in c.most_common()]' "$VAR/monitoring/alerts.jsonl"
  fi
  if [ -f "$DB" ]; then
    echo "demo: the data stays in $DB"
    "$CP" summary --db "$DB" || true
    # the board pack of the last full month in the UK, and the customer care standards of that month
    month=$(date -d "$(TZ=Europe/London date +%Y-%m-01) -1 month" +%Y-%m)
    "$CP" standards --db "$DB" --period "$month" || true
    if "$CP" report --db "$DB" --period "$month" --out "$VAR/board-$month.html" >/dev/null 2>"$VAR/report.log"; then
      echo "demo: the board pack for $month: $PWD/$VAR/board-$month.html"
    else
      echo "demo: no board pack for $month: $(tail -1 "$VAR/report.log")"
    fi
  fi
}
trap cleanup EXIT INT TERM

if [ -n "${DEMO_SECURE:-}" ]; then export KAFKA_SECURE=1 KAFKA_SECURE_PORT="${KAFKA_SECURE_PORT:-9095}"; fi
bash scripts/kafka.sh up
if [ -n "${DEMO_SECURE:-}" ]; then  # every client below: the SASL_SSL listener, its CA and user (docs/security.md)
  TLS="$PWD/.cache/kafka/secure-$PORT"
  export CONTACTPULSE_KAFKA_BOOTSTRAP="127.0.0.1:$KAFKA_SECURE_PORT" CONTACTPULSE_KAFKA_SECURITY_PROTOCOL=SASL_SSL \
         CONTACTPULSE_KAFKA_USERNAME=contactpulse CONTACTPULSE_KAFKA_PASSWORD_FILE="$TLS/scram.password" \
         CONTACTPULSE_KAFKA_CA_FILE="$TLS/ca.pem"
  echo "demo: Kafka clients over SASL_SSL on $CONTACTPULSE_KAFKA_BOOTSTRAP"
fi
.venv/bin/python -m services.kafka recreate-topics --bootstrap "$CONTACTPULSE_KAFKA_BOOTSTRAP"
rm -f "$DB" "$DB.wal" "${DB%.duckdb}.snapshot.duckdb"

echo "demo: starting the consumer (log: $VAR/consumer.log, metrics: http://127.0.0.1:9464/metrics)"
"$CP" consume --db "$DB" >"$VAR/consumer.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do curl -sf http://127.0.0.1:9464/healthz >/dev/null && break; sleep 0.5; done

rm -rf "$VAR/monitoring"
MON_DIR="$VAR/monitoring" bash scripts/monitoring.sh up

# the HTTP ingest gateway, with a demo token that may emit for every council (shown once; kept for the README's curl)
export CONTACTPULSE_GATEWAY_TOKENS="$VAR/gateway-tokens.json"
rm -f "$CONTACTPULSE_GATEWAY_TOKENS"
"$CP" gateway-token add --council all --source / | tail -1 >"$VAR/gateway-token"
chmod 600 "$VAR/gateway-token"
export CONTACTPULSE_PSEUDONYM_KEY="${CONTACTPULSE_PSEUDONYM_KEY:-demo key only, never for real data}"
export CONTACTPULSE_GATEWAY_WEBHOOKS="$PWD/docs/webhooks.example.toml"  # Chatwoot and a forms platform
"$CP" gateway >"$VAR/gateway.log" 2>&1 &
pids+=($!)
echo "demo: the gateway on http://127.0.0.1:8088/v1/events (token in $VAR/gateway-token; log: $VAR/gateway.log)"

echo "demo: backfilling the last 28 days of simulated council traffic"
"$CP" simulate --mode history --days 28

echo "demo: live traffic (volume x200${DEMO_UNDERSTAFF:+, understaffed: $DEMO_UNDERSTAFF})"
live_args=(simulate --mode live)
[ -n "$MINUTES" ] && live_args+=(--minutes "$MINUTES")
[ -n "${DEMO_UNDERSTAFF:-}" ] && live_args+=(--understaff "$DEMO_UNDERSTAFF")
"$CP" "${live_args[@]}" >"$VAR/simulate.log" 2>&1 &
pids+=($!)

wall_args=(wallboard)
[ -n "$MINUTES" ] && wall_args+=(--minutes "$MINUTES")
"$CP" "${wall_args[@]}" || true
