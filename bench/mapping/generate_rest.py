"""Writes one GitHub REST list response (`GET /repos/{owner}/{repo}/issues`) of N issues in the
full shape the API returns, about 6.3 KB each, for the whole-process benchmark
(bench/map-process.sh; read bench/README.md).

The shape is the published fixture `tests/fixtures/github-issues/issues.page1.json` (GitHub's
documented `issue-items` example) with the API-only fields that fixture trimmed put back as the
API sends them: every user object in full (the `*_url` fields, `node_id`, `gravatar_id`, ...),
`url`, `repository_url`, `labels_url`, `comments_url`, `events_url`, `timeline_url`, `node_id`,
`reactions`, `sub_issues_summary`, label `url`s, the milestone's `creator`. Values vary by a
seeded generator: pull requests among issues, new / edited / commented / closed issues, priority
labels, assignees, milestones, bodies of varied length.
"""

import argparse
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "..", "tests", "fixtures", "github-issues", "issues.page1.json")
API = "https://api.github.com"
REPO = "octocat/Hello-World"
WORDS = ("crash login button slow query timeout cache retry export import layout chart token "
         "webhook index memory billing invoice search sidebar dashboard settings mobile upgrade").split()
LABELS = ["bug", "enhancement", "documentation", "priority: high", "P1", "p2", "priority: low", "critical",
          "good first issue", "area/api", "area/ui", "needs triage"]


def user(rng):
    n = rng.randrange(1, 5000)
    login = f"user-{n}"
    base = f"{API}/users/{login}"
    return {
        "login": login, "id": 100000 + n, "node_id": f"MDQ6VXNlcj{n:08d}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{100000 + n}?v=4", "gravatar_id": "",
        "url": base, "html_url": f"https://github.com/{login}", "followers_url": f"{base}/followers",
        "following_url": f"{base}/following{{/other_user}}", "gists_url": f"{base}/gists{{/gist_id}}",
        "starred_url": f"{base}/starred{{/owner}}{{/repo}}", "subscriptions_url": f"{base}/subscriptions",
        "organizations_url": f"{base}/orgs", "repos_url": f"{base}/repos", "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events", "type": "User", "user_view_type": "public",
        "site_admin": False,
    }


def label(rng, name):
    return {
        "id": 208045946 + LABELS.index(name), "node_id": f"MDU6TGFiZWwy{LABELS.index(name):06d}",
        "url": f"{API}/repos/{REPO}/labels/{name.replace(' ', '%20')}", "name": name,
        "description": f"Issues labelled {name}", "color": rng.choice(["f29513", "d73a4a", "0e8a16"]), "default": False,
    }


def timestamp(rng, start):
    return start + rng.randrange(0, 3600 * 24 * 30)


def iso(seconds):
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    day = 1 + days % 28
    month = 1 + (days // 28) % 12
    return f"2024-{month:02d}-{day:02d}T{hours:02d}:{minutes:02d}:{secs:02d}Z"


def issue(rng, template, n):
    item = json.loads(json.dumps(template))  # the fixture's own members and order
    item.pop("pull_request", None)
    number = 1000 + n
    url = f"{API}/repos/{REPO}/issues/{number}"
    created = timestamp(rng, 0)
    kind = rng.random()
    updated = created if kind < 0.2 else created + rng.randrange(60, 3600 * 24 * 10)
    closed = kind > 0.75
    comments = 0 if kind < 0.4 else rng.randrange(1, 40)
    assignees = [user(rng) for _ in range(rng.choice([0, 0, 1, 1, 2]))]
    item.update({
        "id": 1000000000 + n, "number": number, "url": url, "repository_url": f"{API}/repos/{REPO}",
        "labels_url": f"{url}/labels{{/name}}", "comments_url": f"{url}/comments", "events_url": f"{url}/events",
        "html_url": f"https://github.com/{REPO}/issues/{number}", "node_id": f"MDU6SXNzdWUx{number:08d}",
        "title": " ".join(rng.choice(WORDS) for _ in range(rng.randrange(3, 10))).capitalize(),
        "user": user(rng), "labels": [label(rng, name) for name in rng.sample(LABELS, rng.randrange(0, 4))],
        "state": "closed" if closed else "open", "locked": False,
        "assignee": assignees[0] if assignees else None, "assignees": assignees,
        "comments": comments, "created_at": iso(created), "updated_at": iso(updated),
        "closed_at": iso(updated) if closed else None, "author_association": rng.choice(["OWNER", "MEMBER", "NONE"]),
        "active_lock_reason": None, "state_reason": "completed" if closed else None,
        "closed_by": user(rng) if closed else None,
        "body": " ".join(rng.choice(WORDS) for _ in range(rng.randrange(60, 370))),
        "timeline_url": f"{url}/timeline", "performed_via_github_app": None,
        "reactions": {"url": f"{url}/reactions", "total_count": rng.randrange(0, 5), "+1": 0, "-1": 0, "laugh": 0,
                      "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0},
        "sub_issues_summary": {"total": 0, "completed": 0, "percent_completed": 0},
    })
    if rng.random() < 0.5:
        m = rng.randrange(1, 20)
        item["milestone"] = {
            "url": f"{API}/repos/{REPO}/milestones/{m}", "html_url": f"https://github.com/{REPO}/milestones/v{m}.0",
            "labels_url": f"{API}/repos/{REPO}/milestones/{m}/labels", "id": 1002604 + m,
            "node_id": f"MDk6TWlsZXN0b25l{m:06d}", "number": m, "state": "open", "title": f"v{m}.0",
            "description": "Tracking milestone for the release", "creator": user(rng), "open_issues": 4,
            "closed_issues": 8, "created_at": "2023-01-10T20:09:31Z", "updated_at": "2024-02-12T13:43:01Z",
            "closed_at": None, "due_on": "2024-10-09T23:39:01Z",
        }
    else:
        item["milestone"] = None
    if rng.random() < 0.1:  # pull requests are in the issues list too; the mapping ignores them
        item["pull_request"] = {
            "url": f"{API}/repos/{REPO}/pulls/{number}", "html_url": f"https://github.com/{REPO}/pull/{number}",
            "diff_url": f"https://github.com/{REPO}/pull/{number}.diff",
            "patch_url": f"https://github.com/{REPO}/pull/{number}.patch", "merged_at": None,
        }
    return item


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=30000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(FIXTURE) as f:
        template = json.load(f)[1]
    rng = random.Random(15)
    items = [issue(rng, template, n) for n in range(args.count)]
    data = json.dumps(items, separators=(",", ":"), ensure_ascii=False).encode()
    with open(args.out, "wb") as f:
        f.write(data)
    print(f"generated {args.count} issues, {len(data) / args.count:,.0f} bytes each on average, "
          f"{len(data) / 1e6:.1f} MB: {args.out}")


if __name__ == "__main__":
    main()
