//! `POST /webhooks/{connectorId}/{projectId}`: one delivery, from raw bytes to an envelope on
//! the ingest queue.
//!
//! The checks run cheapest and least revealing first: body size, instance, connector; only then
//! are secrets read and the signature checked against the raw bytes. The rate limit comes after
//! the signature (see [`crate::limits`]): verified deliveries and unverified requests count in
//! separate buckets, so unsigned POSTs cannot use up a provider's budget. A 202 is sent only
//! once the envelope is in the queue, and a delivery id is accepted once per replay window
//! (see [`crate::replay`]).

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Serialize;
use serde_json::Value;
use switchboard_core::catalog::LoadedConnector;
use switchboard_core::envelope::Envelope;
use switchboard_core::ports::InstanceRecord;
use switchboard_core::signal::IngestionKind;
use switchboard_core::webhook::{
    DeliveryId, HandshakeReply, HandshakeRequest, Headers, KeySource, VerifyContext, VerifyError, WebhookEvent,
    WebhookRequest, form,
};
use tracing::Instrument as _;

use crate::error::GatewayError;
use crate::ingest;
use crate::limits;
use crate::lookup::{Target, enabled_instance, webhook_connector};
use crate::replay::{self, Enqueued};
use crate::request_url::public_url;
use crate::source::Source;
use crate::state::GatewayState;

/// The body of a 2xx answer to a delivery.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Outcome {
    /// `accepted` (enqueued), `duplicate` (this delivery id was accepted before within the
    /// replay window; nothing enqueued) or `ignored` (an event type the connector does not
    /// handle).
    status: &'static str,
    /// The provider's delivery id, when it sends one.
    delivery_id: Option<String>,
    /// The event type, when known.
    event_type: Option<String>,
    /// Why the delivery was ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// The route handler: runs [`handle`] in a span tagged with the instance, delivery and event.
