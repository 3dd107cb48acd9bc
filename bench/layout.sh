#!/usr/bin/env bash
# The workspace's shape in numbers: Rust lines per crate, the test binaries `cargo test
# --workspace` builds, and (with --cold-build) the wall time of a cold `cargo build -p
# switchboard-cli` into an empty target directory.
#
#   bench/layout.sh                 # lines and test binaries (a second or two)
#   bench/layout.sh --cold-build    # plus the cold CLI build (minutes; uses a temporary target)
set -euo pipefail
cd "$(dirname "$0")/.."

printf '%-26s %8s\n' crate lines
total=0
for crate in crates/*/; do
  lines=$(find "$crate" -name '*.rs' -print0 | xargs -0 cat | wc -l)
  total=$((total + lines))
  printf '%-26s %8d\n' "$(basename "$crate")" "$lines"
done
printf '%-26s %8d\n' total "$total"

# One test binary per target with a test harness: each library, binary and integration test.
cargo metadata --format-version 1 --no-deps --locked | python3 -c '
import json, sys
meta = json.load(sys.stdin)
kinds = {"lib", "bin", "test", "proc-macro"}
binaries = [(p["name"], t["name"]) for p in meta["packages"] for t in p["targets"]
            if set(t["kind"]) & kinds and t.get("test", True)]
print(f"test binaries: {len(binaries)}")
'

if [[ "${1:-}" == "--cold-build" ]]; then
  target=$(mktemp -d)
  trap 'rm -rf "$target"' EXIT
  start=$(date +%s)
  CARGO_TARGET_DIR="$target" cargo build -p switchboard-cli --locked --quiet
  echo "cold cargo build -p switchboard-cli: $(( $(date +%s) - start )) s on $(nproc) cores"
fi
