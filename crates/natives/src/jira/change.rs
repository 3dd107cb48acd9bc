//! One change of one issue: what a Jira signal is about. Both paths produce the same
//! [`Change`]s — polling from an issue of a `/search/jql` page (its changelog histories and
//! comments newer than the checkpoint), webhooks from a delivery (its `changelog` or `comment`) —
//! so a change seen by both becomes the same signal.
//!
//! A change is named by the issue key and the id Jira gave the change: nothing (the creation),
//! the changelog history id, or `comment-<id>`. Those ids are the same in the REST API and in
//! webhook deliveries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_core::jsonpath::scalar_text;
use switchboard_core::mapping::timestamp::parse_timestamp;
use switchboard_core::model::TimestampFormat;
use switchboard_core::signal::rfc3339;

use super::adf::plain_text;

/// What kind of change (the signal type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The issue was created.
    IssueCreated,
    /// The issue's status changed (`from` → `to`).
    IssueTransitioned,
    /// The issue's assignee changed (`to`: the new assignee, absent when unassigned).
    IssueAssigned,
    /// A comment was added.
    IssueCommented,
    /// Any other field changed.
    IssueUpdated,
}

impl ChangeKind {
    /// Every kind of change, in the order a change is classified.
    pub const ALL: [Self; 5] =
        [Self::IssueCreated, Self::IssueTransitioned, Self::IssueAssigned, Self::IssueCommented, Self::IssueUpdated];

    /// The signal type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IssueCreated => "issue_created",
            Self::IssueTransitioned => "issue_transitioned",
            Self::IssueAssigned => "issue_assigned",
            Self::IssueCommented => "issue_commented",
            Self::IssueUpdated => "issue_updated",
        }
    }
}

/// The issue as it stood when the change was read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueFacts {
    /// The issue key, e.g. `PROJ-123`.
    pub key: String,
    /// The issue's REST URL (`self`), the site's origin when no site is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Summary line.
    #[serde(default)]
    pub summary: String,
    /// Status name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Priority name (`Highest` … `Lowest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// Reporter's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter: Option<String>,
    /// Assignee's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// Project key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Issue type name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_type: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

/// One change: the item a polled page carries and a webhook delivery is turned into.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Change {
    /// The signal type.
    pub kind: ChangeKind,
    /// Jira's id of the change: empty for the creation, the changelog history id, or
    /// `comment-<id>`.
    pub change_id: String,
    /// When the change happened, RFC 3339 UTC.
    pub at: String,
    /// The issue.
    pub issue: IssueFacts,
    /// Who made the change (display name), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The value before (a transition's status, an assignment's previous assignee).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The value after (a transition's status, an assignment's new assignee).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The fields an `issue_updated` change touched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// A comment's plain text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl Change {
    /// The signal's external id: the issue key, plus the change id for a change that has one.
    pub fn external_id(&self) -> String {
        if self.change_id.is_empty() {
            self.issue.key.clone()
        } else {
            format!("{}#{}", self.issue.key, self.change_id)
        }
    }
}

/// Every change of a polled issue (a `/search/jql` item with `expand=changelog`) that happened
/// after `since` (every change when `None`), oldest first. An issue updated after `since` whose
/// update shows in neither its history nor its comments (Jira returns a bounded history) is one
/// `issue_updated` change named by its update time.
pub fn from_issue(issue: &Value, since: Option<DateTime<Utc>>) -> Vec<Change> {
    let facts = facts(issue);
    let fields = &issue["fields"];
    let newer = |at: Option<DateTime<Utc>>| at.is_some_and(|at| since.is_none_or(|since| at > since));
    let mut changes = Vec::new();
    let created = time(&fields["created"]);
    if newer(created) {
        changes.push(created_change(&facts, created, display_name(&fields["reporter"])));
    }
    for history in issue["changelog"]["histories"].as_array().into_iter().flatten() {
        let at = time(&history["created"]);
        if newer(at) {
            changes.extend(history_changes(&facts, history, at));
        }
    }
    for comment in comments(&fields["comment"]) {
        let at = time(&comment["created"]);
        if newer(at) {
            changes.push(comment_change(&facts, comment, at));
        }
    }
    let updated = time(&fields["updated"]);
    if changes.is_empty() && newer(updated) {
        let at = updated.map(rfc3339).unwrap_or_default();
        changes.push(Change {
            kind: ChangeKind::IssueUpdated,
            change_id: format!("updated@{at}"),
            at,
            issue: facts,
            actor: None,
            from: None,
            to: None,
            fields: Vec::new(),
            text: None,
        });
    }
    changes.sort_by(|a, b| (&a.at, a.kind).cmp(&(&b.at, b.kind)));
    changes
}

