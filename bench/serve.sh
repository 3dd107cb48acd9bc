#!/usr/bin/env bash
# Webhook ingest of `switchboard serve` on loopback: signed GitHub `pull_request` deliveries (10%
# of them resent unchanged) driven by wrk for a fixed time, next to the same load on GET /health
# (the server's floor); then waits for the normaliser to drain and checks that every accepted
# delivery is a signal or in the DLQ, and that no signal exists twice.
# Usage: bench/serve.sh   (env: DURATION=10 CONNECTIONS=32 THREADS=2 COUNT=60000 DUP_PERCENT=10;
#                          KEEP=1 keeps the data directory, logs and wrk output;
#                          BIN=path measures that switchboard binary instead of building one)
# Only 127.0.0.1 is contacted; each run is bounded by DURATION and by COUNT prepared deliveries.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
COUNT=${COUNT:-60000}
DUP_PERCENT=${DUP_PERCENT:-10}
TOKEN=bench-admin-token-0123456789abcdef
SECRET=bench-webhook-secret
PROJECT=bench

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  else
    echo "bench/serve.sh needs wrk (Debian: apt-get install wrk)" >&2
    exit 1
  fi
fi

# BIN=path/to/switchboard measures another build (an A/B comparison) instead of this checkout's.
if [ -z "${BIN:-}" ]; then
  cargo build --quiet --release -p switchboard-cli
  BIN=${CARGO_TARGET_DIR:-target}/release/switchboard
fi

WORK=$(mktemp -d)
SERVE_PID=
cleanup() {
  if [ -n "$SERVE_PID" ]; then kill "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi
  if [ -n "${KEEP:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
SWITCHBOARD_ADMIN_TOKEN=$TOKEN RUST_LOG=info "$BIN" serve --addr "127.0.0.1:$PORT" --data-dir "$WORK/data" \
  --log-format json --signals-out "$WORK/signals.jsonl" --webhook-rate-limit 1000000000 2>"$WORK/serve.log" &
SERVE_PID=$!
for _ in $(seq 100); do
  curl -fs "$BASE/health" >/dev/null && break
  sleep 0.1
done
curl -fs "$BASE/health" >/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }

curl -fs -X POST "$BASE/projects/$PROJECT/connectors/github-prs" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' \
  -d "{\"credentials\": {\"token\": \"ghp_bench\", \"webhookSecret\": \"$SECRET\"}}" >/dev/null
python3 bench/serve/generate.py --count "$COUNT" --duplicate-percent "$DUP_PERCENT" --secret "$SECRET" \
  --fixture tests/fixtures/github-prs/pull_request.opened.json --out "$WORK/deliveries.tsv"

# serve's CPU time so far (user + system, all threads), in seconds: read around each load.
serve_cpu() { python3 -c 'import os, sys; f = open(f"/proc/{sys.argv[1]}/stat").read().rsplit(")", 1)[1].split(); print((int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK"))' "$SERVE_PID"; }

echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s on 127.0.0.1 ($(nproc) cores shared by wrk and serve)"
CPU_BEFORE_HEALTH=$(serve_cpu)
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s bench/serve/health.lua "$BASE/health" >"$WORK/health.txt"
CPU_BEFORE_WEBHOOKS=$(serve_cpu)
LOAD_STARTED=$(date +%s.%N)
BENCH_ACCEPTED_OUT="$WORK/accepted.txt" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" \
  -s bench/serve/webhooks.lua "$BASE/webhooks/github-prs/$PROJECT" -- "$WORK/deliveries.tsv" "$THREADS" \
  >"$WORK/webhooks.txt"

STATUS=0
python3 bench/serve/report.py --base "$BASE" --token "$TOKEN" --project "$PROJECT" --data-dir "$WORK/data" \
  --health-result "$WORK/health.txt" --webhook-result "$WORK/webhooks.txt" --accepted "$WORK/accepted.txt" \
  --serve-log "$WORK/serve.log" --signals-out "$WORK/signals.jsonl" --load-started "$LOAD_STARTED" \
  --serve-pid "$SERVE_PID" --serve-cpu "$CPU_BEFORE_HEALTH" "$CPU_BEFORE_WEBHOOKS" || STATUS=$?

# A clean stop logs the writer's totals: how many writes shared each commit.
kill -TERM "$SERVE_PID"; wait "$SERVE_PID" || true; SERVE_PID=
python3 - "$WORK/serve.log" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if '"database writer totals"' in line:
        f = json.loads(line)
        print(f"SQLite writer: {f['writes']:,} writes in {f['commits']:,} commits "
              f"({f['writes'] / max(f['commits'], 1):.1f} per commit), {f['failed_commits']} failed")
PY
exit "$STATUS"
