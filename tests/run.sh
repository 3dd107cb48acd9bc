#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, the architecture rules, the SAM template
# checks (cfn-lint, checkov, and tests/template/check_template.py on the transformed template),
# then every test of the workspace with a local AWS-compatible server (moto) started for the
# AWS adapter tests and the end-to-end run of the Lambda binaries, then schemathesis fuzzing the
# registry API of `switchboard serve` against its OpenAPI document, the dashboard in a real browser
# (tests/browser/run.sh), and last the examples of every built-in descriptor through the built CLI.
set -euo pipefail
cd "$(dirname "$0")/.."

CFN_LINT_VERSION="1.58.0"
CHECKOV_VERSION="3.3.30"
SAM_TRANSLATOR_VERSION="1.115.0"
venv="${SWITCHBOARD_VENV:-$PWD/.venv}"

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "architecture: dependency rules (cargo metadata) and module import cycles"
python3 tests/architecture/dependency_rules.py
python3 tests/architecture/module_cycles.py

# The template tools share the venv that infra/local/moto.sh uses; each is installed at its pinned
# version when that version is not there.
source tests/lib/tools.sh
pinned "$venv" cfn-lint "$CFN_LINT_VERSION"
pinned "$venv" checkov "$CHECKOV_VERSION"
pinned "$venv" aws-sam-translator "$SAM_TRANSLATOR_VERSION"

step "cfn-lint template.yaml"
"$venv/bin/cfn-lint" template.yaml

# --skip-download: no call to Prisma Cloud for guidelines (offline, and nothing to send there).
# Every skip is a Metadata entry in the template with its reason.
step "checkov template.yaml"
"$venv/bin/checkov" -f template.yaml --framework cloudformation --compact --quiet --skip-download

step "template: scoped roles, gateway key prefixes, concurrency, throttling, DLQ alarms (after the SAM transform)"
"$venv/bin/python" tests/template/check_template.py template.yaml

step "cargo test (AWS adapters against moto)"
infra/local/moto.sh cargo test --workspace --locked

step "schemathesis against switchboard serve's OpenAPI (all checks, stateful phase, fixed seed)"
SWITCHBOARD_VENV="$venv" tests/schemathesis/run.sh

step "the dashboard in a real browser (Chromium + Selenium against serve and a fake GitHub API)"
SWITCHBOARD_VENV="$venv" tests/browser/run.sh

step "switchboard test descriptors/ (every example of every built-in descriptor)"
cargo run --quiet --locked -p switchboard-cli -- test descriptors/
