//! [`ConnectorId`] and [`ProjectId`]: the two ids that name an instance, checked once where
//! they enter (a URL path, a queue message) so the code behind that edge never re-checks them.
//!
//! The rules are the ones Switchboard already enforced: a connector id is the descriptor's `id`
//! (lower-case kebab case), a project id is what the registry accepts (letters, digits, `-`,
//! `_`, `.`). Both serialise as plain JSON strings; deserialising checks the rule.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

/// The longest id either rule accepts.
pub const MAX_ID_LEN: usize = 64;

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not lower-case kebab case, or too long.
    #[error("connector id {0:?} is not valid: use lower-case kebab case (a-z, 0-9, '-'), at most 64 characters")]
    Connector(String),
    /// Empty, too long, starting with `.`, or outside the safe alphabet.
    #[error("project id `{0}` is not valid: use 1 to 64 letters, digits, `-`, `_` or `.`")]
    Project(String),
}

/// A connector's id, as in its descriptor: lower-case kebab case (`a-z`, `0-9`, single `-`
/// between parts), at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ConnectorId(String);

impl ConnectorId {
    /// Checks `text` against the connector id rule.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        if is_kebab_case(text) { Ok(Self(text.to_owned())) } else { Err(IdError::Connector(text.to_owned())) }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The project an instance belongs to: 1 to 64 ASCII letters, digits, `-`, `_` or `.`, not
/// starting with `.` (it becomes part of storage keys and secret names).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ProjectId(String);

impl ProjectId {
    /// Checks `text` against the project id rule.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        if is_safe_project_id(text) { Ok(Self(text.to_owned())) } else { Err(IdError::Project(text.to_owned())) }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `^[a-z0-9]+(-[a-z0-9]+)*$`, at most [`MAX_ID_LEN`] bytes.
fn is_kebab_case(text: &str) -> bool {
    text.len() <= MAX_ID_LEN
        && text
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// 1 to [`MAX_ID_LEN`] of `[A-Za-z0-9_.-]`, not starting with `.`.
fn is_safe_project_id(text: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !text.starts_with('.')
}

/// `Display`, `AsRef<str>`, `FromStr` and a checking `Deserialize` for an id newtype.
macro_rules! id_traits {
    ($id:ty) => {
        impl fmt::Display for $id {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $id {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $id {
            type Err = IdError;

            fn from_str(text: &str) -> Result<Self, IdError> {
                Self::parse(text)
            }
        }

        impl<'de> Deserialize<'de> for $id {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_traits!(ConnectorId);
id_traits!(ProjectId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connector_ids_are_lower_case_kebab_case() {
        for ok in ["github-prs", "a", "v2", "x-1-y", &"a".repeat(64)] {
            assert_eq!(ConnectorId::parse(ok).map(|id| id.to_string()), Ok(ok.to_owned()), "{ok}");
        }
        for bad in ["", "-a", "a-", "a--b", "GitHub", "a_b", "a.b", "a b", "é", &"a".repeat(65)] {
            assert_eq!(ConnectorId::parse(bad), Err(IdError::Connector(bad.to_owned())), "{bad}");
        }
    }

    #[test]
    fn project_ids_use_the_registry_alphabet() {
        for ok in ["p1", "Team_A", "acme.prod", "-x", "a..b", &"p".repeat(64)] {
            assert_eq!(ProjectId::parse(ok).map(|id| id.as_str().to_owned()), Ok(ok.to_owned()), "{ok}");
        }
        for bad in ["", ".hidden", "a/b", "a b", "ü", &"p".repeat(65)] {
            assert_eq!(ProjectId::parse(bad), Err(IdError::Project(bad.to_owned())), "{bad}");
        }
    }

    #[test]
    fn serde_is_a_plain_string_and_deserialising_checks_the_rule() {
        let id = ConnectorId::parse("github-prs").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""github-prs""#);
        assert_eq!(serde_json::from_str::<ConnectorId>(r#""github-prs""#).unwrap(), id);
        assert!(serde_json::from_str::<ConnectorId>(r#""GitHub""#).is_err());
        assert_eq!(serde_json::from_str::<ProjectId>(r#""p1""#).unwrap().as_str(), "p1");
        assert!(serde_json::from_str::<ProjectId>(r#"".p""#).is_err());
    }
}
