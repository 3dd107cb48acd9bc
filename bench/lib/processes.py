"""Helpers of the benchmarks that time whole processes side by side (bench/map-process.sh,
bench/poll-cpu.sh): running one child with its CPU time, and describing the machine."""

import os
import subprocess
import sys
import time


def run(argv, out_path):
    """Wall seconds and CPU seconds (user + system, all threads, from the kernel's accounting)
    of one child process; its stdout goes to out_path, its stderr next to it."""
    with open(out_path, "wb") as out, open(out_path + ".err", "wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{argv[0]} failed, see {out_path}.err")
    return wall, usage.ru_utime + usage.ru_stime


def best_of(runs, peers, out_dir):
    """Runs every peer (name -> argv) once per round, alternating, `runs` rounds; each one's
    best wall and best CPU seconds. Outputs land in out_dir/<first word of the name>.out."""
    os.makedirs(out_dir, exist_ok=True)
    best = {name: (float("inf"), float("inf")) for name in peers}
    for _ in range(runs):
        for name, argv in peers.items():
            wall, cpu = run(argv, output(out_dir, name))
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


def output(out_dir, name):
    """Where a peer's stdout is written."""
    return os.path.join(out_dir, name.split()[0] + ".out")


def machine(runs):
    """One line: how many runs, CPUs, CPU model, load average."""
    with open("/proc/cpuinfo") as f:
        model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return f"Best of {runs} alternating runs; {os.cpu_count()} CPUs ({model}); load average {load} after."
