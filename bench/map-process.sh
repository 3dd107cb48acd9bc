#!/usr/bin/env bash
# Whole-process mapping: `switchboard map` on one GitHub REST list response of COUNT issues
# (about 6.3 KB each) next to a hand-written Python + orjson mapper producing the same signal
# lines. Read bench/README.md.
#
#   bash bench/map-process.sh              # 30,000 issues (about 190 MB), 3 runs each
#   COUNT=10000 RUNS=5 bash bench/map-process.sh
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT="${COUNT:-30000}"
RUNS="${RUNS:-3}"
VENV=bench/.venv
OUT=bench/out/process
TARGET="${CARGO_TARGET_DIR:-target}"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r bench/mapping/requirements.txt
mkdir -p "$OUT"
PAGE="$OUT/issues-$COUNT.json"
if [ ! -s "$PAGE" ]; then
  "$VENV/bin/python" bench/mapping/generate_rest.py --count "$COUNT" --out "$PAGE"
fi
echo "== building switchboard (release)" >&2
cargo build --quiet --release -p switchboard-cli
# A copy, so that another build in a shared target directory cannot swap the binary mid-run.
cp "$TARGET/release/switchboard" "$OUT/switchboard"
exec "$VENV/bin/python" bench/mapping/process.py --bin "$OUT/switchboard" --page "$PAGE" \
  --runs "$RUNS" --out "$OUT"
