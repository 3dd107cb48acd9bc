#!/usr/bin/env python3
"""Regenerates the webhook-gateway sample events in this directory.

Each event starts from `sam local generate-event` (so it has exactly the shape
`sam local invoke -e` and API Gateway send) and gets a GitHub `pull_request`
delivery to /webhooks/github-prs/demo-project, signed with the secret the
gateway tests configure: "It's a Secret to Everybody".

    SAM=.venv/bin/sam python3 events/webhook-gateway/generate.py
"""

import hashlib
import hmac
import json
import os
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SAM = os.environ.get("SAM", str(ROOT / ".venv/bin/sam"))
SECRET = b"It's a Secret to Everybody"
PATH = "/webhooks/github-prs/demo-project"
BODY = (ROOT / "tests/fixtures/github-prs/pull_request.opened.json").read_text()


def sam_event(*args):
    out = subprocess.run([SAM, "local", "generate-event", "apigateway", *args],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def github_headers(delivery, secret=SECRET):
    signature = hmac.new(secret, BODY.encode(), hashlib.sha256).hexdigest()
    return {
        "content-type": "application/json",
        "user-agent": "GitHub-Hookshot/044aadd",
        "x-github-event": "pull_request",
        "x-github-delivery": delivery,
        "x-github-hook-id": "292430182",
        "x-hub-signature-256": f"sha256={signature}",
    }


def http_api_v2(delivery, stage="$default", secret=SECRET):
    event = sam_event("http-api-proxy")
    host = event["requestContext"]["domainName"]
    raw_path = PATH if stage == "$default" else f"/{stage}{PATH}"
    route = "POST /webhooks/{connectorId}/{projectId}"
    event.update({
        "routeKey": route, "rawPath": raw_path, "rawQueryString": "",
        "headers": {"host": host, "x-forwarded-proto": "https", **github_headers(delivery, secret)},
        "pathParameters": {"connectorId": "github-prs", "projectId": "demo-project"},
        "body": BODY, "isBase64Encoded": False, "stageVariables": {},
    })
    for key in ("cookies", "queryStringParameters"):
        event.pop(key, None)
    context = event["requestContext"]
    context.pop("authentication", None)
    context.pop("authorizer", None)
    context.update({"routeKey": route, "stage": stage, "requestId": delivery})
    context["http"].update({"method": "POST", "path": raw_path, "userAgent": "GitHub-Hookshot/044aadd"})
    return event


def rest_v1(delivery):
    event = sam_event("aws-proxy", "--method", "POST", "--path", PATH.lstrip("/"), "--stage", "prod",
                      "--resource", "/webhooks/{connectorId}/{projectId}", "--body", BODY)
    host = event["headers"]["Host"]
    headers = {"Host": host, "X-Forwarded-Proto": "https",
               **{k.title(): v for k, v in github_headers(delivery).items()}}
    event.update({
        "path": PATH, "body": BODY, "isBase64Encoded": False,
        "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": {"connectorId": "github-prs", "projectId": "demo-project"},
        "stageVariables": None,
    })
    event["requestContext"].update({"path": f"/prod{PATH}", "requestId": delivery})
    event["requestContext"]["identity"]["userAgent"] = "GitHub-Hookshot/044aadd"
    return event


EVENTS = {
    "http-api-v2-pull-request.json": http_api_v2("8b7c2f80-0001-11f0-9c2a-2b1b6c0f0a01"),
    "http-api-v2-stage-pull-request.json": http_api_v2("8b7c2f80-0002-11f0-9c2a-2b1b6c0f0a01", stage="prod"),
    "rest-v1-pull-request.json": rest_v1("8b7c2f80-0003-11f0-9c2a-2b1b6c0f0a01"),
    "http-api-v2-bad-signature.json": http_api_v2("8b7c2f80-0004-11f0-9c2a-2b1b6c0f0a01", secret=b"not the secret"),
}

for name, event in EVENTS.items():
    (HERE / name).write_text(json.dumps(event, indent=2) + "\n")
    print(f"wrote events/webhook-gateway/{name}")
