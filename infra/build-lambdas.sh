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

printf '\n%-16s %12s %14s\n' function "zip bytes" "zip MiB"
for function in "${FUNCTIONS[@]}"; do
  zip="$target_dir/lambda/$function/bootstrap.zip"
  bytes=$(stat -c %s "$zip")
  awk -v f="$function" -v b="$bytes" 'BEGIN { printf "%-16s %12d %14.2f\n", f, b, b / 1048576 }'
done
echo "build time: ${elapsed} s"
