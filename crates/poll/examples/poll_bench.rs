//! Polling throughput over a local fake API: pages/s and items/s of `PollEngine::pages` (streamed,
//! collected in memory, and collected with each item mapped to a signal), side by side with the same fetch loop
//! written with plain `reqwest` + `serde_json`. Run through `bench/poll.sh`.
//!
//! With `--serve` it only serves the fake (printing its URL) until stdin closes, for peers
//! measured in their own processes (`bench/poll-cpu.sh`).
//!
//! The fake serves GitHub-like issues (about 700 bytes each) with RFC 8288 `Link` pagination;
//! page bodies are rendered once up front so the server costs as little as possible.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_core::polling::PollRequest;
use switchboard_core::{Descriptor, IngestionKind, MapContext};
use switchboard_poll::{Credentials, PollEngine, PollOptions};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

struct Args {
    items: usize,
    page_size: usize,
    rounds: usize,
    /// Only serve the fake API (for peers in other processes, `bench/poll-cpu.sh`).
    serve: bool,
}

fn args() -> Args {
    let mut args = Args { items: 10_000, page_size: 100, rounds: 9, serve: false };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--serve" {
            args.serve = true;
            continue;
        }
        let value = it.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage());
        match flag.as_str() {
            "--items" => args.items = value,
            "--page-size" => args.page_size = value,
            "--rounds" => args.rounds = value,
            _ => usage(),
        }
    }
    args
}

fn usage() -> ! {
    eprintln!("usage: poll_bench [--items N] [--page-size N] [--rounds N] [--serve]");
    std::process::exit(2)
}

/// Pre-rendered pages; `page` (1-based) selects one, `Link` points at the next.
struct Pages {
    bodies: Vec<Arc<Vec<u8>>>,
    base: String,
}

impl Respond for Pages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let page: usize =
            request.url.query_pairs().find(|(k, _)| k == "page").and_then(|(_, v)| v.parse().ok()).unwrap_or(1);
        let Some(body) = self.bodies.get(page - 1) else {
            return ResponseTemplate::new(200).set_body_raw("[]", "application/json");
        };
        let mut response = ResponseTemplate::new(200).set_body_raw(body.as_ref().clone(), "application/json");
        if page < self.bodies.len() {
            let next = format!("{}/repos/octo/hello/issues?per_page=100&page={}", self.base, page + 1);
            response = response.insert_header("Link", format!(r#"<{next}>; rel="next""#));
        }
        response
    }
}

fn issue(n: usize) -> Value {
    let minute = n % 60;
    let hour = (n / 60) % 24;
    json!({
        "id": 100_000 + n, "number": n, "title": format!("Issue number {n}: something is broken"),
        "state": if n.is_multiple_of(3) { "closed" } else { "open" },
        "user": {"login": format!("user{}", n % 17), "id": n % 17},
        "labels": [{"name": "bug"}, {"name": format!("area-{}", n % 5)}],
        "assignees": [{"login": "octocat"}],
        "created_at": format!("2024-04-01T{hour:02}:{minute:02}:00Z"),
        "updated_at": format!("2024-05-01T{hour:02}:{minute:02}:{:02}Z", n % 60),
        "html_url": format!("https://github.com/octo/hello/issues/{n}"),
        "body": "Steps to reproduce: open the app, click the button, observe the crash. Expected: no crash. \
                 Actual: the app crashes with a stack trace mentioning the frobnicator.",
    })
}

