#!/usr/bin/env bash
# The embedded normaliser on its own: COUNT GitHub pull_request envelopes put on a fresh ingest
# queue, then drained by two workers as `switchboard serve` runs them (no HTTP intake meanwhile).
# Prints envelopes per second (wall and per CPU-second). Read bench/README.md.
#
#   bash bench/normaliser.sh              # 20,000 envelopes, 3 runs
#   COUNT=50000 RUNS=1 bash bench/normaliser.sh
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${COUNT:-20000}"
RUNS="${RUNS:-3}"
cargo build --quiet --release -p switchboard-app --example normaliser_drain
BIN="${CARGO_TARGET_DIR:-target}/release/examples/normaliser_drain"
echo "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); load average $(cut -d' ' -f1-3 /proc/loadavg) before"
for _ in $(seq "$RUNS"); do
  "$BIN" "$COUNT"
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) after   [target: >= 10,000 envelopes/s]"