pub(crate) async fn deliver(
    State(state): State<GatewayState>,
    Path((connector_id, project_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let span = tracing::info_span!(
        "webhook",
        connector_id = %connector_id,
        project_id = %project_id,
        delivery_id = tracing::field::Empty,
        event_type = tracing::field::Empty,
    );
    async move {
        match handle(&state, (&connector_id, &project_id), request).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        }
    }
    .instrument(span)
    .await
}

/// One delivery to the path `(connector_id, project_id)`.
async fn handle(state: &GatewayState, path: (&str, &str), request: Request) -> Result<Response, GatewayError> {
    let received_at = Utc::now();
    let (parts, body) = request.into_parts();
    let source = Source::of(&parts);
    let body = read_body(&parts.headers, body, state.settings.body_limit_bytes).await?;
    let target = Target::parse(path.0, path.1)?;
    let key = &target.key;
    let instance = enabled_instance(state, key).await?;
    let loaded = webhook_connector(state, key).await?;
    let connector = &loaded.connector;

    let headers = core_headers(&parts.headers);
    let query = query_pairs(&parts);
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    // A form body (Twilio, Slack interactivity) is read as an object; anything else as JSON, of
    // which only what the connector's checks read is built (its text goes in the envelope).
    let parsed = form::read_payload(content_type, &body, connector.webhook_projection());
    let handshake = |verified| {
        let payload = parsed.as_ref().ok().map(|payload| &payload.read);
        let request = HandshakeRequest { headers: &headers, query: &query, payload };
        connector.handshake_reply(&request, verified)
    };
    // A handshake declared without verification is answered before any secret is read.
    if let Some(reply) = handshake(false) {
        if let Some(retry_after) = limits::count_unverified(state, key, source).await {
            return Err(GatewayError::UnverifiedRateLimited { retry_after });
        }
        return answer_handshake(state, &instance, reply).await;
    }
    let url = public_url(&instance.config, &parts);
    let request = WebhookRequest { headers: &headers, body: &body, url: url.as_deref() };
    match verify(state, &instance, &loaded, &request).await {
        Ok(()) => limits::count_verified(state, key).await?,
        Err(refused @ GatewayError::Unauthorized(_)) => {
            return Err(match limits::count_unverified(state, key, source).await {
                Some(retry_after) => GatewayError::UnverifiedRateLimited { retry_after },
                None => refused,
            });
        }
        Err(other) => return Err(other),
    }
    if let Some(reply) = handshake(true) {
        return answer_handshake(state, &instance, reply).await;
    }
    let payload = parsed.map_err(|e| GatewayError::InvalidJson(e.to_string()))?;
    let delivery = connector.delivery_id(&headers, &payload.read);
    if let Some(id) = delivery.found() {
        tracing::Span::current().record("delivery_id", id);
    }

    // The event type is decided here, once; the envelope carries it to the normaliser.
    let event = connector.webhook_event(&headers, &payload.read);
    if let Some(event_type) = event.event_type() {
        tracing::Span::current().record("event_type", event_type);
    }
    let event_type = match event {
        WebhookEvent::Handled(event_type) => event_type,
        WebhookEvent::Ignored { event_type, reason } => {
            tracing::info!(reason, "webhook ignored: event type not handled");
            let delivery_id = delivery.found().map(str::to_owned);
            let outcome = Outcome { status: "ignored", delivery_id, event_type, reason: Some(reason) };
            return Ok((StatusCode::ACCEPTED, Json(outcome)).into_response());
        }
    };

    // Replay protection: the delivery id alone identifies the delivery (an edited event header
    // does not make a replay new). Recorded only with, or once, the envelope is in the queue.
    let delivery_id = match delivery {
        DeliveryId::NotNamed => None,
        DeliveryId::Missing { expected_in } => return Err(GatewayError::MissingDeliveryId { expected_in }),
        DeliveryId::Found(id) => Some(id),
    };
    let envelope = Envelope::webhook(
        target.connector_id,
        target.project_id,
        received_at,
        event_type.clone(),
        delivery_id.clone(),
        payload.passed_on(),
    )
    .with_config(connector.mapping_config(IngestionKind::Webhook, &instance.config));
    let message = ingest::message(state, key, &envelope)?;
    match &delivery_id {
        None => ingest::send(state, &message).await?,
        Some(id) => {
            if replay::enqueue_once(state, key, id, connector.replay_window(), &message).await? == Enqueued::Duplicate {
                tracing::info!("webhook already accepted: duplicate delivery");
                let outcome = Outcome { status: "duplicate", delivery_id, event_type, reason: None };
                return Ok((StatusCode::ACCEPTED, Json(outcome)).into_response());
            }
        }
    }
    tracing::info!("webhook accepted");
    let outcome = Outcome { status: "accepted", delivery_id, event_type, reason: None };
    Ok((StatusCode::ACCEPTED, Json(outcome)).into_response())
}

/// Reads the whole body, refusing (413) as soon as it is known to exceed `limit`: from
/// `Content-Length` before reading, or while reading when the header is absent or lies. At
/// most `limit` bytes are ever buffered.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, GatewayError> {
    let too_large = GatewayError::PayloadTooLarge { limit_bytes: limit };
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large);
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(too_large),
        Err(error) => {
            tracing::info!(error = %error, "request body could not be read");
            Err(GatewayError::BodyUnreadable)
        }
    }
}

/// Reads the instance's current and previous secret (when the scheme needs one) and verifies
/// the raw bytes with them.
async fn verify(
    state: &GatewayState,
    instance: &InstanceRecord,
    loaded: &LoadedConnector,
    request: &WebhookRequest<'_>,
) -> Result<(), GatewayError> {
    let secrets = match loaded.connector.webhook_secret_field() {
        Some(field) => read_secrets(state, instance, field).await?,
        None => Vec::new(),
    };
    let exposed: Vec<&str> = secrets.iter().map(|s| s.expose_secret()).collect();
    let keys = state.keys.as_deref().map(|keys| keys as &dyn KeySource);
    let ctx = VerifyContext { secrets: &exposed, config: &instance.config, keys, now: Utc::now() };
    match loaded.connector.verify_webhook_with(request, &ctx).await {
        Ok(()) => Ok(()),
        Err(reason @ VerifyError::KeyUnavailable(_)) => {
            Err(GatewayError::KeyUnavailable { reason, retry_after: state.settings.unavailable_retry_after })
        }
        Err(reason) => Err(GatewayError::Unauthorized(reason)),
    }
}

