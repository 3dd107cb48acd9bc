#!/usr/bin/env bash
# Mapping throughput of the engine next to a serde_json parse-only floor and two Python peers
# (orjson + hand-written mapping, jsonpath-ng). Read bench/README.md.
#
#   bash bench/mapping.sh                 # 5 timed rounds per figure (3 for jsonpath-ng), 1 pass
#   ROUNDS=10 REPEAT=3 bash bench/mapping.sh
#
# REPEAT runs the engine and the Python peers alternately that many times; the table keeps each
# figure's best pass, which evens out a shared machine's load between the Rust and Python runs.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${ROUNDS:-5}"
JSONPATH_ROUNDS="${JSONPATH_ROUNDS:-3}"
REPEAT="${REPEAT:-1}"
VENV=bench/.venv
OUT=bench/out

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r bench/mapping/requirements.txt

echo "== generating items" >&2
"$VENV/bin/python" bench/mapping/generate.py --out "$OUT"
rm -rf "$OUT/runs"
cp /proc/loadavg "$OUT/loadavg-start" 2>/dev/null || true

for pass in $(seq "$REPEAT"); do
  echo "== pass $pass/$REPEAT: engine (cargo bench, release)" >&2
  cargo bench --quiet -p switchboard-core --bench mapping -- --data "$PWD/$OUT" --rounds "$ROUNDS"
  echo "== pass $pass/$REPEAT: python peers" >&2
  "$VENV/bin/python" bench/mapping/peers.py --data "$OUT" --rounds "$ROUNDS" --jsonpath-rounds "$JSONPATH_ROUNDS"
  mkdir -p "$OUT/runs/$pass"
  cp "$OUT/engine-results.json" "$OUT/python-results.json" "$OUT/runs/$pass/"
done

"$VENV/bin/python" bench/mapping/report.py "$OUT"
