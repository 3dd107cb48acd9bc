# Shared by the cold-start benchmarks (bench/gateway.sh, bench/coldstart.sh,
# bench/coldstart-ab.sh) and infra/cold-start-layout.sh; source it. rie_new_delivery is at the end.
#
# rie_cold_start NAME RUN EVENT INVOCATIONS OUT COMMAND...
#   One cold start of COMMAND (a function binary and its arguments) under AWS's Lambda Runtime
#   Interface Emulator ($RIE, from infra/local/rie.sh): INVOCATIONS posts of the JSON file EVENT,
#   the peak RSS of the function process, then the RIE stopped. Leaves the RIE's log (with the
#   function's output) in OUT/NAME-RUN.log, the function's answers in NAME-RUN.responses and
#   the peak RSS in KiB in NAME-RUN.rss; bench/lib/rie_report.py reads the RIE's figures from
#   the log. The RIE starts the function on the first invocation, so every run is a cold start.
#   COMMAND may start with a wrapper (strace, valgrind): the process measured is the last in the
#   chain of children. Extra environment for the function: export it before calling.
#   RIE_BEFORE_STOP, when set, names a command run with the function process's pid after the
#   last invocation, before the RIE stops it (infra/cold-start-layout.sh dumps a profile).

rie_cold_start() {
  local name="$1" run="$2" event="$3" invocations="$4" out="$5" emulator pid attempt
  shift 5
  # The two free ports are picked before the RIE binds them, so another process may take one
  # in between (the RIE then exits, "address already in use"): start it again on new ports.
  for attempt in 1 2 3 4 5; do
    read -r emulator RIE_RUNTIME_API_PORT < <(python3 -c '
import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')
    export RIE_RUNTIME_API_PORT
    AWS_LAMBDA_FUNCTION_NAME=bench AWS_LAMBDA_FUNCTION_VERSION='$LATEST' AWS_LAMBDA_FUNCTION_TIMEOUT=30 \
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256 AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/bench \
      AWS_LAMBDA_LOG_STREAM_NAME=bench _HANDLER=bootstrap \
      "$RIE" --log-level info --runtime-interface-emulator-address "127.0.0.1:$emulator" \
      --runtime-api-address "127.0.0.1:$RIE_RUNTIME_API_PORT" "$@" >"$out/$name-$run.log" 2>&1 &
    rie_pid=$!
    trap rie_stop EXIT  # also when a step below fails
    for _ in $(seq 200); do
      (: <"/dev/tcp/127.0.0.1/$emulator") 2>/dev/null && break
      kill -0 "$rie_pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -0 "$rie_pid" 2>/dev/null && break
    wait "$rie_pid" 2>/dev/null || true
    rie_pid=""
    echo "rie.sh: the RIE did not start (attempt $attempt, see $out/$name-$run.log); new ports" >&2
  done
  for _ in $(seq "$invocations"); do
    curl --silent --show-error --max-time 60 --write-out '\n' --data-binary "@$event" \
      "http://127.0.0.1:$emulator/2015-03-31/functions/function/invocations"
  done >"$out/$name-$run.responses"
  # The RIE is a Go program: any of its threads may have started the function.
  pid="$(cat /proc/"$rie_pid"/task/*/children | tr -s ' ' '\n' | head -n 1)"
  while [[ -n "$pid" && -n "$(cat /proc/"$pid"/task/*/children 2>/dev/null | tr -d ' ')" ]]; do
    pid="$(cat /proc/"$pid"/task/*/children | tr -s ' ' '\n' | head -n 1)"
  done
  [[ -n "$pid" ]] || { echo "rie.sh: $name is not running under the RIE; see $out/$name-$run.log" >&2; exit 1; }
  awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" >"$out/$name-$run.rss"
  [[ -z "${RIE_BEFORE_STOP:-}" ]] || "$RIE_BEFORE_STOP" "$pid"
  rie_stop
}

# SIGTERM makes the RIE SIGKILL the function and exit.
rie_stop() {
  [[ -n "${rie_pid:-}" ]] || return 0
  kill -TERM "$rie_pid" 2>/dev/null || true
  wait "$rie_pid" 2>/dev/null || true
  rie_pid=""
}

# rie_new_delivery EVENT FILE SUFFIX
#   Writes the gateway's sample event EVENT to FILE under a delivery id of its own (the original
#   id, "-", SUFFIX; GitHub signs the body, not the id), so each cold start's first response is a
#   delivery the store accepts and enqueues, not the duplicate of an earlier run's.
rie_new_delivery() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
event = json.load(open(sys.argv[1]))
# HTTP API events spell header names in lower case, REST API events as sent, in two maps.
for headers in (event.get("headers") or {}, event.get("multiValueHeaders") or {}):
    for name, value in headers.items():
        if name.lower() == "x-github-delivery":
            suffix = "-" + sys.argv[3]
            headers[name] = [v + suffix for v in value] if isinstance(value, list) else value + suffix
json.dump(event, open(sys.argv[2], "w"))
PY
}
