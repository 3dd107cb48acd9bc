//! What is wrong with a descriptor: one [`Issue`] per problem, gathered in a [`DescriptorError`].

use std::fmt;

use serde::Serialize;

/// One problem in a descriptor: where (JSON pointer) and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// RFC 6901 JSON pointer into the descriptor (`""` is the whole document).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl Issue {
    /// Creates an issue.
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self { pointer: pointer.into(), message: message.into() }
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() { "/" } else { &self.pointer };
        write!(f, "{pointer}: {}", self.message)
    }
}

/// A descriptor that failed to load: every problem found, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DescriptorError {
    /// File path, or a label such as `<request body>`.
    pub origin: String,
    /// Every problem found.
    pub issues: Vec<Issue>,
}

impl DescriptorError {
    /// An error with a single problem about the whole document.
    pub fn whole(origin: &str, message: impl Into<String>) -> Self {
        Self { origin: origin.to_owned(), issues: vec![Issue::new("", message)] }
    }
}

impl fmt::Display for DescriptorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.issues.len();
        write!(f, "{}: {n} problem{}", self.origin, if n == 1 { "" } else { "s" })?;
        for issue in &self.issues {
            write!(f, "\n  {}: {issue}", self.origin)?;
        }
        Ok(())
    }
}

/// Escapes a key for use in a JSON pointer (RFC 6901).
pub fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}
