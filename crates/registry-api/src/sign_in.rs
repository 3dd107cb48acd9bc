//! How the dashboard signs in, served to the page at the open route `GET /dashboard/sign-in.json`.
//!
//! - **Admin token** (`switchboard serve`): the link `serve` prints carries the token in its
//!   fragment, or the user pastes it.
//! - **OIDC** (deployed, and `serve --oidc-issuer`): the page runs the authorization code flow with
//!   PKCE against the issuer of the API's JWT authorizer, as a public client (no client secret),
//!   and sends the ID token as its bearer token. The issuer's endpoints come from its discovery
//!   document (`<issuer>/.well-known/openid-configuration`), read on first need — never at a
//!   cold start — and kept for the life of the process; a failed read is retried on the next
//!   request. The token endpoint's origin is added to the page's `connect-src`, so the browser may
//!   exchange the code there and nowhere else.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard_poll::client::LazyHttp;
use tokio::sync::OnceCell;
use url::Url;

/// Scopes asked for when the operator names none.
pub const DEFAULT_SCOPES: &str = "openid email profile";

/// Largest discovery document read.
const MAX_DISCOVERY_BYTES: usize = 256 * 1024;
/// Deadline of the discovery request.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The dashboard's ways of signing in.
#[derive(Debug, Clone, Default)]
pub struct SignIn {
    /// Whether the page offers the admin token form (`serve` only: deployed, API Gateway's JWT
    /// authorizer would refuse the token).
    pub admin_token: bool,
    /// The OIDC issuer the page signs in with, if any.
    pub oidc: Option<Arc<OidcSignIn>>,
}

impl SignIn {
    /// Sign-in with the admin token only (`switchboard serve` without an issuer).
    pub fn admin_token() -> Self {
        Self { admin_token: true, oidc: None }
    }
}

/// The operator's OIDC settings: the issuer (the JWT authorizer's), the dashboard's client id
/// (one of the authorizer's audiences) and the scopes to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// The issuer URL, exactly as tokens name it in `iss`.
    pub issuer: String,
    /// The dashboard's client id at the issuer (a public client: no secret).
    pub client_id: String,
    /// Space-separated scopes; `openid` is always among them.
    pub scopes: String,
}

/// Why OIDC settings are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcSettingsError {
    /// The issuer is not an `https` URL (plain `http` is accepted for loopback hosts only).
    #[error("the OIDC issuer {0:?} must be an https URL with a host, and no query or fragment")]
    Issuer(String),
    /// No client id.
    #[error("the OIDC client id is empty: name the dashboard's app client at the issuer")]
    ClientId,
}

impl OidcSettings {
    /// Checks the settings: an `https` issuer (or `http` on a loopback host, for local use), a
    /// client id, and `openid` among the scopes (added when missing).
    pub fn new(issuer: &str, client_id: &str, scopes: Option<&str>) -> Result<Self, OidcSettingsError> {
        let issuer = issuer.trim().trim_end_matches('/').to_owned();
        let url = Url::parse(&issuer).map_err(|_| OidcSettingsError::Issuer(issuer.clone()))?;
        if !(url.has_host() && url.query().is_none() && url.fragment().is_none() && secure_or_loopback(&url)) {
            return Err(OidcSettingsError::Issuer(issuer));
        }
        let client_id = client_id.trim().to_owned();
        if client_id.is_empty() {
            return Err(OidcSettingsError::ClientId);
        }
        let mut scopes: Vec<&str> = scopes.unwrap_or(DEFAULT_SCOPES).split_whitespace().collect();
        if !scopes.contains(&"openid") {
            scopes.insert(0, "openid");
        }
        Ok(Self { issuer, client_id, scopes: scopes.join(" ") })
    }
}

