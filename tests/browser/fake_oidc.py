"""A fake OpenID Connect provider for the dashboard's browser test (sign-in with code + PKCE).

Serves what the dashboard and `switchboard serve --oidc-issuer` read, the way a real provider
(Cognito, Auth0, Keycloak) does, for one public client:

- `GET /.well-known/openid-configuration`: the discovery document (issuer = this server's URL);
- `GET /jwks`: its RSA public key (generated at start, RS256);
- `GET /authorize`: checks `response_type=code`, the client id, the registered redirect URI and a
  S256 `code_challenge`, then answers a sign-in page whose one button (`#continue`) sends the
  browser back to the redirect URI with a single-use code and the `state`;
- `POST /token`: the code exchange. Refuses (400, `invalid_grant`) a used or unknown code, another
  redirect URI or client, and a `code_verifier` whose SHA-256 is not the challenge; answers an ID
  token (RS256; `iss`, `aud` = the client id, `sub`, `exp`, the `nonce`, `cognito:groups`) with
  CORS headers, since the dashboard calls it from the browser.

Every exchange is appended to a JSON-lines log (`{"token": "issued"|"refused", "reason"}`).

Usage: fake_oidc.py <port> <client-id> <redirect-uri> <log>
"""

import base64
import hashlib
import html
import json
import secrets
import sys
import threading
import time
from http.server import ThreadingHTTPServer

from fake_http import FakeHandler
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

PORT, CLIENT_ID, REDIRECT_URI, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ISSUER = f"http://127.0.0.1:{PORT}"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "browser-test-key"
LOCK = threading.Lock()
CODES = {}  # code -> what the authorization request asked for


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_b64url(n):
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def id_token(nonce):
    header = {"alg": "RS256", "typ": "JWT", "kid": KID}
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": CLIENT_ID, "sub": "alice-0001", "email": "alice@example.com",
              "iat": now, "exp": now + 3600, "nonce": nonce, "token_use": "id",
              "cognito:groups": ["switchboard-project-demo"]}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = KEY.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def log(entry):
    with LOCK, open(LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


class Handler(FakeHandler):
    def do_GET(self):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/":
            self.answer(200, {"issuer": ISSUER})
        elif url.path == "/favicon.ico":
            self.answer(204, b"", "image/x-icon")
        elif url.path == "/.well-known/openid-configuration":
            self.answer(200, {"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/authorize",
                              "token_endpoint": f"{ISSUER}/token", "jwks_uri": f"{ISSUER}/jwks",
                              "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"],
                              "id_token_signing_alg_values_supported": ["RS256"]})
        elif url.path == "/jwks":
            numbers = KEY.public_key().public_numbers()
            self.answer(200, {"keys": [{"kty": "RSA", "kid": KID, "use": "sig", "alg": "RS256",
                                        "n": int_b64url(numbers.n), "e": int_b64url(numbers.e)}]})
        elif url.path == "/authorize":
            self.authorize(query)
        else:
            self.answer(404, {"error": "not_found"})

    def authorize(self, query):
        problems = []
        if query.get("response_type") != "code":
            problems.append("response_type must be code")
        if query.get("client_id") != CLIENT_ID:
            problems.append("unknown client_id")
        if query.get("redirect_uri") != REDIRECT_URI:
            problems.append(f"redirect_uri {query.get('redirect_uri')!r} is not registered")
        if query.get("code_challenge_method") != "S256" or len(query.get("code_challenge", "")) != 43:
            problems.append("a S256 code_challenge is required")
        if "openid" not in query.get("scope", "").split():
            problems.append("scope must include openid")
        if not query.get("state") or not query.get("nonce"):
            problems.append("state and nonce are required")
        if problems:
            self.answer(400, ("<p id='problem'>" + html.escape("; ".join(problems)) + "</p>").encode(), "text/html")
            return
        code = secrets.token_urlsafe(24)
        with LOCK:
            CODES[code] = query
        back = f"{REDIRECT_URI}?{urlencode({'code': code, 'state': query['state']})}"
        page = f"""<!doctype html><title>Fake identity provider</title>
<h1>Sign in to the fake identity provider</h1>
<p>Signing in as alice@example.com to {html.escape(CLIENT_ID)}.</p>
<a id="continue" href="{html.escape(back)}">Continue</a>"""
        self.answer(200, page.encode(), "text/html; charset=utf-8")

    def do_OPTIONS(self):
        self.answer(204, b"", headers=[("Access-Control-Allow-Origin", "*"),
                                       ("Access-Control-Allow-Methods", "POST"),
                                       ("Access-Control-Allow-Headers", "Content-Type, Accept")])

    def do_POST(self):
        if urlsplit(self.path).path != "/token":
            self.answer(404, {"error": "not_found"})
            return
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        with LOCK:
            asked = CODES.pop(form.get("code", ""), None)
        reason = None
        if form.get("grant_type") != "authorization_code":
            reason = "grant_type must be authorization_code"
        elif asked is None:
            reason = "unknown or used code"
        elif form.get("client_id") != CLIENT_ID or form.get("redirect_uri") != asked["redirect_uri"]:
            reason = "client_id or redirect_uri differ from the authorization request"
        elif b64url(hashlib.sha256(form.get("code_verifier", "").encode()).digest()) != asked["code_challenge"]:
            reason = "code_verifier does not match the code_challenge"
        cors = [("Access-Control-Allow-Origin", "*"), ("Cache-Control", "no-store")]
        if reason:
            log({"token": "refused", "reason": reason})
            self.answer(400, {"error": "invalid_grant", "error_description": reason}, headers=cors)
            return
        log({"token": "issued", "reason": None})
        self.answer(200, {"id_token": id_token(asked["nonce"]), "access_token": secrets.token_urlsafe(24),
                          "token_type": "Bearer", "expires_in": 3600}, headers=cors)


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
