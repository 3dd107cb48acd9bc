"""The Python peers of the mapping benchmark (read bench/README.md).

Two ways a Python service would map the same items into the same NormalisedSignal fields:

  hand      orjson parse + a mapping written by hand for this one source (the descriptor's rules
            as plain Python); the fastest reasonable Python.
  jsonpath  orjson parse + a generic mapper driven by bench/mapping/descriptor.json that evaluates
            every path with jsonpath-ng (each path compiled once), as a descriptor engine in Python
            would.

Both are first checked to produce exactly the engine's output (bench/out/engine-report.json:
signals, ignored items), then timed like the engine: one warm-up round, best of N (wall clock and
thread CPU time), for one page holding every item and for one payload per item. Results go to bench/out/python-results.json.
"""

import argparse
import datetime
import gc
import hashlib
import json
import os
import re
import struct
import sys
import time

import orjson
from jsonpath_ng import parse as jsonpath_parse

HERE = os.path.dirname(os.path.abspath(__file__))
RECEIVED_AT = "2024-06-01T00:00:00Z"  # the same fixed value the Rust bench uses
PROJECT = "bench"

# ---------------------------------------------------------------------------------------------
# Engine semantics both peers share (crates/core/src/jsonpath.rs, signal.rs, mapping/).


def scalar_text(value):
    """Strings as is, numbers and booleans as JSON text, anything else None."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return None


def collect_strings(nodes, out):
    """Scalars as text, arrays flattened one level; empty strings skipped, duplicates removed."""
    for node in nodes:
        for value in node if isinstance(node, list) else (node,):
            text = scalar_text(value)
            if text and text not in out:
                out.append(text)
    return out


def rfc3339(text):
    """An ISO 8601 timestamp normalised to RFC 3339 UTC with only the sub-second digits needed."""
    t = datetime.datetime.fromisoformat(text).astimezone(datetime.timezone.utc)
    base = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond == 0:
        return base + "Z"
    if t.microsecond % 1000 == 0:
        return f"{base}.{t.microsecond // 1000:03d}Z"
    return f"{base}.{t.microsecond:06d}Z"


def signal_id(*parts):
    """sig_ + the first 16 bytes of SHA-256 over the length-prefixed parts, as the engine does."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode()
        h.update(struct.pack(">Q", len(data)))
        h.update(data)
    return "sig_" + h.hexdigest()[:32]


def signal(connector, external_id, signal_type, timestamp, summary, priority, participants, tags, related, url, raw):
    out = {
        "id": signal_id(connector, PROJECT, external_id, timestamp, signal_type),
        "source": connector,
        "projectId": PROJECT,
        "externalId": external_id,
        "signalType": signal_type,
        "timestamp": timestamp,
        "receivedAt": RECEIVED_AT,
        "summary": summary,
        "participants": participants,
        "tags": tags,
        "relatedItems": related,
        "ingestion": "polling",
        "raw": raw,
    }
    if priority is not None:
        out["priority"] = priority
    if url is not None:
        out["url"] = url
    return out


class Report:
    def __init__(self):
        self.signals, self.ignored, self.errors = [], [], []

    def as_json(self):
        return {"signals": self.signals, "ignored": self.ignored, "errors": self.errors}


# ---------------------------------------------------------------------------------------------
# (b) orjson + a hand-written mapping of bench/mapping/descriptor.json.

INCIDENT = re.compile(r"(?i)\b(crash|outage|down)\b")
CRITICAL = {"P0", "security", "critical"}
HIGH = {"P1", "bug"}


