#!/usr/bin/env bash
# Webhook gateway: cold start, peak RSS and handler latency, each next to a peer, the smallest
# lambda_http + axum function that reads the body and answers 202
# (crates/lambda/examples/bare_lambda.rs).
#
#   bash bench/gateway.sh                    # RUNS=5 cold starts each, REQUESTS=5000 in-process (bench/README.md)
#   RUNS=10 REQUESTS=20000 bash bench/gateway.sh
#
# (a) cold start: first invocation -> its response, the function process started by AWS's Lambda
#     Runtime Interface Emulator (infra/local/rie.sh) on that invocation, split with the RIE's own
#     figures into init and first event; then INVOCATIONS - 1 warm invocations. The event is
#     events/webhook-gateway/http-api-v2-pull-request.json; the gateway's stores are on a local
#     moto server (infra/local/moto.sh --bootstrap);
# (b) peak RSS of the release binary over that run (VmHWM in /proc/PID/status, read before the
#     RIE stops it);
# (c) handler p50/p99 in-process: signed GitHub deliveries through the router over SQLite.
# Figures land in bench/out/gateway/ and are printed as one table (bench/gateway/report.py).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-5}"
REQUESTS="${REQUESTS:-5000}"
INVOCATIONS="${INVOCATIONS:-50}"
OUT=bench/out/gateway
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
EVENT=events/webhook-gateway/http-api-v2-pull-request.json

# One cold start of FUNCTION's BINARY under the RIE: INVOCATIONS posts of the event, the peak
# RSS of the function process, then the RIE stopped. Leaves the RIE's log (with the function's
# output) in $OUT/NAME-RUN.log, the function's answers in NAME-RUN.responses and the peak RSS
# in KiB in NAME-RUN.rss; bench/gateway/report.py reads the RIE's figures from the log.
cold_start() {
  local name="$1" binary="$2" run="$3" emulator runtime_api pid
  read -r emulator runtime_api < <(python3 -c '
import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')
  AWS_LAMBDA_FUNCTION_NAME=bench AWS_LAMBDA_FUNCTION_VERSION='$LATEST' AWS_LAMBDA_FUNCTION_TIMEOUT=30 \
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256 AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/bench \
    AWS_LAMBDA_LOG_STREAM_NAME=bench _HANDLER=bootstrap \
    "$RIE" --log-level info --runtime-interface-emulator-address "127.0.0.1:$emulator" \
    --runtime-api-address "127.0.0.1:$runtime_api" "$binary" >"$OUT/$name-$run.log" 2>&1 &
  rie_pid=$!
  trap stop_rie EXIT  # also when a step below fails
  for _ in $(seq 200); do
    (: <"/dev/tcp/127.0.0.1/$emulator") 2>/dev/null && break
    sleep 0.05
  done
  # The RIE starts the function on the first invocation: every run below is a cold start.
  for _ in $(seq "$INVOCATIONS"); do
    curl --silent --show-error --max-time 60 --write-out '\n' --data-binary "@$EVENT" \
      "http://127.0.0.1:$emulator/2015-03-31/functions/function/invocations"
  done >"$OUT/$name-$run.responses"
  # The RIE is a Go program: any of its threads may have started the function.
  pid="$(cat /proc/"$rie_pid"/task/*/children | tr -s ' ' '\n' | head -n 1)"
  [[ -n "$pid" ]] || { echo "gateway.sh: $name is not running under the RIE; see $OUT/$name-$run.log" >&2; exit 1; }
  awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" >"$OUT/$name-$run.rss"
  stop_rie
}

# SIGTERM makes the RIE SIGKILL the function and exit.
stop_rie() {
  [[ -n "${rie_pid:-}" ]] || return 0
  kill -TERM "$rie_pid" 2>/dev/null || true
  wait "$rie_pid" 2>/dev/null || true
  rie_pid=""
}

cold_starts() {
  # Runs inside infra/local/moto.sh: AWS_ENDPOINT_URL and the SWITCHBOARD_* variables are set.
  "$TARGET/release/examples/gateway_bench" seed-aws
  export SWITCHBOARD_WEBHOOK_RATE_LIMIT_PER_MINUTE=1000000 AWS_LAMBDA_LOG_LEVEL=INFO AWS_LAMBDA_LOG_FORMAT=JSON
  RIE="$(infra/local/rie.sh)"
  for run in $(seq "$RUNS"); do
    echo "== cold start $run/$RUNS" >&2
    cold_start gateway "$TARGET/release/webhook-gateway" "$run"
    cold_start bare "$TARGET/release/examples/bare_lambda" "$run"
  done
}

if [[ "${1:-}" == "--cold-starts" ]]; then
  cold_starts
  exit 0
fi

mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.log "$OUT"/*.responses "$OUT"/*.rss
echo "== building (release)" >&2
cargo build --quiet --release -p switchboard-lambda \
  --bin webhook-gateway --example bare_lambda --example gateway_bench
cp /proc/loadavg "$OUT/loadavg-start" 2>/dev/null || true

echo "== handler latency in-process ($REQUESTS deliveries each)" >&2
"$TARGET/release/examples/gateway_bench" handler "$REQUESTS" >"$OUT/handler.json"

infra/local/moto.sh --bootstrap bash bench/gateway.sh --cold-starts

stat -c %s "$TARGET/release/webhook-gateway" >"$OUT/size-gateway"
stat -c %s "$TARGET/release/examples/bare_lambda" >"$OUT/size-bare"
python3 bench/gateway/report.py "$OUT"
