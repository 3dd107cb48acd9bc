#!/usr/bin/env bash
# Fuzzes the registry API against its own OpenAPI document: starts `switchboard serve` on a
# temporary data dir and a free port with a fixed admin token, then runs schemathesis (pinned) with
# every check and every phase (examples, coverage, fuzzing, stateful) and a fixed seed. Exits
# non-zero on any failure, after printing schemathesis's report.
#
# The server and the fuzzer run in a network namespace of their own that has only loopback, so
# nothing the fuzzer makes the server do (health checks, polls, OAuth2 token requests of the
# instances and descriptors it creates) can reach the internet. Where unprivileged user
# namespaces (or `ip`) are not available it runs without that isolation, with a warning (the
# egress guard still keeps the server off internal addresses);
# SWITCHBOARD_FUZZ_REQUIRE_ISOLATION=1 makes that an error instead.
#
# Usage: tests/schemathesis/run.sh [extra schemathesis options]
# Env:   SWITCHBOARD_VENV (default .venv), SWITCHBOARD_BIN (default: build and use the CLI),
#        SCHEMATHESIS_MAX_EXAMPLES (default 30), SCHEMATHESIS_SEED (default 14).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib/tools.sh

SCHEMATHESIS_VERSION="4.32.5"
venv="${SWITCHBOARD_VENV:-$PWD/.venv}"

if [[ "${1:-}" != "--inside" ]]; then
  # Outside the namespace: install the fuzzer and build the server (both need the network).
  pinned "$venv" schemathesis "$SCHEMATHESIS_VERSION"
  switchboard_bin
  export SWITCHBOARD_VENV="$venv"
  if command -v ip >/dev/null && unshare --map-root-user --net true 2>/dev/null; then
    exec unshare --map-root-user --net "$0" --inside "$@"
  elif [[ "${SWITCHBOARD_FUZZ_REQUIRE_ISOLATION:-}" == 1 ]]; then
    echo "error: cannot create a network namespace (unshare --map-root-user --net, and ip) to keep the" >&2
    echo "fuzzed server off the internet; enable user namespaces or unset SWITCHBOARD_FUZZ_REQUIRE_ISOLATION" >&2
    exit 2
  else
    echo "warning: no network namespace available (unshare --map-root-user --net, ip); fuzzing with the" >&2
    echo "network reachable: the egress guard keeps the server off internal addresses" >&2
    exec "$0" --inside "$@"
  fi
fi
shift

# Inside the namespace (or not isolated): loopback up, then serve and fuzz.
if command -v ip >/dev/null && ! ip link show lo 2>/dev/null | grep -q 'UP'; then
  ip link set lo up
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port="$(free_port)"
base="http://127.0.0.1:$port"
# A fixed token for a throw-away server that only this namespace can reach.
token="schemathesis-fuzz-admin-token-0123456789abcdef"

SWITCHBOARD_ADMIN_TOKEN="$token" "$SWITCHBOARD_BIN" serve \
  --addr "127.0.0.1:$port" --data-dir "$work/data" --log-format json --poll-tick-seconds 3600 \
  >"$work/serve.log" 2>&1 &
server_pid=$!

if ! wait_http "$base/health" "$server_pid"; then
  echo "error: switchboard serve did not answer /health:" >&2
  cat "$work/serve.log" >&2
  exit 1
fi

# Run from the temporary directory, so schemathesis's own state (.schemathesis/) goes with it.
status=0
config="$PWD/tests/schemathesis/schemathesis.toml"
cd "$work"
"$SWITCHBOARD_VENV/bin/schemathesis" --config-file "$config" run "$base/openapi.json" \
  --checks all \
  --phases examples,coverage,fuzzing,stateful \
  --header "Authorization: Bearer $token" \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-30}" \
  --seed "${SCHEMATHESIS_SEED:-14}" \
  --workers 1 \
  --request-timeout 10 \
  --no-color \
  --generation-database none \
  "$@" || status=$?

if ((status != 0)); then
  echo "schemathesis found failures (exit $status); the server's log:" >&2
  grep -iE '"level":"(ERROR|WARN)"' "$work/serve.log" | tail -50 >&2 || true
fi
exit "$status"
