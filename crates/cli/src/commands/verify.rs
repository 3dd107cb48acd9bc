//! `switchboard verify`: check a saved webhook delivery against a descriptor's signature scheme.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use switchboard_core::Descriptor;
use switchboard_core::webhook::{
    FixedKey, HandshakeReply, HandshakeRequest, Headers, KeySource, VerifyContext, WebhookRequest, form,
};

/// Arguments of `switchboard verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The descriptor file.
    #[arg(long)]
    descriptor: PathBuf,
    /// A webhook secret (or an Ed25519 public key kept in a credential field); repeat for the
    /// previous one during a rotation. Never printed.
    #[arg(long = "secret")]
    secrets: Vec<String>,
    /// An instance config value, `key=value` (an Ed25519 public key or a JWT audience kept in
    /// the config); repeat for each.
    #[arg(long = "config", value_parser = parse_config)]
    config: Vec<(String, String)>,
    /// A certificate (PEM) or key set (JWKS) file, used where the scheme would fetch one (after
    /// checking the URL the payload names against the descriptor's host patterns).
    #[arg(long = "key-file")]
    key_file: Option<PathBuf>,
    /// The body is form-encoded (`application/x-www-form-urlencoded`), as Twilio and Slack
    /// interactivity send; implied by a `Content-Type` header saying so.
    #[arg(long)]
    form: bool,
    /// A request header, `Name: value`; repeat for each header.
    #[arg(long = "header", value_parser = parse_header)]
    headers: Vec<(String, String)>,
    /// The raw body file (`-` for standard input), exactly as received.
    #[arg(long)]
    body: PathBuf,
    /// The public URL the provider called (for schemes that sign it, e.g. Trello).
    #[arg(long)]
    url: Option<String>,
    /// Verify as if the current time were this unix time (for saved, older deliveries).
    #[arg(long, value_name = "UNIX_SECONDS")]
    at: Option<i64>,
}

