"""Runs `switchboard map` and the Python + orjson peer (map_rest.py) on the same page, one after
the other RUNS times, checks that their stdout is byte-identical, and prints wall-clock and CPU
time (user + system, from the kernel's accounting of each child) with the ratio."""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from processes import best_of, machine, output  # noqa: E402
RECEIVED_AT = "2024-06-01T00:00:00Z"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--page", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    descriptor = os.path.join(ROOT, "descriptors", "github-issues.json")
    peers = {
        "switchboard map": [args.bin, "map", "--descriptor", descriptor, "--payload", args.page, "--mode", "polling",
                            "--project", "bench", "--received-at", RECEIVED_AT],
        "python + orjson (hand-written)": [sys.executable, os.path.join(HERE, "map_rest.py"), args.page, "bench",
                                           RECEIVED_AT],
    }
    best = best_of(args.runs, peers, args.out)
    outputs = []
    for name in peers:
        with open(output(args.out, name), "rb") as f:
            outputs.append(f.read())
    if outputs[0] != outputs[1]:
        sys.exit(f"the outputs differ: compare {args.out}/switchboard.out and {args.out}/python.out")
    lines = outputs[0].count(b"\n")
    with open(args.page, "rb") as f:
        items = f.read().count(b'"active_lock_reason"')
    size = os.path.getsize(args.page)
    print(f"\nWhole process: {items:,} GitHub issues in one {size / 1e6:.0f} MB REST list response "
          f"({size / items:,.0f} B each), {lines:,} signals, output byte-identical.")
    print(machine(args.runs) + "\n")
    print(f"{'':<34}{'wall s':>9}{'CPU s':>9}{'items/s (wall)':>16}{'items/s (CPU)':>15}")
    for name, (wall, cpu) in best.items():
        print(f"{name:<34}{wall:>9.3f}{cpu:>9.3f}{items / wall:>16,.0f}{items / cpu:>15,.0f}")
    (rw, rc), (pw, pc) = best.values()
    print(f"{'switchboard / python [target 3x]':<34}{pw / rw:>8.2f}x{pc / rc:>8.2f}x")


if __name__ == "__main__":
    main()
