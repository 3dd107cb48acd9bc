//! Settings from the environment: the store and queue settings the bootstrap prints, the
//! gateway's limits, the poller's concurrency and margin.

use std::collections::HashMap;
use std::time::Duration;

use switchboard_aws::resources::{Bootstrapped, QueueUrls};
use switchboard_lambda::settings::*;

fn env(pairs: &[(&str, &str)]) -> Environment {
    Environment::from_map(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
}

#[test]
fn the_environment_the_bootstrap_prints_configures_every_function() {
    let urls =
        |name: &str| QueueUrls { url: format!("http://q/{name}"), dead_letter_url: format!("http://q/{name}-dlq") };
    let stack = Bootstrapped {
        table: "switchboard-local".into(),
        ingest: urls("ingest"),
        signals: urls("signals"),
        poll_now: urls("poll-now"),
        secret_prefix: "switchboard/local".into(),
    };
    let printed: HashMap<String, String> = stack.env().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let mut names: Vec<&str> = printed.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut read = [
        ENV_TABLE_NAME,
        ENV_SECRET_PREFIX,
        ENV_INGEST_QUEUE_URL,
        ENV_INGEST_DLQ_URL,
        ENV_SIGNALS_QUEUE_URL,
        ENV_SIGNALS_DLQ_URL,
        ENV_POLL_NOW_QUEUE_URL,
    ];
    read.sort_unstable();
    assert_eq!(names, read);

    let env = Environment::from_map(printed);
    let aws = env.aws_settings().unwrap();
    assert_eq!((aws.table_name.as_str(), aws.secret_prefix.as_str()), ("switchboard-local", "switchboard/local"));
    assert_eq!(aws.secret_cache_ttl, Duration::from_secs(60));
    assert_eq!(env.required(ENV_INGEST_QUEUE_URL).unwrap(), "http://q/ingest");
    assert_eq!(env.required(ENV_SIGNALS_QUEUE_URL).unwrap(), "http://q/signals");
}

#[test]
fn missing_store_settings_are_named() {
    let err = env(&[(ENV_TABLE_NAME, "t")]).aws_settings().unwrap_err();
    assert_eq!(err.to_string(), format!("environment variable {ENV_SECRET_PREFIX} is not set"));
    let err = env(&[(ENV_TABLE_NAME, "t"), (ENV_SECRET_PREFIX, "p"), (ENV_SECRET_CACHE_SECONDS, "soon")])
        .aws_settings()
        .unwrap_err();
    assert!(err.to_string().contains(ENV_SECRET_CACHE_SECONDS));
    assert!(env(&[]).required(ENV_INGEST_QUEUE_URL).is_err());
}

#[test]
fn gateway_defaults_follow_the_specification() {
    let settings = env(&[]).gateway_settings().unwrap();
    assert_eq!(settings.body_limit_bytes, 256 * 1024);
    assert_eq!((settings.rate_limit, settings.rate_window), (100, Duration::from_secs(60)));
}

#[test]
fn environment_overrides_both_gateway_limits_and_rejects_nonsense() {
    let settings =
        env(&[(switchboard_app::ENV_BODY_LIMIT_BYTES, "1024"), (switchboard_app::ENV_RATE_LIMIT_PER_MINUTE, "5")])
            .gateway_settings()
            .unwrap();
    assert_eq!((settings.body_limit_bytes, settings.rate_limit), (1024, 5));

    let err = env(&[(switchboard_app::ENV_RATE_LIMIT_PER_MINUTE, "0")]).gateway_settings();
    assert!(err.unwrap_err().to_string().contains(switchboard_app::ENV_RATE_LIMIT_PER_MINUTE));
}

#[test]
fn poller_overrides_apply_and_concurrency_is_at_least_one() {
    let settings = env(&[(ENV_POLL_CONCURRENCY, "0"), (ENV_POLL_SAFETY_MARGIN, "5")]).poller_settings().unwrap();
    assert_eq!((settings.concurrency, settings.safety_margin), (1, Duration::from_secs(5)));
    assert!(env(&[(ENV_POLL_CONCURRENCY, "many")]).poller_settings().is_err());
}

#[test]
fn the_schedule_sweep_interval_is_read_in_seconds_and_must_be_positive() {
    assert_eq!(env(&[]).poller_settings().unwrap().schedule_sweep_interval, Duration::from_secs(3600));
    let settings = env(&[(ENV_POLL_SCHEDULE_SWEEP, "900")]).poller_settings().unwrap();
    assert_eq!(settings.schedule_sweep_interval, Duration::from_secs(900));
    for bad in ["0", "hourly"] {
        let err = env(&[(ENV_POLL_SCHEDULE_SWEEP, bad)]).poller_settings().unwrap_err();
        assert!(err.to_string().contains(ENV_POLL_SCHEDULE_SWEEP), "{bad}: {err}");
    }
}

#[test]
fn the_oauth_callback_url_must_be_a_url() {
    assert_eq!(env(&[]).oauth_settings().unwrap().callback_url, None);
    let settings = env(&[(ENV_OAUTH_CALLBACK_URL, "https://api.example/oauth/callback")]).oauth_settings().unwrap();
    assert_eq!(settings.callback_url.unwrap().as_str(), "https://api.example/oauth/callback");
    assert!(env(&[(ENV_OAUTH_CALLBACK_URL, "not a url")]).oauth_settings().is_err());
}

#[test]
fn egress_exceptions_are_read_and_bad_ones_named() {
    assert!(env(&[]).egress_allow().unwrap().is_empty());
    let allow = env(&[("SWITCHBOARD_EGRESS_ALLOW", "localhost:8080, 10.0.0.0/8")]).egress_allow().unwrap();
    assert_eq!(allow.to_string(), "localhost:8080,10.0.0.0/8");
    let err = env(&[("SWITCHBOARD_EGRESS_ALLOW", "localhost:http")]).egress_allow().unwrap_err();
    assert!(
        err.to_string().contains("SWITCHBOARD_EGRESS_ALLOW") && err.to_string().contains("localhost:http"),
        "{err}"
    );
}

#[test]
fn the_webhook_secret_grace_and_the_instance_budget_are_read_in_seconds() {
    assert_eq!(env(&[]).gateway_settings().unwrap().secret_rotation_grace, Duration::from_secs(24 * 60 * 60));
    let gateway = env(&[(switchboard_app::ENV_SECRET_GRACE_SECONDS, "3600")]).gateway_settings().unwrap();
    assert_eq!(gateway.secret_rotation_grace, Duration::from_secs(3600));
    assert!(env(&[(switchboard_app::ENV_SECRET_GRACE_SECONDS, "1h")]).gateway_settings().is_err());

    let poller = env(&[(switchboard_lambda::settings::ENV_POLL_INSTANCE_BUDGET, "30")]).poller_settings().unwrap();
    assert_eq!(poller.instance_budget, Duration::from_secs(30));
    let err = env(&[(switchboard_lambda::settings::ENV_POLL_INSTANCE_BUDGET, "0")]).poller_settings().unwrap_err();
    assert!(err.to_string().contains("SWITCHBOARD_POLL_INSTANCE_BUDGET_SECONDS"), "{err}");
}

#[test]
fn the_dashboard_origin_must_be_an_origin() {
    assert_eq!(env(&[]).oauth_settings().unwrap().dashboard_origin, None);
    let settings = env(&[(switchboard_app::ENV_DASHBOARD_ORIGIN, "https://dash.example")]).oauth_settings().unwrap();
    assert_eq!(settings.dashboard_origin.unwrap().ascii_serialization(), "https://dash.example");
    let err = env(&[(switchboard_app::ENV_DASHBOARD_ORIGIN, "https://dash.example/app")]).oauth_settings().unwrap_err();
    assert!(err.to_string().contains("SWITCHBOARD_DASHBOARD_ORIGIN"), "{err}");
}

#[test]
fn the_dashboard_signs_in_with_the_issuer_once_its_client_id_is_set() {
    let issuer = ("SWITCHBOARD_OIDC_ISSUER", "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc");
    // The template always passes the authorizer's issuer; without a client id there is no sign-in.
    let none = env(&[issuer, ("SWITCHBOARD_OIDC_CLIENT_ID", "")]).dashboard_sign_in().unwrap();
    assert!(none.oidc.is_none() && !none.admin_token);
    let sign_in = env(&[issuer, ("SWITCHBOARD_OIDC_CLIENT_ID", "dash"), ("SWITCHBOARD_OIDC_SCOPES", "email")])
        .dashboard_sign_in()
        .unwrap();
    let settings = sign_in.oidc.unwrap().settings().clone();
    assert_eq!((settings.client_id.as_str(), settings.scopes.as_str()), ("dash", "openid email"));
    assert!(!sign_in.admin_token, "the deployed dashboard must not offer the admin token");
    let error = env(&[("SWITCHBOARD_OIDC_CLIENT_ID", "dash")]).dashboard_sign_in().unwrap_err().to_string();
    assert!(error.contains("SWITCHBOARD_OIDC_ISSUER"), "{error}");
    let error = env(&[("SWITCHBOARD_OIDC_ISSUER", "http://idp.example.com"), ("SWITCHBOARD_OIDC_CLIENT_ID", "dash")])
        .dashboard_sign_in()
        .unwrap_err()
        .to_string();
    assert!(error.contains("https"), "{error}");
}
