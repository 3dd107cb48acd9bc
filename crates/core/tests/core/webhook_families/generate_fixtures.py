"""Regenerates the signature-family fixtures in ./fixtures (see fixtures/SOURCES.md).

The payloads are published ones; only the keys are local: an RSA key and a self-signed
certificate stand in for Amazon SNS's signing certificate, another RSA key signs JWTs the way
Google does, and RFC 8032's first test key stands in for a Discord application key. No private
key is written: the fixtures hold certificates, public keys and signatures only.

Run: python3 generate_fixtures.py   (needs the `cryptography` package)
"""

import base64
import datetime
import hashlib
import hmac
import json
import pathlib
from urllib.parse import urlencode

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.x509.oid import NameOID

OUT = pathlib.Path(__file__).parent / "fixtures"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def certificate(key, name):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
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


def sns_canonical(message, fields):
    return "".join(f"{f}\n{message[f]}\n" for f in fields if f in message).encode()


NOTIFICATION = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
CONFIRMATION = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]

# awsdocs/amazon-sns-developer-guide@947bbf0b9527253d333b7a0561fc0ff67e274ab3
# doc_source/sns-http-https-endpoint-as-subscriber.md: the example HTTP bodies.
SNS_NOTIFICATION = {
    "Type": "Notification",
    "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
    "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic",
    "Subject": "My First Message",
    "Message": "Hello world!",
    "Timestamp": "2012-05-02T00:54:06.655Z",
    "SignatureVersion": "1",
    "Signature": "EXAMPLEw6JRN...",
    "SigningCertURL": "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
    "UnsubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:123456789012:MyTopic:c9135db0-26c4-47ec-8998-413945fb5a96",
}
SNS_CONFIRMATION = {
    "Type": "SubscriptionConfirmation",
    "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
    "Token": "2336412f37f...",
    "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic",
    "Message": "You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
    "SubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37f...",
    "Timestamp": "2012-04-26T20:45:04.751Z",
    "SignatureVersion": "1",
    "Signature": "EXAMPLEpH+...",
    "SigningCertURL": "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
}


def sns():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = lambda k: certificate(k, "sns.amazonaws.com").public_bytes(serialization.Encoding.PEM)
    (OUT / "sns-signing-cert.pem").write_bytes(pem(key))
    (OUT / "sns-other-cert.pem").write_bytes(pem(other))
    for name, message, fields in [
        ("sns-notification", SNS_NOTIFICATION, NOTIFICATION),
        ("sns-subscription-confirmation", SNS_CONFIRMATION, CONFIRMATION),
    ]:
        for version, digest in [("1", hashes.SHA1()), ("2", hashes.SHA256())]:
            signed = dict(message, SignatureVersion=version)
            signature = key.sign(sns_canonical(signed, fields), padding.PKCS1v15(), digest)
            signed["Signature"] = base64.b64encode(signature).decode()
            (OUT / f"{name}-v{version}.json").write_text(json.dumps(signed, indent=2) + "\n")


def jwt():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()
    to_bytes = lambda n: n.to_bytes((n.bit_length() + 7) // 8, "big")
    jwks = {"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "test-key-1",
                      "n": b64url(to_bytes(numbers.n)), "e": b64url(to_bytes(numbers.e))}]}
    (OUT / "google-jwks.json").write_text(json.dumps(jwks, indent=2) + "\n")
    header = {"alg": "RS256", "kid": "test-key-1", "typ": "JWT"}
    # The claims Google puts in a Pub/Sub push token (cloud.google.com/pubsub/docs/authenticate-push-subscriptions).
    claims = {"aud": "https://hooks.example.com/webhooks/pubsub/p1", "azp": "113774264463038321964",
              "email": "gae-gcp@appspot.gserviceaccount.com", "email_verified": True, "exp": 1700003600,
              "iat": 1700000000, "iss": "https://accounts.google.com", "sub": "113774264463038321964"}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    (OUT / "google-pubsub-token.txt").write_text(signing_input + "." + b64url(signature) + "\n")


def discord():
    # RFC 8032 section 7.1, TEST 1 secret key.
    seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    key = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    # discord/discord-interactions-js@0b2905087a src/__tests__/utils/SharedTestUtils.ts pingRequestBody
    body = json.dumps({"id": "787053080478613555", "token": "ThisIsATokenFromDiscordThatIsVeryLong", "type": 1, "version": 1}, separators=(",", ":"))
    timestamp = "1700000000"
    print("discord public key", key.public_key().public_bytes_raw().hex())
    print("discord body", body)
    print("discord signature", key.sign((timestamp + body).encode()).hex())


def zoom():
    # plainToken of Zoom's documented url_validation example; secret and expected answer from
    # elastic/beats@b2d6d4c6 x-pack/filebeat/input/http_endpoint/handler_test.go ("validate_CRC_request").
    secret, token = "secretValueTest", "qgg8vlvZRS6UYooatFL8Aw"
    print("zoom encryptedToken", hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest())


def twilio():
    params = {"CallSid": "CA1234567890ABCDE", "Digits": "1234", "From": "+14158675309", "To": "+18005551212", "Caller": "+14158675309"}
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    s = url + "".join(k + params[k] for k in sorted(params))
    print("twilio body", urlencode(params))
    print("twilio signature", base64.b64encode(hmac.new(b"12345", s.encode(), hashlib.sha1).digest()).decode())


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    sns()
    jwt()
    discord()
    zoom()
    twilio()
