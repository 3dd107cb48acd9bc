#!/usr/bin/env bash
# Cold start of each Lambda function beside the smallest lambda_runtime function, an echo
# (crates/lambda/examples/bare_echo.rs), all in one run, under AWS's Lambda Runtime Interface
# Emulator (the RIE `sam local invoke` runs; infra/local/rie.sh fetches it).
#
#   bash bench/coldstart.sh                 # RUNS=7 cold starts of each (bench/README.md)
#   RUNS=15 bash bench/coldstart.sh
#   PROFILE=release bash bench/coldstart.sh # another cargo profile (default lambda-release, as deployed)
#
# For each function and run: a fresh RIE, INVOCATIONS (5) posts of the function's sample event
# (events/; a gateway's under a delivery id of its own per cold start), the RIE's own figures
# (init: process start -> first `invocation/next`; first response: the first invocation,
# process start included) and the function process's peak RSS.
# The stores are on a local moto server (infra/local/moto.sh --bootstrap); the gateway also runs
# over SQLite (`gateway_bench lambda-embedded`) for a first response that moto's ~3 ms per call
# does not dominate. Then one run of each function under `strace -f -e trace=connect` counts the
# connections it opens before its first connection to the runtime API: network I/O at init.
# Allocators: the gateway (on moto and on SQLite) runs again with mimalloc and with jemalloc
# put in place of glibc's malloc by LD_PRELOAD (Debian's libmimalloc2.0 and libjemalloc2, when
# installed), and `gateway_bench handler` times signed deliveries in-process with each.
# Figures land in bench/out/coldstart/; bench/coldstart/report.py prints them with each ratio
# to the echo function.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-7}"
INVOCATIONS="${INVOCATIONS:-5}"
PROFILE="${PROFILE:-lambda-release}"
OUT=bench/out/coldstart
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
BIN="$TARGET/$PROFILE"
GATEWAY_EVENT=events/webhook-gateway/http-api-v2-pull-request.json

# rie_cold_start, rie_stop and rie_new_delivery.
source bench/lib/rie.sh

# The allocators to try besides glibc's: name=library, for those installed.
allocators() {
  local lib
  for lib in mimalloc=/usr/lib/x86_64-linux-gnu/libmimalloc.so.2 jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2; do
    [[ -e "${lib#*=}" ]] && echo "$lib"
  done
  return 0
}

# name, event, command: the functions measured, the echo peer first.
functions() {
  echo "bare $GATEWAY_EVENT $BIN/examples/bare_echo"
  echo "webhook-gateway $GATEWAY_EVENT $BIN/webhook-gateway"
  echo "registry-api events/registry-api/health.json $BIN/registry-api"
  echo "normaliser events/normaliser/sqs-batch.json $BIN/normaliser"
  echo "poller events/poller/scheduled.json $BIN/poller"
  echo "gateway-embedded $GATEWAY_EVENT $BIN/examples/gateway_bench lambda-embedded $OUT/embedded.db"
}

# The gateway's sample event under a delivery id of its own for this cold start
# (rie_new_delivery). Prints the event file's path.
new_delivery() {
  local file="$OUT/event-$1-$2.json"
  rie_new_delivery "$GATEWAY_EVENT" "$file" "$1-$2"
  echo "$file"
}

