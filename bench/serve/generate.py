"""Writes signed GitHub `pull_request` deliveries for bench/serve.sh, one per line:
`delivery-id <TAB> X-Hub-Signature-256 <TAB> compact JSON body`.

Every DUP-th line (10% by default) resends an earlier delivery unchanged: same body, same
delivery id, same signature, as GitHub does when it retries.
"""

import argparse
import hashlib
import hmac
import json
import random
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, required=True, help="lines to write")
    parser.add_argument("--duplicate-percent", type=int, default=10)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--fixture", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    template = json.loads(args.fixture.read_text())
    rng = random.Random(6)
    every = round(100 / args.duplicate_percent) if args.duplicate_percent else 0
    sent: list[str] = []
    with args.out.open("w") as out:
        for index in range(args.count):
            if every and index % every == every - 1 and sent:
                # A retry of one of the last thousand deliveries, so it is sent close to the original.
                out.write(sent[rng.randrange(max(0, len(sent) - 1000), len(sent))])
                continue
            pr = len(sent) + 1
            payload = dict(template, number=pr)
            payload["pull_request"] = dict(template["pull_request"], id=pr, number=pr, title=f"Bench PR {pr}")
            body = json.dumps(payload, separators=(",", ":"))
            signature = hmac.new(args.secret.encode(), body.encode(), hashlib.sha256).hexdigest()
            line = f"bench-{pr}\tsha256={signature}\t{body}\n"
            sent.append(line)
            out.write(line)


if __name__ == "__main__":
    main()
