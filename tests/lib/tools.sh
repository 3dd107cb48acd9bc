# Shared by the test scripts (sourced, not run): Python tools pinned in one venv, and the CLI.

# pinned <venv> <distribution> <version>: installs that exact version into the venv (created when
# missing) unless it is already there.
pinned() {
  if ! "$1/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version(sys.argv[1]) != sys.argv[2])' \
    "$2" "$3" 2>/dev/null; then
    [[ -x "$1/bin/pip" ]] || python3 -m venv "$1"
    "$1/bin/pip" install --quiet --disable-pip-version-check "$2==$3"
  fi
}

# switchboard_bin: sets SWITCHBOARD_BIN to the built CLI, building it unless it is already set.
switchboard_bin() {
  if [[ -z "${SWITCHBOARD_BIN:-}" ]]; then
    cargo build --quiet --locked -p switchboard-cli
    SWITCHBOARD_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/switchboard"
  fi
  export SWITCHBOARD_BIN
}

# free_port: a TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# wait_http <url> <pid>: waits (up to 10 s) until the URL answers at all (any HTTP status);
# fails at once when process <pid> has exited, and after the wait.
wait_http() {
  for _ in $(seq 1 100); do
    if python3 -c 'import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError:
    pass' "$1" 2>/dev/null; then
      return 0
    fi
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
