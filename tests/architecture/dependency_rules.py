#!/usr/bin/env python3
"""Checks the workspace's dependency rules (docs/architecture.md) from `cargo metadata`.

Each rule names a workspace package and crates that must not appear among its *normal*
dependencies, directly or transitively (dev- and build-dependencies are not followed: they are
not linked into the package). Exits 1 listing every broken rule with the path that brings the
forbidden crate in, so the fix is obvious.

    python3 tests/architecture/dependency_rules.py            # reads `cargo metadata` itself
    python3 tests/architecture/dependency_rules.py meta.json  # or a saved metadata document
"""

import fnmatch
import json
import subprocess
import sys

FUNCTIONS = [
    "switchboard-webhook-gateway",
    "switchboard-poller",
    "switchboard-normaliser",
    "switchboard-registry-api",
]
NO_AWS_NO_LAMBDA = ["aws-*", "aws_*", "lambda_*", "switchboard-aws", "switchboard-lambda"]
# Named `aws-*` but not AWS: rustls's default crypto provider, linked by any TLS client.
NOT_AWS = {"aws-lc-rs", "aws-lc-sys"}

# (package, forbidden crate patterns, why)
RULES = [
    ("switchboard-cli", ["aws-sdk-*", "aws-config", "lambda_*", "switchboard-aws", "switchboard-lambda"],
     "the `switchboard` command (serve included) compiles no AWS SDK and no Lambda runtime"),
    ("switchboard-webhook-gateway", ["reqwest", "switchboard-poll"],
     "the webhook gateway never makes an outbound HTTP request"),
    ("switchboard-normaliser", ["reqwest", "switchboard-poll"],
     "the normaliser never makes an outbound HTTP request"),
    ("switchboard-core", ["reqwest", "governor", "switchboard-poll", *NO_AWS_NO_LAMBDA],
     "the core has no HTTP client, no AWS SDK and no Lambda runtime"),
    ("switchboard-embedded", NO_AWS_NO_LAMBDA, "the SQLite adapters know nothing of AWS"),
    ("switchboard-app", NO_AWS_NO_LAMBDA, "the assembly is shared by Lambda and `serve`: it sees only the ports"),
    *[(function, NO_AWS_NO_LAMBDA, "a function is an application library: the Lambda edge lives in switchboard-lambda")
      for function in FUNCTIONS],
]


def metadata():
    if len(sys.argv) > 1:
        with open(sys.argv[1], encoding="utf-8") as handle:
            return json.load(handle)
    output = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(output)


def normal_graph(meta):
    """Package id -> [(dependency id, dependency name)] over normal (linked) edges only."""
    names = {package["id"]: package["name"] for package in meta["packages"]}
    graph = {}
    for node in meta["resolve"]["nodes"]:
        edges = []
        for dep in node["deps"]:
            if any(kind["kind"] is None for kind in dep["dep_kinds"]):
                edges.append((dep["pkg"], names[dep["pkg"]]))
        graph[node["id"]] = edges
    return names, graph


def path_to_forbidden(graph, names, start, patterns):
    """Breadth-first: the first path from `start` to a crate matching a pattern, or None."""
    seen = {start}
    queue = [(start, [names[start]])]
    while queue:
        current, path = queue.pop(0)
        for dep, name in graph.get(current, []):
            if dep in seen:
                continue
            seen.add(dep)
            if name not in NOT_AWS and any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
                return path + [name]
            queue.append((dep, path + [name]))
    return None


def peer_dependencies(meta, names):
    """Functions are peers: none depends on another, not even for its tests (dev-dependency)."""
    broken = []
    for node in meta["resolve"]["nodes"]:
        if names[node["id"]] not in FUNCTIONS:
            continue
        for dep in node["deps"]:
            if names[dep["pkg"]] in FUNCTIONS:
                kinds = ", ".join(kind["kind"] or "normal" for kind in dep["dep_kinds"])
                broken.append(f"{names[node['id']]} depends on {names[dep['pkg']]} ({kinds}): functions are peers; "
                              "a test that needs both belongs in the serve or e2e tests")
    return broken


def main():
    meta = metadata()
    names, graph = normal_graph(meta)
    members = {names[member]: member for member in meta["workspace_members"]}
    broken = peer_dependencies(meta, names)
    for package, patterns, why in RULES:
        if package not in members:
            broken.append(f"{package}: no such workspace package (the rule must name a real crate)")
            continue
        found = path_to_forbidden(graph, names, members[package], patterns)
        if found:
            broken.append(f"{package} must not depend on {found[-1]} ({why}):\n    " + " -> ".join(found))
    if broken:
        print(f"{len(broken)} dependency rule(s) broken:")
        for line in broken:
            print(f"  - {line}")
        return 1
    print(f"dependency rules: all {len(RULES) + 1} hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
