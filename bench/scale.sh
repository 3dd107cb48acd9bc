#!/usr/bin/env bash
# Scale model of the scheduler: with 1k, 10k and 100k registered instances of one polling
# connector (10 of them due), the records one scheduled run reads through the schedule index
# beside the records the full per-connector listing it replaced reads, on the embedded store and
# on moto (DynamoDB). Prints the machine, then one table per backend.
#
#   bash bench/scale.sh                                   # embedded 1k,10k,100k; moto 1k,10k
#   EMBEDDED_SIZES=1000 MOTO_SIZES=1000 DUE=5 bash bench/scale.sh
#   MOTO_SIZES= bash bench/scale.sh                       # embedded only
#
# Instances are written through the store port (create + one recorded run each, 32 in flight);
# on moto that is two requests per instance on a server that serialises DynamoDB requests, so
# 100k takes a long time there: the `setup s/1k` column gives the cost to extrapolate.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
EMBEDDED_SIZES="${EMBEDDED_SIZES-1000,10000,100000}"
MOTO_SIZES="${MOTO_SIZES-1000,10000}"
DUE="${DUE:-10}"

cargo build --quiet --release -p switchboard-poller --example scale
bin="$CARGO_TARGET_DIR/release/examples/scale"

echo "machine: nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -n "$EMBEDDED_SIZES" ]]; then
  "$bin" embedded "$EMBEDDED_SIZES" "$DUE"
fi
if [[ -n "$MOTO_SIZES" ]]; then
  infra/local/moto.sh "$bin" moto "$MOTO_SIZES" "$DUE"
fi