def hand_map(payload, connector):
    report = Report()
    items = payload if isinstance(payload, list) else [payload]
    for index, item in enumerate(items):
        ident = item.get("id")
        external_id = scalar_text(ident) if ident is not None else None
        if external_id is None:
            report.errors.append({"index": index, "field": "idPath", "path": "$.id"})
            continue
        pr = item.get("pull_request")
        state = item.get("state")
        if pr is not None and pr.get("merged_at") is not None:
            signal_type = "pr_merged"
        elif pr is not None:
            signal_type = "pr_updated"
        elif isinstance(item.get("title"), str) and INCIDENT.search(item["title"]):
            signal_type = "incident_reported"
        elif state == "closed" and item.get("state_reason") == "completed":
            signal_type = "issue_closed"
        elif state == "open":
            signal_type = "issue_updated"
        else:
            report.ignored.append({"index": index, "externalId": external_id, "reason": "no signal type rule matched"})
            continue
        timestamp = rfc3339(item["updated_at"])
        labels = collect_strings([label.get("name") for label in item.get("labels") or ()], [])
        user = (item.get("user") or {}).get("login")
        summary = f"#{scalar_text(item.get('number')) or ''} {scalar_text(item.get('title')) or ''} (by {scalar_text(user) or ''}, {', '.join(labels)})"
        if CRITICAL.intersection(labels):
            priority = "critical"
        elif HIGH.intersection(labels):
            priority = "high"
        elif any("docs" in name for name in labels):
            priority = "low"
        else:
            priority = None
        participants = collect_strings([user] + [a.get("login") for a in item.get("assignees") or ()], [])
        milestone = item.get("milestone")
        related = collect_strings(
            [pr.get("html_url") if pr else None, milestone.get("html_url") if milestone else None], []
        )
        raw = {key: item[key] for key in ("number", "state", "comments") if key in item}
        reactions = item.get("reactions")
        if isinstance(reactions, dict) and "total_count" in reactions:
            raw["$.reactions.total_count"] = reactions["total_count"]
        report.signals.append(
            signal(connector, external_id, signal_type, timestamp, summary, priority, participants, labels, related,
                   scalar_text(item.get("html_url")) if item.get("html_url") is not None else None, raw)
        )
    return report


# ---------------------------------------------------------------------------------------------
# (c) orjson + a generic descriptor-driven mapper evaluating every path with jsonpath-ng.


def field_path(reference):
    """Template/rawFields references: `$...` as written, `a.b` as `$.a.b`."""
    return reference if reference.startswith("$") else "$." + reference


def loose_eq(node, expected):
    a, b = scalar_text(node), scalar_text(expected)
    return a == b if a is not None and b is not None else node == expected


class JsonPathMapper:
    def __init__(self, descriptor):
        m = descriptor["fieldMapping"]
        self.connector = descriptor["id"]
        compile_ = jsonpath_parse
        self.items = compile_(m["itemsPath"])
        self.id = compile_(m["idPath"])
        self.timestamp = compile_(m["timestampPath"])
        self.summary = [
            (False, part) if i % 2 == 0 else (True, compile_(field_path(part.strip())))
            for i, part in enumerate(re.split(r"\{\{(.*?)\}\}", m["summaryTemplate"]))
        ]
        self.type_rules = [(self.condition(rule), rule["then"]) for rule in m["signalTypeRules"]]
        self.priority_rules = [(self.condition(rule), rule["then"]) for rule in m.get("priorityMapping", [])]
        self.participants = self.paths(m.get("participantsPath"))
        self.tags = self.paths(m.get("tagsPath"))
        self.related = self.paths(m.get("relatedItemsPath"))
        self.url = compile_(m["urlPath"]) if "urlPath" in m else None
        self.raw = [(key, compile_(field_path(key))) for key in m.get("rawFields", [])]

    @staticmethod
    def paths(spec):
        if spec is None:
            return []
        return [jsonpath_parse(p) for p in ([spec] if isinstance(spec, str) else spec)]

    def condition(self, c):
        if "all" in c:
            parts = [self.condition(x) for x in c["all"]]
            return lambda item: all(p(item) for p in parts)
        if "any" in c:
            parts = [self.condition(x) for x in c["any"]]
            return lambda item: any(p(item) for p in parts)
        if "when" not in c:
            return lambda item: True
        path, op, value = jsonpath_parse(c["when"]), c["operator"], c.get("value")
        if op == "exists":
            test = lambda node: node is not None
        elif op == "equals":
            test = lambda node: loose_eq(node, value)
        elif op == "in":
            test = lambda node: any(loose_eq(node, v) for v in value)
        elif op == "matches":
            regex = re.compile(value)
            test = lambda node: (t := scalar_text(node)) is not None and regex.search(t) is not None
        elif op == "contains":
            needle = scalar_text(value)

            def test(node):
                if isinstance(node, str):
                    return needle is not None and needle in node
                if isinstance(node, list):
                    return any(loose_eq(x, value) for x in node)
                return False
        else:
            raise ValueError(f"unknown operator {op}")
        return lambda item: any(test(m.value) for m in path.find(item))

    @staticmethod
    def first(path, item):
        for m in path.find(item):
            if m.value is not None:
                return m.value
        return None

    def map(self, payload):
        report = Report()
        nodes = [m.value for m in self.items.find(payload)]
        items = nodes[0] if len(nodes) == 1 and isinstance(nodes[0], list) else nodes
        for index, item in enumerate(items):
            external_id = scalar_text(self.first(self.id, item))
            if external_id is None:
                report.errors.append({"index": index, "field": "idPath", "path": str(self.id)})
                continue
            signal_type = next((then for test, then in self.type_rules if test(item)), None)
            if signal_type is None:
                report.ignored.append({"index": index, "externalId": external_id, "reason": "no signal type rule matched"})
                continue
            timestamp = rfc3339(self.first(self.timestamp, item))
            summary = "".join(
                ", ".join(collect_strings([m.value for m in part.find(item)], [])) if is_path else part
                for is_path, part in self.summary
            )
            priority = next((then for test, then in self.priority_rules if test(item)), None)
            strings = lambda paths: collect_strings([m.value for p in paths for m in p.find(item)], [])
            url = self.first(self.url, item) if self.url else None
            raw = {}
            for key, path in self.raw:
                values = [m.value for m in path.find(item)]
                if values:
                    raw[key] = values[0] if len(values) == 1 else values
            report.signals.append(
                signal(self.connector, external_id, signal_type, timestamp, summary, priority,
                       strings(self.participants), strings(self.tags), strings(self.related),
                       scalar_text(url) if url is not None else None, raw)
            )
        return report


