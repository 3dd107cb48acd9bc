//! Reading the signature header: one signature, `key=value` pairs (Stripe, PagerDuty) or a list
//! of versioned entries (Standard Webhooks).

/// What precedes a signature or token in a `plain` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Prefix {
    /// Nothing.
    None,
    /// This text must be present (e.g. `sha256=`, `v0=`).
    Required(String),
    /// This text is removed when present (the `webhook_secret` form's `sha256=`).
    Tolerated(String),
}

impl Prefix {
    /// Removes the prefix; `None` when a required prefix is absent.
    pub fn strip<'v>(&self, value: &'v str) -> Option<&'v str> {
        match self {
            Self::None => Some(value),
            Self::Required(prefix) => value.strip_prefix(prefix.as_str()),
            Self::Tolerated(prefix) => Some(value.strip_prefix(prefix.as_str()).unwrap_or(value)),
        }
    }
}

/// How signatures are laid out in the header (compiled from `signatureFormat`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Layout {
    /// The header is one signature after a prefix.
    Plain(Prefix),
    /// `key=value` pairs; several signature entries may be present.
    KeyValue {
        /// Between pairs.
        separator: String,
        /// Key of signature entries.
        signature_key: String,
        /// Key of the timestamp entry, if the header carries it.
        timestamp_key: Option<String>,
    },
    /// Entries such as `v1,<sig>` separated by `separator`.
    List {
        /// Between entries.
        separator: String,
        /// Start of accepted entries, e.g. `v1,`.
        version_prefix: String,
    },
}

/// The parts of a signature header, still encoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct SignatureHeader<'v> {
    /// Candidate signatures (any may match).
    pub signatures: Vec<&'v str>,
    /// The timestamp entry, for layouts that carry one.
    pub timestamp: Option<&'v str>,
}

impl Layout {
    /// Splits a header value; the error describes what is missing (never the value itself).
    pub fn parse<'v>(&self, value: &'v str) -> Result<SignatureHeader<'v>, String> {
        match self {
            Self::Plain(prefix) => {
                let value = value.trim();
                let signature = prefix.strip(value).ok_or_else(|| match prefix {
                    Prefix::Required(p) => format!("it does not start with {p:?}"),
                    _ => String::from("it has no signature"),
                })?;
                let signature = signature.trim();
                if signature.is_empty() {
                    return Err("it has no signature".to_owned());
                }
                Ok(SignatureHeader { signatures: vec![signature], timestamp: None })
            }
            Self::KeyValue { separator, signature_key, timestamp_key } => {
                let mut parsed = SignatureHeader::default();
                for (key, entry) in value.split(separator.as_str()).filter_map(|pair| pair.split_once('=')) {
                    let (key, entry) = (key.trim(), entry.trim());
                    if key == signature_key && !entry.is_empty() {
                        parsed.signatures.push(entry);
                    } else if Some(key) == timestamp_key.as_deref() && parsed.timestamp.replace(entry).is_some() {
                        // Two timestamps: which one is signed is ambiguous.
                        return Err(format!("it has several {key}= entries"));
                    }
                }
                if parsed.signatures.is_empty() {
                    return Err(format!("it has no {signature_key}= entry"));
                }
                if let (Some(key), None) = (timestamp_key, parsed.timestamp) {
                    return Err(format!("it has no {key}= entry"));
                }
                Ok(parsed)
            }
            Self::List { separator, version_prefix } => {
                let signatures: Vec<&str> = value
                    .split(separator.as_str())
                    .filter_map(|entry| entry.trim().strip_prefix(version_prefix.as_str()))
                    .filter(|signature| !signature.is_empty())
                    .collect();
                if signatures.is_empty() {
                    return Err(format!("it has no entry starting with {version_prefix:?}"));
                }
                Ok(SignatureHeader { signatures, timestamp: None })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripe() -> Layout {
        Layout::KeyValue { separator: ",".into(), signature_key: "v1".into(), timestamp_key: Some("t".into()) }
    }

    #[test]
    fn stripe_header_yields_every_v1_signature_and_the_timestamp() {
        let parsed = stripe().parse("t=1492774577,v1=aa,v0=cc, v1=bb").unwrap();
        assert_eq!(parsed.signatures, ["aa", "bb"]);
        assert_eq!(parsed.timestamp, Some("1492774577"));
    }

    #[test]
    fn stripe_header_without_timestamp_or_signature_is_malformed() {
        assert_eq!(stripe().parse("v1=aa").unwrap_err(), "it has no t= entry");
        assert_eq!(stripe().parse("t=1").unwrap_err(), "it has no v1= entry");
        assert_eq!(stripe().parse("t=1,t=2,v1=aa").unwrap_err(), "it has several t= entries");
    }

    #[test]
    fn standard_webhooks_list_keeps_only_the_accepted_version() {
        let layout = Layout::List { separator: " ".into(), version_prefix: "v1,".into() };
        assert_eq!(layout.parse("v1a,xx v1,aa  v2,bb v1,cc").unwrap().signatures, ["aa", "cc"]);
        assert!(layout.parse("v2,bb").is_err());
    }

    #[test]
    fn required_prefix_must_be_present_and_tolerated_prefix_may_be() {
        let required = Layout::Plain(Prefix::Required("sha256=".into()));
        assert_eq!(required.parse("sha256=ab").unwrap().signatures, ["ab"]);
        assert!(required.parse("ab").is_err());
        assert!(required.parse("sha256=").is_err());
        let tolerated = Layout::Plain(Prefix::Tolerated("sha256=".into()));
        assert_eq!(tolerated.parse("ab").unwrap().signatures, ["ab"]);
        assert_eq!(tolerated.parse("sha256=ab").unwrap().signatures, ["ab"]);
    }
}