/// Answers a handshake; nothing is enqueued. An HMAC challenge reads the instance's current
/// secret; a subscription is confirmed by a GET through the fetcher (the egress guard).
async fn answer_handshake(
    state: &GatewayState,
    instance: &InstanceRecord,
    reply: HandshakeReply,
) -> Result<Response, GatewayError> {
    tracing::info!("handshake answered");
    match reply {
        HandshakeReply::Echo(answer) => Ok(handshake_response(&answer)),
        HandshakeReply::Header { name, value } => {
            let name = header::HeaderName::try_from(name.as_str()).map_err(|_| bad_handshake("the header name"))?;
            let value = HeaderValue::try_from(value.as_str()).map_err(|_| bad_handshake("the header value"))?;
            Ok((StatusCode::OK, [(name, value)]).into_response())
        }
        HandshakeReply::Challenge(challenge) => {
            let secrets = read_secrets(state, instance, challenge.secret_field()).await?;
            match secrets.first() {
                Some(secret) => Ok((StatusCode::OK, Json(challenge.answer(secret.expose_secret()))).into_response()),
                None => Err(GatewayError::Unauthorized(VerifyError::NoSecretConfigured)),
            }
        }
        HandshakeReply::Confirm { url } => {
            let keys =
                state.keys.as_ref().ok_or_else(|| GatewayError::HandshakeFailed("no fetcher is configured".into()))?;
            keys.fetcher().get(&url).await.map_err(|error| GatewayError::HandshakeFailed(error.to_string()))?;
            Ok((StatusCode::OK, Json(serde_json::json!({"status": "confirmed"}))).into_response())
        }
    }
}

fn bad_handshake(what: &str) -> GatewayError {
    GatewayError::InvalidJson(format!("the handshake cannot be answered: {what} is not valid in a response header"))
}

/// The request's decoded query parameters (Microsoft Graph sends `validationToken` there).
fn query_pairs(parts: &axum::http::request::Parts) -> Vec<(String, String)> {
    parts.uri.query().map(|q| form::form_pairs(q.as_bytes())).unwrap_or_default()
}

/// The values of `field` in the current credentials and, within the rotation grace period, the
/// previous ones, in that order.
async fn read_secrets(
    state: &GatewayState,
    instance: &InstanceRecord,
    field: &str,
) -> Result<Vec<SecretString>, GatewayError> {
    let versions =
        state.secrets.get_credentials(&instance.key()).await.map_err(|source| GatewayError::Unavailable {
            action: "reading the webhook secret",
            retry_after: state.settings.unavailable_retry_after,
            source,
        })?;
    let Some(versions) = versions else { return Ok(Vec::new()) };
    let previous =
        versions.previous_within(state.settings.secret_rotation_grace, Utc::now()).and_then(|p| p.get(field));
    Ok(versions.current.get(field).into_iter().chain(previous).cloned().collect())
}

/// 200 with the value a handshake echoes: a string as plain text, anything else as JSON.
fn handshake_response(answer: &Value) -> Response {
    match answer {
        Value::String(text) => {
            let content_type = HeaderValue::from_static("text/plain; charset=utf-8");
            (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], text.clone()).into_response()
        }
        other => (StatusCode::OK, Json(other.clone())).into_response(),
    }
}

/// The request headers as the verifier reads them (values that are not text are skipped).
fn core_headers(headers: &HeaderMap) -> Headers {
    headers.iter().filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?))).collect()
}