fn descriptor() -> Descriptor {
    let doc = json!({
        "id": "bench-issues", "name": "Bench", "description": "d", "category": "code_and_devops", "icon": "github",
        "kind": "generic",
        "auth": {"method": "pat", "config": {"delivery": "bearer", "paramName": "Authorization",
            "credentialFields": [{"key": "token", "label": "Token", "type": "password", "required": true}]}},
        "configFields": [{"key": "baseUrl", "label": "API", "type": "url", "required": true}],
        "ingestion": {"mode": "polling", "method": "GET",
            "endpoint": "{{baseUrl}}/repos/octo/hello/issues?state=all&sort=updated&direction=asc",
            "delta": {"type": "timestamp_filter", "queryParam": "since", "format": "iso8601"},
            "rateLimitRpm": 1_000_000_000u32,
            "pagination": {"type": "link_header", "pageSize": 100, "pageSizeParam": "per_page", "maxPages": 100_000}},
        "fieldMapping": {"itemsPath": "$", "idPath": "$.number", "timestampPath": "$.updated_at",
            "summaryTemplate": "#{{number}} {{title}}", "participantsPath": ["$.user.login", "$.assignees[*].login"],
            "tagsPath": "$.labels[*].name", "urlPath": "$.html_url",
            "signalTypeRules": [{"when": "$.state", "operator": "equals", "value": "closed", "then": "issue_closed"},
                                {"when": "$.id", "operator": "exists", "then": "issue_updated"}]},
        "healthCheck": {"endpoint": "{{baseUrl}}/user", "method": "GET", "expectStatus": 200, "timeoutMs": 2000},
        "version": "1.0.0"
    });
    Descriptor::from_value(&doc, "bench").expect("valid descriptor")
}

struct Figures {
    pages: usize,
    items: usize,
    elapsed: Duration,
}

impl Figures {
    fn pages_per_s(&self) -> f64 {
        self.pages as f64 / self.elapsed.as_secs_f64()
    }
    fn items_per_s(&self) -> f64 {
        self.items as f64 / self.elapsed.as_secs_f64()
    }
}

async fn engine_rounds(engine: &PollEngine, descriptor: &Descriptor, base: &str, rounds: usize, map: bool) -> Figures {
    let config = BTreeMap::from([("baseUrl".to_owned(), base.to_owned())]);
    let credentials = [("token", "ghp_bench")].into_iter().collect::<Credentials>();
    let mapper = descriptor.mapper(IngestionKind::Polling).unwrap();
    let (mut pages, mut items, mut signals) = (0, 0, 0);
    let started = Instant::now();
    for _ in 0..rounds {
        // The whole run in memory before mapping (what the old `fetch_delta` did).
        let mut stream = engine.pages(descriptor, PollRequest::new(&config, &credentials)).expect("start");
        let mut collected = Vec::new();
        while let Some(page) = stream.next_page().await.expect("page") {
            pages += 1;
            collected.extend(page.items);
        }
        items += collected.len();
        if map {
            let ctx = MapContext {
                connector_id: descriptor.id(),
                project_id: "bench",
                ingestion: IngestionKind::Polling,
                event_type: None,
                received_at: chrono::Utc::now(),
                config: None,
            };
            for (i, item) in collected.iter().enumerate() {
                signals += usize::from(matches!(mapper.map_item(i, item, &ctx), Ok(Some(_))));
            }
        }
    }
    let figures = Figures { pages, items, elapsed: started.elapsed() };
    assert!(!map || signals == items, "every item maps to a signal");
    figures
}

/// The poller's way: stream pages and drop each once handled.
async fn stream_rounds(engine: &PollEngine, descriptor: &Descriptor, base: &str, rounds: usize) -> Figures {
    let config = BTreeMap::from([("baseUrl".to_owned(), base.to_owned())]);
    let credentials = [("token", "ghp_bench")].into_iter().collect::<Credentials>();
    let (mut pages, mut items) = (0, 0);
    let started = Instant::now();
    for _ in 0..rounds {
        let mut stream = engine.pages(descriptor, PollRequest::new(&config, &credentials)).expect("start");
        while let Some(page) = stream.next_page().await.expect("page") {
            pages += 1;
            items += page.items.len();
        }
    }
    Figures { pages, items, elapsed: started.elapsed() }
}

