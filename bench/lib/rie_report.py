"""Reads the cold-start runs bench/lib/rie.sh leaves: the figures of AWS's Runtime Interface
Emulator (RIE) from its log, the function's answers and its peak RSS.

  INIT REPORT(durationMs: ...)                  process start -> first `invocation/next` (init)
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
        sys.exit(f"rie_report.py: {log}: incomplete run (init reports {len(init)}, invocations {len(done)}, "
                 f"failed {failed}, answers {len(answers)}, REPORT lines {len(reports)})")
    durations = [float(duration) for _, duration in done]
    warm = durations[1:] or [0.0]
    statuses = {}
    for answer in answers:
        key = str(answer.get("statusCode", answer.get("errorType", "ok")))
        statuses[key] = statuses.get(key, 0) + 1
    return {
        "init_ms": init[0],
        "cold_start_ms": reports[0],
        "first_event_ms": durations[0],
        "warm_p50_ms": percentile(warm, 0.50),
        "warm_p99_ms": percentile(warm, 0.99),
        "peak_rss_kib": int(log.with_suffix(".rss").read_text()),
        "statuses": statuses,
        "answers": answers,
    }


def runs(out: Path, name: str):
    """Every run of NAME in OUT, in run order."""
    logs = sorted(out.glob(f"{name}-*.log"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return [cold_start(log) for log in logs]


def median(rows, key):
    return statistics.median(r[key] for r in rows)


def peak_rss_mib(rows):
    return max(r["peak_rss_kib"] for r in rows) / 1024
