//! A [`Change`] as a [`NormalisedSignal`]: summary `PROJ-123 <summary> (<status>)`, priority
//! from Jira's priority, participants (reporter, assignee, the comment's author, a new
//! assignee), related items (the issue key and every Jira key in the summary or comment), and
//! the link `<site>/browse/<KEY>`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value, json};
use switchboard_core::mapping::MapContext;
use switchboard_core::model::Priority;
use switchboard_core::signal::{NormalisedSignal, rfc3339, signal_id};

use super::change::{Change, ChangeKind};

/// An issue key: a project key (a capital letter, then capitals, digits or `_`), `-`, a number.
static ISSUE_KEY: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\b[A-Z][A-Z0-9_]+-[1-9][0-9]*\b").ok());

/// Config keys a Jira link is built from: the site (`baseUrl`).
pub const SITE_KEY: &str = "baseUrl";

/// The signal of one change.
///
/// The id hashes the change's identity — the issue key, Jira's change id and the signal type —
/// not the time: a webhook delivery carries no history time of its own, and a change id names
/// one version of the issue on its own, so both paths give the same id.
pub fn signal(change: &Change, ctx: &MapContext<'_>) -> NormalisedSignal {
    let external_id = change.external_id();
    let signal_type = change.kind.as_str();
    let issue = &change.issue;
    let status = issue.status.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
    let mut participants = Vec::new();
    let mut add = |name: Option<&String>| {
        if let Some(name) = name
            && !participants.contains(name)
        {
            participants.push(name.clone());
        }
    };
    add(issue.reporter.as_ref());
    add(issue.assignee.as_ref());
    match change.kind {
        ChangeKind::IssueCommented => add(change.actor.as_ref()),
        ChangeKind::IssueAssigned => add(change.to.as_ref()),
        _ => {}
    }
    let mut related = vec![issue.key.clone()];
    for text in [Some(&issue.summary), change.text.as_ref()].into_iter().flatten() {
        for key in ISSUE_KEY.iter().flat_map(|re| re.find_iter(text)) {
            if !related.iter().any(|r| r == key.as_str()) {
                related.push(key.as_str().to_owned());
            }
        }
    }
    let tags = issue.project.iter().chain(issue.issue_type.iter()).chain(issue.labels.iter()).cloned().collect();
    NormalisedSignal {
        id: signal_id(ctx.connector_id, ctx.project_id, &external_id, "", signal_type),
        source: ctx.connector_id.to_owned(),
        project_id: ctx.project_id.to_owned(),
        external_id,
        signal_type: signal_type.to_owned(),
        timestamp: change.at.clone(),
        received_at: rfc3339(ctx.received_at),
        summary: format!("{} {}", issue.key, issue.summary).trim_end().to_owned() + &status,
        priority: issue.priority.as_deref().and_then(priority),
        participants,
        tags,
        related_items: related,
        url: browse_url(&issue.key, issue.api_url.as_deref(), ctx.config),
        ingestion: ctx.ingestion,
        event_type: ctx.event_type.map(str::to_owned),
        raw: raw(change),
    }
}

/// Jira's default priority scheme; custom names are left unset.
fn priority(name: &str) -> Option<Priority> {
    match name.to_ascii_lowercase().as_str() {
        "highest" | "blocker" | "critical" => Some(Priority::Critical),
        "high" | "major" => Some(Priority::High),
        "medium" => Some(Priority::Medium),
        "low" | "lowest" | "minor" | "trivial" => Some(Priority::Low),
        _ => None,
    }
}

/// `<site>/browse/<KEY>`: the site from the instance's `baseUrl`, else the origin of the
/// issue's REST URL (`self`); none when neither is known.
fn browse_url(key: &str, api_url: Option<&str>, config: Option<&BTreeMap<String, String>>) -> Option<String> {
    if key.is_empty() {
        return None;
    }
    let configured = config.and_then(|c| c.get(SITE_KEY)).map(|s| s.trim().trim_end_matches('/').to_owned());
    let site = configured.filter(|s| !s.is_empty()).or_else(|| {
        let url = api_url?;
        let after_scheme = url.find("://")? + 3;
        let end = url[after_scheme..].find('/').map_or(url.len(), |i| after_scheme + i);
        Some(url[..end].to_owned())
    })?;
    Some(format!("{site}/browse/{key}"))
}

fn raw(change: &Change) -> Map<String, Value> {
    let mut raw = Map::new();
    if !change.change_id.is_empty() {
        raw.insert("changeId".into(), json!(change.change_id));
    }
    for (key, value) in [("from", &change.from), ("to", &change.to), ("actor", &change.actor)] {
        if let Some(value) = value {
            raw.insert(key.into(), json!(value));
        }
    }
    if !change.fields.is_empty() {
        raw.insert("fields".into(), json!(change.fields));
    }
    raw
}