/// The peer: the same loop by hand — GET, parse JSON, take the array, follow `Link: rel="next"`.
async fn plain_rounds(http: &reqwest::Client, base: &str, rounds: usize) -> Figures {
    let (mut pages, mut items) = (0, 0);
    let started = Instant::now();
    for _ in 0..rounds {
        let mut next =
            Some(format!("{base}/repos/octo/hello/issues?state=all&sort=updated&direction=asc&per_page=100"));
        while let Some(url) = next.take() {
            let response = http.get(&url).bearer_auth("ghp_bench").send().await.expect("send");
            next = response
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(|l| l.split(',').find(|part| part.contains(r#"rel="next""#)))
                .and_then(|part| part.split(['<', '>']).nth(1))
                .map(str::to_owned);
            let body = response.bytes().await.expect("body");
            let value: Value = serde_json::from_slice(&body).expect("json");
            let page: Vec<Value> = match value {
                Value::Array(a) => a,
                _ => panic!("not an array"),
            };
            pages += 1;
            items += page.len();
        }
    }
    Figures { pages, items, elapsed: started.elapsed() }
}

fn median(mut runs: Vec<Figures>) -> Figures {
    runs.sort_by_key(|f| f.elapsed);
    runs.swap_remove(runs.len() / 2)
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let server = MockServer::builder().disable_request_recording().start().await;
        let base = server.uri();
        let all: Vec<Value> = (1..=args.items).map(issue).collect();
        let bodies = all.chunks(args.page_size).map(|c| Arc::new(serde_json::to_vec(c).unwrap())).collect::<Vec<_>>();
        let bytes: usize = bodies.iter().map(|b| b.len()).sum();
        Mock::given(wiremock::matchers::path("/repos/octo/hello/issues"))
            .respond_with(Pages { bodies, base: base.clone() })
            .mount(&server)
            .await;
        if args.serve {
            // The fake alone: its URL on stdout, then serve until stdin closes.
            println!("{base}");
            let _ = tokio::task::spawn_blocking(|| std::io::copy(&mut std::io::stdin(), &mut std::io::sink())).await;
            return;
        }

        // The fake listens on loopback: open exactly that in the egress guard. The plain
        // contender uses the engine's client too, so both pay for the same guard.
        let egress = switchboard_poll::EgressAllow::parse("127.0.0.1").unwrap();
        let engine = PollEngine::new(PollOptions { egress, ..PollOptions::default() }).unwrap();
        let http = engine.http().expect("the HTTP client").clone();
        let descriptor = descriptor();
        // Warm up connections and caches.
        engine_rounds(&engine, &descriptor, &base, 1, false).await;
        plain_rounds(&http, &base, 1).await;

        // Interleave the contenders round by round and keep each one's median round, so load
        // from other processes on the machine hits all of them alike.
        let (mut peer, mut stream, mut fetch, mut mapped) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..args.rounds {
            peer.push(plain_rounds(&http, &base, 1).await);
            stream.push(stream_rounds(&engine, &descriptor, &base, 1).await);
            fetch.push(engine_rounds(&engine, &descriptor, &base, 1, false).await);
            mapped.push(engine_rounds(&engine, &descriptor, &base, 1, true).await);
        }
        let (peer, stream, fetch, mapped) = (median(peer), median(stream), median(fetch), median(mapped));

        println!(
            "poll bench: {} items, {} per page, {} KiB per run, median of {} rounds, fake API on {}",
            args.items,
            args.page_size,
            bytes / 1024,
            args.rounds,
            base
        );
        println!("{:<42} {:>10} {:>12} {:>10}", "", "pages/s", "items/s", "vs peer");
        for (name, f) in [
            ("peer: reqwest + serde_json loop", &peer),
            ("switchboard pages() stream", &stream),
            ("switchboard pages() collected in memory", &fetch),
            ("switchboard pages() collected + mapping", &mapped),
        ] {
            println!(
                "{name:<42} {:>10.0} {:>12.0} {:>9.2}x",
                f.pages_per_s(),
                f.items_per_s(),
                f.items_per_s() / peer.items_per_s()
            );
        }
    });
}