/// The changes a webhook delivery of `event` reports: `jira:issue_created` the creation,
/// `jira:issue_updated` its changelog entry (and its comment, for a comment Jira reports as an
/// update), `comment_created` the comment. Other events report none.
pub fn from_webhook(payload: &Value, event: &str) -> Vec<Change> {
    let issue = &payload["issue"];
    let facts = facts(issue);
    let fields = &issue["fields"];
    // Jira stamps the issue's `updated` with the time of the change it reports; the delivery's
    // own `timestamp` is the fallback (milliseconds in Jira Cloud).
    let event_time = time(&fields["updated"]).or_else(|| time(&payload["timestamp"]));
    let mut changes = Vec::new();
    match event {
        "jira:issue_created" => {
            let at = time(&fields["created"]).or(event_time);
            let actor = display_name(&payload["user"]).or_else(|| display_name(&fields["reporter"]));
            changes.push(created_change(&facts, at, actor));
        }
        "jira:issue_updated" => {
            let changelog = &payload["changelog"];
            if changelog["items"].as_array().is_some_and(|items| !items.is_empty()) {
                let mut history = changelog.clone();
                if history.get("author").is_none() {
                    history["author"] = payload["user"].clone();
                }
                changes.extend(history_changes(&facts, &history, event_time));
            }
            if payload["comment"].is_object() {
                changes.push(comment_change(&facts, &payload["comment"], time(&payload["comment"]["created"])));
            }
        }
        "comment_created" => {
            changes.push(comment_change(&facts, &payload["comment"], time(&payload["comment"]["created"])));
        }
        _ => {}
    }
    changes
}

fn created_change(facts: &IssueFacts, at: Option<DateTime<Utc>>, actor: Option<String>) -> Change {
    Change {
        kind: ChangeKind::IssueCreated,
        change_id: String::new(),
        at: at.map(rfc3339).unwrap_or_default(),
        issue: facts.clone(),
        actor,
        from: None,
        to: None,
        fields: Vec::new(),
        text: None,
    }
}

/// A changelog history: a transition for a `status` item, an assignment for an `assignee`
/// item, and one `issue_updated` for the other fields it changed.
fn history_changes(facts: &IssueFacts, history: &Value, at: Option<DateTime<Utc>>) -> Vec<Change> {
    let id = scalar_text(&history["id"]).unwrap_or_default();
    let actor = display_name(&history["author"]);
    let change = |kind, from: Option<String>, to: Option<String>, fields: Vec<String>| Change {
        kind,
        change_id: id.clone(),
        at: at.map(rfc3339).unwrap_or_default(),
        issue: facts.clone(),
        actor: actor.clone(),
        from,
        to,
        fields,
        text: None,
    };
    let mut out = Vec::new();
    let mut other = Vec::new();
    for item in history["items"].as_array().into_iter().flatten() {
        let field = item["fieldId"].as_str().or_else(|| item["field"].as_str()).unwrap_or_default();
        let text = |key: &str| item[key].as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        match field {
            "status" => out.push(change(ChangeKind::IssueTransitioned, text("fromString"), text("toString"), vec![])),
            "assignee" => out.push(change(ChangeKind::IssueAssigned, text("fromString"), text("toString"), vec![])),
            "" => {}
            other_field => {
                if !other.iter().any(|f| f == other_field) {
                    other.push(other_field.to_owned());
                }
            }
        }
    }
    if !other.is_empty() {
        out.push(change(ChangeKind::IssueUpdated, None, None, other));
    }
    out
}

fn comment_change(facts: &IssueFacts, comment: &Value, at: Option<DateTime<Utc>>) -> Change {
    let id = scalar_text(&comment["id"]).unwrap_or_default();
    let text = plain_text(&comment["body"]);
    Change {
        kind: ChangeKind::IssueCommented,
        change_id: format!("comment-{id}"),
        at: at.map(rfc3339).unwrap_or_default(),
        issue: facts.clone(),
        actor: display_name(&comment["author"]),
        from: None,
        to: None,
        fields: Vec::new(),
        text: (!text.is_empty()).then_some(text),
    }
}

/// `fields.comment` is `{"comments": [...]}` in issues (an array in some documented examples).
fn comments(value: &Value) -> impl Iterator<Item = &Value> {
    let list = value["comments"].as_array().or_else(|| value.as_array());
    list.into_iter().flatten()
}

fn facts(issue: &Value) -> IssueFacts {
    let fields = &issue["fields"];
    let name = |value: &Value| value["name"].as_str().or_else(|| value.as_str()).map(str::to_owned);
    IssueFacts {
        key: scalar_text(&issue["key"]).unwrap_or_default(),
        api_url: issue["self"].as_str().map(str::to_owned),
        summary: fields["summary"].as_str().unwrap_or_default().to_owned(),
        status: name(&fields["status"]),
        priority: name(&fields["priority"]),
        reporter: display_name(&fields["reporter"]),
        assignee: display_name(&fields["assignee"]),
        project: fields["project"]["key"].as_str().map(str::to_owned),
        issue_type: name(&fields["issuetype"]),
        labels: fields["labels"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l.as_str().map(str::to_owned))
            .collect(),
    }
}

fn display_name(user: &Value) -> Option<String> {
    user["displayName"].as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// A Jira time: `2021-01-17T12:34:00.000+0000`, RFC 3339, or unix milliseconds.
fn time(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::Null => None,
        _ => parse_timestamp(value, TimestampFormat::Auto).ok(),
    }
}
