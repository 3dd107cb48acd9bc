#!/usr/bin/env python3
"""Prints bench/gateway.sh's figures side by side: the gateway, the bare peer, their ratio."""

import json
import statistics
import sys
from pathlib import Path

out = Path(sys.argv[1])


def runs(name):
    return [json.loads(p.read_text()) for p in sorted(out.glob(f"cold-{name}-*.json"))]


def median(rows, key):
    return statistics.median(r[key] for r in rows)


gateway, bare = runs("gateway"), runs("bare")
handler = json.loads((out / "handler.json").read_text())
rows = [
    ("cold start: process start -> first response (ms, median)", median(gateway, "cold_start_ms"), median(bare, "cold_start_ms")),
    ("  of which init: start -> first invocation/next (ms)", median(gateway, "init_ms"), median(bare, "init_ms")),
    ("  of which first event (ms)", median(gateway, "first_event_ms"), median(bare, "first_event_ms")),
    ("warm invocation via runtime API, p50 (ms)", median(gateway, "warm_p50_ms"), median(bare, "warm_p50_ms")),
    ("warm invocation via runtime API, p99 (ms)", median(gateway, "warm_p99_ms"), median(bare, "warm_p99_ms")),
    ("peak RSS (MiB, max over runs)", max(r["peak_rss_kib"] for r in gateway) / 1024, max(r["peak_rss_kib"] for r in bare) / 1024),
    ("binary size (MiB, stripped)", int((out / "size-gateway").read_text()) / 2**20, int((out / "size-bare").read_text()) / 2**20),
    ("handler in-process p50 (us)", handler["gateway"]["p50_us"], handler["bare"]["p50_us"]),
    ("handler in-process p99 (us)", handler["gateway"]["p99_us"], handler["bare"]["p99_us"]),
    ("handler in-process mean (us)", handler["gateway"]["mean_us"], handler["bare"]["mean_us"]),
    ("  same, no-op queue + limiter, p50 (us)", handler["gateway_no_writes"]["p50_us"], handler["bare"]["p50_us"]),
    ("  same, no-op queue + limiter, p99 (us)", handler["gateway_no_writes"]["p99_us"], handler["bare"]["p99_us"]),
]
statuses = {"gateway": [r["statuses"] for r in gateway], "bare": [r["statuses"] for r in bare]}
load = (out / "loadavg-start").read_text().split()[:3] if (out / "loadavg-start").exists() else ["?"]

print(f"\nwebhook gateway vs bare lambda_http+axum 202 ({len(gateway)} cold starts each, "
      f"{handler['requests']} in-process deliveries; load at start {' '.join(load)})")
print(f"{'':58} {'gateway':>10} {'bare 202':>10} {'ratio':>7}")
for label, ours, peer in rows:
    ratio = f"{ours / peer:.1f}x" if peer else "-"
    print(f"{label:58} {ours:10.2f} {peer:10.2f} {ratio:>7}")
print(f"\nstatuses answered: {json.dumps(statuses)}; enqueued in-process: {handler['enqueued']}")
