//! Credentials as the engine uses them: the secret store's [`Credentials`] (values never in
//! `Debug`), plus helpers to read a value and to scrub values out of error text.

use secrecy::ExposeSecret;

pub use switchboard_core::ports::Credentials;

/// The value under `key`, exposed; only for building requests.
pub fn expose<'c>(credentials: &'c Credentials, key: &str) -> Option<&'c str> {
    credentials.get(key).map(|s| s.expose_secret())
}

/// The credentials without `key`.
pub fn without(credentials: &Credentials, key: &str) -> Credentials {
    credentials.keys().filter(|k| *k != key).filter_map(|k| expose(credentials, k).map(|v| (k, v))).collect()
}

/// Replaces every secret value (of 4 characters or more) found in `text` with `***`.
pub fn redact(text: &str, credentials: &Credentials) -> String {
    let mut out = text.to_owned();
    for key in credentials.keys() {
        if let Some(secret) = expose(credentials, key).filter(|v| v.len() >= 4)
            && out.contains(secret)
        {
            out = out.replace(secret, "***");
        }
    }
    out
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
    fn without_drops_one_key() {
        let creds: Credentials = [("a", "1"), ("b", "2")].into_iter().collect();
        assert_eq!(without(&creds, "a").keys().collect::<Vec<_>>(), ["b"]);
    }
}
