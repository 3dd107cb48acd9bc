//! The connector descriptors shipped with Switchboard (`descriptors/*.json`), compiled into the
//! binary so `switchboard serve` and the Lambda functions can register them from anywhere.

use crate::descriptor::Descriptor;
use crate::model::{ConnectorDescriptor, DescriptorError};
use crate::ports::{DescriptorRegistry, StoreError};

/// File name and JSON text of every built-in descriptor.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("confluence.json", include_str!("../../../descriptors/confluence.json")),
    ("datadog.json", include_str!("../../../descriptors/datadog.json")),
    ("github-issues.json", include_str!("../../../descriptors/github-issues.json")),
    ("github-prs.json", include_str!("../../../descriptors/github-prs.json")),
    ("linear.json", include_str!("../../../descriptors/linear.json")),
    ("notion.json", include_str!("../../../descriptors/notion.json")),
    ("pagerduty.json", include_str!("../../../descriptors/pagerduty.json")),
    ("sentry.json", include_str!("../../../descriptors/sentry.json")),
    ("slack.json", include_str!("../../../descriptors/slack.json")),
    ("trello.json", include_str!("../../../descriptors/trello.json")),
];

/// Every built-in descriptor, validated.
pub fn built_in_descriptors() -> Result<Vec<Descriptor>, DescriptorError> {
    BUILT_IN.iter().map(|(name, json)| Descriptor::from_json_str(json, &format!("descriptors/{name}"))).collect()
}

/// What [`register_built_ins`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuiltInSync {
    /// Connector ids registered for the first time.
    pub added: Vec<String>,
    /// Connector ids whose stored version differed and was replaced.
    pub updated: Vec<String>,
    /// Connector ids already at the shipped version.
    pub unchanged: Vec<String>,
}

/// Why built-ins could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum BuiltInError {
    /// A shipped descriptor does not validate (a build defect; the tests prevent it).
    #[error(transparent)]
    Invalid(#[from] DescriptorError),
    /// The registry failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Registers every built-in descriptor, replacing a stored one only when its version differs
/// from the shipped one (so a restart does not rewrite the registry).
pub async fn register_built_ins(registry: &dyn DescriptorRegistry) -> Result<BuiltInSync, BuiltInError> {
    let mut sync = BuiltInSync::default();
    for descriptor in built_in_descriptors()? {
        let model: &ConnectorDescriptor = descriptor.model();
        let id = model.id.clone();
        match registry.get_descriptor(&id).await? {
            Some(stored) if stored.built_in && stored.descriptor.version == model.version => sync.unchanged.push(id),
            Some(_) => {
                registry.upsert_built_in(model).await?;
                sync.updated.push(id);
            }
            None => {
                registry.upsert_built_in(model).await?;
                sync.added.push(id);
            }
        }
    }
    Ok(sync)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_descriptor_file_is_built_in_and_valid() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../descriptors");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("descriptors/ exists")
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|n| n.ends_with(".json") && n != "descriptor.schema.json")
            .collect();
        on_disk.sort();
        let listed: Vec<String> = BUILT_IN.iter().map(|(n, _)| (*n).to_owned()).collect();
        assert_eq!(on_disk, listed, "add new descriptors/*.json files to BUILT_IN");
        assert_eq!(built_in_descriptors().expect("all valid").len(), BUILT_IN.len());
    }
}
