#!/usr/bin/env python3
"""Prints bench/gateway.sh's figures side by side: the gateway, the bare peer, their ratio.

Each cold-start run left the log of AWS's Runtime Interface Emulator (RIE) with the function's
output, the function's answers and its peak RSS; bench/lib/rie_report.py reads them.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from rie_report import median, runs  # noqa: E402

out = Path(sys.argv[1])
gateway, bare = runs(out, "gateway"), runs(out, "bare")
handler = json.loads((out / "handler.json").read_text())
rows = [
    ("cold start: first invocation -> response, RIE (ms, median)", median(gateway, "cold_start_ms"), median(bare, "cold_start_ms")),
    ("  init: process start -> first invocation/next (ms)", median(gateway, "init_ms"), median(bare, "init_ms")),
    ("  first event: handed out -> response (ms)", median(gateway, "first_event_ms"), median(bare, "first_event_ms")),
    ("warm invocation under the RIE, p50 (ms)", median(gateway, "warm_p50_ms"), median(bare, "warm_p50_ms")),
    ("warm invocation under the RIE, p99 (ms)", median(gateway, "warm_p99_ms"), median(bare, "warm_p99_ms")),
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
