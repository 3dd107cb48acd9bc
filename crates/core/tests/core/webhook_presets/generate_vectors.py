#!/usr/bin/env python3
"""Computes the webhook test vectors that providers do not publish.

Independent of the Rust code under test: only Python's standard hmac, hashlib and base64.
Run `python3 generate_vectors.py`; each line is `name: header value`, pasted into
`mod.rs` next to the same inputs. Providers with published vectors (GitHub, Slack, Standard
Webhooks, Shopify, PagerDuty) are NOT computed here: their values are copied from the provider.
"""

import base64
import hashlib
import hmac


def hex_hmac(algorithm, secret, message):
    return hmac.new(secret.encode(), message, algorithm).hexdigest()


def b64_hmac(algorithm, secret, message):
    return base64.b64encode(hmac.new(secret.encode(), message, algorithm).digest()).decode()


# Stripe: HMAC-SHA256 (hex) of "{t}.{body}", keyed with the whole whsec_ string. Payload and
# secrets are stripe-python's and stripe-go's test dummies.
STRIPE_BODY = b'{\n  "id": "evt_test_webhook",\n  "object": "event",\n  "data": { "object": { "id": "rdr_123", "object": "terminal.reader" } }\n}'
STRIPE_T = "1700000000"
stripe_current = hex_hmac(hashlib.sha256, "whsec_test_secret", STRIPE_T.encode() + b"." + STRIPE_BODY)
stripe_rolled = hex_hmac(hashlib.sha256, "whsec_test_secret_rolled_key", STRIPE_T.encode() + b"." + STRIPE_BODY)
print(f"stripe: t={STRIPE_T},v1={stripe_current},v1={stripe_rolled}")
print(f"stripe v0 only: t={STRIPE_T},v0={stripe_current}")

# Linear: hex HMAC-SHA256 of the body in Linear-Signature.
LINEAR_BODY = b'{"action":"create","type":"Issue","data":{"id":"2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9","title":"Checkout fails"},"webhookTimestamp":1700000000000}'
print("linear:", hex_hmac(hashlib.sha256, "lin_wh_switchboard_test_secret", LINEAR_BODY))

# Sentry: hex HMAC-SHA256 of the body (keyed with the integration's client secret).
SENTRY_BODY = b'{"action":"created","data":{"issue":{"id":"1170820242","title":"TypeError: x is undefined"}},"installation":{"uuid":"7a485448-a9e2-4c85-8a3c-4f44175783c9"}}'
print("sentry:", hex_hmac(hashlib.sha256, "3f1c9a0b7e2d4c5f8a6b9e0d1c2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f", SENTRY_BODY))

# Jira admin webhooks: WebSub "sha256=<hex>" HMAC-SHA256 of the body in X-Hub-Signature.
JIRA_BODY = b'{"timestamp":1700000000000,"webhookEvent":"jira:issue_created","issue":{"id":"10001","key":"OPS-7"}}'
print("jira: sha256=" + hex_hmac(hashlib.sha256, "jira-admin-webhook-secret", JIRA_BODY))

# Trello: base64 HMAC-SHA1 of body + callback URL, keyed with the application secret.
TRELLO_BODY = b'{"action":{"id":"65f1c0de","type":"updateCard","data":{"card":{"id":"65f1c0df","name":"Ship it"}}},"model":{"id":"65f1c0e0","name":"Launch"}}'
TRELLO_URL = b"https://hooks.example.com/webhooks/trello/proj-1"
print("trello:", b64_hmac(hashlib.sha1, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", TRELLO_BODY + TRELLO_URL))

# GitHub legacy X-Hub-Signature (sha1=) for the docs' secret and body.
print("github sha1: sha1=" + hex_hmac(hashlib.sha1, "It's a Secret to Everybody", b"Hello, World!"))
