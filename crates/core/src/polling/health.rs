//! The compiled health check (spec §4.5): one request to check that an instance's config and
//! credentials work.

use std::time::Duration;

use super::plan::RequestPlan;
use super::scope::RequestScope;
use crate::model::{ConnectorDescriptor, HealthCheckDescriptor, HealthCheckMethod, Issue};
use crate::template::Template;

/// The shortest health-check timeout a descriptor may ask for, in milliseconds: less fails
/// healthy APIs on an ordinary network round trip.
pub const MIN_HEALTH_CHECK_TIMEOUT_MS: u32 = 100;

/// The longest health-check timeout a descriptor may ask for, in milliseconds: a check runs
/// while a dashboard user waits (`POST .../test`), and a longer one would let a slow or
/// silent endpoint hold a registry request (and the poller's health refresh) for minutes.
pub const MAX_HEALTH_CHECK_TIMEOUT_MS: u32 = 30_000;

/// A compiled `healthCheck`.
#[derive(Debug, Clone)]
pub struct HealthCheckPlan {
    /// Endpoint URL template.
    pub endpoint: Template,
    /// HTTP method.
    pub method: HealthCheckMethod,
    /// The status a healthy API answers.
    pub expect_status: u16,
    /// How long to wait for the answer.
    pub timeout: Duration,
    /// Headers sent with the check: the polling headers, which often carry what every request
    /// needs (API version, `Accept`).
    pub headers: Vec<(String, Template)>,
}

impl HealthCheckPlan {
    /// Compiles `raw`'s optional `healthCheck` (the structural check already required one of a
    /// connector that polls: see [`crate::model::schema::structural_issues`]). `Some(None)`:
    /// none declared; `None`: problems, in `issues`.
    pub fn compile_section(
        raw: &ConnectorDescriptor,
        polling: Option<&RequestPlan>,
        scope: &RequestScope<'_>,
        issues: &mut Vec<Issue>,
    ) -> Option<Option<Self>> {
        match &raw.health_check {
            Some(spec) => Self::compile(spec, polling, scope, issues).map(Some),
            None => Some(None),
        }
    }

    /// Checks and compiles `spec`; `polling` lends its headers. Problems go to `issues`.
    pub fn compile(
        spec: &HealthCheckDescriptor,
        polling: Option<&RequestPlan>,
        scope: &RequestScope<'_>,
        issues: &mut Vec<Issue>,
    ) -> Option<Self> {
        let endpoint = scope.template(&spec.endpoint, "/healthCheck/endpoint", &["baseUrl"], issues);
        if !(MIN_HEALTH_CHECK_TIMEOUT_MS..=MAX_HEALTH_CHECK_TIMEOUT_MS).contains(&spec.timeout_ms) {
            issues.push(Issue::new(
                "/healthCheck/timeoutMs",
                format!(
                    "{} ms is out of range: a health check may wait {MIN_HEALTH_CHECK_TIMEOUT_MS} to \
                     {MAX_HEALTH_CHECK_TIMEOUT_MS} ms",
                    spec.timeout_ms
                ),
            ));
        }
        if !(100..=599).contains(&spec.expect_status) {
            issues.push(Issue::new("/healthCheck/expectStatus", "must be an HTTP status code (100-599)"));
        }
        Some(Self {
            endpoint: endpoint?,
            method: spec.method,
            expect_status: spec.expect_status,
            timeout: Duration::from_millis(u64::from(spec.timeout_ms)),
            headers: polling.map(|p| p.headers.clone()).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::Descriptor;

    fn with_timeout(timeout_ms: u64) -> Result<Descriptor, crate::DescriptorError> {
        let doc = json!({
            "id": "timed", "name": "Timed", "description": "d", "category": "custom", "icon": "box",
            "kind": "generic", "auth": {"method": "none"},
            "ingestion": {"mode": "polling", "endpoint": "https://x.example/items", "method": "GET",
                "delta": {"type": "timestamp_filter", "queryParam": "since", "format": "iso8601"}, "rateLimitRpm": 60},
            "fieldMapping": {"itemsPath": "$", "idPath": "$.id", "timestampPath": "$.t", "summaryTemplate": "x",
                "signalTypeRules": [{"then": "changed"}]},
            "healthCheck": {"endpoint": "https://x.example/", "method": "GET", "expectStatus": 200,
                "timeoutMs": timeout_ms},
            "version": "1.0.0"
        });
        Descriptor::from_value(&doc, "test")
    }

    #[test]
    fn the_timeout_is_bounded_at_validation() {
        for ok in [100, 5_000, 30_000] {
            let descriptor = with_timeout(ok).unwrap_or_else(|e| panic!("{ok} ms is fine: {e}"));
            let plan = descriptor.health_check().expect("declared");
            assert_eq!(plan.timeout.as_millis(), u128::from(ok));
        }
        for bad in [0, 99, 30_001, u64::from(u32::MAX)] {
            let error = with_timeout(bad).expect_err("out of range");
            let issue = error.issues.iter().find(|i| i.pointer == "/healthCheck/timeoutMs");
            let issue = issue.unwrap_or_else(|| panic!("{bad} ms: no timeoutMs issue in {error}"));
            // The schema's bound (or, past it, the compiler's) names the limit that was crossed.
            let message = &issue.message;
            assert!(message.contains("minimum of 100") || message.contains("30000"), "{bad}: {message}");
        }
    }
}
