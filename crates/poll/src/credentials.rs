//! Credentials as the engine uses them: the secret store's [`Credentials`] (values never in
//! `Debug`), plus helpers to read a value and to scrub values out of error text.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::ExposeSecret;

pub use switchboard_core::ports::Credentials;

/// Shortest value scrubbed: shorter ones (a region, `"no"`) would blank out ordinary words.
const MIN_SECRET_LEN: usize = 4;

/// All but RFC 3986 unreserved characters (how request templates escape query values).
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The value under `key`, exposed; only for building requests.
pub fn expose<'c>(credentials: &'c Credentials, key: &str) -> Option<&'c str> {
    credentials.get(key).map(|s| s.expose_secret())
}

/// The credentials without `key`.
pub fn without(credentials: &Credentials, key: &str) -> Credentials {
    credentials.keys().filter(|k| *k != key).filter_map(|k| expose(credentials, k).map(|v| (k, v))).collect()
}

/// Whether `text` contains a secret value (of 4 characters or more) as it is.
pub fn contains_secret(text: &str, credentials: &Credentials) -> bool {
    secret_values(credentials).any(|secret| text.contains(secret))
}

/// Replaces every secret value (of 4 characters or more) found in `text` with `***`: as it is,
/// percent-encoded (as in a query string, either case of hex digits, `+` or `%20` for spaces),
/// and base64-encoded alone or as a `user:password` pair with any other value (HTTP Basic
/// auth, OAuth2 client authentication).
pub fn redact(text: &str, credentials: &Credentials) -> String {
    let secrets: Vec<&str> = secret_values(credentials).collect();
    let mut forms: Vec<String> = Vec::new();
    for secret in &secrets {
        forms.push((*secret).to_owned());
        forms.extend(percent_forms(secret));
        forms.extend(base64_forms(secret.as_bytes()));
    }
    // Basic auth pairs: the values as they are, and form-encoded (RFC 6749 §2.3.1). A user
    // name may be short, so every value of the map takes part on the left.
    let all: Vec<&str> = credentials.keys().filter_map(|k| expose(credentials, k)).collect();
    for user in &all {
        for password in &secrets {
            if user == password {
                continue;
            }
            forms.extend(base64_forms(format!("{user}:{password}").as_bytes()));
            forms.extend(base64_forms(format!("{password}:{user}").as_bytes()));
            let form = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            forms.extend(base64_forms(format!("{}:{}", form(user), form(password)).as_bytes()));
        }
    }
    // Longest first, so a pair's encoding goes before a value inside it.
    forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
    forms.dedup();
    let mut out = text.to_owned();
    for form in forms.iter().filter(|f| f.len() >= MIN_SECRET_LEN) {
        if out.contains(form.as_str()) {
            out = out.replace(form.as_str(), "***");
        }
    }
    out
}

fn secret_values(credentials: &Credentials) -> impl Iterator<Item = &str> {
    credentials.keys().filter_map(|k| expose(credentials, k)).filter(|v| v.len() >= MIN_SECRET_LEN)
}

/// `secret` percent-encoded as query strings carry it.
fn percent_forms(secret: &str) -> Vec<String> {
    let strict = utf8_percent_encode(secret, RFC3986).to_string();
    let form = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>();
    let everything = utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string();
    let mut forms = Vec::new();
    for encoded in [strict, form, everything] {
        if encoded != secret {
            forms.push(lower_hex(&encoded));
            forms.push(encoded);
        }
    }
    forms
}

/// `encoded` with the hex digits of its `%XX` escapes in lower case.
fn lower_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut escape = 0;
    for c in encoded.chars() {
        if c == '%' {
            escape = 2;
            out.push(c);
        } else if escape > 0 {
            escape -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `bytes` base64-encoded, standard and URL-safe alphabets, with and without padding.
fn base64_forms(bytes: &[u8]) -> [String; 4] {
    [STANDARD.encode(bytes), STANDARD_NO_PAD.encode(bytes), URL_SAFE.encode(bytes), URL_SAFE_NO_PAD.encode(bytes)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_removes_secret_values() {
        let creds: Credentials = [("token", "ghp_supersecret"), ("short", "ab")].into_iter().collect();
        assert_eq!(redact("bad token ghp_supersecret here ab", &creds), "bad token *** here ab");
    }

    #[test]
    fn basic_auth_in_base64_is_removed() {
        let creds: Credentials = [("email", "me@example.com"), ("apiToken", "s3cr3t/t0ken+x")].into_iter().collect();
        let basic = base64::engine::general_purpose::STANDARD.encode("me@example.com:s3cr3t/t0ken+x");
        let text = format!("upstream said: header was 'Basic {basic}'");
        let scrubbed = redact(&text, &creds);
        assert_eq!(scrubbed, "upstream said: header was 'Basic ***'");
        // OAuth2 client authentication form-encodes both parts first (RFC 6749 §2.3.1).
        let creds: Credentials = [("clientId", "id 1"), ("clientSecret", "p@ss:word")].into_iter().collect();
        let pair = base64::engine::general_purpose::STANDARD.encode("id+1:p%40ss%3Aword");
        assert!(!redact(&format!("Basic {pair}"), &creds).contains(&pair[..12]));
    }

    #[test]
    fn percent_encoded_query_values_are_removed() {
        let creds: Credentials = [("token", "a+b/c=d e&f")].into_iter().collect();
        for text in [
            "GET /1/boards?key=k&token=a%2Bb%2Fc%3Dd%20e%26f failed",
            "GET /1/boards?key=k&token=a%2bb%2fc%3dd%20e%26f failed",
            "GET /1/boards?key=k&token=a%2Bb%2Fc%3Dd+e%26f failed",
        ] {
            let scrubbed = redact(text, &creds);
            assert_eq!(scrubbed, "GET /1/boards?key=k&token=*** failed", "{text}");
        }
    }

    #[test]
    fn without_drops_one_key() {
        let creds: Credentials = [("a", "1"), ("b", "2")].into_iter().collect();
        assert_eq!(without(&creds, "a").keys().collect::<Vec<_>>(), ["b"]);
    }
}
