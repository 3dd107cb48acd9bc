//! Mapping throughput of the engine, the Rust half of `bench/mapping.sh` (read `bench/README.md`).
//!
//! `cargo bench -p switchboard-core --bench mapping -- [--data DIR] [--rounds N] [--only KEY]`
//! reads the items that `bench/mapping/generate.py` wrote to `bench/out/`, loads
//! `bench/mapping/descriptor.json` with the real loader and times, for one page holding every
//! item and for one payload per item:
//!
//! - `floor`: `serde_json` parse into `IgnoredAny`, which builds nothing;
//! - `parse_value`: parse into `serde_json::Value` only (what the engine needs before mapping);
//! - `engine`: parse into `Value` then `Descriptor::map` (what the normaliser does);
//! - `engine_map_only`: `Descriptor::map` on already parsed values;
//! - `projected_parse`: parse building only what the mapping reads (its projection);
//! - `engine_projected`: `Descriptor::map_json`, that parse and the mapping, a page's items
//!   mapped one by one as they are parsed (what the normaliser and `switchboard map` do). Its
//!   report is checked equal to `engine`'s first.
//!
//! Each figure is the best of N timed rounds after one warm-up round, by wall clock and by the
//! thread's CPU time. The run writes
//! `engine-results.json` (items/s) and `engine-report.json` (the `MapReport` of the page, which
//! the Python peers compare their output with) next to the items. `--only KEY` measures one
//! figure and writes no results, for profiling.
//!
//! Run without `--bench` (as `cargo test --all-targets` does) it only checks that the benchmark
//! descriptor still loads and maps a sample item, so the benchmark cannot rot unnoticed.

use std::error::Error;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use cpu_time::ThreadTime;
use serde::de::IgnoredAny;
use serde_json::{Value, json};
use switchboard_core::{Descriptor, IngestionKind, MapContext};

type BenchResult<T> = Result<T, Box<dyn Error>>;

/// Fixed so that every run (and every peer) produces the same signals.
const RECEIVED_AT: &str = "2024-06-01T00:00:00Z";

struct Options {
    bench: bool,
    data: PathBuf,
    rounds: usize,
    only: Option<String>,
}

fn options() -> BenchResult<Options> {
    let bench_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench");
    let mut options = Options { bench: false, data: bench_dir.join("out"), rounds: 5, only: None };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => options.bench = true,
            "--data" => options.data = args.next().ok_or("--data needs a directory")?.into(),
            "--rounds" => options.rounds = args.next().ok_or("--rounds needs a number")?.parse()?,
            "--only" => options.only = Some(args.next().ok_or("--only needs a figure's key")?),
            // Flags cargo's test runner passes (e.g. `--nocapture`) and filters are ignored.
            _ => {}
        }
    }
    if options.rounds == 0 {
        return Err("--rounds must be at least 1".into());
    }
    Ok(options)
}

fn descriptor() -> BenchResult<Descriptor> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/mapping/descriptor.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Descriptor::from_json_str(&text, &path.display().to_string())?)
}

fn context(descriptor: &Descriptor) -> BenchResult<MapContext<'_>> {
    Ok(MapContext {
        connector_id: descriptor.id(),
        project_id: "bench",
        ingestion: IngestionKind::Polling,
        event_type: None,
        received_at: DateTime::parse_from_rfc3339(RECEIVED_AT)?.with_timezone(&Utc),
        config: None,
    })
}

/// Items per second over the best round, by wall clock and by the thread's CPU time (which a
/// shared machine's other work disturbs less).
#[derive(Debug, Clone, Copy)]
struct Rate {
    wall: f64,
    cpu: f64,
}

/// Times `rounds` runs after one warm-up run and keeps the best wall and the best CPU time;
/// `run` returns a count that is kept alive so the optimiser cannot drop the work.
fn best_of(items: usize, rounds: usize, mut run: impl FnMut() -> BenchResult<usize>) -> BenchResult<Rate> {
    black_box(run()?);
    let (mut wall, mut cpu) = (Duration::MAX, Duration::MAX);
    for _ in 0..rounds {
        let (start, start_cpu) = (Instant::now(), ThreadTime::try_now()?);
        black_box(run()?);
        wall = wall.min(start.elapsed());
        cpu = cpu.min(start_cpu.try_elapsed()?);
    }
    let rate = |d: Duration| items as f64 / d.as_secs_f64().max(1e-9);
    Ok(Rate { wall: rate(wall), cpu: rate(cpu) })
}

/// One measured figure, for the page and for single-item payloads.
struct Row {
    key: &'static str,
    label: &'static str,
    page: Rate,
    items: Rate,
}

impl Row {
    fn to_json(&self) -> Value {
        let rate = |r: Rate| json!({"wall": r.wall, "cpu": r.cpu});
        json!({"key": self.key, "label": self.label, "page": rate(self.page), "items": rate(self.items)})
    }
}

