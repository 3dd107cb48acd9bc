//! Whatever a caller sends — any header values, any body bytes, any clock — verification answers
//! with a result and never panics.

use crate::webhook_presets::{at, vectors};
use proptest::prelude::*;
use switchboard_core::webhook::{Headers, Verifier, WebhookRequest};

/// Header values: anything at all, or something close to each provider's format (so parsing gets
/// past the first check and reaches timestamps, decoding and the HMAC).
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,80}",
        (any::<i64>(), "[0-9a-fA-F]{0,70}").prop_map(|(t, sig)| format!("t={t},v1={sig}")),
        "(v1,[A-Za-z0-9+/=]{0,48} ?){0,3}",
        "(sha256=|v0=|sha1=)?[0-9a-f]{0,70}",
        any::<i64>().prop_map(|t| t.to_string()),
        "[0-9]{0,40}",
    ]
}

fn headers_for(names: Vec<&'static str>) -> impl Strategy<Value = Headers> {
    let count = names.len();
    (proptest::collection::vec(proptest::option::of(header_value()), count), any::<bool>()).prop_map(
        move |(values, lowercase)| {
            names
                .iter()
                .zip(values)
                .filter_map(|(name, value)| {
                    let name = if lowercase { name.to_ascii_lowercase() } else { (*name).to_owned() };
                    value.map(|value| (name, value))
                })
                .collect()
        },
    )
}

fn presets() -> Vec<Verifier> {
    vectors().iter().map(|v| v.verifier()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn verify_never_panics_on_arbitrary_deliveries(
        (preset, headers) in (0..vectors().len())
            .prop_flat_map(|i| (Just(i), headers_for(vectors()[i].headers.iter().map(|(n, _)| *n).collect()))),
        body in proptest::collection::vec(any::<u8>(), 0..512),
        url in proptest::option::of(any::<String>()),
        secrets in proptest::collection::vec(prop_oneof![any::<String>(), Just("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned())], 0..3),
        now in -8_000_000_000_i64..8_000_000_000,
    ) {
        let presets = presets();
        let verifier = &presets[preset];
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let request = WebhookRequest { headers: &headers, body: &body, url: url.as_deref() };
        let _ = verifier.verify(&request, &secrets, at(now));
    }

    #[test]
    fn an_authentic_delivery_verifies_exactly_while_its_timestamp_is_fresh(
        preset in 0..vectors().len(),
        offset in prop_oneof![-400_i64..400, -8_000_000_000_i64..8_000_000_000],
    ) {
        let v = &vectors()[preset];
        let now = v.now + offset;
        let result = v.verify_with(&v.headers(), v.body, &[v.secret], now);
        let fresh = v.tolerance.is_none_or(|tolerance| offset.abs() <= i64::from(tolerance));
        prop_assert_eq!(result.is_ok(), fresh, "{} at {}: {:?}", v.provider, now, result);
    }

    #[test]
    fn verify_never_panics_on_arbitrary_header_names(
        pairs in proptest::collection::vec((any::<String>(), any::<String>()), 0..6),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let headers: Headers = pairs.into_iter().collect();
        let request = WebhookRequest { headers: &headers, body: &body, url: None };
        for verifier in presets() {
            let _ = verifier.verify(&request, &["secret"], at(0));
        }
    }
}