/// Prints `ok` (exit 0) or why the delivery is rejected (exit 1).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let descriptor = Descriptor::from_file(&args.descriptor)?;
    let Some(webhook) = descriptor.webhook() else {
        println!("rejected: {} does not receive webhooks", descriptor.id());
        return Ok(ExitCode::FAILURE);
    };
    let body = read_body(&args.body)?;
    let now = match args.at {
        Some(seconds) => DateTime::<Utc>::from_timestamp(seconds, 0).context("--at is out of range")?,
        None => Utc::now(),
    };
    let mut headers: Headers = args.headers.iter().cloned().collect();
    if args.form && headers.get("content-type").is_none() {
        headers.push("Content-Type", "application/x-www-form-urlencoded");
    }
    let config: BTreeMap<String, String> = args.config.into_iter().collect();
    let secrets: Vec<&str> = args.secrets.iter().map(String::as_str).collect();
    let payload = form::payload_of(headers.get("content-type"), &body).ok();
    let query = args.url.as_deref().and_then(|u| u.split_once('?')).map(|(_, q)| form::form_pairs(q.as_bytes()));
    let query = query.unwrap_or_default();
    let handshake = HandshakeRequest { headers: &headers, query: &query, payload: payload.as_ref() };
    if let Some(reply) = webhook.handshake_reply(&handshake, false) {
        println!("ok (a handshake answered without verification: {})", describe(&reply));
        return Ok(ExitCode::SUCCESS);
    }
    let Some(verifier) = webhook.verifier.as_ref() else {
        println!("ok (verification is \"none\": deliveries are not authenticated)");
        return Ok(ExitCode::SUCCESS);
    };
    if secrets.is_empty() && verifier.secret_field().is_some() {
        bail!(
            "this scheme reads credential field {:?}: pass it with --secret",
            verifier.secret_field().unwrap_or_default()
        );
    }
    let key = match &args.key_file {
        Some(path) => {
            Some(FixedKey(Arc::new(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)))
        }
        None => None,
    };
    let keys = key.as_ref().map(|k| k as &dyn KeySource);
    let request = WebhookRequest { headers: &headers, body: &body, url: args.url.as_deref() };
    let ctx = VerifyContext { secrets: &secrets, config: &config, keys, now };
    let runtime = tokio::runtime::Builder::new_current_thread().build().context("starting a runtime")?;
    // Verification errors never contain a secret or a signature, so they can be printed.
    match runtime.block_on(verifier.verify_with(&request, &ctx)) {
        Ok(()) => {
            match webhook.handshake_reply(&handshake, true) {
                Some(reply) => println!("ok (a handshake: {})", describe(&reply)),
                None => println!("ok"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(reason) => {
            println!("rejected: {reason}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// What the gateway would answer to a handshake (an HMAC challenge's answer needs the secret,
/// which is never printed, so only its shape is named).
fn describe(reply: &HandshakeReply) -> String {
    match reply {
        HandshakeReply::Echo(value) => format!("answered with {value}"),
        HandshakeReply::Header { name, .. } => format!("answered with the {name} header echoed"),
        HandshakeReply::Challenge(challenge) => {
            format!("answered with an HMAC of the token keyed with credential field {:?}", challenge.secret_field())
        }
        HandshakeReply::Confirm { url } => {
            let host = url.split("://").nth(1).and_then(|rest| rest.split(['/', '?']).next()).unwrap_or_default();
            format!("the subscription is confirmed by a GET to {host}")
        }
    }
}

/// Parses `key=value`.
fn parse_config(text: &str) -> anyhow::Result<(String, String)> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_owned(), value.to_owned())),
        _ => bail!("expected `key=value`"),
    }
}

fn read_body(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut body = Vec::new();
        std::io::stdin().read_to_end(&mut body).context("reading the body from standard input")?;
        return Ok(body);
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Parses `Name: value` (the value's surrounding spaces are dropped, as HTTP does).
fn parse_header(text: &str) -> anyhow::Result<(String, String)> {
    let Some((name, value)) = text.split_once(':') else {
        bail!("expected `Name: value`");
    };
    let name = name.trim();
    if name.is_empty() {
        bail!("the header name is empty");
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_arguments_split_at_the_first_colon() {
        assert_eq!(parse_header("X-Slack-Signature: v0=ab").unwrap(), ("X-Slack-Signature".into(), "v0=ab".into()));
        assert_eq!(
            parse_header("Stripe-Signature:t=1,v1=a:b").unwrap(),
            ("Stripe-Signature".into(), "t=1,v1=a:b".into())
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header(": value").is_err());
    }

    /// A Slack-events descriptor and the slack_sdk test delivery, written to a temporary directory.
    fn slack_files() -> (PathBuf, PathBuf) {
        // One directory per call: tests run in parallel.
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("switchboard-verify-{}-{call}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let descriptor = serde_json::json!({
            "id": "slack-events", "name": "Slack events", "description": "Slack Events API.",
            "category": "communication", "icon": "slack", "kind": "generic",
            "auth": { "method": "webhook_secret", "config": {
                "signatureHeader": "X-Slack-Signature", "algorithm": "hmac-sha256",
                "credentialFields": [{ "key": "signingSecret", "label": "Signing secret", "type": "password", "required": true }]
            } },
            "ingestion": { "mode": "webhook", "eventTypes": ["message"], "eventTypePath": "$.event.type", "verification": {
                "signatureHeader": "X-Slack-Signature", "secretField": "signingSecret", "prefix": "v0=",
                "signedContent": "v0:{timestamp}:{body}", "timestampHeader": "X-Slack-Request-Timestamp"
            } },
            "fieldMapping": { "itemsPath": "$", "idPath": "$.event_id", "timestampPath": "$.event_time",
                "summaryTemplate": "{{event.text}}", "signalTypeRules": [{ "then": "message_received" }] },
            "healthCheck": { "endpoint": "https://slack.com/api/auth.test", "method": "GET", "expectStatus": 200, "timeoutMs": 5000 },
            "version": "1.0.0"
        });
        let descriptor_path = dir.join("slack.json");
        std::fs::write(&descriptor_path, descriptor.to_string()).unwrap();
        let body_path = dir.join("body.txt");
        std::fs::write(&body_path, "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c").unwrap();
        (descriptor_path, body_path)
    }

    /// Runs `verify` on the Slack delivery; returns the exit code's `Debug` text.
    fn verify_slack(secrets: &[&str], at: i64) -> String {
        let (descriptor, body) = slack_files();
        let dir = descriptor.parent().unwrap().to_owned();
        let args = Args {
            descriptor,
            secrets: secrets.iter().map(|s| (*s).to_owned()).collect(),
            config: Vec::new(),
            key_file: None,
            form: false,
            headers: vec![
                parse_header("X-Slack-Request-Timestamp: 1531420618").unwrap(),
                parse_header("X-Slack-Signature: v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")
                    .unwrap(),
            ],
            body,
            url: None,
            at: Some(at),
        };
        let code = run(args).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
        format!("{code:?}")
    }

    #[test]
    fn a_delivery_signed_with_the_current_or_previous_secret_is_ok() {
        let ok = format!("{:?}", ExitCode::SUCCESS);
        assert_eq!(verify_slack(&["8f742231b10e8888abcd99yyyzzz85a5"], 1531420618), ok);
        assert_eq!(verify_slack(&["new", "8f742231b10e8888abcd99yyyzzz85a5"], 1531420618), ok);
    }

    #[test]
    fn a_wrong_secret_or_a_stale_delivery_is_rejected() {
        let failure = format!("{:?}", ExitCode::FAILURE);
        assert_eq!(verify_slack(&["wrong"], 1531420618), failure);
        assert_eq!(verify_slack(&["8f742231b10e8888abcd99yyyzzz85a5"], 1531429999), failure);
    }

    /// A webhook-only descriptor with this verification and these handshakes, and the body,
    /// written to a temporary directory.
    fn files(verification: serde_json::Value, handshakes: serde_json::Value, body: &[u8]) -> (PathBuf, PathBuf) {
        let (descriptor_path, body_path) = slack_files();
        let mut descriptor: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&descriptor_path).unwrap()).unwrap();
        descriptor["ingestion"]["verification"] = verification;
        descriptor["ingestion"]["handshakes"] = handshakes;
        descriptor["configFields"] =
            serde_json::json!([{"key": "publicKey", "label": "Key", "type": "text", "required": false}]);
        std::fs::write(&descriptor_path, descriptor.to_string()).unwrap();
        std::fs::write(&body_path, body).unwrap();
        (descriptor_path, body_path)
    }

    fn run_with(args: Args) -> String {
        let dir = args.descriptor.parent().unwrap().to_owned();
        let code = run(args).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
        format!("{code:?}")
    }

    fn args(descriptor: PathBuf, body: PathBuf) -> Args {
        Args {
            descriptor,
            secrets: Vec::new(),
            config: Vec::new(),
            key_file: None,
            form: false,
            headers: Vec::new(),
            body,
            url: None,
            at: None,
        }
    }

    #[test]
    fn a_discord_delivery_verifies_with_a_public_key_from_config() {
        let scheme = serde_json::json!({"scheme": "ed25519", "signatureHeader": "X-Signature-Ed25519",
            "publicKeyField": "publicKey", "signedContent": "{timestamp}{body}", "timestampHeader": "X-Signature-Timestamp"});
        let body =
            br#"{"id":"787053080478613555","token":"ThisIsATokenFromDiscordThatIsVeryLong","type":1,"version":1}"#;
        let signature = "f0bd878adcef1f6d475c9644421905bd02b5de38e0d3ecfc6f58a711962c69ccc8dd7c9db312f9bdf08b1e1b8182e27a844da728c5e0dbb5507bf9931c1ed80b";
        let run_key = |key: &str| {
            let (descriptor, body_path) = files(scheme.clone(), serde_json::json!([]), body);
            run_with(Args {
                config: vec![("publicKey".into(), key.into())],
                headers: vec![
                    ("X-Signature-Ed25519".into(), signature.into()),
                    ("X-Signature-Timestamp".into(), "1700000000".into()),
                ],
                at: Some(1_700_000_000),
                ..args(descriptor, body_path)
            })
        };
        assert_eq!(
            run_key("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"),
            format!("{:?}", ExitCode::SUCCESS)
        );
        assert_eq!(
            run_key("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"),
            format!("{:?}", ExitCode::FAILURE)
        );
    }

    #[test]
    fn a_twilio_form_delivery_verifies_with_its_url() {
        let scheme = serde_json::json!({"signatureHeader": "X-Twilio-Signature", "secretField": "signingSecret",
            "algorithm": "hmac-sha1", "encoding": "base64", "signedContent": "{url}{form}"});
        let body = b"CallSid=CA1234567890ABCDE&Digits=1234&From=%2B14158675309&To=%2B18005551212&Caller=%2B14158675309";
        let run_url = |url: &str| {
            let (descriptor, body_path) = files(scheme.clone(), serde_json::json!([]), body);
            run_with(Args {
                secrets: vec!["12345".into()],
                headers: vec![("X-Twilio-Signature".into(), "RSOYDt4T1cUTdK1PDd93/VVr8B8=".into())],
                url: Some(url.into()),
                form: true,
                ..args(descriptor, body_path)
            })
        };
        assert_eq!(run_url("https://mycompany.com/myapp.php?foo=1&bar=2"), format!("{:?}", ExitCode::SUCCESS));
        assert_eq!(run_url("https://mycompany.com/myapp.php?foo=1&bar=3"), format!("{:?}", ExitCode::FAILURE));
    }

    #[test]
    fn an_sns_message_verifies_with_a_certificate_file_where_a_fetch_would_happen() {
        let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../core/tests/core/webhook_families/fixtures");
        let scheme = serde_json::json!({"scheme": "rsa", "rsa": {
            "signaturePath": "$.Signature", "certificateUrlPath": "$.SigningCertURL",
            "certificateHosts": ["sns.*.amazonaws.com"], "versionPath": "$.SignatureVersion",
            "versions": {"1": "rsa-sha1", "2": "rsa-sha256"}, "typePath": "$.Type",
            "signedFields": {"Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]}}});
        let body = std::fs::read(fixtures.join("sns-notification-v2.json")).unwrap();
        let run_cert = |cert: &str| {
            let (descriptor, body_path) = files(scheme.clone(), serde_json::json!([]), &body);
            run_with(Args { key_file: Some(fixtures.join(cert)), ..args(descriptor, body_path) })
        };
        assert_eq!(run_cert("sns-signing-cert.pem"), format!("{:?}", ExitCode::SUCCESS));
        assert_eq!(run_cert("sns-other-cert.pem"), format!("{:?}", ExitCode::FAILURE));
    }

    #[test]
    fn an_unverified_handshake_is_reported_as_answered() {
        let scheme = serde_json::json!({"signatureHeader": "X-Hook-Signature", "secretField": "signingSecret"});
        let handshakes =
            serde_json::json!([{"answer": {"type": "echo_query", "param": "validationToken"}, "verify": false}]);
        let (descriptor, body_path) = files(scheme.clone(), handshakes.clone(), b"");
        let answered = run_with(Args {
            url: Some("https://hooks.example.com/webhooks/x/p1?validationToken=abc".into()),
            ..args(descriptor, body_path)
        });
        assert_eq!(answered, format!("{:?}", ExitCode::SUCCESS));
        let (descriptor, body_path) = files(scheme, handshakes, b"");
        let no_token = run_with(Args { secrets: vec!["s".into()], ..args(descriptor, body_path) });
        assert_eq!(no_token, format!("{:?}", ExitCode::FAILURE));
    }
}
