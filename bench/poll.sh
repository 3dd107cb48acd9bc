#!/usr/bin/env bash
# Polling throughput: pages/s and items/s of a poll over a local fake API (default 10k items,
# 100 per page), next to the same fetch loop written with plain reqwest + serde_json.
# Usage: bench/poll.sh [--items N] [--page-size N] [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --release -p switchboard-poll --example poll_bench -- "$@"
