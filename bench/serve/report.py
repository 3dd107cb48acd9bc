"""After the load: waits for serve's normaliser to drain, checks the accounting and prints the
table of bench/serve.sh.

"Accepted" is what the gateway put on the ingest queue, read from serve's `webhook accepted` log
lines: wrk stops at its deadline with requests in flight, so the 202s it saw are a subset (checked).
Then: accepted = signals + duplicates dropped (+ failed), per the instance's stats; distinct
accepted deliveries = signals + DLQ, and the API's signals are exactly those deliveries; no signal
twice, in the API or in --signals-out. Exits 1 if the accounting does not hold.
"""

import argparse
import json
import os
import sqlite3
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path


def api(base: str, token: str, path: str) -> dict:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def queue_depths(db: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return dict(conn.execute("SELECT queue, COUNT(*) FROM queue_messages GROUP BY queue").fetchall())


def result(path: Path) -> dict[str, str]:
    line = next(l for l in path.read_text().splitlines() if l.startswith("RESULT "))
    return dict(field.split("=", 1) for field in line.split()[1:])


def serve_cpu(pid: int) -> float:
    """The process's CPU seconds so far: user + system time of all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def row(name: str, r: dict[str, str]) -> tuple[str, float, float, float]:
    rate = int(r["requests"]) / (int(r["duration_us"]) / 1e6)
    return name, rate, int(r["p50_us"]) / 1000, int(r["p99_us"]) / 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--health-result", type=Path, required=True)
    parser.add_argument("--webhook-result", type=Path, required=True)
    parser.add_argument("--accepted", type=Path, required=True)
    parser.add_argument("--serve-log", type=Path, required=True)
    parser.add_argument("--signals-out", type=Path, required=True)
    parser.add_argument("--load-started", type=float, required=True, help="unix time the webhook load began")
    parser.add_argument("--drain-timeout", type=float, default=300)
    parser.add_argument("--serve-pid", type=int, required=True, help="serve's process, for its CPU time")
    parser.add_argument("--serve-cpu", type=float, nargs=2, required=True, metavar=("BEFORE_HEALTH", "BEFORE_WEBHOOKS"),
                        help="serve's CPU seconds before the /health load and before the webhook load")
    args = parser.parse_args()

    db = args.data_dir / "switchboard.db"
    # This script starts as the load ends: what is queued now is the normaliser's backlog, which
    # it then drains with the HTTP side idle.
    load_ended = time.time()
    backlog = queue_depths(db).get("ingest", 0)
    deadline = time.time() + args.drain_timeout
    while True:
        depths = queue_depths(db)
        if depths.get("ingest", 0) == 0 and depths.get("signals", 0) == 0:
            break
        if time.time() > deadline:
            print(f"not drained after {args.drain_timeout:.0f}s: {depths}", file=sys.stderr)
            return 1
        time.sleep(0.2)
    drained_at = time.time()
    cpu_drained = serve_cpu(args.serve_pid)
    drained_after = drained_at - args.load_started
    backlog_seconds = drained_at - load_ended
    dlq = depths.get("ingest-dlq", 0)

    health, hooks = result(args.health_result), result(args.webhook_result)
    answered = args.accepted.read_text().split()
    accepted = [
        entry["span"]["delivery_id"]
        for entry in (json.loads(line) for line in args.serve_log.read_text().splitlines() if line.startswith("{"))
        if entry.get("message") == "webhook accepted"
    ]
    distinct = set(accepted)
    counts = api(args.base, args.token, f"/projects/{args.project}/connectors/github-prs/health")["signals"]["last24h"]

    api_ids: Counter[str] = Counter()
    token = ""
    while True:
        page = api(args.base, args.token, f"/projects/{args.project}/signals?limit=100{token}")
        api_ids.update(s["externalId"] for s in page["signals"])
        if not page["nextToken"]:
            break
        token = f"&nextToken={page['nextToken']}"
    out_ids = Counter(json.loads(line)["externalId"] for line in args.signals_out.read_text().splitlines())
    accepted_prs = {d.removeprefix("bench-") for d in distinct}

    print()
    print(f"{'':34}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}  answers")
    for name, r in (("GET /health (floor)", health), ("POST /webhooks/github-prs (signed)", hooks)):
        _, rate, p50, p99 = row(name, r)
        print(f"{name:34}{int(r['requests']):>10,}{rate:>10,.0f}{p50:>10.2f}{p99:>10.2f}  {r['statuses']}"
              f"{'' if r['errors'] == '0' else ', socket errors ' + r['errors']}")
    _, floor_rate, _, floor_p99 = row("", health)
    _, hook_rate, _, hook_p99 = row("", hooks)
    print(f"{'webhooks / floor':34}{'':>10}{hook_rate / floor_rate:>9.2f}x{'':>10}{hook_p99 / floor_p99:>9.1f}x")
    health_cpu = (args.serve_cpu[1] - args.serve_cpu[0]) / int(health["requests"]) * 1e6
    hook_cpu = (cpu_drained - args.serve_cpu[1]) / int(hooks["requests"]) * 1e6
    print(f"{'serve CPU per request, µs':34}{'':>10}{'/health':>10}{health_cpu:>10.1f}"
          f"   webhook {hook_cpu:.1f} (gateway + normaliser, to the drain): {hook_cpu / health_cpu:.1f}x")
    if hooks["capped"] == "true":
        print("warning: the deliveries ran out before the time was up; raise COUNT for a timed run")
    print()
    print(f"normaliser: queues drained {drained_after:.1f}s after the webhook load began "
          f"({len(accepted) / drained_after:,.0f} envelopes/s end to end)")
    if backlog:
        print(f"normaliser alone: {backlog:,} envelopes queued when the load ended, drained in {backlog_seconds:.1f}s"
              f" ({backlog / backlog_seconds:,.0f} envelopes/s)")
    print(f"accepted (queued by the gateway) {len(accepted):>7,}   distinct deliveries {len(distinct):,}"
          f"   (202s seen by wrk: {len(answered):,})")
    print(f"stats: signals + dropped dups   {counts['signals']:>8,} + {counts['duplicates']:,}"
          f"   ignored {counts['ignored']}, failed {counts['failed']}")
    print(f"signals + DLQ                   {counts['signals']:>8,} + {dlq}")
    print(f"signals in the API / --signals-out {sum(api_ids.values()):>5,} / {sum(out_ids.values()):,}"
          f"   signals twice: {sum(1 for n in api_ids.values() if n > 1)} / {sum(1 for n in out_ids.values() if n > 1)}")

    problems = []
    if not set(answered) <= distinct or len(answered) > len(accepted):
        problems.append("wrk saw a 202 the gateway did not log")
    if counts["signals"] + counts["duplicates"] + counts["failed"] + counts["ignored"] != len(accepted):
        problems.append("not every accepted envelope was normalised exactly once")
    if counts["signals"] + dlq != len(distinct):
        problems.append("distinct accepted deliveries != signals + DLQ")
    if dlq == 0 and set(api_ids) != accepted_prs:
        problems.append("the API's signals are not exactly the accepted deliveries")
    if any(n > 1 for n in api_ids.values()) or any(n > 1 for n in out_ids.values()):
        problems.append("a signal appears twice")
    if set(out_ids) != set(api_ids):
        problems.append("--signals-out and the API disagree")
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    if not problems:
        print("accounting holds: accepted = signals + DLQ, 0 duplicate signals")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
