//! The time zone JQL dates are read in: the user's own (Jira interprets `updated >= "…"` in the
//! time zone of the account that runs the search). The instance's `timeZone` config value wins;
//! otherwise it is read once per process, site and account from `/rest/api/3/myself`
//! (`timeZone`), through the poll engine like every other request.

use std::collections::{BTreeMap, HashMap};
use std::sync::{LazyLock, Mutex};

use chrono_tz::Tz;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use switchboard_core::polling::{PollError, PollRequest};
use switchboard_core::ports::Credentials;
use switchboard_core::{Descriptor, PollDriver};

/// The config key naming the zone.
pub const ZONE_KEY: &str = "timeZone";

/// Zones read from `/myself`, by site and account (never by secret).
static READ_ZONES: LazyLock<Mutex<HashMap<String, String>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The `/myself` request as a polling plan of its own: the connector's auth, config and hosts,
/// one `GET {{baseUrl}}/rest/api/3/myself` whose one item is the whole answer.
pub fn myself_descriptor(jira: &Descriptor) -> Result<Descriptor, String> {
    let mut model = serde_json::to_value(jira.model()).map_err(|e| e.to_string())?;
    let Some(object) = model.as_object_mut() else { return Err("the descriptor is not an object".to_owned()) };
    object.remove("examples");
    object.insert(
        "ingestion".into(),
        json!({
            "mode": "polling",
            "endpoint": "{{baseUrl}}/rest/api/3/myself",
            "method": "GET",
            "delta": {"type": "timestamp_filter", "queryParam": "", "format": "iso8601"},
            "rateLimitRpm": 60
        }),
    );
    object.insert(
        "fieldMapping".into(),
        json!({
            "itemsPath": "$",
            "idPath": "$.accountId",
            "timestampPath": "$.timestamp",
            "summaryTemplate": "{{displayName}}",
            "signalTypeRules": [{"then": "myself"}]
        }),
    );
    // The connector's own sections were checked against the schema when it was registered, and
    // the two written here are constants (the test below checks the whole against the schema):
    // compiled without that pass, which would cost the first Jira poll of a cold start ~10 ms.
    let model = serde_json::from_value(model).map_err(|e| e.to_string())?;
    Descriptor::from_registered(model, &format!("{}/myself", jira.id())).map_err(|e| e.to_string())
}

/// Checks a zone name.
pub fn parse(name: &str) -> Result<Tz, PollError> {
    name.trim().parse().map_err(|_| {
        PollError::Config(format!(
            "time zone {name:?} is not an IANA time zone name (e.g. \"Europe/Berlin\"); set config value \"{ZONE_KEY}\" to one"
        ))
    })
}

/// The instance's zone, and the credentials the engine refreshed reading it (to persist and
/// to use for the next request).
pub async fn resolve(
    driver: &dyn PollDriver,
    myself: &Descriptor,
    config: &BTreeMap<String, String>,
    credentials: &Credentials,
) -> Result<(Tz, Option<Credentials>), PollError> {
    if let Some(name) = config.get(ZONE_KEY).filter(|v| !v.trim().is_empty()) {
        return Ok((parse(name)?, None));
    }
    let key = cache_key(config, credentials);
    if let Some(name) = READ_ZONES.lock().ok().and_then(|zones| zones.get(&key).cloned()) {
        return Ok((parse(&name)?, None));
    }
    let mut pages = driver.pages(myself, PollRequest::new(config, credentials))?;
    let mut found: Option<Value> = None;
    while let Some(page) = pages.next_page().await? {
        found = found.or_else(|| page.items.into_iter().next());
    }
    let refreshed = pages.summary().refreshed_credentials;
    let name = found
        .as_ref()
        .and_then(|me| me["timeZone"].as_str())
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| {
            PollError::Config(format!(
                "/rest/api/3/myself names no timeZone for this account; set config value \"{ZONE_KEY}\""
            ))
        })?
        .to_owned();
    let zone = parse(&name)?;
    if let Ok(mut zones) = READ_ZONES.lock() {
        zones.insert(key, name);
    }
    Ok((zone, refreshed))
}

/// Site and account: the `baseUrl` and the account's e-mail (an OAuth2 instance's site URL
/// names its cloud id already).
fn cache_key(config: &BTreeMap<String, String>, credentials: &Credentials) -> String {
    let site = config.get("baseUrl").map(String::as_str).unwrap_or_default();
    let account = credentials.get("email").map(|e| e.expose_secret().to_owned()).unwrap_or_default();
    format!("{site}\n{account}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_myself_plan_is_a_descriptor_the_schema_accepts() {
        let jira = crate::descriptors().unwrap().into_iter().find(|d| d.id() == crate::jira::ID).unwrap();
        let myself = myself_descriptor(&jira).unwrap();
        let checked = Descriptor::from_model(myself.model().clone(), "myself").unwrap();
        assert_eq!(format!("{checked:?}"), format!("{myself:?}"));
    }
}
