"""Writes the benchmark's input: 10k GitHub-issue-like items (~2 KB each), seeded.

Output (both hold the same item bytes, compact JSON):
  items.json    one payload: a JSON array of every item (a polled page)
  items.ndjson  one item per line (single-item payloads, as webhooks deliver them)

Uses only the standard library so it runs before the venv exists.
"""

import argparse
import datetime
import json
import os
import random

WORDS = (
    "login crash button page error dashboard export import slow timeout api token user settings "
    "search filter report chart mobile layout sidebar memory leak cache retry webhook billing "
    "invoice email notification outage down upgrade migration database index query config docs"
).split()
LABELS = ["bug", "enhancement", "docs", "P0", "P1", "P2", "security", "question", "help wanted", "good first issue"]
STATES = ["open", "open", "open", "closed"]
REASONS = ["completed", "completed", "not_planned"]
REPO = "https://api.github.com/repos/acme/widgets"
HTML = "https://github.com/acme/widgets"


def iso(unix):
    return datetime.datetime.fromtimestamp(unix, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def user(rng, login):
    uid = rng.randint(1_000, 9_999_999)
    return {
        "login": login,
        "id": uid,
        "node_id": f"MDQ6VXNlcj{uid:x}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
        "url": f"https://api.github.com/users/{login}",
        "html_url": f"https://github.com/{login}",
        "type": "User",
        "site_admin": False,
    }


def item(rng, n):
    number = 1_000 + n
    logins = [f"dev-{rng.randint(1, 400)}" for _ in range(3)]
    labels = rng.sample(LABELS, rng.randint(0, 3))
    state = rng.choice(STATES)
    created = 1_700_000_000 + n * 600 + rng.randint(0, 500)
    updated = created + rng.randint(60, 90 * 86_400)
    title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9))).capitalize()
    doc = {
        "url": f"{REPO}/issues/{number}",
        "repository_url": REPO,
        "labels_url": f"{REPO}/issues/{number}/labels{{/name}}",
        "comments_url": f"{REPO}/issues/{number}/comments",
        "events_url": f"{REPO}/issues/{number}/events",
        "html_url": f"{HTML}/issues/{number}",
        "id": 2_000_000_000 + n * 7,
        "node_id": f"I_kwDOA{n:08x}",
        "number": number,
        "title": title,
        "user": user(rng, logins[0]),
        "labels": [
            {"id": 100 + LABELS.index(name), "name": name, "color": "d73a4a", "default": False, "description": None}
            for name in labels
        ],
        "state": state,
        "locked": False,
        "assignees": [user(rng, login) for login in logins[1 : 1 + rng.randint(0, 2)]],
        "milestone": None,
        "comments": rng.randint(0, 40),
        "created_at": iso(created),
        "updated_at": iso(updated),
        "closed_at": iso(updated) if state == "closed" else None,
        "author_association": rng.choice(["MEMBER", "CONTRIBUTOR", "NONE"]),
        "body": " ".join(rng.choice(WORDS) for _ in range(rng.randint(30, 110))),
        "reactions": {"total_count": rng.randint(0, 9), "+1": 0, "-1": 0, "heart": 0},
        "state_reason": rng.choice(REASONS) if state == "closed" else None,
    }
    if rng.random() < 0.3:
        doc["milestone"] = {
            "html_url": f"{HTML}/milestone/{rng.randint(1, 12)}",
            "number": rng.randint(1, 12),
            "title": f"v{rng.randint(1, 4)}.{rng.randint(0, 9)}",
        }
    if rng.random() < 0.25:
        merged = state == "closed" and rng.random() < 0.8
        doc["pull_request"] = {
            "url": f"{REPO}/pulls/{number}",
            "html_url": f"{HTML}/pull/{number}",
            "diff_url": f"{HTML}/pull/{number}.diff",
            "patch_url": f"{HTML}/pull/{number}.patch",
            "merged_at": iso(updated) if merged else None,
        }
    return doc


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "out"))
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    lines = [json.dumps(item(rng, n), separators=(",", ":")) for n in range(args.count)]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "items.ndjson"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(args.out, "items.json"), "w") as f:
        f.write("[" + ",".join(lines) + "]")
    total = sum(len(line) for line in lines)
    print(f"generated {args.count} items, {total / args.count:.0f} bytes each on average, {total / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
