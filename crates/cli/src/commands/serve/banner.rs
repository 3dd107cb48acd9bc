//! What `switchboard serve` prints at start: where it listens, the dashboard link, where data
//! lives, the admin token and a copy-paste example.
//!
//! The dashboard link carries the admin token in its fragment (`#token=...`), which browsers
//! never send to a server: the page keeps it in session storage and removes it from the address
//! bar. When only the token's hash is known, the banner says to paste the token in the sign-in form.

use std::net::SocketAddr;
use std::path::Path;

use super::admin_token::{ADMIN_TOKEN_ENV, AdminToken};
use secrecy::ExposeSecret;

/// The facts the banner shows.
pub struct Banner<'a> {
    /// Listening address.
    pub addr: SocketAddr,
    /// Data directory.
    pub data_dir: &'a Path,
    /// The admin token's origin.
    pub admin: &'a AdminToken,
    /// Where signals are written, if anywhere.
    pub signals_out: Option<&'a Path>,
    /// The OIDC issuer the dashboard also signs in with, if any.
    pub oidc_issuer: Option<&'a str>,
}

/// Prints the banner on standard error (standard output may carry `--signals-out -`).
pub fn print(banner: &Banner<'_>) {
    eprintln!("{}", render(banner));
}

fn render(b: &Banner<'_>) -> String {
    let base = format!("http://{}", b.addr);
    let token_line = match b.admin {
        AdminToken::Generated(_) => format!(
            "admin token   {}\n              (shown once; stored hashed in {}; set {ADMIN_TOKEN_ENV} to choose your own)",
            b.admin.printable().unwrap_or_default(),
            b.data_dir.join("admin-token.sha256").display()
        ),
        AdminToken::FromEnv(_) => format!("admin token   from ${ADMIN_TOKEN_ENV}"),
        AdminToken::Stored => format!(
            "admin token   generated on an earlier run (hash in {}); --reset-admin-token prints a new one",
            b.data_dir.join("admin-token.sha256").display()
        ),
    };
    // Only a token generated this run (printed above anyway) goes into the link: a token the user
    // chose stays out of the output, which may be logged.
    let dashboard = match b.admin {
        AdminToken::Generated(token) => format!(
            "dashboard     {base}/#token={}\n              (opens signed in; the token stays in the browser)",
            token.expose_secret()
        ),
        AdminToken::FromEnv(_) => {
            format!("dashboard     {base}/   (sign in with ${ADMIN_TOKEN_ENV}, or open {base}/#token=<that token>)")
        }
        AdminToken::Stored => format!("dashboard     {base}/   (sign in with the admin token)"),
    };
    let dashboard = match b.oidc_issuer {
        Some(issuer) => {
            format!("{dashboard}\n              (or \"Sign in with {issuer}\" on the page: OIDC, code + PKCE)")
        }
        None => dashboard,
    };
    let signals = match b.signals_out {
        Some(path) if path == Path::new("-") => "signals       also written to stdout as JSON lines".to_owned(),
        Some(path) => format!("signals       also appended to {} as JSON lines", path.display()),
        None => format!("signals       GET {base}/projects/<project>/signals"),
    };
    format!(
        r#"
Switchboard is running (embedded SQLite; no AWS needed)
  listening     {base}   (webhooks: POST {base}/webhooks/<connector>/<project>)
  {dashboard}
  data          {data}
  {token_line}
  {signals}

Try it (in another shell; set TOKEN to the admin token):
  curl -s -X POST {base}/projects/demo/connectors/github-prs \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{{"config": {{}}, "credentials": {{"token": "ghp_demo", "webhookSecret": "s3cret"}}, "enabled": true}}'
  body='{{"action":"opened","number":1,"pull_request":{{"id":1,"number":1,"title":"Hello","updated_at":"2024-05-01T10:00:00Z","html_url":"https://github.com/o/r/pull/1","user":{{"login":"octocat"}},"labels":[]}},"repository":{{"full_name":"o/r"}},"sender":{{"login":"octocat"}}}}'
  sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac s3cret | sed 's/^.*= //')
  curl -s -X POST {base}/webhooks/github-prs/demo -H 'X-GitHub-Event: pull_request' \
    -H 'X-GitHub-Delivery: demo-1' -H "X-Hub-Signature-256: sha256=$sig" -d "$body"
  sleep 1   # the normaliser picks it up from the queue
  curl -s {base}/projects/demo/signals -H "Authorization: Bearer $TOKEN"
"#,
        data = b.data_dir.display(),
    )
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn rendered(admin: &AdminToken) -> String {
        let addr: SocketAddr = "127.0.0.1:8787".parse().unwrap();
        render(&Banner { addr, data_dir: Path::new("/data"), admin, signals_out: None, oidc_issuer: None })
    }

    #[test]
    fn a_known_token_gives_a_dashboard_link_with_the_token_in_the_fragment() {
        let token = "sbadm_0123456789abcdef0123456789abcdef";
        let text = rendered(&AdminToken::Generated(SecretString::from(token)));
        let line = text.lines().find(|l| l.trim_start().starts_with("dashboard")).expect("a dashboard line");
        assert!(line.ends_with(&format!("http://127.0.0.1:8787/#token={token}")), "{line}");
    }

    #[test]
    fn a_token_from_the_environment_is_never_printed() {
        let token = "sbadm_0123456789abcdef0123456789abcdef";
        let text = rendered(&AdminToken::FromEnv(SecretString::from(token)));
        assert!(!text.contains(token), "{text}");
        let line = text.lines().find(|l| l.trim_start().starts_with("dashboard")).expect("a dashboard line");
        assert!(line.contains("sign in with $SWITCHBOARD_ADMIN_TOKEN"), "{line}");
    }

    #[test]
    fn a_stored_token_gives_the_plain_link_and_says_how_to_sign_in() {
        let text = rendered(&AdminToken::Stored);
        let line = text.lines().find(|l| l.trim_start().starts_with("dashboard")).expect("a dashboard line");
        assert!(line.contains("http://127.0.0.1:8787/ ") && line.contains("sign in with the admin token"), "{line}");
        assert!(!text.contains("#token="), "{text}");
    }
}