/// `https`, or `http` to a loopback host (a local issuer under test).
fn secure_or_loopback(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => match url.host() {
            Some(url::Host::Domain(name)) => name == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

/// The parts of the issuer's discovery document the dashboard and `serve` use.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Discovery {
    /// Must equal the configured issuer (OpenID Connect Discovery §4.3).
    pub issuer: String,
    /// Where the browser is sent to sign in.
    pub authorization_endpoint: String,
    /// Where the browser exchanges the code (with its PKCE verifier) for tokens.
    pub token_endpoint: String,
    /// The issuer's signing keys (read by `serve`, which checks tokens itself).
    pub jwks_uri: String,
    /// Where the browser signs out at the issuer, if it says.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

/// Why the discovery document could not be used. Names the issuer and what to check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the OIDC issuer's document {url} {reason}")]
pub struct DiscoveryError {
    /// The document's URL.
    pub url: String,
    /// What went wrong.
    pub reason: String,
}

/// An OIDC issuer and, once read, its discovery document.
#[derive(Debug)]
pub struct OidcSignIn {
    settings: OidcSettings,
    /// Built by the first fetch: building one loads the platform's root certificates, which a
    /// cold start should not pay for a document it may never read.
    http: LazyHttp,
    discovery: OnceCell<Discovery>,
}

impl OidcSignIn {
    /// Signs in with the issuer of `settings`; nothing is fetched until [`Self::discovery`].
    pub fn new(settings: OidcSettings) -> Self {
        let http = LazyHttp::new(|| {
            reqwest::Client::builder().timeout(DISCOVERY_TIMEOUT).redirect(reqwest::redirect::Policy::none()).build()
        });
        Self { settings, http, discovery: OnceCell::new() }
    }

    /// Whether the HTTP client of the issuer's documents has been built (by a first fetch).
    pub fn http_client_built(&self) -> bool {
        self.http.is_built()
    }

    /// The operator's settings.
    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The discovery document's URL.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.settings.issuer)
    }

    /// The issuer's discovery document: read once, then kept. A failure is not kept, so the
    /// next call tries again.
    pub async fn discovery(&self) -> Result<&Discovery, DiscoveryError> {
        self.discovery.get_or_try_init(|| self.fetch_discovery()).await
    }

    /// The discovery document if it has been read already.
    pub fn discovered(&self) -> Option<&Discovery> {
        self.discovery.get()
    }

    /// The issuer's current key set, from the discovery document's `jwks_uri` (for a process
    /// that checks the issuer's tokens itself: `serve`).
    pub async fn fetch_keys(&self) -> Result<jsonwebtoken::jwk::JwkSet, DiscoveryError> {
        let url = self.discovery().await?.jwks_uri.clone();
        let body = self.fetch_json(&url).await?;
        serde_json::from_slice(&body)
            .map_err(|e| DiscoveryError { url, reason: format!("is not a JSON Web Key Set ({e})") })
    }

    async fn fetch_discovery(&self) -> Result<Discovery, DiscoveryError> {
        let url = self.discovery_url();
        let body = self.fetch_json(&url).await?;
        let fail = |reason: String| DiscoveryError { url: url.clone(), reason };
        let document: Discovery = serde_json::from_slice(&body)
            .map_err(|e| fail(format!("is not an OpenID Provider Metadata document ({e})")))?;
        self.check(&document).map_err(fail)?;
        Ok(document)
    }

    /// GETs a JSON document of the issuer, at most [`MAX_DISCOVERY_BYTES`].
    async fn fetch_json(&self, url: &str) -> Result<Vec<u8>, DiscoveryError> {
        let fail = |reason: String| DiscoveryError { url: url.to_owned(), reason };
        let http = self.http.get().map_err(|e| fail(format!("could not be fetched: no HTTP client ({e})")))?;
        let response = http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| fail(format!("could not be fetched ({}); check the issuer URL", error_chain(&e))))?;
        let status = response.status();
        if !status.is_success() {
            return Err(fail(format!("answered HTTP {}; check the issuer URL", status.as_u16())));
        }
        if response.content_length().is_some_and(|n| n > MAX_DISCOVERY_BYTES as u64) {
            return Err(fail(format!("is larger than {MAX_DISCOVERY_BYTES} bytes")));
        }
        let body = response.bytes().await.map_err(|e| fail(format!("could not be read ({})", error_chain(&e))))?;
        if body.len() > MAX_DISCOVERY_BYTES {
            return Err(fail(format!("is larger than {MAX_DISCOVERY_BYTES} bytes")));
        }
        Ok(body.to_vec())
    }

    /// The document names this issuer, and every endpoint is https (or loopback http).
    fn check(&self, document: &Discovery) -> Result<(), String> {
        if document.issuer.trim_end_matches('/') != self.settings.issuer {
            return Err(format!(
                "names the issuer {:?}, not the configured {:?}; configure the issuer exactly as its tokens name it",
                document.issuer, self.settings.issuer
            ));
        }
        let endpoints = [
            ("authorization_endpoint", Some(&document.authorization_endpoint)),
            ("token_endpoint", Some(&document.token_endpoint)),
            ("jwks_uri", Some(&document.jwks_uri)),
            ("end_session_endpoint", document.end_session_endpoint.as_ref()),
        ];
        for (name, value) in endpoints {
            let Some(value) = value else { continue };
            let ok = Url::parse(value).is_ok_and(|url| url.has_host() && secure_or_loopback(&url));
            if !ok {
                return Err(format!("has a {name} that is not an https URL"));
            }
        }
        Ok(())
    }
}

