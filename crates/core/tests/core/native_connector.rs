//! Native connectors coexist with generic ones behind the same trait.

use std::sync::Arc;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use switchboard_core::connector::{Connector, NativeRegistry, ResolveError};
use switchboard_core::mapping::{MapError, MapReport};
use switchboard_core::polling::{HealthReport, PageStream, PollError, PollRequest};
use switchboard_core::ports::Credentials;
use switchboard_core::signal::{NormalisedSignal, rfc3339, signal_id};
use switchboard_core::webhook::{Headers, VerifyError, WebhookRequest};
use switchboard_core::{Descriptor, IngestionKind, MapContext};

/// A native connector that emits one signal per payload, whatever its shape.
struct EchoConnector {
    descriptor: Arc<Descriptor>,
}

impl EchoConnector {
    fn id(&self) -> &str {
        self.descriptor.id()
    }
}

#[async_trait::async_trait]
impl Connector for EchoConnector {
    fn receives_webhooks(&self) -> bool {
        true
    }

    fn verify_webhook(&self, request: &WebhookRequest<'_>, secrets: &[&str]) -> Result<(), VerifyError> {
        match request.headers.get("X-Echo-Token") {
            Some(token) if secrets.contains(&token) => Ok(()),
            _ => Err(VerifyError::NoSignatureMatched),
        }
    }

    fn map_item(&self, item: &Value, ctx: &MapContext<'_>) -> MapReport {
        self.map(item, ctx).unwrap_or_default()
    }

    fn map(&self, payload: &Value, ctx: &MapContext<'_>) -> Result<MapReport, MapError> {
        let external_id = payload.get("key").and_then(Value::as_str).unwrap_or("unknown").to_owned();
        let timestamp = rfc3339(ctx.received_at);
        Ok(MapReport {
            signals: vec![NormalisedSignal {
                id: signal_id(self.id(), ctx.project_id, &external_id, &timestamp, "echo"),
                source: self.id().to_owned(),
                project_id: ctx.project_id.to_owned(),
                external_id,
                signal_type: "echo".to_owned(),
                timestamp: timestamp.clone(),
                received_at: timestamp,
                summary: "echo".to_owned(),
                priority: None,
                participants: vec![],
                tags: vec![],
                related_items: vec![],
                url: None,
                ingestion: ctx.ingestion,
                event_type: None,
                raw: Default::default(),
            }],
            ..MapReport::default()
        })
    }

    fn pages<'a>(&'a self, _request: PollRequest<'a>) -> Result<Box<dyn PageStream + 'a>, PollError> {
        Err(PollError::NotPolling(self.id().to_owned()))
    }

    async fn check_health(&self, _config: &BTreeMap<String, String>, _credentials: &Credentials) -> HealthReport {
        HealthReport {
            healthy: true,
            status: None,
            latency_ms: 0,
            reason: None,
            class: None,
            refreshed_credentials: None,
        }
    }
}

fn native_descriptor(id: &str) -> Arc<Descriptor> {
    let doc = json!({
        "id": id, "name": "Echo", "description": "Native test connector", "category": "custom", "icon": "bot",
        "kind": "native",
        "auth": {"method": "none"},
        "ingestion": {"mode": "webhook", "eventTypes": [], "eventTypePath": "$.type", "verification": "none"},
        "fieldMapping": {"itemsPath": "$", "idPath": "$.key", "timestampPath": "$.at", "summaryTemplate": "",
            "signalTypeRules": [{"then": "echo"}]},
        "healthCheck": {"endpoint": "https://example.com", "method": "GET", "expectStatus": 200, "timeoutMs": 1000},
        "version": "1.0.0"
    });
    Arc::new(Descriptor::from_value(&doc, id).expect("valid"))
}

#[test]
fn native_descriptors_dispatch_to_their_registered_implementation() {
    let mut registry = NativeRegistry::new();
    registry.register("echo", |descriptor, _driver| Arc::new(EchoConnector { descriptor }));

    let connector = registry.resolve(native_descriptor("echo"), None).expect("registered");
    let ctx = MapContext {
        connector_id: "echo",
        project_id: "p1",
        ingestion: IngestionKind::Webhook,
        event_type: None,
        received_at: chrono::Utc::now(),
        config: None,
    };
    let report = connector.map(&json!({"key": "E-1"}), &ctx).expect("maps");
    assert_eq!(report.signals[0].signal_type, "echo");
    assert_eq!(report.signals[0].external_id, "E-1");

    let headers = Headers::new([("x-echo-token", "s3cret")]);
    let request = WebhookRequest { headers: &headers, body: b"{}", url: None };
    assert!(connector.verify_webhook(&request, &["s3cret"]).is_ok());
    assert!(connector.verify_webhook(&request, &["other"]).is_err());
}

#[test]
fn a_native_descriptor_without_implementation_is_a_clear_error() {
    let error = NativeRegistry::new().resolve(native_descriptor("ghost"), None).err().expect("not registered");
    assert_eq!(error, ResolveError::NativeNotRegistered("ghost".to_owned()));
    assert!(error.to_string().contains("ghost"));
}

#[test]
fn generic_descriptors_run_on_the_generic_runtime() {
    let mut doc = serde_json::to_value(native_descriptor("plain").model()).expect("serialises");
    doc["kind"] = json!("generic");
    let descriptor = Arc::new(Descriptor::from_value(&doc, "plain").expect("valid"));
    let connector = NativeRegistry::new().resolve(descriptor, None).expect("generic needs no registration");
    let ctx = MapContext {
        connector_id: "plain",
        project_id: "p1",
        ingestion: IngestionKind::Webhook,
        event_type: None,
        received_at: chrono::Utc::now(),
        config: None,
    };
    let report = connector.map(&json!({"key": "K-1", "at": 1_700_000_000}), &ctx).expect("maps");
    assert_eq!(report.signals[0].external_id, "K-1");
    assert_eq!(report.signals[0].timestamp, "2023-11-14T22:13:20Z");
}

#[test]
fn a_generic_connector_without_a_polling_driver_refuses_to_poll() {
    let descriptor = Arc::new(Descriptor::from_value(&crate::common::sample_descriptor(), "sample").expect("valid"));
    let connector = NativeRegistry::new().resolve(descriptor, None).expect("generic");
    let (config, credentials) = (BTreeMap::new(), Credentials::new());
    let error = connector.pages(PollRequest::new(&config, &credentials)).err().expect("no driver");
    assert!(matches!(error, PollError::NoDriver(ref id) if id == "sample-tracker"), "{error}");
    assert_eq!(error.class(), switchboard_core::polling::FailureClass::Config);
}
