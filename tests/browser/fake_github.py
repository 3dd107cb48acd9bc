"""A fake GitHub REST API for the dashboard's browser test.

Serves what the github-issues descriptor asks for: the health check `GET /users/{owner}` and the
issues of a repository, `GET /repos/{owner}/{repo}/issues`, in two pages linked by a `Link:
rel="next"` header (the descriptor's `link_header` pagination). Every request must carry
`Authorization: Bearer <the token given on the command line>`; any other answers 401 with
GitHub's JSON error body. The issues are timestamped a few minutes ago, so they fall in the
dashboard's 24-hour chart.

Each request is appended to a JSON-lines log (method, path, whether it was authorised), which the
test reads to see when the poller ran.

Usage: fake_github.py <port> <token> <request-log>
"""

import json
import sys
import threading
from datetime import datetime, timedelta, timezone
from http.server import ThreadingHTTPServer

from fake_http import FakeHandler
from urllib.parse import parse_qs, urlencode, urlsplit

PORT, TOKEN, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3]
LOCK = threading.Lock()


def iso(minutes_ago):
    at = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def issue(number, title, created, updated, labels=(), comments=0, closed=None):
    return {
        "id": 9000 + number,
        "number": number,
        "title": title,
        "state": "closed" if closed else "open",
        "state_reason": "completed" if closed else None,
        "comments": comments,
        "created_at": created,
        "updated_at": updated,
        "closed_at": closed,
        "author_association": "OWNER",
        "html_url": f"https://github.com/octocat/Hello-World/issues/{number}",
        "user": {"login": "octocat"},
        "assignees": [],
        "labels": [{"name": name} for name in labels],
        "milestone": None,
    }


def pages():
    """The repository's issues, oldest update first, in two pages."""
    t1, t2, t3 = iso(50), iso(30), iso(10)
    return [
        [
            issue(101, "Browser test: crash on empty config", t1, t1, labels=["p1"]),
            issue(102, "Browser test: document the flag", iso(120), t2, comments=2),
        ],
        [issue(103, "Browser test: typo fixed", iso(200), t3, closed=t3)],
    ]


class Handler(FakeHandler):
    def do_GET(self):
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        authorised = self.headers.get("Authorization") == f"Bearer {TOKEN}"
        with LOCK, open(LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps({"path": url.path, "query": url.query, "authorised": authorised}) + "\n")
        if not authorised:
            self.answer(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"})
        elif len(parts) == 2 and parts[0] == "users":
            self.answer(200, {"login": parts[1], "id": 1, "type": "User"})
        elif len(parts) == 4 and parts[0] == "repos" and parts[3] == "issues":
            page = int(parse_qs(url.query).get("page", ["1"])[0])
            all_pages = pages()
            headers = []
            if page < len(all_pages):
                query = dict(parse_qs(url.query), page=[str(page + 1)])
                next_query = urlencode({k: v[0] for k, v in query.items()})
                headers.append(("Link", f'<http://127.0.0.1:{PORT}{url.path}?{next_query}>; rel="next"'))
            self.answer(200, all_pages[page - 1] if 0 < page <= len(all_pages) else [], headers=headers)
        else:
            self.answer(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"})


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