# ---------------------------------------------------------------------------------------------


def best_of(count, rounds, run):
    """Items/s over the best round, by wall clock and by this thread's CPU time, after a warm-up."""
    run()
    wall = cpu = float("inf")
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.thread_time()
        run()
        wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.thread_time() - start_cpu)
    return {"wall": count / wall, "cpu": count / max(cpu, 1e-9)}


def compare(name, got, expected):
    """Fails loudly when a peer's output differs from the engine's (so the race is fair)."""
    for kind in ("signals", "ignored"):
        if got[kind] != expected[kind]:
            pairs = [(g, e) for g, e in zip(got[kind], expected[kind]) if g != e]
            first = pairs[0] if pairs else (len(got[kind]), len(expected[kind]))
            sys.exit(f"{name}: {kind} differ from the engine's; first difference:\n  python: {first[0]}\n  engine: {first[1]}")
    if len(got["errors"]) != len(expected["errors"]):
        sys.exit(f"{name}: {len(got['errors'])} errors, the engine had {len(expected['errors'])}")
    print(f"{name}: output identical to the engine's ({len(got['signals'])} signals, {len(got['ignored'])} ignored)",
          file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.path.join(HERE, "..", "out"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jsonpath-rounds", type=int, default=3, help="jsonpath-ng is slow; fewer rounds")
    args = parser.parse_args()

    with open(os.path.join(HERE, "descriptor.json"), "rb") as f:
        descriptor = orjson.loads(f.read())
    connector = descriptor["id"]
    with open(os.path.join(args.data, "items.json"), "rb") as f:
        page = f.read()
    with open(os.path.join(args.data, "items.ndjson"), "rb") as f:
        lines = [line for line in f.read().split(b"\n") if line]
    with open(os.path.join(args.data, "engine-report.json"), "rb") as f:
        expected = orjson.loads(f.read())
    count = len(lines)
    mapper = JsonPathMapper(descriptor)

    compare("orjson + hand-written", hand_map(orjson.loads(page), connector).as_json(), expected)
    compare("jsonpath-ng", mapper.map(orjson.loads(page)).as_json(), expected)

    peers = [
        ("orjson_parse", "orjson parse only", args.rounds,
         lambda: orjson.loads(page), lambda: [orjson.loads(line) for line in lines]),
        ("orjson_hand", "orjson + hand-written mapping", args.rounds,
         lambda: hand_map(orjson.loads(page), connector),
         lambda: [hand_map(orjson.loads(line), connector) for line in lines]),
        ("jsonpath_ng", "orjson + jsonpath-ng mapping", args.jsonpath_rounds,
         lambda: mapper.map(orjson.loads(page)),
         lambda: [mapper.map(orjson.loads(line)) for line in lines]),
    ]
    rows = []
    for key, label, rounds, page_run, items_run in peers:
        gc.collect()
        on_page, per_item = best_of(count, rounds, page_run), best_of(count, rounds, items_run)
        print(f"{label:<40} items/s (wall | per CPU-s): page {on_page['wall']:>9.0f} | {on_page['cpu']:>9.0f}   "
              f"per item {per_item['wall']:>9.0f} | {per_item['cpu']:>9.0f}", file=sys.stderr)
        rows.append({"key": key, "label": label, "page": on_page, "items": per_item})

    results = {
        "python": sys.version.split()[0],
        "orjson": orjson.__version__,
        "jsonpath_ng": __import__("importlib.metadata").metadata.version("jsonpath-ng"),
        "rows": rows,
    }
    with open(os.path.join(args.data, "python-results.json"), "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
