"""The Python peer of bench/map-process.sh: descriptors/github-issues.json's polling mapping
written by hand with orjson, printing the same signal lines as `switchboard map`.

    python map_rest.py PAGE.json PROJECT RECEIVED_AT > signals.jsonl
"""

import hashlib, re, struct, sys  # noqa: E401

import orjson

PRIORITY = [(re.compile(r"(?i)^(p0|critical|priority[: /-]*(critical|urgent))$"), "critical"),
            (re.compile(r"(?i)^(p1|priority[: /-]*high)$"), "high"),
            (re.compile(r"(?i)^(p2|priority[: /-]*medium)$"), "medium"),
            (re.compile(r"(?i)^(p3|priority[: /-]*low)$"), "low")]
ISSUE_URL = re.compile(r"^https?://[^/]+/([^/]+/[^/]+)/issues/(\d+)$")
REPO = re.compile(r"^https?://[^/]+/([^/]+/[^/]+)/")
TICKET = re.compile(r"\b([A-Z][A-Z0-9]+-\d+)\b")
REFERENCE = re.compile(r"(?:^|[^\w/&])#(\d+)\b")
RAW = ("author_association", "closed_at", "comments", "created_at", "number", "state", "state_reason")


def signal_id(*parts):
    h = hashlib.sha256()
    for part in parts:
        h.update(struct.pack(">Q", len(part.encode())) + part.encode())
    return "sig_" + h.hexdigest()[:32]


def related(it):
    """relatedItemsPatterns in order: the issue's own owner/repo#N, ticket keys and #N references
    in the title and body (scoped to the repository), the milestone title; no repeats."""
    out = []
    add = lambda ref: ref and ref not in out and out.append(ref)  # noqa: E731
    url = it["html_url"] or ""
    if m := ISSUE_URL.search(url):
        add(f"{m[1]}#{m[2]}")
    texts = list(dict.fromkeys(t for t in (it["title"], it["body"]) if t))
    for m in (m for t in texts for m in TICKET.finditer(t)):
        add(m[1])
    if repo := REPO.search(url):
        for m in (m for t in texts for m in REFERENCE.finditer(t)):
            add(f"{repo[1]}#{m[1]}")
    if it["milestone"] and it["milestone"]["title"]:
        add(it["milestone"]["title"])
    return out


def main(path, project, received_at):
    out = []
    for it in orjson.loads(open(path, "rb").read()):
        if "pull_request" in it:
            continue  # a pull request: no signal type rule matches
        kind = ("issue_created" if it["created_at"] == it["updated_at"] else "issue_updated"
                if it["closed_at"] == it["updated_at"] else "issue_commented" if it["comments"] > 0 else "issue_updated")
        names = list(dict.fromkeys(label["name"] for label in it["labels"] if label["name"]))
        people = [it["user"]["login"]] + [a["login"] for a in it["assignees"]] + [(it["closed_by"] or {}).get("login")]
        external, ts = str(it["id"]), it["updated_at"]
        signal = {"id": signal_id("github-issues", project, external, ts, kind), "source": "github-issues",
                  "projectId": project, "externalId": external, "signalType": kind, "timestamp": ts,
                  "receivedAt": received_at,
                  "summary": f"#{it['number']} {it['title']} ({it['state']}, {it['comments']} comments)"}
        priority = next((p for r, p in PRIORITY for n in names if r.match(n)), None)
        if priority:
            signal["priority"] = priority
        signal.update(participants=list(dict.fromkeys(p for p in people if p)), tags=names,
                      relatedItems=related(it), url=it["html_url"],
                      ingestion="polling", raw={k: it[k] for k in RAW if k in it})
        out.append(orjson.dumps(signal))
    sys.stdout.buffer.write(b"\n".join(out) + b"\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
