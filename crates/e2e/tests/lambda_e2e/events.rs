//! The events Lambda hands the functions, as AWS sends them: API Gateway HTTP API (payload 2.0)
//! requests, SQS batches from the event source mapping, and EventBridge scheduled events.

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use base64::Engine as _;
use serde_json::{Map, Value, json};

/// An HTTP API request on the `$default` stage. `claims` are what the JWT authorizer puts in
/// the request context (absent on routes without an authorizer, like webhooks).
pub fn http_request(
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &str,
    claims: Option<Value>,
) -> Value {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let mut header_map: Map<String, Value> = headers.iter().map(|(k, v)| (k.to_lowercase(), json!(v))).collect();
    header_map.insert("host".into(), json!("abc123defg.execute-api.us-east-1.amazonaws.com"));
    header_map.insert("x-forwarded-proto".into(), json!("https"));
    let mut context = json!({
        "accountId": "123456789012",
        "apiId": "abc123defg",
        "domainName": "abc123defg.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "abc123defg",
        "requestId": uuid::Uuid::new_v4().to_string(),
        "routeKey": "$default",
        "stage": "$default",
        "time": "01/May/2024:12:00:00 +0000",
        "timeEpoch": 1_714_564_800_000_u64,
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "e2e"}
    });
    if let Some(claims) = claims {
        context["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
    }
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": header_map,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": false
    })
}

/// JWT claims of a dashboard user who may use `projects` (comma-separated, `*` for all).
pub fn claims(subject: &str, projects: &str, admin: bool) -> Value {
    json!({
        "sub": subject,
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_E2E",
        "switchboard:projects": projects,
        "switchboard:admin": admin.to_string(),
        "token_use": "access"
    })
}

/// An HTTP function's answer (`lambda_http`'s API Gateway v2 response).
#[derive(Debug)]
pub struct HttpReply {
    /// Status code.
    pub status: u16,
    /// Body text.
    pub body: String,
}

impl HttpReply {
    /// Reads a function's response document.
    pub fn from_response(response: &Value) -> Self {
        let status = u16::try_from(response["statusCode"].as_u64().unwrap()).unwrap();
        let text = response["body"].as_str().unwrap_or_default();
        let body = if response["isBase64Encoded"].as_bool() == Some(true) {
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(text).unwrap()).unwrap()
        } else {
            text.to_owned()
        };
        Self { status, body }
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// The SQS event the ingest queue's event source mapping would send for `messages`.
pub fn sqs_event(queue_arn: &str, messages: &[Message]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|message| {
            let system: Map<String, Value> = message
                .attributes()
                .map(|attributes| attributes.iter().map(|(k, v)| (k.as_str().to_owned(), json!(v))).collect())
                .unwrap_or_default();
            let attributes: Map<String, Value> = message
                .message_attributes()
                .map(|attributes| {
                    attributes
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                json!({"stringValue": v.string_value(), "dataType": v.data_type(),
                                "stringListValues": [], "binaryListValues": []}),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "messageId": message.message_id(),
                "receiptHandle": message.receipt_handle(),
                "body": message.body(),
                "attributes": system,
                "messageAttributes": attributes,
                "md5OfBody": message.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The system attributes to ask SQS for so [`sqs_event`] carries what Lambda's would.
pub fn sqs_system_attributes() -> Vec<MessageSystemAttributeName> {
    vec![MessageSystemAttributeName::All]
}

/// The poller's schedule firing: the "default notification" EventBridge Scheduler (SAM
/// `ScheduleV2`, no `Input`) delivers, whose `detail` is the *string* `"{}"`, not an object.
pub fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": "2024-05-01T12:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/switchboard-poller"],
        "detail": "{}"
    })
}
