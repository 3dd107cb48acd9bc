//! Health check (spec §4.5): one request to the descriptor's `healthCheck` endpoint with auth
//! applied and its timeout, giving a verdict a dashboard can show.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;

use super::auth::HttpRequest;
use super::credentials::{Credentials, redact};
use super::engine::{PollEngine, PollOptions};
use super::error::{FailureClass, PollError};
use super::request::{Escape, Vars, display_url, effective_config, render_text, render_url};
use super::session::{Session, network_error};
use crate::descriptor::Descriptor;
use crate::descriptor::model::HealthCheckMethod;

/// The outcome of a health check.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    /// Whether the endpoint answered with the expected status.
    pub healthy: bool,
    /// The HTTP status received, if a response arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Time from sending the request to its answer (or failure), in milliseconds.
    pub latency_ms: u64,
    /// Why the check failed, in words for a dashboard; `None` when healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The failure class, when unhealthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<FailureClass>,
    /// OAuth2 credentials refreshed during the check, to persist.
    #[serde(skip)]
    pub refreshed_credentials: Option<Credentials>,
}

/// Runs a descriptor's health check with a one-off engine.
pub async fn check(
    descriptor: &Descriptor,
    config: &BTreeMap<String, String>,
    credentials: &Credentials,
    http: &reqwest::Client,
) -> HealthReport {
    PollEngine::new(http.clone(), PollOptions::default()).check(descriptor, config, credentials).await
}

impl PollEngine {
    /// Runs a descriptor's health check, sharing this engine's OAuth2 refresher.
    pub async fn check(
        &self,
        descriptor: &Descriptor,
        config: &BTreeMap<String, String>,
        credentials: &Credentials,
    ) -> HealthReport {
        let spec = &descriptor.model().health_check;
        let timeout = Duration::from_millis(u64::from(spec.timeout_ms));
        let mut session = Session::new(
            &self.http,
            &self.options.timer,
            &self.refresher,
            &descriptor.model().auth,
            effective_config(descriptor, config),
            credentials.clone(),
            self.options.retry,
            timeout,
            self.options.max_response_bytes,
        );
        let started = self.options.timer.now();
        let outcome = probe(&mut session, descriptor).await;
        let latency_ms =
            u64::try_from(self.options.timer.now().duration_since(started).as_millis()).unwrap_or(u64::MAX);
        let refreshed_credentials = session.refreshed().cloned();
        let report = |healthy, status, reason: Option<String>, class| HealthReport {
            healthy,
            status,
            latency_ms,
            reason: reason.map(|r| redact(&r, credentials)),
            class,
            refreshed_credentials: refreshed_credentials.clone(),
        };
        match outcome {
            Ok(status) if status == spec.expect_status => report(true, Some(status), None, None),
            Ok(status) => {
                let (hint, class) = match status {
                    401 | 403 => ("the credentials were rejected", FailureClass::Auth),
                    404 => ("check the base URL and the instance config", FailureClass::Config),
                    429 => ("the API is rate limiting us", FailureClass::RateLimited),
                    500..=599 => ("the service is having problems", FailureClass::Transient),
                    _ => ("unexpected answer", FailureClass::Config),
                };
                let reason = format!("expected HTTP {}, got {status}: {hint}", spec.expect_status);
                report(false, Some(status), Some(reason), Some(class))
            }
            Err(PollError::Network { timeout: true, .. }) => {
                let reason = format!("no answer within {} ms", spec.timeout_ms);
                report(false, None, Some(reason), Some(FailureClass::Transient))
            }
            Err(e) => report(false, None, Some(e.to_string()), Some(e.class())),
        }
    }
}

/// Sends the check (refreshing an OAuth2 token once after a 401) and returns the status.
async fn probe(session: &mut Session<'_>, descriptor: &Descriptor) -> Result<u16, PollError> {
    let spec = &descriptor.model().health_check;
    let vars = Vars { config: &session.config, credentials: &session.credentials, checkpoint: "", page_token: "" };
    let url = render_url(&descriptor.health_check().endpoint, &vars)?;
    let method = match spec.method {
        HealthCheckMethod::Get => Method::GET,
        HealthCheckMethod::Head => Method::HEAD,
    };
    let mut base = HttpRequest::new(method, url);
    // The polling headers often carry what every request needs (API version, Accept).
    if let Some(polling) = descriptor.polling() {
        for (name, template) in &polling.headers {
            base.header(name, &render_text(template, &vars, Escape::Raw)?)?;
        }
    }
    let mut retried = false;
    loop {
        let (request, bearer) = session.authorise(&base).await?;
        let endpoint = display_url(&request.url, &session.credentials);
        let response = request
            .build(session.http)
            .timeout(session.timeout)
            .send()
            .await
            .map_err(|e| network_error(endpoint, e, &session.credentials))?;
        let status = response.status().as_u16();
        match bearer {
            Some(rejected) if status == 401 && !retried => {
                retried = true;
                session.refresh_after_rejection(&rejected).await?;
            }
            _ => return Ok(status),
        }
    }
}
