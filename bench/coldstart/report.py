#!/usr/bin/env python3
"""Prints bench/coldstart.sh's figures: each function beside the bare lambda_runtime echo
function, with the ratio, and the connections each opened before its first `/next`.

usage: report.py OUT [LAMBDA_DIR]   (LAMBDA_DIR: where infra/build-lambdas.sh left the zips)
"""

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from rie_report import median, peak_rss_mib, runs  # noqa: E402

FUNCTIONS = ["webhook-gateway", "registry-api", "normaliser", "poller", "gateway-embedded"]
CONNECT = re.compile(r'connect\(\d+, \{sa_family=AF_INET6?, sin6?_port=htons\((\d+)\), (?:sin_addr=inet_addr\("([^"]+)"\)|.*inet_pton\(AF_INET6, "([^"]+)")')

out = Path(sys.argv[1])
lambda_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else None


def connections_before_next(name):
    """Internet connections NAME opened before its first one to the runtime API, or None."""
    trace, port_file = out / f"{name}.strace", out / f"{name}.runtime-port"
    if not trace.exists() or not port_file.exists():
        return None
    runtime_port = port_file.read_text().strip()
    before = []
    for line in trace.read_text().splitlines():
        match = CONNECT.search(line)
        if not match:
            continue
        port, address = match.group(1), match.group(2) or match.group(3)
        if port == runtime_port and address in ("127.0.0.1", "::1"):
            return before
        before.append(f"{address}:{port}")
    sys.exit(f"report.py: {trace}: no connection to the runtime API on port {runtime_port}")


bare = runs(out, "bare")
# name -> (binary bytes, bootstrap.zip bytes of this machine's architecture)
sizes = {line.split()[0]: line.split()[1:] for line in (out / "sizes").read_text().splitlines()} if (out / "sizes").exists() else {}
load = (out / "loadavg-start").read_text().split()[:3] if (out / "loadavg-start").exists() else ["?"]
bare_init, bare_first, bare_rss = median(bare, "init_ms"), median(bare, "cold_start_ms"), peak_rss_mib(bare)

print(f"\ncold starts under the RIE, {len(bare)} runs each, medians (load at start {' '.join(load)})")
print(f"{'function':18} {'init ms':>8} {'x bare':>7} {'first resp ms':>14} {'x bare':>7} "
      f"{'peak RSS MiB':>13} {'x bare':>7} {'binary MiB':>11} {'zip MiB':>8} {'arm64 zip':>9} {'net before /next':>17}")


def row(name, rows):
    init, first, rss = median(rows, "init_ms"), median(rows, "cold_start_ms"), peak_rss_mib(rows)
    measured = sizes.get(name) if name != "gateway-embedded" else None
    size = f"{int(measured[0]) / 2**20:.1f}" if measured else "-"
    zipped = f"{int(measured[1]) / 2**20:.2f}" if measured and len(measured) > 1 else "-"
    zip_file = lambda_dir / name / "bootstrap.zip" if lambda_dir else None
    arm64 = f"{zip_file.stat().st_size / 2**20:.2f}" if zip_file and zip_file.exists() else "-"
    connections = connections_before_next(name)
    net = "-" if connections is None else (str(len(connections)) + (f" {connections[:3]}" if connections else ""))
    ratio = "" if name == "bare" else None
    print(f"{name:18} {init:8.2f} {ratio or f'{init / bare_init:.2f}x':>7} {first:14.2f} "
          f"{ratio or f'{first / bare_first:.2f}x':>7} {rss:13.1f} {ratio or f'{rss / bare_rss:.2f}x':>7} "
          f"{size:>11} {zipped:>8} {arm64:>9} {net:>17}")


row("bare", bare)
for name in FUNCTIONS:
    rows = runs(out, name)
    if rows:
        row(name, rows)
print("\nallocators (LD_PRELOAD in place of glibc malloc), medians")
print(f"{'':27} {'init ms':>8} {'first resp ms':>14} {'peak RSS MiB':>13} {'handler p50 us':>15} {'p99 us':>8}")
for allocator in ["system", "mimalloc", "jemalloc"]:
    handler = out / f"handler@{allocator}.json"
    if not handler.exists():
        continue
    timing = json.loads(handler.read_text())["gateway"]
    for name in ["webhook-gateway", "gateway-embedded"]:
        rows = runs(out, name if allocator == "system" else f"{name}@{allocator}")
        if rows:
            print(f"{name + '@' + allocator:27} {median(rows, 'init_ms'):8.2f} {median(rows, 'cold_start_ms'):14.2f} "
                  f"{peak_rss_mib(rows):13.1f} {timing['p50_us']:15.1f} {timing['p99_us']:8.1f}")

statuses = {name: sorted({k for r in runs(out, name) for k in r["statuses"]}) for name in FUNCTIONS}
print(f"\nanswers: {statuses}")
print("first resp = the first invocation's REPORT Duration: process start, init and the first event;"
      " the AWS-backed functions' first events wait on moto (about 3 ms per call)")
