#!/usr/bin/env bash
# CPU of one poll of ITEMS GitHub issues: `switchboard poll` next to Airbyte's declarative CDK
# (pinned in bench/poll/requirements-airbyte.txt, manifest bench/poll/airbyte-manifest.yaml),
# both against the fake GitHub API of bench/poll.sh served on its own. Read bench/README.md.
#
#   bash bench/poll-cpu.sh                 # 10,000 issues, 3 runs each
#   ITEMS=20000 RUNS=5 bash bench/poll-cpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ITEMS="${ITEMS:-10000}"
RUNS="${RUNS:-3}"
VENV=bench/.venv-airbyte
OUT=bench/out/poll-cpu
TARGET="${CARGO_TARGET_DIR:-target}"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r bench/poll/requirements-airbyte.txt
echo "== building switchboard and the fake API (release)" >&2
cargo build --quiet --release -p switchboard-cli
cargo build --quiet --release -p switchboard-poll --example poll_bench
mkdir -p "$OUT"
# Copies, so that another build in a shared target directory cannot swap a binary mid-run.
cp "$TARGET/release/switchboard" "$OUT/switchboard"
cp "$TARGET/release/examples/poll_bench" "$OUT/poll_bench"

# The fake API serves until its stdin closes.
exec 3> >("$OUT/poll_bench" --serve --items "$ITEMS" > "$OUT/fake-url")
for _ in $(seq 100); do [ -s "$OUT/fake-url" ] && break; sleep 0.1; done
BASE="$(cat "$OUT/fake-url")"
[ -n "$BASE" ] || { echo "the fake API did not start" >&2; exit 1; }
"$VENV/bin/python" bench/poll/cpu.py --bin "$OUT/switchboard" \
  --airbyte "$VENV/bin/source-declarative-manifest" --base "$BASE" --items "$ITEMS" --runs "$RUNS" --out "$OUT"
exec 3>&-
