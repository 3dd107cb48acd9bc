#!/usr/bin/env bash
# Runs a command against a local AWS (moto server) and stops the server afterwards.
#
#   infra/local/moto.sh cargo test -p switchboard-aws     # run a command, exit with its status
#   infra/local/moto.sh --bootstrap cargo lambda watch    # also create the `local` table and queues
#   infra/local/moto.sh                                   # just serve until Ctrl-C
#
# Creates/reuses the venv `.venv/` at the repository root (override with SWITCHBOARD_VENV) and
# installs moto into it when missing. The server listens on a free port of 127.0.0.1; the command
# sees AWS_ENDPOINT_URL, AWS_REGION=us-east-1 and test credentials, and with --bootstrap the
# SWITCHBOARD_* variables printed by `switchboard-bootstrap` (table, queue URLs, secret prefix).
set -euo pipefail

MOTO_VERSION="5.2.5"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${SWITCHBOARD_VENV:-$root/.venv}"

if [[ ! -x "$venv/bin/moto_server" ]]; then
  echo "moto.sh: installing moto[server]==$MOTO_VERSION into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp -t moto.XXXXXX.log)"
# moto_server.py is moto_server with DynamoDB requests serialised (see the file for why).
"$venv/bin/python" "$root/infra/local/moto_server.py" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!

stop_moto() {
  kill "$moto_pid" 2>/dev/null || true
  wait "$moto_pid" 2>/dev/null || true
  rm -f "$log"
}
trap stop_moto EXIT

endpoint="http://127.0.0.1:$port"
for _ in $(seq 1 150); do
  if "$venv/bin/python" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
      "$endpoint/moto-api/data.json" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then
    echo "moto.sh: moto_server exited during start-up:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.2
done
if ! "$venv/bin/python" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
    "$endpoint/moto-api/data.json" 2>/dev/null; then
  echo "moto.sh: moto_server did not answer on $endpoint within 30 s" >&2
  cat "$log" >&2
  exit 1
fi

export AWS_ENDPOINT_URL="$endpoint"
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
unset AWS_PROFILE AWS_SESSION_TOKEN
echo "moto.sh: moto $MOTO_VERSION on $endpoint" >&2

if [[ "${1:-}" == "--bootstrap" ]]; then
  shift
  exports="$(cd "$root" && cargo run --quiet --bin switchboard-bootstrap -- local)"
  eval "$exports"
  echo "$exports" >&2
fi

if [[ $# -eq 0 ]]; then
  echo "moto.sh: serving until interrupted; export AWS_ENDPOINT_URL=$endpoint AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test" >&2
  wait "$moto_pid"
  exit $?
fi

set +e
"$@"
status=$?
set -e
exit "$status"
