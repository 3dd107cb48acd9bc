"""Prints the mapping benchmark's table and ratios from bench/out/runs/*/ (best pass per figure)."""

import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ORDER = [
    ("(a)", "floor"),
    ("", "parse_value"),
    ("", "engine"),
    ("", "engine_map_only"),
    ("", "projected_parse"),
    ("(p)", "engine_projected"),
    ("", "orjson_parse"),
    ("(b)", "orjson_hand"),
    ("(c)", "jsonpath_ng"),
]
RATIOS = [
    ("engine", "engine / floor (a)", "floor"),
    ("engine", "engine / orjson + hand (b)", "orjson_hand"),
    ("engine", "engine / jsonpath-ng (c)", "jsonpath_ng"),
    ("engine_projected", "projected (p) / floor (a)   [target 0.33x]", "floor"),
    ("engine_projected", "projected (p) / orjson + hand (b)", "orjson_hand"),
    ("engine_projected", "projected (p) / engine (whole Value)", "engine"),
]
COLUMNS = [("page", "wall"), ("page", "cpu"), ("items", "wall"), ("items", "cpu")]


def load(path):
    with open(path) as f:
        return json.load(f)


def loadavg(path):
    try:
        with open(path) as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def best_rows(passes):
    """Each figure's best value over the passes."""
    rows = {}
    for engine, python in passes:
        for row in engine["rows"] + python["rows"]:
            best = rows.setdefault(row["key"], {"label": row["label"], "page": {}, "items": {}})
            for shape, clock in COLUMNS:
                best[shape][clock] = max(best[shape].get(clock, 0.0), row[shape][clock])
    return rows


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "out")
    dirs = sorted(glob.glob(os.path.join(out, "runs", "*")))
    if not dirs:
        sys.exit(f"no results under {out}/runs: run bench/mapping.sh")
    passes = [(load(os.path.join(d, "engine-results.json")), load(os.path.join(d, "python-results.json"))) for d in dirs]
    rows = best_rows(passes)
    engine, python = passes[-1]

    n, size = engine["items"], engine["bytes"] / engine["items"]
    print(f"\nMapping throughput: {n} GitHub-issue-like items, {size:.0f} B each on average "
          f"({engine['signals']} signals, {engine['ignored']} ignored)")
    print(f"Each figure: best of {engine['rounds']} rounds after a warm-up, best of {len(passes)} pass(es). "
          f"{os.cpu_count()} CPUs; load average {loadavg(os.path.join(out, 'loadavg-start'))} before, "
          f"{loadavg('/proc/loadavg')} after.")
    print(f"Python {python['python']}, orjson {python['orjson']}, jsonpath-ng {python['jsonpath_ng']}.")
    print("wall = items per wall-clock second; cpu = items per second of the thread's CPU time.\n")
    print(f"{'':<48}{'one page of all items':>24}{'one payload per item':>24}")
    print(f"{'items/s':<48}" + "".join(f"{clock:>12}" for _, clock in COLUMNS))
    for tag, key in ORDER:
        row = rows[key]
        print(f"{tag:<4}{row['label']:<44}" + "".join(f"{row[shape][clock]:>12,.0f}" for shape, clock in COLUMNS))
    print(f"\n{'ratios (parse + map from bytes)':<48}" + "".join(f"{clock:>12}" for _, clock in COLUMNS))
    for key, label, other in RATIOS:
        ratios = [rows[key][shape][clock] / rows[other][shape][clock] for shape, clock in COLUMNS]
        print(f"    {label:<44}" + "".join(f"{r:>11.2f}x" for r in ratios))


if __name__ == "__main__":
    main()
