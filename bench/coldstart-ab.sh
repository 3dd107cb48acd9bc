#!/usr/bin/env bash
# Two builds of the webhook gateway over the embedded store, cold started side by side with the
# bare echo function under AWS's Runtime Interface Emulator: the A/B companion of
# bench/coldstart.sh's "gateway on SQLite" row, for a change that moves its first response by less
# than this machine's noise between two separate runs of that script.
#
#   bash bench/coldstart-ab.sh OLD NEW          # each a `gateway_bench` binary (lambda-release)
#   RUNS=21 bash bench/coldstart-ab.sh OLD NEW  # more cold starts (default 15 each)
#
# Build each side with `cargo build --profile lambda-release -p switchboard-lambda --example
# gateway_bench` (copy the binary out between checkouts). The three are started in turn, run by
# run, the two gateways in alternating order, so load on the shared machine and the position in
# a round fall on both builds alike; every gateway cold start accepts
# and enqueues a delivery id of its own into one seeded SQLite store per side. Prints the medians
# of init, first response and peak RSS, each also as a multiple of the echo's.
set -euo pipefail

# The binaries' paths are read from the caller's directory, before moving to the repository.
[[ $# -eq 2 && -x "$1" && -x "$2" ]] || { echo "usage: bash bench/coldstart-ab.sh OLD_GATEWAY_BENCH NEW_GATEWAY_BENCH" >&2; exit 2; }
OLD="$(realpath "$1")"
NEW="$(realpath "$2")"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS="${RUNS:-15}"
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
OUT=bench/out/coldstart-ab
EVENT=events/webhook-gateway/http-api-v2-pull-request.json

# rie_cold_start, rie_stop and rie_new_delivery.
source bench/lib/rie.sh

rm -rf "$OUT" && mkdir -p "$OUT"
echo "== building the echo peer (lambda-release)" >&2
cargo build --quiet --profile lambda-release -p switchboard-lambda --example bare_echo
BARE="$TARGET/lambda-release/examples/bare_echo"
"$OLD" seed-embedded "$OUT/old.db"
"$NEW" seed-embedded "$OUT/new.db"

export SWITCHBOARD_WEBHOOK_RATE_LIMIT_PER_MINUTE=1000000 AWS_LAMBDA_LOG_LEVEL=INFO AWS_LAMBDA_LOG_FORMAT=JSON
unset SSL_CERT_DIR  # as bench/coldstart.sh: Lambda's environment does not set it
RIE="$(infra/local/rie.sh)"
cp /proc/loadavg "$OUT/loadavg-start"
for run in $(seq "$RUNS"); do
  echo "== cold starts $run/$RUNS" >&2
  rie_new_delivery "$EVENT" "$OUT/event-$run.json" "ab-$run"
  rie_cold_start bare "$run" "$OUT/event-$run.json" 1 "$OUT" "$BARE"
  if (( run % 2 )); then order=(old new); else order=(new old); fi
  for side in "${order[@]}"; do
    binary="$OLD"; [[ "$side" == new ]] && binary="$NEW"
    rie_cold_start "$side" "$run" "$OUT/event-$run.json" 1 "$OUT" "$binary" lambda-embedded "$OUT/$side.db"
  done
done
cp /proc/loadavg "$OUT/loadavg-end"

python3 - "$OUT" <<'PY'
import statistics, sys
from pathlib import Path
sys.path.insert(0, "bench/lib")
from rie_report import runs

out = Path(sys.argv[1])
figures = {name: runs(out, name) for name in ("bare", "old", "new")}
for name in ("old", "new"):
    codes = {code for run in figures[name] for code in run["statuses"]}
    if codes != {"202"}:
        sys.exit(f"coldstart-ab.sh: {name} answered {codes}, not only 202 (see {out}/{name}-*.log)")
median = lambda name, key: statistics.median(run[key] for run in figures[name])
print(f"cold starts under the RIE, {len(figures['bare'])} runs each, medians "
      f"(load {(out / 'loadavg-start').read_text().split()[0]} -> {(out / 'loadavg-end').read_text().split()[0]})")
print(f"{'build':8} {'init ms':>8} {'x echo':>7} {'first resp ms':>14} {'x echo':>7} {'peak RSS MiB':>13} {'x echo':>7}")
for name in ("bare", "old", "new"):
    init, first, rss = median(name, "init_ms"), median(name, "cold_start_ms"), median(name, "peak_rss_kib") / 1024
    print(f"{name:8} {init:8.2f} {init / median('bare', 'init_ms'):6.2f}x {first:14.2f} "
          f"{first / median('bare', 'cold_start_ms'):6.2f}x {rss:13.1f} {rss * 1024 / median('bare', 'peak_rss_kib'):6.2f}x")
PY
