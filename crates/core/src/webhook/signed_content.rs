//! `signedContent` templates such as `v0:{timestamp}:{body}`: parsed once, fed to the HMAC
//! piece by piece so the body is never copied.

/// One piece of a signed-content template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Piece<'t> {
    /// Text signed as is.
    Literal(&'t str),
    /// The raw request body.
    Body,
    /// The timestamp exactly as received.
    Timestamp,
    /// The message id exactly as received.
    Id,
    /// The request URL.
    Url,
    /// The form-encoded body's parameters sorted by name (then value), each written as its name
    /// followed by its value (Twilio).
    Form,
}

/// The placeholders a template may use, for error messages.
pub(super) const PLACEHOLDERS: &str = "{body}, {timestamp}, {id}, {url}, {form}";

/// A parsed `signedContent` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SignedContent {
    source: String,
}

/// The values placeholders stand for in one delivery.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Values<'a> {
    /// Raw body.
    pub body: &'a [u8],
    /// Timestamp as received.
    pub timestamp: &'a str,
    /// Message id as received.
    pub id: &'a str,
    /// Request URL.
    pub url: &'a str,
}

impl SignedContent {
    /// Parses a template; the error says which placeholder is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        for piece in Pieces(text) {
            piece?;
        }
        Ok(Self { source: text.to_owned() })
    }

    /// The template that signs only the body.
    pub fn body_only() -> Self {
        Self { source: "{body}".to_owned() }
    }

    /// Whether the template uses `placeholder`.
    pub fn uses(&self, placeholder: Piece<'_>) -> bool {
        self.pieces().any(|p| p == placeholder)
    }

    /// Feeds the signed content, piece by piece.
    pub fn feed(&self, values: &Values<'_>, mut update: impl FnMut(&[u8])) {
        for piece in self.pieces() {
            match piece {
                Piece::Literal(text) => update(text.as_bytes()),
                Piece::Body => update(values.body),
                Piece::Timestamp => update(values.timestamp.as_bytes()),
                Piece::Id => update(values.id.as_bytes()),
                Piece::Url => update(values.url.as_bytes()),
                Piece::Form => update(sorted_form(values.body).as_bytes()),
            }
        }
    }

    fn pieces(&self) -> impl Iterator<Item = Piece<'_>> {
        // `parse` accepted the source, so no piece is an error.
        Pieces(&self.source).filter_map(Result::ok)
    }
}

/// Twilio's form string: the decoded parameters sorted by name and then by value (a repeated
/// identical pair counts once), each as name followed by value.
fn sorted_form(body: &[u8]) -> String {
    let mut pairs = super::form::form_pairs(body);
    pairs.sort();
    pairs.dedup();
    pairs.into_iter().map(|(name, value)| name + &value).collect()
}

/// Splits a template into pieces; a `{` must open a known placeholder.
struct Pieces<'t>(&'t str);

impl<'t> Iterator for Pieces<'t> {
    type Item = Result<Piece<'t>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.0;
        if rest.is_empty() {
            return None;
        }
        let Some(open) = rest.find('{') else {
            self.0 = "";
            return Some(Ok(Piece::Literal(rest)));
        };
        if open > 0 {
            self.0 = &rest[open..];
            return Some(Ok(Piece::Literal(&rest[..open])));
        }
        let Some(close) = rest.find('}') else {
            self.0 = "";
            return Some(Err(format!("unclosed '{{' (placeholders: {PLACEHOLDERS})")));
        };
        self.0 = &rest[close + 1..];
        Some(match &rest[1..close] {
            "body" => Ok(Piece::Body),
            "timestamp" => Ok(Piece::Timestamp),
            "id" => Ok(Piece::Id),
            "url" => Ok(Piece::Url),
            "form" => Ok(Piece::Form),
            other => Err(format!("unknown placeholder {{{other}}} (placeholders: {PLACEHOLDERS})")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(template: &str, values: &Values<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        SignedContent::parse(template).unwrap().feed(values, |bytes| out.extend_from_slice(bytes));
        out
    }

    #[test]
    fn slack_template_signs_version_timestamp_and_body() {
        let values = Values { body: b"a=1", timestamp: "1531420618", ..Values::default() };
        assert_eq!(signed("v0:{timestamp}:{body}", &values), b"v0:1531420618:a=1");
    }

    #[test]
    fn trello_template_appends_the_url_to_the_body() {
        let values = Values { body: b"{}", url: "https://x.test/cb", ..Values::default() };
        assert_eq!(signed("{body}{url}", &values), b"{}https://x.test/cb");
    }

    #[test]
    fn twilio_template_signs_the_url_and_the_sorted_form_parameters() {
        let body = b"To=%2B18005551212&Digits=5678&Digits=1234&Caller=x";
        let values = Values { body, url: "https://x.test/a?b=1", ..Values::default() };
        assert_eq!(signed("{url}{form}", &values), b"https://x.test/a?b=1CallerxDigits1234Digits5678To+18005551212");
    }

    #[test]
    fn unknown_and_unclosed_placeholders_are_rejected() {
        assert!(SignedContent::parse("{timestamp}.{payload}").unwrap_err().contains("{payload}"));
        assert!(SignedContent::parse("{body").unwrap_err().contains("unclosed"));
    }

    #[test]
    fn uses_reports_placeholders() {
        let content = SignedContent::parse("{id}.{timestamp}.{body}").unwrap();
        assert!(content.uses(Piece::Id) && content.uses(Piece::Timestamp) && content.uses(Piece::Body));
        assert!(!content.uses(Piece::Url));
    }
}
