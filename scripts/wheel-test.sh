#!/usr/bin/env bash
# The wheel as a user gets it: build it, install it (not editable) into a fresh virtualenv outside the
# repository, and from a folder with nothing of the checkout in it run `contactpulse --help`, every
# command's --help, a small simulate, replay, summary and report, and a queue log through its adapter
# (its SQL is package data). make test runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY_SYS="${PY_SYS:-python3}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/contactpulse-wheel.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
log="$WORK/log"
step() { echo "wheel-test: $*"; }
fail() { echo "wheel-test: FAILED: $*"; tail -40 "$log"; exit 1; }

step "building the wheel"
rm -rf "$ROOT/build"  # setuptools' staging folder keeps modules since moved or deleted: never ship those
"$ROOT/.venv/bin/python" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" "$ROOT" >"$log" 2>&1 \
  || fail "pip wheel"
wheel=$(ls "$WORK"/dist/contactpulse-*.whl)
step "installing $(basename "$wheel") into a fresh virtualenv in $WORK"
"$PY_SYS" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet "$wheel" >>"$log" 2>&1 || fail "pip install"
cp=$WORK/venv/bin/contactpulse
cd "$WORK"  # nothing of the checkout is on the path from here

[ -z "$("$WORK/venv/bin/python" -c 'import services, sys; print(services.__file__)' | grep "^$ROOT" || true)" ] \
  || fail "services imported from the checkout, not the wheel"
"$cp" --help >>"$log" 2>&1 || fail "contactpulse --help"
commands=$("$WORK/venv/bin/python" -c 'from services.cli import build_parser
p = build_parser()
print(" ".join(next(a for a in p._actions if a.dest == "command").choices))')
for c in $commands; do
  "$cp" "$c" --help >>"$log" 2>&1 || fail "contactpulse $c --help"
done
step "every command's --help: $commands"

month=$(date -u -d "yesterday" +%Y-%m)
"$cp" simulate --mode history --days 3 --seed 7 --out events.jsonl >>"$log" 2>&1 || fail "simulate"
"$cp" replay events.jsonl --db wheel.duckdb >>"$log" 2>&1 || fail "replay"
"$cp" summary --db wheel.duckdb >summary.txt 2>>"$log" || fail "summary"
grep -q partnership summary.txt || fail "summary has no partnership row"
"$cp" report --db wheel.duckdb --period "$month" --out board.html >>"$log" 2>&1 || fail "report"
grep -q "Customer Experience Board" board.html || fail "report has no title"
"$cp" export-schemas --out schemas-out >>"$log" 2>&1 || fail "export-schemas --out"
[ -f schemas-out/contact-event.v1.schema.json ] || fail "export-schemas wrote nothing"
step "simulate, replay ($(wc -l <events.jsonl) events), summary, report ($month), export-schemas: ok"
printf '%s\n' "1780000000|1780000000.1|waste|NONE|ENTERQUEUE||01205111111|1" \
  "1780000010|1780000000.1|waste|PJSIP/7|CONNECT|10|x|1" "1780000100|1780000000.1|waste|PJSIP/7|COMPLETEAGENT|10|90|1" \
  >queue_log
"$cp" adapt asterisk-queue-log queue_log --council boston --out queue_log.jsonl >>"$log" 2>&1 || fail "adapt"
[ "$(grep -c '"type":"contact.' queue_log.jsonl)" = 4 ] || fail "adapt made $(wc -l <queue_log.jsonl) events, not 4"
step "adapt asterisk-queue-log: ok"
