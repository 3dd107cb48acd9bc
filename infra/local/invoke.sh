#!/usr/bin/env bash
# Invokes one Lambda function on this machine as `sam local invoke` does, without Docker: builds
# the function's binary (a debug build), runs it under AWS's Lambda Runtime Interface Emulator
# (the RIE that SAM runs in its container; infra/local/rie.sh fetches it), posts the event file,
# prints the response on stdout, and stops the emulator. The function's log goes to stderr. A
# failed invocation prints the runtime's error document ({"errorType", "errorMessage"}), as
# `sam local invoke` does.
#
#   infra/local/moto.sh --bootstrap infra/local/invoke.sh registry-api events/registry-api/health.json
#
#   # several invocations on one moto (its state lives as long as moto.sh runs):
#   infra/local/moto.sh --bootstrap bash -c '
#     infra/local/invoke.sh registry-api events/registry-api/create-instance.json &&
#     infra/local/invoke.sh registry-api events/registry-api/list-instances.json'
#
# FUNCTION is the binary's name: webhook-gateway, registry-api, normaliser or poller. EVENT is a
# JSON file; events/FUNCTION/ holds samples. The function talks to AWS through the environment:
# run it under `infra/local/moto.sh --bootstrap`, which starts moto, creates the `local` table,
# queues and secret prefix and exports AWS_ENDPOINT_URL, test credentials and the SWITCHBOARD_*
# settings the functions read. Each invocation is a cold start (the registry's registers the
# built-in connectors). Samples that need state get a 404 until it exists: the webhook samples
# need a github-prs instance on project demo-project with webhook secret
# "It's a Secret to Everybody" (see events/webhook-gateway/generate.py).
# AWS_LAMBDA_FUNCTION_TIMEOUT overrides the function's timeout from template.yaml.
set -euo pipefail

usage() {
  echo "usage: infra/local/invoke.sh FUNCTION EVENT   (FUNCTION: webhook-gateway, registry-api, normaliser, poller)" >&2
  exit 2
}
[[ $# -eq 2 ]] || usage
function="$1"
event="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

case "$function" in
  webhook-gateway) timeout=10 ;;
  registry-api | normaliser) timeout=30 ;;
  poller) timeout=900 ;;
  *) usage ;;
esac
[[ -f "$event" ]] || { echo "invoke.sh: no event file $2" >&2; exit 2; }
if [[ -z "${SWITCHBOARD_TABLE_NAME:-}" ]]; then
  echo "invoke.sh: SWITCHBOARD_TABLE_NAME is not set; run it under infra/local/moto.sh --bootstrap (see the top of this file)" >&2
  exit 2
fi

# Built by target name at the workspace root, whichever package holds the binary.
echo "invoke.sh: cargo build --bin $function (debug)" >&2
binary="$(cd "$root" && cargo build --locked --bin "$function" --message-format=json-render-diagnostics |
  python3 -c '
import json, sys
name = sys.argv[1]
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message["target"]["name"] == name and message.get("executable"):
        print(message["executable"])
' "$function")"
[[ -x "$binary" ]] || { echo "invoke.sh: cargo built no binary named $function" >&2; exit 1; }
rie="$("$root/infra/local/rie.sh")"

read -r emulator_port runtime_port < <(python3 -c '
import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')
AWS_LAMBDA_FUNCTION_NAME="$function" \
  AWS_LAMBDA_FUNCTION_TIMEOUT="${AWS_LAMBDA_FUNCTION_TIMEOUT:-$timeout}" \
  AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/$function" \
  AWS_LAMBDA_LOG_STREAM_NAME="invoke.sh" \
  "$rie" --log-level info \
  --runtime-interface-emulator-address "127.0.0.1:$emulator_port" \
  --runtime-api-address "127.0.0.1:$runtime_port" \
  "$binary" >&2 &
rie_pid=$!
# SIGTERM makes the RIE kill the function process and exit.
stop_rie() {
  kill -TERM "$rie_pid" 2>/dev/null || true
  wait "$rie_pid" 2>/dev/null || true
}
trap stop_rie EXIT

url="http://127.0.0.1:$emulator_port/2015-03-31/functions/function/invocations"
python3 - "$url" "$event" <<'EOF'
import socket, sys, time, urllib.parse, urllib.request
url, event = sys.argv[1:]
address = urllib.parse.urlsplit(url)
for _ in range(200):
    try:
        socket.create_connection((address.hostname, address.port), timeout=1).close()
        break
    except OSError:
        time.sleep(0.05)
with open(event, "rb") as body:
    request = urllib.request.Request(url, data=body.read(), method="POST")
with urllib.request.urlopen(request, timeout=None) as response:
    sys.stdout.write(response.read().decode())
    sys.stdout.write("\n")
EOF
