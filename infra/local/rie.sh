#!/usr/bin/env bash
# Prints the path of AWS's Lambda Runtime Interface Emulator (RIE), fetching it on first use.
#
#   rie="$(infra/local/rie.sh)"
#
# The RIE is the Lambda Runtime API that `sam local invoke` runs inside its container: it starts
# a function's `bootstrap`, and each POST to /2015-03-31/functions/function/invocations becomes
# one invocation. It ships inside the aws-sam-cli wheel on PyPI, so this downloads that wheel
# (pinned, checked against its SHA-256, without installing SAM or its dependencies), extracts
# only the RIE binary for this machine's architecture and keeps it under the venv `.venv/` at
# the repository root (override with SWITCHBOARD_VENV). Later runs print the kept path at once.
# Used by the e2e tests (crates/e2e) and by infra/local/invoke.sh.
set -euo pipefail

SAM_CLI_VERSION="1.170.0"
SAM_CLI_WHEEL_SHA256="24ebaf5ecba38dc1758089968cb89ab61e124b84e92a344fc7a2771a47f4d0bf"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${SWITCHBOARD_VENV:-$root/.venv}"

case "$(uname -m)" in
  x86_64 | amd64) arch="x86_64" ;;
  aarch64 | arm64) arch="arm64" ;;
  *)
    echo "rie.sh: the RIE is built for x86_64 and arm64 only, not $(uname -m)" >&2
    exit 1
    ;;
esac

dir="$venv/aws-lambda-rie/sam-cli-$SAM_CLI_VERSION"
rie="$dir/aws-lambda-rie-$arch"
if [[ -x "$rie" ]]; then
  echo "$rie"
  exit 0
fi

if [[ ! -x "$venv/bin/pip" ]]; then
  python3 -m venv "$venv"
fi
echo "rie.sh: fetching the RIE from aws-sam-cli==$SAM_CLI_VERSION into $dir" >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$venv/bin/pip" download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --dest "$work" "aws-sam-cli==$SAM_CLI_VERSION" >&2
wheel="$work/aws_sam_cli-$SAM_CLI_VERSION-py3-none-any.whl"
if ! echo "$SAM_CLI_WHEEL_SHA256  $wheel" | sha256sum --check --quiet >&2; then
  echo "rie.sh: $wheel does not have the pinned SHA-256 $SAM_CLI_WHEEL_SHA256" >&2
  exit 1
fi
# Extract into the work directory, then move into place: a concurrent run sees all or nothing.
"$venv/bin/python" - "$wheel" "samcli/local/rapid/aws-lambda-rie-$arch" "$work/rie" <<'EOF'
import shutil, sys, zipfile
wheel, member, target = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive, archive.open(member) as source, open(target, "wb") as out:
    shutil.copyfileobj(source, out)
EOF
chmod 755 "$work/rie"
mkdir -p "$dir"
mv -f "$work/rie" "$rie"
echo "$rie"
