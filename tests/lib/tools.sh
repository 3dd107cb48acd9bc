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
