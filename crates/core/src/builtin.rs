//! The connector descriptors shipped with Switchboard (`descriptors/*.json`), compiled into the
//! binary so `switchboard serve` and the Lambda functions can register them from anywhere.

use std::cmp::Ordering;

use semver::Version;

use crate::descriptor::Descriptor;
use crate::model::{ConnectorDescriptor, DescriptorError};
use crate::ports::{DescriptorRegistry, StoreError};

/// File name and JSON text of every built-in descriptor: every `descriptors/*.json` but the
/// schema, listed by the build script (`build.rs`), sorted by file name.
pub const BUILT_IN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/built_in.rs"));

/// Every built-in descriptor, validated.
pub fn built_in_descriptors() -> Result<Vec<Descriptor>, DescriptorError> {
    BUILT_IN.iter().map(|(name, json)| Descriptor::from_json_str(json, &format!("descriptors/{name}"))).collect()
}

/// Every built-in descriptor as authored: read, not validated or compiled, which is all that
/// registering them needs ([`register_built_ins`]). Validating the 38 shipped files costs a
/// process 50-120 ms and most of the registry API's first-request memory; the tests validate
/// every one of them (`tests::every_descriptor_file_is_built_in_and_valid`), so a running
/// process need not. [`built_in_descriptors`] validates and compiles them.
pub fn built_in_models() -> Result<Vec<ConnectorDescriptor>, DescriptorError> {
    BUILT_IN.iter().map(|(name, json)| read_shipped(json, &format!("descriptors/{name}"))).collect()
}

/// Reads the JSON text of a descriptor this build ships (a built-in or a native connector's)
/// into the model, without validating it; `origin` names it in the error.
pub fn read_shipped(json: &str, origin: &str) -> Result<ConnectorDescriptor, DescriptorError> {
    serde_json::from_str(json).map_err(|e| DescriptorError::whole(origin, format!("not a descriptor: {e}")))
}

/// Whether this build ships a built-in descriptor with this connector id (each file is named
/// after its id: `descriptors/<id>.json`).
pub fn is_built_in_id(connector_id: &str) -> bool {
    BUILT_IN.iter().any(|(name, _)| name.strip_suffix(".json") == Some(connector_id))
}

/// What [`register_built_ins`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuiltInSync {
    /// Connector ids registered for the first time.
    pub added: Vec<String>,
    /// Connector ids whose stored built-in was older than the shipped one and was replaced.
    pub updated: Vec<String>,
    /// Connector ids already at the shipped version.
    pub unchanged: Vec<String>,
    /// Connector ids whose stored built-in is newer than the shipped one (written by a newer
    /// deployment): kept, never downgraded.
    pub newer_kept: Vec<String>,
    /// Connector ids taken by a descriptor a user registered before this release made the id
    /// built in: the user's descriptor is kept and the shipped one is not installed.
    pub user_kept: Vec<String>,
}