cold_starts() {
  # Runs inside infra/local/moto.sh --bootstrap: AWS_ENDPOINT_URL and SWITCHBOARD_* are set.
  "$BIN/examples/gateway_bench" seed-aws
  "$BIN/examples/gateway_bench" seed-embedded "$OUT/embedded.db"
  export SWITCHBOARD_WEBHOOK_RATE_LIMIT_PER_MINUTE=1000000 AWS_LAMBDA_LOG_LEVEL=INFO AWS_LAMBDA_LOG_FORMAT=JSON
  # Some shells (this development machine's) set SSL_CERT_DIR, which makes a TLS client read
  # every file of the directory besides the bundle; Lambda's environment does not set it.
  unset SSL_CERT_DIR
  RIE="$(infra/local/rie.sh)"
  local name event command
  for run in $(seq "$RUNS"); do
    echo "== cold starts $run/$RUNS" >&2
    # Interleaved, so a burst of load on the shared machine hits every function alike.
    while read -r name event command; do
      if [[ "$name" == webhook-gateway || "$name" == gateway-embedded ]]; then
        # shellcheck disable=SC2086 # the command is split into words on purpose
        rie_cold_start "$name" "$run" "$(new_delivery "$name" "$run")" "$INVOCATIONS" "$OUT" $command
        for allocator in $(allocators); do
          # shellcheck disable=SC2086
          LD_PRELOAD="${allocator#*=}" rie_cold_start "$name@${allocator%%=*}" "$run" \
            "$(new_delivery "$name@${allocator%%=*}" "$run")" "$INVOCATIONS" "$OUT" $command
        done
      else
        # shellcheck disable=SC2086
        rie_cold_start "$name" "$run" "$event" "$INVOCATIONS" "$OUT" $command
      fi
    done < <(functions)
  done
  echo "== connections before the first /next (strace)" >&2
  while read -r name event command; do
    # shellcheck disable=SC2086
    rie_cold_start "strace-$name" 1 "$event" 1 "$OUT" strace -f -qq -e trace=connect -o "$OUT/$name.strace" $command
    echo "$RIE_RUNTIME_API_PORT" >"$OUT/$name.runtime-port"
  done < <(functions)
}

if [[ "${1:-}" == "--cold-starts" ]]; then
  cold_starts
  exit 0
fi

command -v strace >/dev/null || { echo "coldstart.sh: needs strace (apt-get install strace)" >&2; exit 1; }
mkdir -p "$OUT"
rm -f "$OUT"/*.log "$OUT"/*.responses "$OUT"/*.rss "$OUT"/*.strace "$OUT"/*.runtime-port "$OUT"/embedded.* \
  "$OUT"/handler@*.json "$OUT"/event-*.json
echo "== building ($PROFILE)" >&2
# The functions on their own, as infra/build-lambdas.sh and sam build build them: built with the
# examples, their dependencies would get the features the examples' dev-dependencies turn on,
# and different code (and a cold-start layout, crates/lambda/layout/, that no longer fits it).
cargo build --quiet --profile "$PROFILE" -p switchboard-lambda \
  --bin webhook-gateway --bin registry-api --bin normaliser --bin poller
cargo build --quiet --profile "$PROFILE" -p switchboard-lambda --example bare_echo --example gateway_bench
# Each binary's cold-start layout (crates/lambda/build.rs, optimised builds): the size of its
# `.text.hot`. A function's is over a megabyte; under 256 KB its script's names did not match
# the build (RUSTFLAGS replacing the v0 names of .cargo/config.toml, a stale script).
while read -r name _ binary _; do
  hot="$(readelf -SW "$binary" | awk '{ for (i = 1; i < NF; i++) if ($i == ".text.hot") print $(i + 4) }')"
  hot=$((16#${hot:-0}))
  echo "$name: .text.hot $hot bytes" >&2
  if [[ "$PROFILE" != dev && -z "${SWITCHBOARD_WITHOUT_COLD_START_LAYOUT:-}" && "$name" != bare && "$hot" -lt 262144 ]]; then
    echo "coldstart.sh: $binary has $hot bytes in .text.hot: its cold-start layout (crates/lambda/layout/) did not apply" >&2
    exit 1
  fi
done < <(functions)
# Each binary's size, and the size of a bootstrap.zip of it as cargo-lambda packs one (deflate,
# level 6): the zips of this machine's architecture; infra/build-lambdas.sh makes the arm64 ones.
while read -r name _ binary _; do
  echo "$name $(stat -c %s "$binary") $(python3 -c '
import io, sys, zipfile
buffer = io.BytesIO()
with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
    z.write(sys.argv[1], "bootstrap")
print(len(buffer.getvalue()))' "$binary")"
done < <(functions) >"$OUT/sizes"
cp /proc/loadavg "$OUT/loadavg-start" 2>/dev/null || true

echo "== gateway handler in-process with each allocator" >&2
"$BIN/examples/gateway_bench" handler 3000 >"$OUT/handler@system.json"
for allocator in $(allocators); do
  LD_PRELOAD="${allocator#*=}" "$BIN/examples/gateway_bench" handler 3000 >"$OUT/handler@${allocator%%=*}.json"
done

infra/local/moto.sh --bootstrap bash bench/coldstart.sh --cold-starts

python3 bench/coldstart/report.py "$OUT" "$TARGET/lambda"
