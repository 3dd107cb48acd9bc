//! The compiled health check (spec §4.5): one request to check that an instance's config and
//! credentials work.

use std::time::Duration;

use super::plan::RequestPlan;
use super::scope::RequestScope;
use crate::model::{HealthCheckDescriptor, HealthCheckMethod, Issue};
use crate::template::Template;

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
    /// Checks and compiles `spec`; `polling` lends its headers. Problems go to `issues`.
    pub fn compile(
        spec: &HealthCheckDescriptor,
        polling: Option<&RequestPlan>,
        scope: &RequestScope<'_>,
        issues: &mut Vec<Issue>,
    ) -> Option<Self> {
        let endpoint = scope.template(&spec.endpoint, "/healthCheck/endpoint", &["baseUrl"], issues);
        if spec.timeout_ms == 0 {
            issues.push(Issue::new("/healthCheck/timeoutMs", "must be greater than 0"));
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
