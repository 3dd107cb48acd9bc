#!/usr/bin/env bash
# Mapping throughput of the engine next to a serde_json parse-only floor and two Python peers
# (orjson + hand-written mapping, jsonpath-ng). Read bench/README.md.
#
#   bash bench/mapping.sh              # ROUNDS=5 timed rounds per figure (3 for jsonpath-ng)
#   ROUNDS=10 bash bench/mapping.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${ROUNDS:-5}"
JSONPATH_ROUNDS="${JSONPATH_ROUNDS:-3}"
VENV=bench/.venv

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r bench/mapping/requirements.txt

echo "== generating items" >&2
"$VENV/bin/python" bench/mapping/generate.py --out bench/out

echo "== engine (cargo bench, release)" >&2
cargo bench --quiet -p switchboard-core --bench mapping -- --data "$PWD/bench/out" --rounds "$ROUNDS"

echo "== python peers" >&2
"$VENV/bin/python" bench/mapping/peers.py --data bench/out --rounds "$ROUNDS" --jsonpath-rounds "$JSONPATH_ROUNDS"

"$VENV/bin/python" bench/mapping/report.py bench/out
