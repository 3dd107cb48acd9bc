#!/usr/bin/env bash
# The dashboard in a real browser: installs Chromium and its driver from the distribution's
# packages when they are missing, and Selenium (pinned) into the shared venv; builds the CLI;
# starts a fake GitHub API and `switchboard serve` (generated admin token, temporary data dir,
# free ports, a 1-second poll tick, egress allowed to the fake only); then drives headless
# Chromium through the dashboard link serve printed (tests/browser/test_dashboard.py), auditing
# every page with axe-core (WCAG 2.1 A/AA) at laptop and phone widths. Writes a
# screenshot of each page to $SWITCHBOARD_SCREENSHOTS (default target/screenshots; the README's
# pictures are made with SWITCHBOARD_SCREENSHOTS=docs/screenshots). Exits non-zero on any
# failure, after printing the server's log.
#
# Env: SWITCHBOARD_VENV (default .venv), SWITCHBOARD_BIN (default: build and use the CLI),
#      SWITCHBOARD_SCREENSHOTS (where the screenshots go).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib/tools.sh

SELENIUM_VERSION="4.51.0"
CRYPTOGRAPHY_VERSION="51.0.1"  # signs the fake OIDC provider's ID tokens
AXE_VERSION="4.11.1"           # axe-core (npm), the accessibility audit run on every page
venv="${SWITCHBOARD_VENV:-$PWD/.venv}"

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "==> installing chromium and chromium-driver (Debian packages)"
  sudo=""
  [[ "$(id -u)" == 0 ]] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium chromium-driver
fi

pinned "$venv" selenium "$SELENIUM_VERSION"
pinned "$venv" cryptography "$CRYPTOGRAPHY_VERSION"

# axe-core from the npm registry, unpacked once per version under the target directory.
axe_dir="${CARGO_TARGET_DIR:-$PWD/target}/axe-core-$AXE_VERSION"
if [[ ! -f "$axe_dir/package/axe.min.js" ]]; then
  mkdir -p "$axe_dir"
  (cd "$axe_dir" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null && tar -xzf "axe-core-$AXE_VERSION.tgz")
fi
switchboard_bin

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# The fake GitHub API, with the one token it accepts.
gh_port="$(free_port)"
gh_token="github_pat_browser_test_$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
python3 tests/browser/fake_github.py "$gh_port" "$gh_token" "$work/github-requests.jsonl" 2>"$work/github.log" &
pids+=($!)
wait_http "http://127.0.0.1:$gh_port/" "${pids[-1]}" || { echo "error: the fake GitHub API did not start" >&2; cat "$work/github.log" >&2; exit 1; }

# The fake OIDC provider, with the dashboard (serve's page) as its one client's redirect URI.
port="$(free_port)"
oidc_port="$(free_port)"
"$venv/bin/python" tests/browser/fake_oidc.py "$oidc_port" switchboard-dashboard "http://127.0.0.1:$port/" \
  "$work/oidc-requests.jsonl" 2>"$work/oidc.log" &
pids+=($!)
wait_http "http://127.0.0.1:$oidc_port/" "${pids[-1]}" || { echo "error: the fake OIDC provider did not start" >&2; cat "$work/oidc.log" >&2; exit 1; }

# serve without SWITCHBOARD_ADMIN_TOKEN: it generates a token and prints the dashboard link. It
# also signs in with the fake OIDC provider.
env -u SWITCHBOARD_ADMIN_TOKEN "$SWITCHBOARD_BIN" serve \
  --addr "127.0.0.1:$port" --data-dir "$work/data" --log-format json --poll-tick-seconds 1 \
  --egress-allow "127.0.0.1:$gh_port" --oidc-issuer "http://127.0.0.1:$oidc_port" \
  --oidc-client-id switchboard-dashboard >"$work/serve.out" 2>"$work/serve.log" &
pids+=($!)
wait_http "http://127.0.0.1:$port/health" "${pids[-1]}" || { echo "error: switchboard serve did not start" >&2; cat "$work/serve.log" >&2; exit 1; }

link=""
for _ in $(seq 1 50); do
  link="$(grep -oE 'http://[^ ]+/#token=[^ ]+' "$work/serve.log" | head -n1 || true)"
  [[ -n "$link" ]] && break
  sleep 0.1
done
if [[ -z "$link" ]]; then
  echo "error: serve printed no dashboard link with a token" >&2
  cat "$work/serve.log" >&2
  exit 1
fi

status=0
DASHBOARD_LINK="$link" FAKE_GITHUB_URL="http://127.0.0.1:$gh_port" FAKE_GITHUB_TOKEN="$gh_token" \
  FAKE_GITHUB_LOG="$work/github-requests.jsonl" OIDC_ISSUER="http://127.0.0.1:$oidc_port" \
  OIDC_LOG="$work/oidc-requests.jsonl" AXE_JS="$axe_dir/package/axe.min.js" SCREENSHOT_DIR="$(realpath -m "${SWITCHBOARD_SCREENSHOTS:-${CARGO_TARGET_DIR:-$PWD/target}/screenshots}")" SE_OFFLINE=true \
  "$venv/bin/python" tests/browser/test_dashboard.py || status=$?
if [[ "$status" != 0 ]]; then
  echo "--- switchboard serve's log" >&2
  cat "$work/serve.log" >&2
  echo "--- fake GitHub requests" >&2
  cat "$work/github-requests.jsonl" >&2 2>/dev/null || true
fi
exit "$status"
