#!/usr/bin/env bash
# Builds the four Lambda functions (the binaries of crates/lambda, package switchboard-lambda) as
# AWS runs them (the workspace's `lambda-release` profile: the release profile optimised for size; arm64,
# provided.al2023) with cargo-lambda, one bootstrap.zip per function, and prints each zip's size
# and the build time.
#
#   infra/build-lambdas.sh               # -> <target>/lambda/<function>/bootstrap.zip
#   infra/build-lambdas.sh --x86-64      # extra arguments go to `cargo lambda build`
#
# `sam build` runs the same cargo-lambda build per function (template.yaml, BuildMethod
# rust-cargolambda), always with `--release`; the README's SAM section gives the environment
# that makes its release build the `lambda-release` profile's. This script is for measuring sizes and
# checking the cross build quickly.
# cargo-lambda comes from the repository venv (.venv/, SWITCHBOARD_VENV overrides), installed
# there when missing together with its zig; the venv goes first on PATH because cargo-lambda
# finds zig through `python3 -m ziglang`.
set -euo pipefail

CARGO_LAMBDA_VERSION="1.9.2"
FUNCTIONS=(webhook-gateway registry-api normaliser poller)
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${SWITCHBOARD_VENV:-$root/.venv}"
cd "$root"

if [[ ! -x "$venv/bin/cargo-lambda" ]]; then
  echo "build-lambdas.sh: installing cargo-lambda==$CARGO_LAMBDA_VERSION into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
fi
export PATH="$venv/bin:$PATH"
if command -v rustup >/dev/null; then
  rustup target add aarch64-unknown-linux-gnu >/dev/null
fi

target_dir="${CARGO_TARGET_DIR:-$root/target}"
bins=()
for function in "${FUNCTIONS[@]}"; do bins+=(--bin "$function"); done
args=(--profile lambda-release --output-format zip "$@")
[[ " $* " == *" --x86-64 "* ]] || args=(--arm64 "${args[@]}")

start=$(date +%s)
cargo lambda build "${args[@]}" --package switchboard-lambda "${bins[@]}"
elapsed=$(( $(date +%s) - start ))

# `.text.hot`: the code of the function's cold-start layout (crates/lambda/build.rs); a function's
# is over a megabyte, and near zero when the layout's names did not match (bench/README.md,
# "Cold-start code layout").
binary="$(mktemp)"
trap 'rm -f "$binary"' EXIT
printf '\n%-16s %12s %14s %16s\n' function "zip bytes" "zip MiB" ".text.hot bytes"
for function in "${FUNCTIONS[@]}"; do
  zip="$target_dir/lambda/$function/bootstrap.zip"
  bytes=$(stat -c %s "$zip")
  python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("bootstrap"))' "$zip" >"$binary"
  hot="$(readelf -SW "$binary" | awk '{ for (i = 1; i < NF; i++) if ($i == ".text.hot") print $(i + 4) }')"
  awk -v f="$function" -v b="$bytes" -v h="$((16#${hot:-0}))" \
    'BEGIN { printf "%-16s %12d %14.2f %16d\n", f, b, b / 1048576, h }'
done
echo "build time: ${elapsed} s"
