//! `switchboard context KEY --project P`: asks a running `switchboard serve` (or any registry
//! API) for a reference key's context packet (`GET /projects/{p}/context/{key}`) and prints it
//! as grouped text, or as the API's JSON with `--json`.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::Value;
use url::Url;

/// Arguments of `switchboard context`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The reference key, as signals carry it in `relatedItems`: `PROJ-123`, `octo/repo#12`.
    key: String,
    /// The project whose signals to read.
    #[arg(long, env = "SWITCHBOARD_PROJECT")]
    project: String,
    /// Where the registry API listens (`switchboard serve`'s address).
    #[arg(long, env = "SWITCHBOARD_SERVER", default_value = "http://127.0.0.1:8080")]
    server: Url,
    /// The bearer token (serve's admin token). Prefer the environment variable: a value on the
    /// command line is visible to other local users.
    #[arg(long, env = "SWITCHBOARD_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Only related signals at or after this RFC 3339 time (the item is shown whatever the time).
    #[arg(long)]
    since: Option<String>,
    /// Related signals per page, 1 to 100 (the server's default is 50).
    #[arg(long)]
    limit: Option<usize>,
    /// Continue with the page after the one that printed this token.
    #[arg(long)]
    next_token: Option<String>,
    /// Print the API's JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// How long the request may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Prints the packet on stdout.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let url = packet_url(&args)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let packet = runtime.block_on(fetch(&url, args.token.as_deref()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&packet)?);
    } else {
        print!("{}", render(&packet, &args.project));
    }
    Ok(ExitCode::SUCCESS)
}

