#!/usr/bin/env python3
"""Prints bench/gateway.sh's figures side by side: the gateway, the bare peer, their ratio.

Each cold-start run left the log of AWS's Runtime Interface Emulator (RIE) with the function's
output, the function's answers and its peak RSS. The durations are the RIE's own figures:

  INIT REPORT(durationMs: ...)         process start -> first `invocation/next` (init)
  INVOKE RTDONE(status: ..., duration: ...ms)   event handed to the runtime -> its response
  REPORT RequestId: ... Duration: ... ms        invocation received -> response; for the first
                                                invocation that includes starting the process

The REPORT line's `Init Duration` and `Max Memory Used` are not used: this RIE prints a
near-zero init and the configured memory size there, not measurements.
"""

import json
import re
import statistics
import sys
from pathlib import Path

out = Path(sys.argv[1])
INIT = re.compile(r"\(rapid\) INIT REPORT\(durationMs: ([\d.]+)\)")
RTDONE = re.compile(r"\(rapid\) INVOKE RTDONE\(status: (\w+), .*duration: ([\d.]+)ms\)")
REPORT = re.compile(r"^REPORT RequestId: .*\tDuration: ([\d.]+) ms", re.MULTILINE)


def percentile(values, q):
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(-(-len(ordered) * q // 1)) - 1))]


def cold_start(log: Path):
    """One run's figures, from the RIE's log and the files next to it."""
    text = log.read_text(errors="replace")
    init = [float(m) for m in INIT.findall(text)]
    done = RTDONE.findall(text)
    reports = [float(m) for m in REPORT.findall(text)]
    answers = [json.loads(line) for line in log.with_suffix(".responses").read_text().splitlines() if line]
    failed = [status for status, _ in done if status != "success"]
    if len(init) != 1 or failed or not done or len(done) != len(answers) or len(reports) != len(answers):
        sys.exit(f"report.py: {log}: incomplete run (init reports {len(init)}, invocations {len(done)}, "
                 f"failed {failed}, answers {len(answers)}, REPORT lines {len(reports)})")
    durations = [float(duration) for _, duration in done]
    warm = durations[1:] or [0.0]
    statuses = {}
    for answer in answers:
        key = str(answer.get("statusCode", answer.get("errorType")))
        statuses[key] = statuses.get(key, 0) + 1
    return {
        "init_ms": init[0],
        "cold_start_ms": reports[0],
        "first_event_ms": durations[0],
        "warm_p50_ms": percentile(warm, 0.50),
        "warm_p99_ms": percentile(warm, 0.99),
        "peak_rss_kib": int(log.with_suffix(".rss").read_text()),
        "statuses": statuses,
    }


def runs(name):
    logs = sorted(out.glob(f"{name}-*.log"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return [cold_start(log) for log in logs]


def median(rows, key):
    return statistics.median(r[key] for r in rows)


gateway, bare = runs("gateway"), runs("bare")
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
