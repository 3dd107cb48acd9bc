"""Regenerates the `ses` fixtures in tests/fixtures/ses (see its SOURCES.md).

The payloads are AWS's published examples; only the key is local: an RSA key and a
self-signed certificate stand in for Amazon SNS's signing certificate, which the tests serve
from the SigningCertURL host (admitted by the descriptor's `certificateHosts`). No private key
is written: the fixtures hold the certificate and signed payloads only.

Run: python3 generate_fixtures.py   (needs the `cryptography` package)
"""

import base64
import datetime
import json
import pathlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

OUT = pathlib.Path(__file__).resolve().parents[4] / "tests" / "fixtures" / "ses"

NOTIFICATION = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
CONFIRMATION = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem"
TOPIC = "arn:aws:sns:us-east-1:012345678912:example-topic"


def certificate(key):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=36500))
        .sign(key, hashes.SHA256())
    )


def signed(key, message, fields, version="1"):
    message = dict(message, SignatureVersion=version, SigningCertURL=CERT_URL)
    canonical = "".join(f"{f}\n{message[f]}\n" for f in fields if f in message).encode()
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    message["Signature"] = base64.b64encode(key.sign(canonical, padding.PKCS1v15(), digest)).decode()
    return message


def envelope(ses_message, message_id):
    # awsdocs/amazon-sns-developer-guide@947bbf0b doc_source/sns-http-https-endpoint-as-subscriber.md:
    # the Notification examples (their message ids); Message carries the SES notification as a JSON string.
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": TOPIC,
        "Message": json.dumps(ses_message, separators=(",", ":")),
        "Timestamp": "2015-09-11T20:32:34.655Z",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + TOPIC
        + ":c9135db0-26c4-47ec-8998-413945fb5a96",
    }


def main():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, k in [("sns-signing-cert.pem", key), ("sns-other-cert.pem", other)]:
        (OUT / name).write_bytes(certificate(k).public_bytes(serialization.Encoding.PEM))
    examples = json.loads((OUT / "ses-examples.json").read_text())
    ids = {"sns-action": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", "s3-action-alert": "da41e39f-ea4d-435a-b922-c6aae3915ebe"}
    for name, message_id in ids.items():
        body = signed(key, envelope(examples[name], message_id), NOTIFICATION)
        (OUT / f"notification-{name}.json").write_text(json.dumps(body, indent=2) + "\n")
    # awsdocs/amazon-sns-developer-guide@155a0499 doc_source/sns-message-and-json-formats.md:
    # the UnsubscribeConfirmation example, moved to the SES example's topic.
    unsubscribe = {
        "Type": "UnsubscribeConfirmation",
        "MessageId": "47138184-6831-46b8-8f7c-afc488602d7d",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f7948a98bac386edfe3e10314e873973b3e0a3c09119b722dedf2b5e31c59b13edbb26417c19f109351e6f2169efa9085ffe97e10535f4179ac1a03590b0f541f209c190f9ae23219ed6c470453e06c19b5ba9fcbb27daeb7c7",
        "TopicArn": TOPIC,
        "Message": "You have chosen to deactivate subscription " + TOPIC + ":2bcfbf39-05c3-41de-beaa-fcfcc21c8f55.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + TOPIC + "&Token=2336412f37fb687f5d51e6e241d09c805a5a57b30d712f7948a98bac386edfe3e10314e873973b3e0a3c09119b722dedf2b5e31c59b13edbb26417c19f109351e6f2169efa9085ffe97e10535f4179ac1a03590b0f541f209c190f9ae23219ed6c470453e06c19b5ba9fcbb27daeb7c7",
        "Timestamp": "2012-04-26T20:06:41.581Z",
    }
    (OUT / "unsubscribe-confirmation.json").write_text(json.dumps(signed(key, unsubscribe, CONFIRMATION), indent=2) + "\n")
    # The same page's SubscriptionConfirmation example (its Token is truncated there), same topic.
    subscribe = {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37...",
        "TopicArn": TOPIC,
        "Message": "You have chosen to subscribe to the topic " + TOPIC + ".\nTo confirm the subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + TOPIC + "&Token=2336412f37...",
        "Timestamp": "2012-04-26T20:45:04.751Z",
    }
    (OUT / "subscription-confirmation.json").write_text(json.dumps(signed(key, subscribe, CONFIRMATION, "2"), indent=2) + "\n")


if __name__ == "__main__":
    main()
