"""Prints the mapping benchmark's table and ratios from bench/out/*-results.json."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "out")
    with open(os.path.join(out, "engine-results.json")) as f:
        engine = json.load(f)
    with open(os.path.join(out, "python-results.json")) as f:
        python = json.load(f)
    rows = {row["key"]: row for row in engine["rows"] + python["rows"]}
    order = [
        ("(a)", "floor"),
        ("", "parse_value"),
        ("", "engine"),
        ("", "engine_map_only"),
        ("", "orjson_parse"),
        ("(b)", "orjson_hand"),
        ("(c)", "jsonpath_ng"),
    ]
    n, size = engine["items"], engine["bytes"] / engine["items"]
    print(f"\nMapping throughput: {n} GitHub-issue-like items, {size:.0f} B each on average, "
          f"{engine['signals']} signals + {engine['ignored']} ignored; best of N rounds after a warm-up")
    print(f"Python {python['python']}, orjson {python['orjson']}, jsonpath-ng {python['jsonpath_ng']}\n")
    print(f"{'items/s':<48}{'one page of all items':>24}{'one payload per item':>24}")
    for tag, key in order:
        row = rows[key]
        print(f"{tag:<4}{row['label']:<44}{row['page']:>24,.0f}{row['items']:>24,.0f}")
    print(f"\n{'ratios (engine = parse + map from bytes)':<48}{'page':>24}{'per item':>24}")
    for label, other in [("engine / floor (a)", "floor"), ("engine / orjson + hand (b)", "orjson_hand"),
                         ("engine / jsonpath-ng (c)", "jsonpath_ng")]:
        page = rows["engine"]["page"] / rows[other]["page"]
        items = rows["engine"]["items"] / rows[other]["items"]
        print(f"    {label:<44}{page:>23.2f}x{items:>23.2f}x")


if __name__ == "__main__":
    main()