/// Why built-ins could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum BuiltInError {
    /// A shipped descriptor does not read or validate (a build defect; the tests prevent it).
    #[error(transparent)]
    Invalid(#[from] DescriptorError),
    /// The registry failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Registers every built-in descriptor. A stored built-in is replaced only when the shipped
/// version is newer (semantic versioning), so a restart does not rewrite the registry and an
/// older deployment running beside a newer one never downgrades it. A user-registered
/// descriptor under a built-in's id is never overwritten: it is kept, with a warning naming
/// the id, until an admin deletes it.
pub async fn register_built_ins(registry: &dyn DescriptorRegistry) -> Result<BuiltInSync, BuiltInError> {
    register_descriptors(registry, built_in_models()?).await
}

/// Registers `descriptors` as built-ins, under the rules of [`register_built_ins`]: the
/// assembly registers the native connectors' descriptors (`switchboard_natives`) with it, so
/// they are listed and versioned exactly like the shipped JSON files. They are stored as given,
/// not validated: only descriptors this build ships, which its tests validate, belong here.
pub async fn register_descriptors(
    registry: &dyn DescriptorRegistry,
    descriptors: Vec<ConnectorDescriptor>,
) -> Result<BuiltInSync, BuiltInError> {
    let mut sync = BuiltInSync::default();
    for model in &descriptors {
        let id = model.id.clone();
        let Some(stored) = registry.get_descriptor(&id).await? else {
            registry.upsert_built_in(model).await?;
            sync.added.push(id);
            continue;
        };
        if !stored.built_in {
            tracing::warn!(
                connector_id = id.as_str(),
                "a user-registered descriptor uses the id of a built-in connector: it is kept and the built-in \
                 is not installed; delete it (or register it under another id) to get the built-in"
            );
            sync.user_kept.push(id);
            continue;
        }
        match compare_versions(&model.version, &stored.descriptor.version) {
            Ordering::Greater => {
                registry.upsert_built_in(model).await?;
                sync.updated.push(id);
            }
            Ordering::Equal => sync.unchanged.push(id),
            Ordering::Less => {
                tracing::info!(
                    connector_id = id.as_str(),
                    stored = stored.descriptor.version.as_str(),
                    shipped = model.version.as_str(),
                    "the stored built-in descriptor is newer than this build's; kept"
                );
                sync.newer_kept.push(id);
            }
        }
    }
    Ok(sync)
}

/// How the shipped version compares to the stored one. A stored version that is not semantic
/// versioning (written by hand or damaged) counts as older, so the shipped one replaces it.
fn compare_versions(shipped: &str, stored: &str) -> Ordering {
    match (Version::parse(shipped), Version::parse(stored)) {
        (Ok(shipped), Ok(stored)) => shipped.cmp(&stored),
        (Ok(_), Err(_)) => Ordering::Greater,
        // Shipped versions are validated as MAJOR.MINOR.PATCH, so this is not reached; never
        // replace anything on a version that cannot be read.
        (Err(_), _) => Ordering::Equal,
    }
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
        assert_eq!(on_disk, listed, "build.rs lists every descriptors/*.json file");
        // What registration stores (read, not validated) is what validates.
        let validated: Vec<ConnectorDescriptor> = built_in_descriptors()
            .expect("every shipped descriptor validates")
            .iter()
            .map(|d| d.model().clone())
            .collect();
        assert_eq!(built_in_models().expect("read"), validated);
        assert_eq!(built_in_descriptors().expect("all valid").len(), BUILT_IN.len());
    }

    #[test]
    fn each_built_in_file_is_named_after_its_id() {
        for descriptor in built_in_descriptors().expect("all valid") {
            assert!(is_built_in_id(descriptor.id()), "descriptors/{}.json", descriptor.id());
        }
        assert!(!is_built_in_id("no-such-connector"));
    }

    #[test]
    fn a_registered_descriptor_compiles_to_the_same_descriptor_without_the_schema_check() {
        for descriptor in built_in_descriptors().expect("all valid") {
            let registered =
                Descriptor::from_registered(descriptor.model().clone(), descriptor.id()).expect("compiles");
            assert_eq!(format!("{registered:?}"), format!("{descriptor:?}"), "{}", descriptor.id());
        }
        // The compilation itself still checks what the runtime needs: a broken JSONPath fails.
        let (_, json) = BUILT_IN.iter().find(|(name, _)| *name == "github-issues.json").expect("shipped");
        let mut value: serde_json::Value = serde_json::from_str(json).expect("JSON");
        value["ingestion"]["recordFilter"]["exclude"]["when"] = "$[".into();
        let model: ConnectorDescriptor = serde_json::from_value(value).expect("still the model's shape");
        let error = Descriptor::from_registered(model, "github-issues").expect_err("the path does not compile");
        assert!(error.to_string().contains("recordFilter"), "{error}");
    }

    #[test]
    fn a_registered_descriptor_builds_its_regular_expressions_when_it_first_maps() {
        use crate::pattern::built_on_this_thread as built;
        let (_, json) = BUILT_IN.iter().find(|(name, _)| *name == "github-prs.json").expect("shipped");
        let value: serde_json::Value = serde_json::from_str(json).expect("JSON");
        let before = built();
        let validated = Descriptor::from_value(&value, "github-prs").expect("valid");
        assert!(built() - before >= 7, "registration builds every expression: {}", built() - before);
        let before = built();
        let registered = Descriptor::from_registered(validated.model().clone(), "github-prs").expect("compiles");
        assert_eq!(built(), before, "loading a registered descriptor builds none");
        // A published delivery (tests/fixtures/github-prs/SOURCES.md) with a label, mapped to a signal.
        let payload = include_str!("../../../tests/fixtures/github-prs/pull_request.closed.json");
        let ctx = crate::MapContext {
            connector_id: "github-prs",
            project_id: "p1",
            ingestion: crate::IngestionKind::Webhook,
            event_type: Some("pull_request"),
            received_at: chrono::Utc::now(),
            config: None,
        };
        let report = serde_json::to_value(registered.map_json(payload, &ctx).expect("maps")).expect("JSON");
        assert!(built() > before, "mapping builds what it evaluates: {report}");
        let expected = serde_json::to_value(validated.map_json(payload, &ctx).expect("maps")).expect("JSON");
        assert_eq!(report, expected);
        assert_eq!(report["signals"].as_array().map(Vec::len), Some(1), "{report}");
    }

    #[test]
    fn versions_compare_as_semantic_versions() {
        assert_eq!(compare_versions("1.10.0", "1.9.0"), Ordering::Greater);
        assert_eq!(compare_versions("1.9.0", "1.10.0"), Ordering::Less);
        assert_eq!(compare_versions("2.0.0", "2.0.0"), Ordering::Equal);
        assert_eq!(compare_versions("1.0.0", "not a version"), Ordering::Greater);
    }
}
