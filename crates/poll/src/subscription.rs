//! Managed webhook subscriptions: one create, renew or delete request of a descriptor's
//! compiled [`SubscriptionPlan`], sent like every other request for a tenant — with the
//! instance's auth (OAuth2 tokens refreshed when needed), behind the egress guard, with
//! retries — and its answer read as the plan says (the id, the expiry).

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde_json::Value;

use switchboard_core::Descriptor;
use switchboard_core::polling::PollError;
use switchboard_core::webhook::subscription::{
    EXPIRES_AT, SUBSCRIPTION_ID, WEBHOOK_SECRET, WEBHOOK_URL, format_expiry,
};
use switchboard_core::webhook::{SubscriptionAction, SubscriptionAnswer, SubscriptionCall, SubscriptionPlan};

use crate::auth::HttpRequest;
use crate::credentials::{Credentials, expose};
use crate::engine::PollEngine;
use crate::request::{Escape, Variables, Vars, reads_credentials, render_text, render_url, secret_query_params};
use crate::session::{Outcome, SendError, Session};

/// The values a subscription request may use: the instance's, plus the subscription's own.
struct SubscriptionVars<'a> {
    vars: Vars<'a>,
    plan: &'a SubscriptionPlan,
    webhook_url: &'a str,
    subscription_id: Option<&'a str>,
    expires_at: Option<String>,
}

impl Variables for SubscriptionVars<'_> {
    fn lookup(&self, name: &str) -> Result<String, PollError> {
        match name {
            WEBHOOK_URL => Ok(self.webhook_url.to_owned()),
            SUBSCRIPTION_ID => self
                .subscription_id
                .map(str::to_owned)
                .ok_or_else(|| PollError::Config("the subscription has no id yet".to_owned())),
            EXPIRES_AT => self
                .expires_at
                .clone()
                .ok_or_else(|| PollError::Config("{{expiresAt}} needs lifetimeSeconds".to_owned())),
            WEBHOOK_SECRET => {
                let field = self.plan.secret_field.as_deref().ok_or_else(|| {
                    PollError::Config("{{webhookSecret}}: the webhook names no secret field".to_owned())
                })?;
                expose(self.vars.credentials, field)
                    .map(str::to_owned)
                    .ok_or_else(|| PollError::MissingCredential(field.to_owned()))
            }
            _ => self.vars.lookup(name),
        }
    }

    fn credentials(&self) -> &Credentials {
        self.vars.credentials
    }
}

impl PollEngine {
    /// Sends one request of `descriptor`'s managed webhook subscription for an instance and
    /// reads its answer. A delete the provider answers 404 or 410 has nothing left to delete
    /// and succeeds.
    pub async fn subscription(
        &self,
        descriptor: &Descriptor,
        call: SubscriptionCall<'_>,
    ) -> Result<SubscriptionAnswer, PollError> {
        let action = call.action;
        let plan = descriptor.subscription().and_then(|plans| plans.variant(call.variant)).ok_or_else(|| {
            PollError::Config(format!(
                "connector `{}` declares no webhook subscription number {} (its descriptor changed since the \
                 subscription was created: delete the webhook at the provider by hand)",
                descriptor.id(),
                call.variant + 1
            ))
        })?;
        let request = plan.request(action).ok_or_else(|| {
            PollError::Config(format!(
                "connector `{}` declares no `{}` request for its webhook subscription",
                descriptor.id(),
                action.as_str()
            ))
        })?;
        let config = descriptor.effective_config(call.config);
        let vars = SubscriptionVars {
            vars: Vars::instance(&config, call.credentials),
            plan,
            webhook_url: call.webhook_url,
            subscription_id: call.subscription_id,
            expires_at: plan.requested_expiry(call.now).map(format_expiry),
        };
        let method = Method::from_bytes(request.method.as_str().as_bytes())
            .map_err(|_| PollError::Config(format!("{} is not an HTTP method", request.method.as_str())))?;
        let mut base = HttpRequest::new(method, render_url(&request.url, &vars)?);
        base.secret_params = secret_query_params(&request.url);
        for (name, template) in &request.headers {
            let value = render_text(template, &vars, Escape::Raw)?;
            let secret = reads_credentials(template) || template.placeholders().any(|p| p == WEBHOOK_SECRET);
            if secret { base.secret_header(name, &value)? } else { base.header(name, &value)? }
        }
        if let Some(body) = &request.body {
            let rendered = body.render(&mut |name| vars.lookup(name))?;
            base.body = Some(rendered.to_string());
            base.headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let mut session = Session::new(
            self.parts(),
            descriptor.auth(),
            descriptor.allowed_hosts(),
            config.clone(),
            call.credentials.clone(),
            self.options.request_timeout,
        );
        let sent = session.send(&base).await;
        let refreshed_credentials = session.refreshed().cloned();
        let body = match sent {
            Ok(Outcome::Response(response)) => response.body,
            Ok(Outcome::Ignored { status } | Outcome::Reset { status, .. }) => {
                return Err(PollError::Config(format!(
                    "the provider answered {status} to the {} request",
                    action.as_str()
                )));
            }
            Err(SendError::Failed(PollError::Rejected { status: 404 | 410, .. }))
                if action == SubscriptionAction::Delete =>
            {
                Vec::new()
            }
            Err(SendError::Failed(error)) => return Err(error),
            Err(SendError::Deadline | SendError::Budget(_)) => {
                return Err(PollError::Config("the request could not be sent within its time".to_owned()));
            }
        };
        let json = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&body).map_err(|e| {
                PollError::Config(format!("the answer to the {} request is not JSON: {e}", action.as_str()))
            })?
        };
        let mut answer = plan.read_answer(action, &json, call.now).map_err(PollError::Config)?;
        answer.refreshed_credentials = refreshed_credentials;
        Ok(answer)
    }
}
