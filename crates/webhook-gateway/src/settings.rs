//! Limits the gateway enforces, with the specification's defaults and environment overrides.

use std::time::Duration;

/// Largest accepted webhook body (spec: 256 KB).
pub const DEFAULT_BODY_LIMIT_BYTES: usize = 256 * 1024;
/// Deliveries accepted per instance per window (spec: 100 per minute).
pub const DEFAULT_RATE_LIMIT: u32 = 100;
/// Length of a rate-limit window.
pub const DEFAULT_RATE_WINDOW: Duration = Duration::from_secs(60);
/// How long a provider is asked to wait when the queue or a store is unavailable.
pub const DEFAULT_UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(10);

/// Overrides [`GatewaySettings::body_limit_bytes`].
pub const ENV_BODY_LIMIT_BYTES: &str = "SWITCHBOARD_WEBHOOK_BODY_LIMIT_BYTES";
/// Overrides [`GatewaySettings::rate_limit`] (deliveries per instance per minute).
pub const ENV_RATE_LIMIT_PER_MINUTE: &str = "SWITCHBOARD_WEBHOOK_RATE_LIMIT_PER_MINUTE";

/// The gateway's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewaySettings {
    /// Bodies larger than this are refused with 413 without being read further.
    pub body_limit_bytes: usize,
    /// Deliveries accepted per instance per [`rate_window`](Self::rate_window); more get 429.
    pub rate_limit: u32,
    /// The rate-limit window.
    pub rate_window: Duration,
    /// `Retry-After` sent with 503 when the queue or a store is unavailable.
    pub unavailable_retry_after: Duration,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            body_limit_bytes: DEFAULT_BODY_LIMIT_BYTES,
            rate_limit: DEFAULT_RATE_LIMIT,
            rate_window: DEFAULT_RATE_WINDOW,
            unavailable_retry_after: DEFAULT_UNAVAILABLE_RETRY_AFTER,
        }
    }
}

/// An override in the environment is not a positive whole number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {name} must be a positive whole number, not {value:?}")]
pub struct SettingsError {
    name: &'static str,
    value: String,
}

impl GatewaySettings {
    /// The defaults, with [`ENV_BODY_LIMIT_BYTES`] and [`ENV_RATE_LIMIT_PER_MINUTE`] applied.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The defaults, with overrides read through `lookup` (the environment, or a test's map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let mut settings = Self::default();
        if let Some(limit) = positive(&lookup, ENV_BODY_LIMIT_BYTES)? {
            settings.body_limit_bytes = limit;
        }
        if let Some(rate) = positive(&lookup, ENV_RATE_LIMIT_PER_MINUTE)? {
            settings.rate_limit = u32::try_from(rate)
                .map_err(|_| SettingsError { name: ENV_RATE_LIMIT_PER_MINUTE, value: rate.to_string() })?;
            settings.rate_window = DEFAULT_RATE_WINDOW;
        }
        Ok(settings)
    }
}

fn positive(lookup: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<Option<usize>, SettingsError> {
    let Some(value) = lookup(name).filter(|v| !v.trim().is_empty()) else { return Ok(None) };
    match value.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(SettingsError { name, value }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_specification() {
        let settings = GatewaySettings::from_lookup(|_| None).unwrap();
        assert_eq!(settings.body_limit_bytes, 256 * 1024);
        assert_eq!((settings.rate_limit, settings.rate_window), (100, Duration::from_secs(60)));
    }

    #[test]
    fn environment_overrides_both_limits_and_rejects_nonsense() {
        let settings = GatewaySettings::from_lookup(|name| match name {
            ENV_BODY_LIMIT_BYTES => Some("1024".into()),
            ENV_RATE_LIMIT_PER_MINUTE => Some("5".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!((settings.body_limit_bytes, settings.rate_limit), (1024, 5));

        let err = GatewaySettings::from_lookup(|name| (name == ENV_RATE_LIMIT_PER_MINUTE).then(|| "0".into()));
        assert!(err.unwrap_err().to_string().contains(ENV_RATE_LIMIT_PER_MINUTE));
    }
}
