#!/usr/bin/env bash
# Runs PostgreSQL from Debian's `postgresql` package on 127.0.0.1 as the DuckLake catalog (docs/scale-out.md).
# Usage: scripts/postgres.sh up|down|status|uri
#   PG_PORT (5544)  PG_HOME (.cache/postgres)
# The database and user are both `contactpulse`. Its password is made once, at random, into
# $PG_HOME/password (mode 600); clients read it from there (CONTACTPULSE_PG_PASSWORD_FILE) or from
# CONTACTPULSE_PG_PASSWORD, never from a flag. As root, the server runs as the `postgres` user: initdb
# refuses root.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PG_HOME="${PG_HOME:-$ROOT/.cache/postgres}"
PORT="${PG_PORT:-5544}"
DATA="$PG_HOME/data-$PORT"
PASSFILE="$PG_HOME/password"
LOG="$PG_HOME/postgres-$PORT.log"

log() { echo "postgres: $*" >&2; }

bindir() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  [ -n "$d" ] || { log "Debian's postgresql package is needed (make lake-up installs it)"; exit 1; }
  echo "$d"
}

as_owner() {  # run a server command as the data directory's owner
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

running() { [ -f "$DATA/postmaster.pid" ] && as_owner "$(bindir)/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

init() {
  [ -f "$DATA/PG_VERSION" ] && return 0
  local bin; bin="$(bindir)"
  mkdir -p "$PG_HOME"
  if [ ! -f "$PASSFILE" ]; then
    (umask 077; openssl rand -hex 24 >"$PASSFILE")
  fi
  mkdir -p "$DATA"; chmod 700 "$DATA"
  local pwtmp="$PG_HOME/.initpw-$PORT"
  (umask 077; cp "$PASSFILE" "$pwtmp")
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$DATA" "$pwtmp"; chmod 755 "$PG_HOME"; fi
  as_owner "$bin/initdb" -D "$DATA" -U contactpulse --pwfile="$pwtmp" -A scram-sha-256 -E UTF8 \
      --locale=C.UTF-8 >"$PG_HOME/initdb-$PORT.log" 2>&1 || { rm -f "$pwtmp"; cat "$PG_HOME/initdb-$PORT.log"; exit 1; }
  rm -f "$pwtmp"
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $PORT"
    echo "unix_socket_directories = '$DATA'"
    echo "max_connections = 100"
  } >>"$DATA/postgresql.conf"
  printf 'local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n' >"$DATA/pg_hba.conf"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$DATA/postgresql.conf" "$DATA/pg_hba.conf"
  log "initialised $DATA (user contactpulse, password in $PASSFILE)"
}

up() {
  init
  if running; then log "already running on 127.0.0.1:$PORT"; return 0; fi
  local bin; bin="$(bindir)"
  : >"$LOG"; [ "$(id -u)" -eq 0 ] && chown postgres: "$LOG"
  as_owner "$bin/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null || { tail -20 "$LOG"; exit 1; }
  if ! PGPASSWORD="$(cat "$PASSFILE")" "$bin/psql" -h 127.0.0.1 -p "$PORT" -U contactpulse -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'contactpulse'" | grep -q 1; then
    PGPASSWORD="$(cat "$PASSFILE")" "$bin/createdb" -h 127.0.0.1 -p "$PORT" -U contactpulse contactpulse
  fi
  log "running on 127.0.0.1:$PORT (database and user contactpulse)"
}

down() {
  if running; then as_owner "$(bindir)/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; log "stopped"; fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) if running; then echo "running on 127.0.0.1:$PORT"; else echo "stopped"; exit 1; fi ;;
  uri) echo "ducklake:postgres:dbname=contactpulse host=127.0.0.1 port=$PORT user=contactpulse" ;;
  *) echo "usage: $0 up|down|status|uri" >&2; exit 2 ;;
esac
