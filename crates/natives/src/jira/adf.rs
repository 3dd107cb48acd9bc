//! Plain text of a Jira rich-text value: REST API v3 returns comment bodies in the Atlassian
//! Document Format (a JSON tree whose `text` nodes hold the words); API v2 and admin webhooks
//! return plain strings. Only the text is needed (to find issue keys in it).

use serde_json::Value;

/// The text of a plain string or of every `text` node of an ADF document, in document order,
/// blocks separated by a space.
pub fn plain_text(value: &Value) -> String {
    let mut out = String::new();
    collect(value, &mut out);
    out.trim().to_owned()
}

fn collect(value: &Value, out: &mut String) {
    match value {
        Value::String(text) => out.push_str(text),
        Value::Array(nodes) => nodes.iter().for_each(|node| collect(node, out)),
        Value::Object(node) => {
            if let Some(Value::String(text)) = node.get("text") {
                out.push_str(text);
            }
            if let Some(content) = node.get("content") {
                collect(content, out);
                out.push(' ');
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_and_plain_strings_give_their_text() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "Fixed in "}, {"type": "text", "text": "OPS-7"}]},
            {"type": "paragraph", "content": [{"type": "text", "text": "see ED-2"}]}
        ]});
        assert_eq!(plain_text(&doc), "Fixed in OPS-7 see ED-2");
        assert_eq!(plain_text(&json!("Just in time for AtlasCamp!")), "Just in time for AtlasCamp!");
        assert_eq!(plain_text(&json!(null)), "");
    }
}
