//! What a request template may refer to — `config.<key>` and `credentials.<key>` of the
//! descriptor's declared fields, plus the variables of where it is used — checked while the
//! templates are compiled.

use std::collections::BTreeSet;

use crate::model::{ConnectorDescriptor, Issue, PartitionSource, PartitionsDescriptor};
use crate::template::Template;

/// Variables every polling request template may use besides `config.*` and `credentials.*`.
pub const POLL_VARIABLES: &[&str] = &["baseUrl", "checkpoint", "pageToken", "pageSize", "offset", "pageNumber"];

/// The declared config and credential keys of one descriptor.
#[derive(Debug, Clone)]
pub struct RequestScope<'d> {
    config_keys: BTreeSet<&'d str>,
    credential_keys: BTreeSet<&'d str>,
    auth_method: &'static str,
}

impl<'d> RequestScope<'d> {
    /// The keys `raw` declares.
    pub fn of(raw: &'d ConnectorDescriptor) -> Self {
        Self {
            config_keys: raw.config_fields.iter().map(|f| f.key.as_str()).collect(),
            credential_keys: raw.auth.credential_fields().iter().map(|f| f.key.as_str()).collect(),
            auth_method: raw.auth.method_name(),
        }
    }

    /// The descriptor's auth method, as written in JSON.
    pub fn auth_method(&self) -> &'static str {
        self.auth_method
    }

    /// Whether a config field is declared.
    pub fn has_config(&self, key: &str) -> bool {
        self.config_keys.contains(key)
    }

    /// Whether a credential field is declared.
    pub fn has_credential(&self, key: &str) -> bool {
        self.credential_keys.contains(key)
    }

    /// The declared credential keys, sorted.
    pub fn credential_keys(&self) -> Vec<&'d str> {
        self.credential_keys.iter().copied().collect()
    }

    /// Parses a request template and checks that every variable it uses is defined; problems go
    /// to `issues`.
    pub fn template(&self, text: &str, pointer: &str, variables: &[&str], issues: &mut Vec<Issue>) -> Option<Template> {
        let template = match Template::parse(text) {
            Ok(t) => t,
            Err(e) => {
                issues.push(Issue::new(pointer, e));
                return None;
            }
        };
        for name in template.placeholders() {
            let problem = if let Some(key) = name.strip_prefix("config.") {
                (!self.config_keys.contains(key)).then(|| {
                    format!("{{{{{name}}}}} refers to config key {key:?}, which is not declared in configFields")
                })
            } else if let Some(key) = name.strip_prefix("credentials.") {
                (!self.credential_keys.contains(key)).then(|| {
                    format!("{{{{{name}}}}} refers to credential {key:?}, which is not declared in credentialFields")
                })
            } else if name == "baseUrl" && variables.contains(&"baseUrl") {
                (!self.config_keys.contains("baseUrl")).then(|| {
                    "{{baseUrl}} needs a config field \"baseUrl\" (declare it in configFields, with a default)"
                        .to_owned()
                })
            } else if variables.contains(&name) {
                None
            } else {
                Some(format!(
                    "unknown variable {{{{{name}}}}} (allowed: {}, config.<key>, credentials.<key>)",
                    variables.join(", ")
                ))
            };
            if let Some(message) = problem {
                issues.push(Issue::new(pointer, message));
            }
        }
        Some(template)
    }
}

/// The partition fields every source of `p` gives: what `{{partition.<field>}}` may name.
pub fn common_fields(p: &PartitionsDescriptor) -> BTreeSet<String> {
    let mut sets = p.sources.iter().map(|source| match source {
        PartitionSource::Config(c) => {
            std::iter::once(c.field.clone()).chain(c.values.keys().cloned()).collect::<BTreeSet<_>>()
        }
        PartitionSource::Request(r) => r.fields.keys().cloned().collect(),
    });
    let first = sets.next().unwrap_or_default();
    sets.fold(first, |acc, set| acc.intersection(&set).cloned().collect())
}

/// The template variables partition fields add: `partition.<field>` for each common field.
pub fn partition_variables(p: Option<&PartitionsDescriptor>) -> Vec<String> {
    p.map(|p| common_fields(p).into_iter().map(|f| format!("partition.{f}")).collect()).unwrap_or_default()
}
