#!/usr/bin/env bash
# Runs a single-node Apache Kafka 4.x broker (KRaft, combined broker+controller) on 127.0.0.1
# from jars fetched from Maven Central. Usage: scripts/kafka.sh fetch|up|down|status|topics
#   KAFKA_PORT (9092)  KAFKA_CONTROLLER_PORT (9094: 9093 is Alertmanager's)  KAFKA_HOME (.cache/kafka)  KAFKA_TOPIC_PARTITIONS (6)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
KAFKA_HOME="${KAFKA_HOME:-$ROOT/.cache/kafka}"
PORT="${KAFKA_PORT:-9092}"
CPORT="${KAFKA_CONTROLLER_PORT:-9094}"
LIBS="$KAFKA_HOME/libs"
DATA="$KAFKA_HOME/data-$PORT-$CPORT"  # formatted for this controller port (KRaft keeps it in the metadata)
PIDFILE="$KAFKA_HOME/broker-$PORT.pid"
LOG="$KAFKA_HOME/broker-$PORT.log"
PY="${PYTHON:-$ROOT/.venv/bin/python}"

log() { echo "kafka: $*" >&2; }

fetch() {
  if [ -f "$LIBS/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || { log "Maven (mvn) is needed to fetch the broker jars"; exit 1; }
  log "fetching broker jars from Maven Central into $LIBS"
  mkdir -p "$LIBS"
  mvn -q -B -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$LIBS"
  touch "$LIBS/.complete"
}

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

write_config() {
  mkdir -p "$DATA"
  cat > "$KAFKA_HOME/server-$PORT.properties" <<CONF
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.quorum.bootstrap.servers=127.0.0.1:$CPORT
log.dirs=$DATA
num.partitions=6
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=16777216
auto.create.topics.enable=false
CONF
  cat > "$KAFKA_HOME/log4j2.yaml" <<'CONF'
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        Pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
CONF
}

java_cmd() {
  java -Xmx512m -Xms256m -Dlog4j2.configurationFile="$KAFKA_HOME/log4j2.yaml" -cp "$LIBS/*" "$@"
}

up() {
  fetch
  if running; then log "already running on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"; topics; return 0; fi
  write_config
  if [ ! -f "$DATA/meta.properties" ]; then
    cid=$("$PY" -c 'import base64,os;print(base64.urlsafe_b64encode(b"\x00"+os.urandom(15)).rstrip(b"=").decode())')
    java_cmd kafka.tools.StorageTool format -t "$cid" -c "$KAFKA_HOME/server-$PORT.properties" --standalone >/dev/null
  fi
  log "starting broker on 127.0.0.1:$PORT (log: $LOG)"
  nohup java -Xmx512m -Xms256m -Dlog4j2.configurationFile="$KAFKA_HOME/log4j2.yaml" -cp "$LIBS/*" \
      kafka.Kafka "$KAFKA_HOME/server-$PORT.properties" >"$LOG" 2>&1 &
  echo $! > "$PIDFILE"
  for _ in $(seq 1 120); do
    if "$PY" -m services.kafka ping --bootstrap "127.0.0.1:$PORT" 2>/dev/null; then
      log "ready"; topics; return 0
    fi
    running || { log "broker exited; last lines of $LOG:"; tail -20 "$LOG" >&2; exit 1; }
    sleep 0.5
  done
  log "broker did not answer within 60 s; see $LOG"; exit 1
}

topics() {
  "$PY" -m services.kafka create-topics --bootstrap "127.0.0.1:$PORT" \
      --partitions "${KAFKA_TOPIC_PARTITIONS:-6}"
}

down() {
  if ! running; then log "not running"; rm -f "$PIDFILE"; return 0; fi
  pid=$(cat "$PIDFILE")
  kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; log "stopped"; return 0; }; sleep 0.5; done
  log "broker did not stop in 30 s; killing"; kill -9 "$pid" 2>/dev/null || true; rm -f "$PIDFILE"
}

status() { if running; then echo "running on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"; else echo "not running"; exit 1; fi; }

case "${1:-}" in
  fetch) fetch ;;
  up) up ;;
  down) down ;;
  status) status ;;
  topics) topics ;;
  reset) down; rm -rf "$DATA" ;;
  *) echo "usage: $0 fetch|up|down|status|topics|reset" >&2; exit 2 ;;
esac
