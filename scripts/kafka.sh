#!/usr/bin/env bash
# Runs a single-node Apache Kafka 4.x broker (KRaft, combined broker+controller) on 127.0.0.1
# from jars fetched from Maven Central. Usage: scripts/kafka.sh fetch|up|down|status|topics
#   KAFKA_PORT (9092)  KAFKA_CONTROLLER_PORT (9094: 9093 is Alertmanager's)  KAFKA_HOME (.cache/kafka)  KAFKA_TOPIC_PARTITIONS (6)
#   KAFKA_SECURE=1: also a SASL_SSL listener (SCRAM-SHA-512 over TLS) on KAFKA_SECURE_PORT (KAFKA_PORT + 2), with
#   a CA and the broker's certificate made by openssl and the user "contactpulse" made by the broker's own
#   StorageTool, all in $KAFKA_HOME/secure-$KAFKA_PORT (ca.pem for clients; scram.password, the user's password)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
KAFKA_HOME="${KAFKA_HOME:-$ROOT/.cache/kafka}"
PORT="${KAFKA_PORT:-9092}"
CPORT="${KAFKA_CONTROLLER_PORT:-9094}"
LIBS="$KAFKA_HOME/libs"
SECURE="${KAFKA_SECURE:-}"
SPORT="${KAFKA_SECURE_PORT:-$((PORT + 2))}"
TLS="$KAFKA_HOME/secure-$PORT"
DATA="$KAFKA_HOME/data-$PORT-$CPORT${SECURE:+-secure}"  # formatted for this controller port (KRaft keeps it in the metadata)
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

make_tls() {  # a CA, and the broker's key and certificate for 127.0.0.1 in a PKCS#12 keystore
  if [ -f "$TLS/broker.p12" ]; then return 0; fi
  command -v openssl >/dev/null || { log "openssl is needed for KAFKA_SECURE"; exit 1; }
  mkdir -p "$TLS"; chmod 700 "$TLS"
  ( cd "$TLS"
    openssl rand -hex 16 >keystore.password
    openssl rand -hex 16 >scram.password
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 825 -subj "/CN=ContactPulse local CA" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr -subj "/CN=127.0.0.1" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >san.cnf
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out broker.pem -days 825 -extfile san.cnf 2>/dev/null
    openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem -name broker -out broker.p12 \
        -passout "pass:$(cat keystore.password)"
    chmod 600 ./*.key ./*.password broker.p12 )
  log "made a CA and the broker's certificate in $TLS"
}

write_config() {
  mkdir -p "$DATA"
  local listeners="PLAINTEXT://127.0.0.1:$PORT" protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  if [ -n "$SECURE" ]; then listeners="$listeners,SASL_SSL://127.0.0.1:$SPORT"; protocols="$protocols,SASL_SSL:SASL_SSL"; fi
  cat > "$KAFKA_HOME/server-$PORT.properties" <<CONF
process.roles=broker,controller
node.id=1
listeners=$listeners,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=$listeners
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
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
  if [ -n "$SECURE" ]; then
    cat >> "$KAFKA_HOME/server-$PORT.properties" <<CONF
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PKCS12
listener.name.sasl_ssl.ssl.keystore.location=$TLS/broker.p12
listener.name.sasl_ssl.ssl.keystore.password=$(cat "$TLS/keystore.password")
CONF
  fi
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
  if [ -n "$SECURE" ]; then make_tls; fi
  write_config
  if [ ! -f "$DATA/meta.properties" ]; then
    cid=$("$PY" -c 'import base64,os;print(base64.urlsafe_b64encode(b"\x00"+os.urandom(15)).rstrip(b"=").decode())')
    scram=()
    if [ -n "$SECURE" ]; then scram=(--add-scram "SCRAM-SHA-512=[name=contactpulse,password=$(cat "$TLS/scram.password")]"); fi
    java_cmd kafka.tools.StorageTool format -t "$cid" -c "$KAFKA_HOME/server-$PORT.properties" --standalone \
        "${scram[@]}" >/dev/null
  fi
  log "starting broker on 127.0.0.1:$PORT${SECURE:+ and SASL_SSL on 127.0.0.1:$SPORT} (log: $LOG)"
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
  reset) down; rm -rf "$DATA" "$KAFKA_HOME/data-$PORT-$CPORT-secure" "$TLS" ;;
  *) echo "usage: $0 fetch|up|down|status|topics|reset" >&2; exit 2 ;;
esac
