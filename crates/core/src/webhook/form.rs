//! Form-encoded bodies (`application/x-www-form-urlencoded`: Twilio, Slack interactivity): the
//! name/value pairs a signature covers, and the object mapping reads.

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::mapping::projection::Projection;

/// The form field whose value is parsed as JSON when it holds an object or an array (Slack
/// interactivity posts `payload=<JSON>`).
pub const JSON_FORM_FIELD: &str = "payload";

/// Whether a `Content-Type` value names a form-encoded body.
pub fn is_form_content_type(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// The decoded name/value pairs of a form body, in the order received.
pub fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).map(|(n, v)| (n.into_owned(), v.into_owned())).collect()
}

/// A form body as a JSON object: each field a string, a repeated field an array of strings in
/// the order received, and a `payload` field holding a JSON object or array parsed.
pub fn form_object(body: &[u8]) -> Value {
    let mut object = Map::new();
    for (name, value) in form_pairs(body) {
        let value = if name == JSON_FORM_FIELD {
            match serde_json::from_str::<Value>(&value) {
                Ok(json @ (Value::Object(_) | Value::Array(_))) => json,
                _ => Value::String(value),
            }
        } else {
            Value::String(value)
        };
        match object.get_mut(&name) {
            None => {
                object.insert(name, value);
            }
            Some(Value::Array(values)) => values.push(value),
            Some(first) => {
                let first = first.take();
                object.insert(name, Value::Array(vec![first, value]));
            }
        }
    }
    Value::Object(object)
}

/// The payload of a body: a form body (by its `Content-Type`) as an object, anything else as
/// JSON. A body labelled as a form that is a JSON object or array is read as JSON: clients such
/// as `curl -d` label raw JSON that way, and a real form body is never JSON.
pub fn payload_of(content_type: Option<&str>, body: &[u8]) -> Result<Value, serde_json::Error> {
    match content_type {
        Some(content_type) if is_form_content_type(content_type) => match serde_json::from_slice(body) {
            Ok(json @ (Value::Object(_) | Value::Array(_))) => Ok(json),
            _ => Ok(form_object(body)),
        },
        _ => serde_json::from_slice(body),
    }
}

/// A webhook body as the webhook gateway reads it ([`read_payload`]).
#[derive(Debug)]
pub struct BodyPayload<'a> {
    /// What the connector's checks read: the projected parts of a JSON body, or a form body's
    /// whole object.
    pub read: Value,
    /// A JSON body's text as it came, passed on in the envelope; `None` for a form body, whose
    /// object is passed on instead.
    pub json: Option<&'a RawValue>,
}

impl BodyPayload<'_> {
    /// What the envelope carries of the body: a JSON body's text, else the form's object.
    pub fn passed_on(&self) -> PassedOn<'_> {
        match self.json {
            Some(json) => PassedOn::Text(json),
            None => PassedOn::Object(&self.read),
        }
    }
}

/// A webhook body as its envelope carries it; both are written as the JSON value itself.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum PassedOn<'a> {
    /// A JSON body's text as it came.
    Text(&'a RawValue),
    /// A form body read as an object.
    Object(&'a Value),
}

/// [`payload_of`], building only what `projection` names of a JSON body (the rest is checked to
/// be JSON and skipped) and keeping the body's text: the envelope passes it on unchanged, and
/// the normaliser reads what its mapping needs from it.
pub fn read_payload<'a>(
    content_type: Option<&str>,
    body: &'a [u8],
    projection: &Projection,
) -> Result<BodyPayload<'a>, serde_json::Error> {
    if content_type.is_some_and(is_form_content_type) {
        return match serde_json::from_slice::<&RawValue>(body) {
            Ok(json) if json.get().starts_with(['{', '[']) => json_payload(json, projection),
            _ => Ok(BodyPayload { read: form_object(body), json: None }),
        };
    }
    json_payload(serde_json::from_slice(body)?, projection)
}

/// A JSON body's projected parts, and its text.
fn json_payload<'a>(json: &'a RawValue, projection: &Projection) -> Result<BodyPayload<'a>, serde_json::Error> {
    Ok(BodyPayload { read: projection.parse_str(json.get())?, json: Some(json) })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fields_are_decoded_and_repeated_ones_become_arrays() {
        let body = b"To=%2B18005551212&Body=hello+world&Digits=5678&Digits=1234";
        assert_eq!(form_object(body), json!({"To": "+18005551212", "Body": "hello world", "Digits": ["5678", "1234"]}));
    }

    #[test]
    fn a_payload_field_holding_json_is_parsed_and_other_text_is_kept() {
        let body = b"payload=%7B%22type%22%3A%22block_actions%22%2C%22user%22%3A%7B%22id%22%3A%22U1%22%7D%7D";
        assert_eq!(form_object(body), json!({"payload": {"type": "block_actions", "user": {"id": "U1"}}}));
        assert_eq!(form_object(b"payload=hello"), json!({"payload": "hello"}));
        assert_eq!(form_object(b"payload=42"), json!({"payload": "42"}));
    }

    #[test]
    fn the_content_type_decides_how_a_body_is_read() {
        let form = Some("application/x-www-form-urlencoded; charset=utf-8");
        assert_eq!(payload_of(form, b"a=1").unwrap(), json!({"a": "1"}));
        assert_eq!(payload_of(Some("application/json"), b"{\"a\":1}").unwrap(), json!({"a": 1}));
        assert!(payload_of(None, b"a=1").is_err());
    }

    #[test]
    fn json_labelled_as_a_form_is_read_as_json() {
        let form = Some("application/x-www-form-urlencoded");
        assert_eq!(payload_of(form, b"{\"action\":\"opened\"}").unwrap(), json!({"action": "opened"}));
        assert_eq!(payload_of(form, b"a=%7B%7D").unwrap(), json!({"a": "{}"}));
    }
}
