#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, the architecture rules, the SAM template
# lint, then every test of the workspace with a local AWS-compatible server (moto) started for the
# AWS adapter tests and the end-to-end run of the Lambda binaries.
set -euo pipefail
cd "$(dirname "$0")/.."

CFN_LINT_VERSION="1.58.0"
venv="${SWITCHBOARD_VENV:-$PWD/.venv}"

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "architecture: dependency rules (cargo metadata) and module import cycles"
python3 tests/architecture/dependency_rules.py
python3 tests/architecture/module_cycles.py

step "cfn-lint template.yaml"
if [[ ! -x "$venv/bin/cfn-lint" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION"
fi
"$venv/bin/cfn-lint" template.yaml

step "cargo test (AWS adapters against moto)"
infra/local/moto.sh cargo test --workspace --locked
