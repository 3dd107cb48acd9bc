"""Runs `switchboard poll` (signals out) and Airbyte's declarative source (records out) against
the same fake GitHub API, one after the other RUNS times, and prints each one's CPU time (user +
system of the process and its threads, from the kernel) with the ratio. Read bench/README.md."""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")


def run(argv, out_path, env=None):
    with open(out_path, "wb") as out, open(out_path + ".err", "wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{argv[0]} failed, see {out_path}.err")
    return wall, usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--airbyte", required=True, help="the source-declarative-manifest command")
    parser.add_argument("--base", required=True, help="the fake API's URL")
    parser.add_argument("--items", type=int, required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    # The built-in descriptor, allowed to reach the fake and not held to GitHub's 60 requests/min.
    with open(os.path.join(ROOT, "descriptors", "github-issues.json")) as f:
        descriptor = json.load(f)
    descriptor.pop("allowedHosts", None)
    descriptor["ingestion"]["rateLimitRpm"] = 1_000_000_000
    descriptor_path = os.path.join(args.out, "github-issues.json")
    with open(descriptor_path, "w") as f:
        json.dump(descriptor, f)
    config = {"base_url": args.base, "owner": "octo", "repo": "hello", "token": "ghp_bench",
              "start_date": "2000-01-01T00:00:00Z"}
    catalog = {"streams": [{"stream": {"name": "issues", "json_schema": {}, "supported_sync_modes": ["incremental"]},
                            "sync_mode": "incremental", "destination_sync_mode": "append",
                            "cursor_field": ["updated_at"]}]}
    for name, value in (("config.json", config), ("catalog.json", catalog)):
        with open(os.path.join(args.out, name), "w") as f:
            json.dump(value, f)

    peers = {
        "switchboard poll": [args.bin, "poll", "--descriptor", descriptor_path, "--config", f"baseUrl={args.base}",
                             "--config", "owner=octo", "--config", "repo=hello", "--credential", "token=ghp_bench",
                             "--egress-allow", "127.0.0.1", "--max-pages", "100000", "--project", "bench"],
        "airbyte-cdk declarative": [args.airbyte, "read", "--config", os.path.join(args.out, "config.json"),
                                    "--catalog", os.path.join(args.out, "catalog.json"),
                                    "--manifest-path", os.path.join(HERE, "airbyte-manifest.yaml")],
    }
    best = {name: (float("inf"), float("inf")) for name in peers}
    for _ in range(args.runs):
        for name, argv in peers.items():
            wall, cpu = run(argv, os.path.join(args.out, name.split()[0] + ".out"))
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))

    signals = open(os.path.join(args.out, "switchboard.out"), "rb").read().count(b"\n")
    records = sum(1 for line in open(os.path.join(args.out, "airbyte-cdk.out"), "rb") if b'"type":"RECORD"' in line
                  or b'"type": "RECORD"' in line)
    if signals != args.items or records != args.items:
        sys.exit(f"expected {args.items} items from each: switchboard printed {signals} signals, "
                 f"airbyte {records} records")
    cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"\nPolling {args.items:,} issues (100 per page, Link pagination) from the fake GitHub API at {args.base}: "
          f"{signals:,} signals / {records:,} records.")
    print(f"Best of {args.runs} alternating runs; {os.cpu_count()} CPUs ({cpu_model}); "
          f"load average {' '.join(open('/proc/loadavg').read().split()[:3])} after.\n")
    print(f"{'':<28}{'wall s':>9}{'CPU s':>9}")
    for name, (wall, cpu) in best.items():
        print(f"{name:<28}{wall:>9.3f}{cpu:>9.3f}")
    (sw, sc), (aw, ac) = best.values()
    print(f"{'airbyte / switchboard CPU':<28}{'':>9}{ac / sc:>8.1f}x   [target 20x less CPU]")


if __name__ == "__main__":
    main()
