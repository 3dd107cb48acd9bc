//! [`AwsClients`]: the SDK configuration of this process and its three clients, each built the
//! first time it is used.
//!
//! Where the environment already says everything — a region, an access key and its secret (and
//! session token), as Lambda sets them for its execution role, or as `infra/local/moto.sh` sets
//! them for moto — the configuration is made from those variables directly. The SDK's default
//! chain would find the same region and credentials there, but only after building the whole
//! chain (profile files, SSO, web identity, ECS and IMDS providers, a dozen settings looked up
//! in the environment and the profile) at every cold start. Any variable or file that could
//! change what the chain resolves sends the process to the full chain instead, so the result is
//! the same configuration either way.

use std::fmt;
use std::ops::Deref;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};

/// Variables naming the region, first found wins (the SDK's own order).
const REGION_VARIABLES: [&str; 2] = ["AWS_REGION", "AWS_DEFAULT_REGION"];
/// The access key id.
const ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
/// The secret access key.
const SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
/// The session token of temporary credentials (Lambda's execution role).
const SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
/// One endpoint for every service (moto, LocalStack).
const ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
/// Where the shared config and credentials files are, when not in `$HOME/.aws/`.
const PROFILE_FILE_VARIABLES: [&str; 2] = ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"];

/// Settings the default chain reads from the environment besides the ones above: when any of
/// them is set, the configuration is left to the full chain, which honours them.
const CHAIN_VARIABLES: &[&str] = &[
    "AWS_PROFILE",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_SDK_UA_APP_ID",
    "AWS_DISABLE_REQUEST_COMPRESSION",
    "AWS_REQUEST_MIN_COMPRESSION_SIZE_BYTES",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE",
    "AWS_AUTH_SCHEME_PREFERENCE",
    "AWS_SIGV4A_SIGNING_REGION_SET",
    "AWS_REQUEST_CHECKSUM_CALCULATION",
    "AWS_RESPONSE_CHECKSUM_VALIDATION",
    "AWS_DISABLE_CLOCK_SKEW_CORRECTION",
    "AWS_CREDENTIAL_EXPIRATION",
];
/// The per-service endpoints of the three services used here, which the chain honours.
const SERVICE_ENDPOINTS: [&str; 3] =
    ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_SECRETS_MANAGER"];

/// An SDK client built on first use (or handed in already built). Dereferences to the client;
/// clones share it.
pub struct LazyClient<C>(Arc<Lazy<C>>);

/// The client, and whether anything has used it yet.
struct Lazy<C> {
    client: LazyLock<C, Box<dyn FnOnce() -> C + Send>>,
    used: AtomicBool,
}

impl<C: Send + 'static> LazyClient<C> {
    /// A client that `build` makes from `config` the first time it is used.
    pub fn new(config: &Arc<SdkConfig>, build: fn(&SdkConfig) -> C) -> Self {
        let config = config.clone();
        Self::from_fn(Box::new(move || build(&config)))
    }

    fn from_fn(build: Box<dyn FnOnce() -> C + Send>) -> Self {
        Self(Arc::new(Lazy { client: LazyLock::new(build), used: AtomicBool::new(false) }))
    }
}

impl<C> LazyClient<C> {
    /// Whether the client has been used (and so built) yet.
    pub fn is_built(&self) -> bool {
        self.0.used.load(Ordering::Relaxed)
    }
}

impl<C: Send + 'static> From<C> for LazyClient<C> {
    /// An already built client.
    fn from(client: C) -> Self {
        Self::from_fn(Box::new(move || client))
    }
}

impl<C> Deref for LazyClient<C> {
    type Target = C;

    fn deref(&self) -> &C {
        let client = &*self.0.client;
        self.0.used.store(true, Ordering::Relaxed);
        client
    }
}

impl<C> Clone for LazyClient<C> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<C> fmt::Debug for LazyClient<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Looking does not build it.
        f.debug_struct("LazyClient").field("built", &self.is_built()).finish()
    }
}

/// The SDK clients of this process, each built on its first use from one configuration. Cheap
/// to clone.
#[derive(Clone, Debug)]
pub struct AwsClients {
    /// DynamoDB.
    pub dynamodb: LazyClient<aws_sdk_dynamodb::Client>,
    /// SQS.
    pub sqs: LazyClient<aws_sdk_sqs::Client>,
    /// Secrets Manager.
    pub secrets: LazyClient<aws_sdk_secretsmanager::Client>,
}

impl AwsClients {
    /// Region, credentials and endpoint (`AWS_ENDPOINT_URL`) from the process's environment:
    /// directly when it says everything ([`config_from_variables`]), otherwise through the
    /// SDK's default chain. No client is built yet and nothing goes over the network.
    pub async fn from_env() -> Self {
        let lookup = |name: &str| std::env::var(name).ok();
        let config = match config_from_variables(&lookup) {
            Some(config) => config,
            None => aws_config::defaults(BehaviorVersion::latest()).load().await,
        };
        Self::from_config(config)
    }

    /// Clients that will be built from `config`.
    pub fn from_config(config: SdkConfig) -> Self {
        let config = Arc::new(config);
        Self {
            dynamodb: LazyClient::new(&config, aws_sdk_dynamodb::Client::new),
            sqs: LazyClient::new(&config, aws_sdk_sqs::Client::new),
            secrets: LazyClient::new(&config, aws_sdk_secretsmanager::Client::new),
        }
    }
}

