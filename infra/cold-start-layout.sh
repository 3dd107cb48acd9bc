#!/usr/bin/env bash
# Regenerates crates/lambda/layout/*.ld, the linker scripts that put the code each Lambda
# function runs at a cold start in one place (read bench/README.md, "Cold-start code layout").
#
#   infra/cold-start-layout.sh          # needs valgrind (apt-get install valgrind); a few minutes
#
# Builds the four functions and the embedded gateway (`gateway_bench lambda-embedded`) with the
# `lambda-release` profile for this machine, keeping their symbols. Then, on a local moto server, it
# starts each one under callgrind in AWS's Lambda Runtime Interface Emulator once per sample
# event of the function (events/<function>/*.json), posts that event INVOCATIONS (3) times and
# dumps the profile. infra/cold-start-layout.py turns the functions those runs executed into
# one script per function, and the embedded gateway's into the examples' (crates/lambda/build.rs).
# Commit the result: optimised Linux builds of the functions link with it, arm64 ones too.
set -euo pipefail
cd "$(dirname "$0")/.."

INVOCATIONS="${INVOCATIONS:-3}"
OUT=bench/out/cold-start-layout
TARGET="$(realpath -m "${CARGO_TARGET_DIR:-$PWD/target}")" # callgrind records absolute paths
BIN="$TARGET/lambda-release"
LAYOUT=crates/lambda/layout

# rie_cold_start, rie_new_delivery.
source bench/lib/rie.sh

# name, events directory, command: what is recorded.
functions() {
  echo "webhook-gateway events/webhook-gateway $BIN/webhook-gateway"
  echo "registry-api events/registry-api $BIN/registry-api"
  echo "normaliser events/normaliser $BIN/normaliser"
  echo "poller events/poller $BIN/poller"
  echo "gateway-embedded events/webhook-gateway $BIN/examples/gateway_bench lambda-embedded $OUT/embedded.db"
}

# Called by rie_cold_start with the function's pid (valgrind's, which runs it) before it is stopped.
dump_profile() {
  callgrind_control --dump "$1" >/dev/null 2>&1
}

record() {
  # Runs inside infra/local/moto.sh --bootstrap: AWS_ENDPOINT_URL and SWITCHBOARD_* are set.
  "$BIN/examples/gateway_bench" seed-aws
  "$BIN/examples/gateway_bench" seed-embedded "$OUT/embedded.db"
  export SWITCHBOARD_WEBHOOK_RATE_LIMIT_PER_MINUTE=1000000 AWS_LAMBDA_LOG_LEVEL=INFO AWS_LAMBDA_LOG_FORMAT=JSON
  unset SSL_CERT_DIR # as bench/coldstart.sh: Lambda's environment does not set it
  RIE="$(infra/local/rie.sh)"
  export RIE_BEFORE_STOP=dump_profile
  local name events command event run=0
  while read -r name events command; do
    for event in "$events"/*.json; do
      run=$((run + 1))
      if [[ "$events" == events/webhook-gateway ]]; then
        # Its own delivery id, so that the delivery is accepted, not a replay of an earlier run.
        rie_new_delivery "$event" "$OUT/event-$run.json" "layout-$run"
        event="$OUT/event-$run.json"
      fi
      echo "== $name $(basename "$event")" >&2
      # shellcheck disable=SC2086 # the command is split into words on purpose
      rie_cold_start "$name" "$run" "$event" "$INVOCATIONS" "$OUT" \
        valgrind --quiet --tool=callgrind --demangle=no --callgrind-out-file="$OUT/$name-$run.callgrind" $command
    done
  done < <(functions)
}

if [[ "${1:-}" == "--record" ]]; then
  record
  exit 0
fi

command -v callgrind_control >/dev/null || { echo "cold-start-layout.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"
# Each binary as deployed but for its symbols (callgrind names functions by them) and its
# layout (valgrind reads the symbols of `.text` only, not of `.text.hot`). The symbol table is
# kept by the final link's `-C strip=none` alone: a profile setting would change every crate's
# metadata hash, hence its symbol names, and with them LLVM's inlining, so that the profiled
# build would run functions the deployed one does not have.
echo "== building (lambda-release, symbols kept, no layout)" >&2
export SWITCHBOARD_WITHOUT_COLD_START_LAYOUT=1
for target in "--bin webhook-gateway" "--bin registry-api" "--bin normaliser" "--bin poller" "--example gateway_bench"; do
  # shellcheck disable=SC2086 # "--bin NAME" is two words on purpose
  cargo rustc --quiet --profile lambda-release -p switchboard-lambda $target -- -C strip=none
done
infra/local/moto.sh --bootstrap bash infra/cold-start-layout.sh --record
mkdir -p "$LAYOUT"
shopt -s nullglob
while read -r name _; do
  script="$LAYOUT/$name.ld"
  [[ "$name" == gateway-embedded ]] && script="$LAYOUT/examples.ld"
  # callgrind appends the dump's number to the file name.
  profiles=("$OUT/$name"-[0-9]*.callgrind.*)
  if [[ ${#profiles[@]} -eq 0 ]]; then
    echo "cold-start-layout.sh: no profile of $name was dumped (callgrind_control --dump; see $OUT/$name-*.log)" >&2
    exit 1
  fi
  python3 infra/cold-start-layout.py "$BIN" "$name" "${profiles[@]}" >"$script.new" || { rm -f "$script.new"; exit 1; }
  mv "$script.new" "$script"
  echo "wrote $script" >&2
done < <(functions)
echo "the binaries in $BIN are the profiled ones (symbols, no layout): build again to link with the new scripts" >&2