/// An error and its causes on one line (reqwest's own message leaves out the cause).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What `GET /dashboard/sign-in.json` answers.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SignInDocument {
    /// Whether the admin token form is offered.
    pub admin_token: bool,
    /// The OIDC sign-in, if configured.
    pub oidc: Option<OidcDocument>,
}

/// The OIDC part of [`SignInDocument`]: everything the page needs for the code flow.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OidcDocument {
    /// The issuer (shown on the sign-in button, checked against the ID token's `iss`).
    pub issuer: String,
    /// The dashboard's client id.
    pub client_id: String,
    /// The scopes to ask for.
    pub scopes: String,
    /// Where to send the browser.
    pub authorization_endpoint: String,
    /// Where to exchange the code.
    pub token_endpoint: String,
    /// Where to sign out at the issuer, if it says.
    pub end_session_endpoint: Option<String>,
}

impl SignIn {
    /// The document the page reads; reads the issuer's discovery document on first need.
    pub async fn document(&self) -> Result<SignInDocument, DiscoveryError> {
        let oidc = match &self.oidc {
            None => None,
            Some(oidc) => {
                let discovery = oidc.discovery().await?;
                let settings = oidc.settings();
                Some(OidcDocument {
                    issuer: settings.issuer.clone(),
                    client_id: settings.client_id.clone(),
                    scopes: settings.scopes.clone(),
                    authorization_endpoint: discovery.authorization_endpoint.clone(),
                    token_endpoint: discovery.token_endpoint.clone(),
                    end_session_endpoint: discovery.end_session_endpoint.clone(),
                })
            }
        };
        Ok(SignInDocument { admin_token: self.admin_token, oidc })
    }

    /// The origin the page may send requests to besides its own (the token endpoint's), once
    /// the discovery document has been read.
    pub fn token_origin(&self) -> Option<String> {
        let discovery = self.oidc.as_ref()?.discovered()?;
        let url = Url::parse(&discovery.token_endpoint).ok()?;
        Some(url.origin().ascii_serialization())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_need_an_https_issuer_or_loopback_http_and_a_client_id() {
        let ok =
            OidcSettings::new("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/", "client", None).unwrap();
        assert_eq!(ok.issuer, "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc");
        assert_eq!(ok.scopes, "openid email profile");
        assert!(
            OidcSettings::new("http://127.0.0.1:9000", "c", Some("email")).is_ok_and(|s| s.scopes == "openid email")
        );
        for bad in ["http://issuer.example.com", "ftp://x", "https://x.example.com?a=b", "not a url"] {
            assert!(matches!(OidcSettings::new(bad, "c", None), Err(OidcSettingsError::Issuer(_))), "{bad}");
        }
        assert_eq!(OidcSettings::new("https://x.example.com", " ", None), Err(OidcSettingsError::ClientId));
    }

    fn discovery(issuer: &str, token: &str) -> Discovery {
        Discovery {
            issuer: issuer.to_owned(),
            authorization_endpoint: "https://auth.example.com/oauth2/authorize".to_owned(),
            token_endpoint: token.to_owned(),
            jwks_uri: "https://idp.example.com/jwks".to_owned(),
            end_session_endpoint: None,
        }
    }

    #[test]
    fn a_discovery_document_must_name_the_issuer_and_https_endpoints() {
        let sign_in = OidcSignIn::new(OidcSettings::new("https://idp.example.com", "c", None).unwrap());
        assert!(sign_in.check(&discovery("https://idp.example.com", "https://auth.example.com/oauth2/token")).is_ok());
        let other = sign_in.check(&discovery("https://evil.example.com", "https://auth.example.com/t")).unwrap_err();
        assert!(other.contains("not the configured"), "{other}");
        let plain = sign_in.check(&discovery("https://idp.example.com", "http://auth.example.com/t")).unwrap_err();
        assert!(plain.contains("token_endpoint"), "{plain}");
    }
}