/// The configuration the variables `lookup` finds describe, when they say everything: a region
/// (`AWS_REGION`, else `AWS_DEFAULT_REGION`), `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`
/// (with `AWS_SESSION_TOKEN` when set), and optionally `AWS_ENDPOINT_URL`. `None` — use the
/// default chain — when one of those is missing, or when a setting the chain would also honour
/// is present: a profile (`AWS_PROFILE`), a shared config or credentials file (named by
/// `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE` or under `$HOME/.aws/`), a per-service
/// endpoint, retry, FIPS, dual-stack and the other variables of `CHAIN_VARIABLES`.
pub fn config_from_variables(lookup: &dyn Fn(&str) -> Option<String>) -> Option<SdkConfig> {
    let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    if CHAIN_VARIABLES.iter().chain(&PROFILE_FILE_VARIABLES).chain(&SERVICE_ENDPOINTS).any(|name| get(name).is_some()) {
        return None;
    }
    if let Some(home) = get("HOME") {
        let aws = Path::new(&home).join(".aws");
        if aws.join("config").exists() || aws.join("credentials").exists() {
            return None;
        }
    }
    let region = REGION_VARIABLES.iter().find_map(|name| get(name))?;
    let credentials =
        Credentials::new(get(ACCESS_KEY_ID)?, get(SECRET_ACCESS_KEY)?, get(SESSION_TOKEN), None, "Environment");
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials));
    if let Some(endpoint) = get(ENDPOINT_URL) {
        builder = builder.endpoint_url(endpoint);
    }
    Some(builder.build())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use aws_sdk_dynamodb::config::ProvideCredentials as _;

    use super::*;

    /// The variables Lambda gives a function, plus `extra`.
    fn lambda_env(extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut env: HashMap<String, String> = [
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret-example"),
            ("AWS_SESSION_TOKEN", "token-example"),
            ("AWS_LAMBDA_FUNCTION_NAME", "switchboard-webhook-gateway"),
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        env
    }

    fn config(env: &HashMap<String, String>) -> Option<SdkConfig> {
        config_from_variables(&|name: &str| env.get(name).cloned())
    }

    #[tokio::test]
    async fn lambdas_environment_gives_the_region_and_the_session_credentials() {
        let config = config(&lambda_env(&[])).expect("Lambda's variables say everything");
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(config.endpoint_url(), None);
        let credentials = config.credentials_provider().unwrap().provide_credentials().await.unwrap();
        assert_eq!(credentials.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(credentials.secret_access_key(), "secret-example");
        assert_eq!(credentials.session_token(), Some("token-example"));
    }

    #[test]
    fn a_local_endpoint_and_the_default_region_variable_are_honoured() {
        let mut env = lambda_env(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")]);
        env.remove("AWS_REGION");
        env.remove("AWS_SESSION_TOKEN");
        let config = config(&env).expect("complete");
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:5000"));
    }

    #[test]
    fn a_missing_region_or_key_leaves_it_to_the_default_chain() {
        for missing in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let mut env = lambda_env(&[]);
            env.remove(missing);
            assert!(config(&env).is_none(), "without {missing}");
        }
        let mut env = lambda_env(&[("AWS_SECRET_ACCESS_KEY", " ")]);
        env.remove("AWS_REGION");
        env.remove("AWS_DEFAULT_REGION");
        assert!(config(&env).is_none(), "without a region");
    }

    #[test]
    fn a_setting_the_chain_would_honour_leaves_it_to_the_chain() {
        for (name, value) in [
            ("AWS_PROFILE", "dev"),
            ("AWS_CONFIG_FILE", "/etc/aws/config"),
            ("AWS_MAX_ATTEMPTS", "5"),
            ("AWS_USE_FIPS_ENDPOINT", "true"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
        ] {
            assert!(config(&lambda_env(&[(name, value)])).is_none(), "with {name}");
        }
    }

    #[test]
    fn a_shared_config_file_under_home_leaves_it_to_the_chain() {
        let home = std::env::temp_dir().join(format!("switchboard-aws-home-{}", uuid::Uuid::new_v4().simple()));
        let home_text = home.to_str().unwrap().to_owned();
        std::fs::create_dir_all(home.join(".aws")).unwrap();
        assert!(config(&lambda_env(&[("HOME", &home_text)])).is_some(), "an empty ~/.aws changes nothing");
        std::fs::write(home.join(".aws/config"), "[default]\nregion = us-west-2\n").unwrap();
        assert!(config(&lambda_env(&[("HOME", &home_text)])).is_none(), "a profile file may say otherwise");
        std::fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn clients_are_built_on_first_use_only() {
        let clients = AwsClients::from_config(config(&lambda_env(&[])).unwrap());
        assert!(!clients.dynamodb.is_built() && !clients.sqs.is_built() && !clients.secrets.is_built());
        let _ = clients.dynamodb.config();
        assert!(clients.dynamodb.is_built(), "built when used");
        assert!(!clients.sqs.is_built() && !clients.secrets.is_built(), "the others still not built");
        assert!(clients.clone().dynamodb.is_built(), "clones share the built client");
        assert_eq!(format!("{:?}", clients.secrets), "LazyClient { built: false }", "looking builds nothing");
    }
}
