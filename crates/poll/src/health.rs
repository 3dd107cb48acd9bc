//! Health check (spec §4.5): one request to the descriptor's `healthCheck` endpoint with auth
//! applied and its timeout, giving a verdict a dashboard can show. A webhook-only connector may
//! declare none; checking it then reports [`NO_HEALTH_CHECK`] (class config) without a request.

use std::collections::BTreeMap;

use reqwest::Method;

use switchboard_core::Descriptor;
use switchboard_core::model::HealthCheckMethod;
use switchboard_core::polling::{FailureClass, HealthCheckPlan, HealthReport, PollError};

use crate::auth::HttpRequest;
use crate::credentials::{Credentials, redact};
use crate::engine::PollEngine;
use crate::request::{Vars, display_url, render_url, secret_query_params};
use crate::session::{ExchangeError, Session, network_error};

/// How the report of a connector without a health check starts.
const NO_HEALTH_CHECK: &str = "no_health_check";

impl PollEngine {
    /// Runs a descriptor's health check, sharing this engine's OAuth2 refresher.
    pub async fn check(
        &self,
        descriptor: &Descriptor,
        config: &BTreeMap<String, String>,
        credentials: &Credentials,
    ) -> HealthReport {
        let Some(plan) = descriptor.health_check() else {
            return HealthReport::failed(&PollError::Config(format!(
                "{NO_HEALTH_CHECK}: connector `{}` declares no healthCheck, so there is nothing to test (a \
                 webhook-only connector shows it works by its deliveries)",
                descriptor.id()
            )));
        };
        let mut session = Session::new(
            self.parts(),
            descriptor.auth(),
            descriptor.allowed_hosts(),
            descriptor.effective_config(config),
            credentials.clone(),
            plan.timeout,
        );
        let started = self.options.timer.now();
        let outcome = probe(&mut session, plan).await;
        let latency_ms =
            u64::try_from(self.options.timer.now().duration_since(started).as_millis()).unwrap_or(u64::MAX);
        let refreshed_credentials = session.refreshed().cloned();
        // The session's credentials also hold any token it obtained: scrub those too.
        let obtained = &session.credentials;
        let report = |healthy, status, reason: Option<String>, class| HealthReport {
            healthy,
            status,
            latency_ms,
            reason: reason.map(|r| redact(&redact(&r, credentials), obtained)),
            class,
            refreshed_credentials: refreshed_credentials.clone(),
        };
        match outcome {
            Ok(status) if status == plan.expect_status => report(true, Some(status), None, None),
            Ok(status) => {
                let (hint, class) = match status {
                    401 | 403 => ("the credentials were rejected", FailureClass::Auth),
                    404 => ("check the base URL and the instance config", FailureClass::Config),
                    429 => ("the API is rate limiting us", FailureClass::RateLimited),
                    500..=599 => ("the service is having problems", FailureClass::Transient),
                    _ => ("unexpected answer", FailureClass::Config),
                };
                let reason = format!("expected HTTP {}, got {status}: {hint}", plan.expect_status);
                report(false, Some(status), Some(reason), Some(class))
            }
            Err(PollError::Network { timeout: true, .. }) => {
                let reason = format!("no answer within {} ms", plan.timeout.as_millis());
                report(false, None, Some(reason), Some(FailureClass::Transient))
            }
            Err(e) => report(false, None, Some(e.to_string()), Some(e.class())),
        }
    }
}

/// Sends the check (refreshing an OAuth2 token once after a 401) and returns the status.
async fn probe(session: &mut Session<'_>, plan: &HealthCheckPlan) -> Result<u16, PollError> {
    let vars = Vars::instance(&session.config, &session.credentials);
    let url = render_url(&plan.endpoint, &vars)?;
    let method = match plan.method {
        HealthCheckMethod::Get => Method::GET,
        HealthCheckMethod::Head => Method::HEAD,
    };
    let mut base = HttpRequest::new(method, url);
    base.secret_params = secret_query_params(&plan.endpoint);
    for (name, template) in &plan.headers {
        base.templated_header(name, template, &vars)?;
    }
    let mut retried = false;
    loop {
        let (request, bearer) = session.authorise(&base).await?;
        let endpoint = display_url(&request.url, &session.credentials);
        let response = match session.exchange(&request).await {
            Ok(response) => response,
            Err(ExchangeError::Refused(e)) => return Err(e),
            Err(ExchangeError::Failed(e)) => return Err(network_error(endpoint, e, &session.credentials)),
        };
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
