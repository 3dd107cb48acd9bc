#!/usr/bin/env bash
# Webhook gateway: cold start, peak RSS and handler latency, each next to a peer, the smallest
# lambda_http + axum function that reads the body and answers 202
# (crates/lambda/examples/bare_lambda.rs).
#
#   bash bench/gateway.sh                    # RUNS=5 cold starts each, REQUESTS=5000 in-process
#   RUNS=10 REQUESTS=20000 bash bench/gateway.sh
#
# (a) cold start: process start -> first handled event, through a local Lambda runtime API
#     (bench/gateway/runtime_api.py) serving events/webhook-gateway/http-api-v2-pull-request.json,
#     with the gateway's stores on a local moto server (infra/local/moto.sh --bootstrap);
# (b) peak RSS of the release binary over that run (/usr/bin/time -v);
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

cold_starts() {
  # Runs inside infra/local/moto.sh: AWS_ENDPOINT_URL and the SWITCHBOARD_* variables are set.
  "$TARGET/release/examples/gateway_bench" seed-aws
  export SWITCHBOARD_WEBHOOK_RATE_LIMIT_PER_MINUTE=1000000 AWS_LAMBDA_LOG_LEVEL=INFO AWS_LAMBDA_LOG_FORMAT=JSON
  for run in $(seq "$RUNS"); do
    echo "== cold start $run/$RUNS" >&2
    python3 bench/gateway/runtime_api.py --event "$EVENT" --invocations "$INVOCATIONS" \
      --log "$OUT/gateway.log" -- "$TARGET/release/webhook-gateway" >"$OUT/cold-gateway-$run.json"
    python3 bench/gateway/runtime_api.py --event "$EVENT" --invocations "$INVOCATIONS" \
      --log "$OUT/bare.log" -- "$TARGET/release/examples/bare_lambda" >"$OUT/cold-bare-$run.json"
  done
}

if [[ "${1:-}" == "--cold-starts" ]]; then
  cold_starts
  exit 0
fi

mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.log
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