/// `{server}/projects/{project}/context/{key}?…`, the key percent-encoded as one path segment.
fn packet_url(args: &Args) -> anyhow::Result<Url> {
    let mut url = args.server.clone();
    if url.cannot_be_a_base() || !matches!(url.scheme(), "http" | "https") {
        bail!("--server must be an http(s) URL such as http://127.0.0.1:8080, not `{}`", args.server);
    }
    url.path_segments_mut()
        .map_err(|()| anyhow::anyhow!("--server `{}` cannot take a path", args.server))?
        .pop_if_empty()
        .extend(["projects", &args.project, "context", &args.key]);
    {
        let mut query = url.query_pairs_mut();
        query.clear();
        if let Some(since) = &args.since {
            query.append_pair("since", since);
        }
        if let Some(limit) = args.limit {
            query.append_pair("limit", &limit.to_string());
        }
        if let Some(token) = &args.next_token {
            query.append_pair("nextToken", token);
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    Ok(url)
}

async fn fetch(url: &Url, token: Option<&str>) -> anyhow::Result<Value> {
    let client = reqwest::Client::builder().timeout(TIMEOUT).build().context("building the HTTP client")?;
    let mut request = client.get(url.clone());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let origin = url.origin().ascii_serialization();
    let response = request
        .send()
        .await
        .with_context(|| format!("cannot reach the registry API at {origin} (is `switchboard serve` running?)"))?;
    let status = response.status();
    let body = response.bytes().await.with_context(|| format!("reading the answer of {origin}"))?;
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    if !status.is_success() {
        let message = json.as_ref().and_then(|v| v["error"]["message"].as_str()).unwrap_or("(no error message)");
        let hint = if status == reqwest::StatusCode::UNAUTHORIZED {
            " (set SWITCHBOARD_ADMIN_TOKEN or pass --token)"
        } else {
            ""
        };
        bail!("the registry API answered {status}: {message}{hint}");
    }
    json.with_context(|| format!("{origin} did not answer with JSON; is --server a Switchboard registry API?"))
}

/// The packet as text: the item, the people, then each group's signals (time, type, source,
/// summary and source link), and how to ask for the next page.
fn render(packet: &Value, project: &str) -> String {
    let key = packet["key"].as_str().unwrap_or_default();
    let mut out = String::new();
    match packet.get("item").filter(|item| !item.is_null()) {
        Some(item) => {
            let _ = writeln!(out, "{key}  {}", text(item, "summary"));
            let _ =
                writeln!(out, "  {}  {}  {}", text(item, "timestamp"), text(item, "signalType"), text(item, "source"));
            if let Some(url) = item["url"].as_str() {
                let _ = writeln!(out, "  {url}");
            }
        }
        None => {
            let _ = writeln!(out, "{key}  (no tracker item for this key)");
        }
    }
    let people: Vec<String> = packet["participants"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| format!("{} ({})", text(p, "name"), p["signals"].as_u64().unwrap_or(0)))
        .collect();
    if !people.is_empty() {
        let _ = writeln!(out, "People: {}", people.join(", "));
    }
    let groups = packet["groups"].as_array().map(Vec::as_slice).unwrap_or_default();
    if groups.is_empty() {
        let _ = writeln!(out, "\nNo other signals reference {key}.");
    }
    for group in groups {
        let signals = group["signals"].as_array().map(Vec::as_slice).unwrap_or_default();
        let _ = writeln!(out, "\n{} ({})", text(group, "title"), signals.len());
        for signal in signals {
            let _ = writeln!(
                out,
                "  {}  {}  {}  {}",
                text(signal, "timestamp"),
                text(signal, "signalType"),
                text(signal, "source"),
                text(signal, "summary")
            );
            if let Some(url) = signal["url"].as_str() {
                let _ = writeln!(out, "    {url}");
            }
        }
    }
    if let Some(token) = packet["nextToken"].as_str() {
        let _ = writeln!(out, "\nMore: switchboard context '{key}' --project {project} --next-token {token}");
    }
    out
}

fn text<'v>(value: &'v Value, field: &str) -> &'v str {
    value[field].as_str().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn args(argv: &[&str]) -> Args {
        Cli::try_parse_from(["context"].iter().chain(argv)).unwrap().args
    }

    #[test]
    fn the_key_is_one_percent_encoded_path_segment_and_filters_go_in_the_query() {
        let plain = args(&["PROJ-123", "--project", "acme", "--server", "http://127.0.0.1:9000"]);
        assert_eq!(packet_url(&plain).unwrap().as_str(), "http://127.0.0.1:9000/projects/acme/context/PROJ-123");
        let scoped = args(&[
            "octo/repo#12",
            "--project",
            "acme",
            "--server",
            "https://api.example/prod/",
            "--since",
            "2025-01-01T00:00:00+01:00",
            "--limit",
            "5",
            "--next-token",
            "abc",
        ]);
        assert_eq!(
            packet_url(&scoped).unwrap().as_str(),
            "https://api.example/prod/projects/acme/context/octo%2Frepo%2312?since=2025-01-01T00%3A00%3A00%2B01%3A00&limit=5&nextToken=abc"
        );
        let ftp = args(&["K-1", "--project", "acme", "--server", "ftp://example"]);
        assert!(packet_url(&ftp).unwrap_err().to_string().contains("--server must be an http(s) URL"));
    }

    #[test]
    fn the_text_shows_the_item_people_and_each_group_with_source_links() {
        let packet = json!({
            "key": "PROJ-123",
            "item": {"summary": "PROJ-123 Checkout fails", "timestamp": "2025-03-01T17:00:00Z",
                     "signalType": "issue_transitioned", "source": "jira", "url": "https://acme.atlassian.net/browse/PROJ-123"},
            "groups": [
                {"kind": "code_changes", "title": "Code changes", "signals": [
                    {"summary": "octo/repo#2 PROJ-123 fix", "timestamp": "2025-03-01T13:00:00Z", "signalType": "pr_opened",
                     "source": "github-prs", "url": "https://github.com/octo/repo/pull/2"}]},
                {"kind": "conversations", "title": "Conversations", "signals": [
                    {"summary": "message in C1", "timestamp": "2025-03-01T15:00:00Z", "signalType": "message_received",
                     "source": "slack"}]}
            ],
            "participants": [{"name": "ann", "signals": 2}, {"name": "U1", "signals": 1}],
            "nextToken": "tok"
        });
        let expected = "\
PROJ-123  PROJ-123 Checkout fails
  2025-03-01T17:00:00Z  issue_transitioned  jira
  https://acme.atlassian.net/browse/PROJ-123
People: ann (2), U1 (1)

Code changes (1)
  2025-03-01T13:00:00Z  pr_opened  github-prs  octo/repo#2 PROJ-123 fix
    https://github.com/octo/repo/pull/2

Conversations (1)
  2025-03-01T15:00:00Z  message_received  slack  message in C1

More: switchboard context 'PROJ-123' --project acme --next-token tok
";
        assert_eq!(render(&packet, "acme"), expected);
    }

    #[test]
    fn an_empty_packet_says_so() {
        let packet = json!({"key": "NOPE-1", "item": null, "groups": [], "participants": [], "nextToken": null});
        assert_eq!(
            render(&packet, "acme"),
            "NOPE-1  (no tracker item for this key)\n\nNo other signals reference NOPE-1.\n"
        );
    }
}
