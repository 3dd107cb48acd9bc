//! `switchboard verify`: check a saved webhook delivery against a descriptor's signature scheme.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use switchboard_core::Descriptor;
use switchboard_core::webhook::{Headers, WebhookRequest};

/// Arguments of `switchboard verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The descriptor file.
    #[arg(long)]
    descriptor: PathBuf,
    /// A webhook secret; repeat for the previous one during a rotation. Never printed.
    #[arg(long = "secret", required = true)]
    secrets: Vec<String>,
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
    let Some(verifier) = webhook.verifier.as_ref() else {
        println!("ok (verification is \"none\": deliveries are not authenticated)");
        return Ok(ExitCode::SUCCESS);
    };
    let headers: Headers = args.headers.into_iter().collect();
    let secrets: Vec<&str> = args.secrets.iter().map(String::as_str).collect();
    let request = WebhookRequest { headers: &headers, body: &body, url: args.url.as_deref() };
    // Verification errors never contain a secret or a signature, so they can be printed.
    match verifier.verify(&request, &secrets, now) {
        Ok(()) => {
            println!("ok");
            Ok(ExitCode::SUCCESS)
        }
        Err(reason) => {
            println!("rejected: {reason}");
            Ok(ExitCode::FAILURE)
        }
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
}
