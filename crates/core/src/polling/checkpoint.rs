//! The checkpoint: where an instance's polling stands, as one string the poller stores.
//!
//! It holds the delta position reached by the last complete run and, while a run is unfinished
//! (time budget, page limit), the page to continue from and the progress made so far. A run that
//! resumes keeps filtering by the old position, so nothing between the two runs is skipped.
//!
//! String form: a bare position (`2024-05-01T10:00:00Z`, a delta link, a cursor, an id) when
//! that is all there is, otherwise compact JSON such as
//! `{"position":"2024-05-01T10:00:00Z","seenAtPosition":["42"],"resume":{"next":{"url":"https://…"}}}`.
//! Both forms are accepted back, so a user can type a bare timestamp on the command line.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::PollError;

/// Where polling stands for one instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Checkpoint {
    /// Delta position after the last complete run: an RFC 3339 timestamp (`timestamp_filter`),
    /// a delta token or link (`delta_token`), a cursor (`cursor`) or the highest id (`since_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// Ids of the items whose timestamp equals `position` (`timestamp_filter`): APIs that filter
    /// with "at or after" return them again, and they are dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen_at_position: Vec<String>,
    /// Set while a run is unfinished: where the next run continues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<Resume>,
    /// A partitioned stream's checkpoints, one per partition key (the fields above stay
    /// empty).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub partitions: BTreeMap<String, Checkpoint>,
    /// The partition the next run starts with: where the last run stopped, so a run budget
    /// spreads over every partition in turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_partition: Option<String>,
}

/// Where an unfinished run stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resume {
    /// The next page to fetch.
    pub next: PageCursor,
    /// The delta position reached so far by the unfinished run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// Ids seen at that position so far.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen_at_position: Vec<String>,
}

/// A page to fetch after the first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PageCursor {
    /// An item offset (`offset` pagination).
    Offset(u64),
    /// A page number (`page_number` pagination).
    Page(u64),
    /// An opaque page token (`cursor` pagination).
    Token(String),
    /// A full URL (`link_header`, or a cursor that is a URL such as `@odata.nextLink`).
    Url(String),
}

impl Checkpoint {
    /// A checkpoint at a delta position.
    pub fn at(position: impl Into<String>) -> Self {
        Self { position: Some(position.into()), ..Self::default() }
    }

    /// Reads the string form (bare position or JSON); an empty string is "no checkpoint yet".
    pub fn parse(text: &str) -> Result<Self, PollError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(Self::default());
        }
        if trimmed.starts_with('{') {
            return serde_json::from_str(trimmed)
                .map_err(|e| PollError::Config(format!("the checkpoint is not a valid checkpoint object: {e}")));
        }
        Ok(Self::at(trimmed))
    }

    /// Whether an unfinished run left a resume position.
    pub fn is_resuming(&self) -> bool {
        self.resume.is_some() || self.next_partition.is_some()
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let partitioned = !self.partitions.is_empty() || self.next_partition.is_some();
        match (&self.position, self.seen_at_position.is_empty(), &self.resume) {
            _ if partitioned => f.write_str(&serde_json::to_string(self).map_err(|_| fmt::Error)?),
            (None, true, None) => Ok(()),
            (Some(p), true, None) if !p.trim_start().starts_with('{') && p.trim() == p && !p.is_empty() => {
                f.write_str(p)
            }
            _ => f.write_str(&serde_json::to_string(self).map_err(|_| fmt::Error)?),
        }
    }
}

impl std::str::FromStr for Checkpoint {
    type Err = PollError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_positions_round_trip_as_plain_text() {
        let c = Checkpoint::at("2024-05-01T10:00:00Z");
        assert_eq!(c.to_string(), "2024-05-01T10:00:00Z");
        assert_eq!(Checkpoint::parse(&c.to_string()).expect("parses"), c);
        assert_eq!(Checkpoint::parse("").expect("parses"), Checkpoint::default());
        assert_eq!(Checkpoint::default().to_string(), "");
    }

    #[test]
    fn resume_positions_round_trip_as_json() {
        let c = Checkpoint {
            position: Some("2024-05-01T10:00:00Z".into()),
            seen_at_position: vec!["7".into()],
            resume: Some(Resume {
                next: PageCursor::Url("https://api.github.com/x?page=3".into()),
                position: Some("2024-05-02T00:00:00Z".into()),
                seen_at_position: vec![],
            }),
            ..Checkpoint::default()
        };
        let text = c.to_string();
        assert!(text.starts_with('{'), "{text}");
        assert_eq!(Checkpoint::parse(&text).expect("parses"), c);
    }

    #[test]
    fn partitioned_checkpoints_round_trip_as_json() {
        let mut c = Checkpoint::default();
        c.partitions.insert("octo/a".into(), Checkpoint::at("2024-05-01T10:00:00Z"));
        c.next_partition = Some("octo/b".into());
        let text = c.to_string();
        assert!(text.contains("\"octo/a\":{\"position\":\"2024-05-01T10:00:00Z\"}"), "{text}");
        assert_eq!(Checkpoint::parse(&text).expect("parses"), c);
        assert!(c.is_resuming());
    }

    #[test]
    fn garbled_json_checkpoints_are_config_errors() {
        let err = Checkpoint::parse("{\"posit").expect_err("garbled");
        assert_eq!(err.class(), super::super::FailureClass::Config);
    }
}
