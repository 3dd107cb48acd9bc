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
# bench/coldstart.sh measures every function's init beside a bare lambda_runtime function.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-5}"
REQUESTS="${REQUESTS:-5000}"
INVOCATIONS="${INVOCATIONS:-50}"
OUT=bench/out/gateway
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
EVENT=events/webhook-gateway/http-api-v2-pull-request.json

# rie_cold_start and rie_stop.
source bench/lib/rie.sh

cold_starts() {
  # Runs inside infra/local/moto.sh: AWS_ENDPOINT_URL and the SWITCHBOARD_* variables are set.
  "$TARGET/release/examples/gateway_bench" seed-aws
  export SWITCHBOARD_WEBHOOK_RATE_LIMIT_PER_MINUTE=1000000 AWS_LAMBDA_LOG_LEVEL=INFO AWS_LAMBDA_LOG_FORMAT=JSON
  RIE="$(infra/local/rie.sh)"
  for run in $(seq "$RUNS"); do
    echo "== cold start $run/$RUNS" >&2
    rie_cold_start gateway "$run" "$EVENT" "$INVOCATIONS" "$OUT" "$TARGET/release/webhook-gateway"
    rie_cold_start bare "$run" "$EVENT" "$INVOCATIONS" "$OUT" "$TARGET/release/examples/bare_lambda"
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
