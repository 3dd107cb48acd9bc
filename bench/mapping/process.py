"""Runs `switchboard map` and the Python + orjson peer (map_rest.py) on the same page, one after
the other RUNS times, checks that their stdout is byte-identical, and prints wall-clock and CPU
time (user + system, from the kernel's accounting of each child) with the ratio."""

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
RECEIVED_AT = "2024-06-01T00:00:00Z"


def run(argv, out_path):
    """Wall seconds and CPU seconds of one child process, its stdout written to out_path."""
    with open(out_path, "wb") as out, open(out_path + ".err", "wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{argv[0]} failed, see {out_path}.err")
    return wall, usage.ru_utime + usage.ru_stime


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
    best = {name: (float("inf"), float("inf")) for name in peers}
    for _ in range(args.runs):
        for name, argv in peers.items():
            wall, cpu = run(argv, os.path.join(args.out, name.split()[0] + ".jsonl"))
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    outputs = [open(os.path.join(args.out, name.split()[0] + ".jsonl"), "rb").read() for name in peers]
    if outputs[0] != outputs[1]:
        sys.exit(f"the outputs differ: compare {args.out}/switchboard.jsonl and {args.out}/python.jsonl")
    lines = outputs[0].count(b"\n")
    with open(args.page, "rb") as f:
        items = f.read().count(b'"active_lock_reason"')
    size = os.path.getsize(args.page)
    cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"\nWhole process: {items:,} GitHub issues in one {size / 1e6:.0f} MB REST list response "
          f"({size / items:,.0f} B each), {lines:,} signals, output byte-identical.")
    print(f"Best of {args.runs} alternating runs; {os.cpu_count()} CPUs ({cpu_model}); "
          f"load average {' '.join(open('/proc/loadavg').read().split()[:3])} after.\n")
    print(f"{'':<34}{'wall s':>9}{'CPU s':>9}{'items/s (wall)':>16}{'items/s (CPU)':>15}")
    for name, (wall, cpu) in best.items():
        print(f"{name:<34}{wall:>9.3f}{cpu:>9.3f}{items / wall:>16,.0f}{items / cpu:>15,.0f}")
    (rw, rc), (pw, pc) = best.values()
    print(f"{'switchboard / python [target 3x]':<34}{pw / rw:>8.2f}x{pc / rc:>8.2f}x")


if __name__ == "__main__":
    main()
