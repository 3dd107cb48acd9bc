//! The auth provider: puts an instance's credentials on an outgoing request as its compiled
//! [`AuthPlan`] says (`api_key`, `pat`, `basic`, `oauth2` bearer, or nothing).
//!
//! Header values carrying secrets are marked sensitive so `reqwest` and `hyper` never print them
//! and a redirect to another origin drops them; query parameters carrying secrets are listed
//! ([`HttpRequest::secret_params`]) for the same reason.

use base64::Engine as _;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use switchboard_core::model::{ApiKeyDelivery, PatDelivery};
use switchboard_core::polling::{AuthPlan, PollError};

use crate::credentials::{Credentials, expose};
use crate::request::set_query_param;

/// An outgoing request before it is handed to `reqwest`.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// HTTP method.
    pub method: Method,
    /// Full URL (its query may hold an API key: never log it).
    pub url: Url,
    /// Headers.
    pub headers: HeaderMap,
    /// Body, for POST.
    pub body: Option<String>,
    /// Query parameters that carry a credential (an API key, a template reading
    /// `{{credentials.*}}`): never sent to another origin.
    pub secret_params: Vec<String>,
}

impl HttpRequest {
    /// A request without headers or body.
    pub fn new(method: Method, url: Url) -> Self {
        Self { method, url, headers: HeaderMap::new(), body: None, secret_params: Vec::new() }
    }

    /// Adds a header from text, rejecting names or values HTTP does not allow.
    pub fn header(&mut self, name: &str, value: &str) -> Result<(), PollError> {
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| PollError::Config(format!("{name:?} is not a valid header name")))?;
        let header_value = HeaderValue::from_str(value)
            .map_err(|_| PollError::Config(format!("the value of header {name:?} contains invalid characters")))?;
        self.headers.insert(header_name, header_value);
        Ok(())
    }

    /// Adds a header carrying a credential, marked sensitive (never printed, never sent to
    /// another origin).
    pub fn secret_header(&mut self, name: &str, value: &str) -> Result<(), PollError> {
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| PollError::Config(format!("{name:?} is not a valid header name")))?;
        let mut header_value = HeaderValue::from_str(value).map_err(|_| {
            PollError::Config(format!("the credential for header {name:?} contains invalid characters"))
        })?;
        header_value.set_sensitive(true);
        self.headers.insert(header_name, header_value);
        Ok(())
    }

    /// Builds the `reqwest` request.
    pub fn build(&self, client: &reqwest::Client) -> reqwest::RequestBuilder {
        let mut builder = client.request(self.method.clone(), self.url.clone()).headers(self.headers.clone());
        if let Some(body) = &self.body {
            builder = builder.body(body.clone());
        }
        builder
    }
}

/// Applies the connector's auth to `request`. For `oauth2`, `bearer` is the access token the
/// [`crate::oauth::TokenRefresher`] handed out.
pub fn apply(
    auth: &AuthPlan,
    credentials: &Credentials,
    bearer: Option<&SecretString>,
    request: &mut HttpRequest,
) -> Result<(), PollError> {
    match auth {
        AuthPlan::ApiKey { credential: key, delivery, param_name } => {
            let key = credential(credentials, key)?;
            match delivery {
                ApiKeyDelivery::Header => request.secret_header(param_name, key),
                ApiKeyDelivery::Query => {
                    set_query_param(&mut request.url, param_name, key);
                    request.secret_params.push(param_name.clone());
                    Ok(())
                }
                ApiKeyDelivery::Bearer => request.secret_header(AUTHORIZATION.as_str(), &format!("Bearer {key}")),
            }
        }
        AuthPlan::Pat { credential: key, delivery, param_name } => {
            let token = credential(credentials, key)?;
            match delivery {
                PatDelivery::Header => request.secret_header(param_name, token),
                PatDelivery::Bearer => request.secret_header(AUTHORIZATION.as_str(), &format!("Bearer {token}")),
            }
        }
        AuthPlan::Basic { username: user_key, password: password_key } => {
            let user =
                expose(credentials, user_key).ok_or_else(|| PollError::MissingCredential(user_key.to_owned()))?;
            let password = expose(credentials, password_key)
                .ok_or_else(|| PollError::MissingCredential(password_key.to_owned()))?;
            let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            request.secret_header(AUTHORIZATION.as_str(), &format!("Basic {encoded}"))
        }
        AuthPlan::OAuth2(_) => {
            let token = bearer.ok_or_else(|| PollError::MissingCredential("accessToken".to_owned()))?;
            request.secret_header(AUTHORIZATION.as_str(), &format!("Bearer {}", token.expose_secret()))
        }
        AuthPlan::None => Ok(()),
    }
}

/// The (non-empty) credential named by `key`.
fn credential<'c>(credentials: &'c Credentials, key: &str) -> Result<&'c str, PollError> {
    expose(credentials, key).filter(|v| !v.is_empty()).ok_or_else(|| PollError::MissingCredential(key.to_owned()))
}
