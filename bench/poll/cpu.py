"""Runs `switchboard poll` (signals out) and Airbyte's declarative source (records out) against
the same fake GitHub API, one after the other RUNS times, and prints each one's CPU time (user +
system of the process and its threads, from the kernel) with the ratio. Read bench/README.md."""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from processes import best_of, machine, output  # noqa: E402


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
    best = best_of(args.runs, peers, args.out)
    with open(output(args.out, "switchboard"), "rb") as f:
        signals = f.read().count(b"\n")
    with open(output(args.out, "airbyte-cdk"), "rb") as f:
        records = sum(1 for line in f if b'"type":"RECORD"' in line or b'"type": "RECORD"' in line)
    if signals != args.items or records != args.items:
        sys.exit(f"expected {args.items} items from each: switchboard printed {signals} signals, "
                 f"airbyte {records} records")
    print(f"\nPolling {args.items:,} issues (100 per page, Link pagination) from the fake GitHub API at {args.base}: "
          f"{signals:,} signals / {records:,} records.")
    print(machine(args.runs) + "\n")
    print(f"{'':<28}{'wall s':>9}{'CPU s':>9}")
    for name, (wall, cpu) in best.items():
        print(f"{name:<28}{wall:>9.3f}{cpu:>9.3f}")
    (sw, sc), (aw, ac) = best.values()
    print(f"{'airbyte / switchboard CPU':<28}{'':>9}{ac / sc:>8.1f}x   [target 20x less CPU]")


if __name__ == "__main__":
    main()