fn main() -> BenchResult<()> {
    let options = options()?;
    let descriptor = descriptor()?;
    let ctx = context(&descriptor)?;
    if !options.bench {
        return smoke(&descriptor, &ctx);
    }

    let page_path = options.data.join("items.json");
    let page = std::fs::read(&page_path)
        .map_err(|e| format!("{}: {e} (run bench/mapping.sh, which generates it)", page_path.display()))?;
    let ndjson = std::fs::read(options.data.join("items.ndjson"))?;
    let lines: Vec<&[u8]> = ndjson.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    let count = lines.len();
    let page_value: Value = serde_json::from_slice(&page)?;
    let item_values: Vec<Value> = lines.iter().map(|l| serde_json::from_slice(l)).collect::<Result<_, _>>()?;

    // The output the peers must reproduce, and a guard that the page really holds the items.
    let report = descriptor.map(&page_value, &ctx)?;
    if report.signals.len() + report.ignored.len() + report.errors.len() != count {
        return Err(format!("the page maps to a different number of items than items.ndjson has ({count})").into());
    }
    std::fs::write(options.data.join("engine-report.json"), serde_json::to_vec(&report)?)?;
    let page_text = std::str::from_utf8(&page)?;
    if serde_json::to_vec(&descriptor.map_json(page_text, &ctx)?)? != serde_json::to_vec(&report)? {
        return Err("the projected parse maps the page to a different report".into());
    }
    for (line, value) in lines.iter().zip(&item_values) {
        let projected = descriptor.map_json(std::str::from_utf8(line)?, &ctx)?;
        if serde_json::to_vec(&projected)? != serde_json::to_vec(&descriptor.map(value, &ctx)?)? {
            return Err(
                format!("the projected parse maps an item differently: {}", String::from_utf8_lossy(line)).into()
            );
        }
    }
    let mapper = descriptor.mapper(IngestionKind::Polling).ok_or("the benchmark descriptor polls")?;
    let (page_projection, item_projection) = (mapper.payload_projection(), mapper.item_projection());

    let map_page = |value: &Value| -> BenchResult<usize> { Ok(descriptor.map(value, &ctx)?.signals.len()) };
    let rounds = options.rounds;
    let mut rows = Vec::new();
    let mut measure = |key,
                       label,
                       page_run: &mut dyn FnMut() -> BenchResult<usize>,
                       items_run: &mut dyn FnMut() -> BenchResult<usize>|
     -> BenchResult<()> {
        if options.only.as_ref().is_some_and(|only| only != key) {
            return Ok(());
        }
        let page = best_of(count, rounds, &mut *page_run)?;
        let items = best_of(count, rounds, &mut *items_run)?;
        eprintln!(
            "{label:<40} items/s (wall | per CPU-s): page {:>9.0} | {:>9.0}   per item {:>9.0} | {:>9.0}",
            page.wall, page.cpu, items.wall, items.cpu
        );
        rows.push(Row { key, label, page, items });
        Ok(())
    };
    measure(
        "floor",
        "serde_json parse only (IgnoredAny)",
        &mut || Ok(serde_json::from_slice::<IgnoredAny>(&page).map(|_| 1)?),
        &mut || lines.iter().map(|l| Ok(serde_json::from_slice::<IgnoredAny>(l).map(|_| 1)?)).sum(),
    )?;
    measure(
        "parse_value",
        "serde_json parse into Value",
        &mut || Ok(serde_json::from_slice::<Value>(&page).map(|v| usize::from(v.is_array()))?),
        &mut || lines.iter().map(|l| Ok(serde_json::from_slice::<Value>(l).map(|v| usize::from(v.is_object()))?)).sum(),
    )?;
    measure(
        "engine",
        "engine: parse + map (from bytes)",
        &mut || map_page(&serde_json::from_slice(&page)?),
        &mut || lines.iter().map(|l| map_page(&serde_json::from_slice(l)?)).sum(),
    )?;
    measure("engine_map_only", "engine: map only (parsed Value)", &mut || map_page(&page_value), &mut || {
        item_values.iter().map(map_page).sum()
    })?;
    measure(
        "projected_parse",
        "projected parse only",
        &mut || Ok(usize::from(page_projection.parse_str(std::str::from_utf8(&page)?)?.is_array())),
        &mut || {
            lines.iter().map(|l| Ok(usize::from(item_projection.parse_str(std::str::from_utf8(l)?)?.is_object()))).sum()
        },
    )?;
    measure(
        "engine_projected",
        "engine: projected parse + map (bytes)",
        &mut || Ok(descriptor.map_json(std::str::from_utf8(&page)?, &ctx)?.signals.len()),
        &mut || lines.iter().map(|l| Ok(descriptor.map_json(std::str::from_utf8(l)?, &ctx)?.signals.len())).sum(),
    )?;

    if options.only.is_some() {
        return Ok(());
    }
    let results = json!({
        "items": count,
        "bytes": lines.iter().map(|l| l.len()).sum::<usize>(),
        "rounds": rounds,
        "signals": report.signals.len(),
        "ignored": report.ignored.len(),
        "rows": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
    });
    std::fs::write(options.data.join("engine-results.json"), serde_json::to_vec_pretty(&results)?)?;
    Ok(())
}

/// Checks the benchmark descriptor against one item, without timing anything.
fn smoke(descriptor: &Descriptor, ctx: &MapContext<'_>) -> BenchResult<()> {
    let item = json!({
        "id": 7, "number": 12, "title": "Crash on login", "updated_at": "2024-03-01T10:00:00+02:00",
        "state": "open", "html_url": "https://github.com/acme/widgets/issues/12",
        "user": {"login": "octocat"}, "assignees": [{"login": "hubot"}],
        "labels": [{"name": "bug"}], "comments": 3, "reactions": {"total_count": 1}
    });
    let report = descriptor.map(&item, ctx)?;
    let signal = report.signals.first().ok_or("the benchmark descriptor mapped the sample item to no signal")?;
    if signal.signal_type != "incident_reported" || signal.summary != "#12 Crash on login (by octocat, bug)" {
        return Err(format!("unexpected sample signal: {signal:?}").into());
    }
    println!("mapping bench: descriptor loads and maps (run `bash bench/mapping.sh` to measure)");
    Ok(())
}
