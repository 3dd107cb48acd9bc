//! The auth provider: puts an instance's credentials on an outgoing request as its descriptor's
//! `auth` says (`api_key`, `pat`, `basic`, `oauth2` bearer, or nothing).
//!
//! Header values carrying secrets are marked sensitive so `reqwest` and `hyper` never print them.

use base64::Engine as _;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::credentials::{Credentials, expose};
use super::error::PollError;
use super::request::set_query_param;
use crate::descriptor::model::{ApiKeyDelivery, AuthDescriptor, CredentialField, PatDelivery};

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
}

impl HttpRequest {
    /// A request without headers or body.
    pub fn new(method: Method, url: Url) -> Self {
        Self { method, url, headers: HeaderMap::new(), body: None }
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

    fn secret_header(&mut self, name: &str, value: &str) -> Result<(), PollError> {
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

/// Applies the descriptor's auth to `request`. For `oauth2`, `bearer` is the access token the
/// [`super::oauth::TokenRefresher`] handed out.
pub fn apply(
    auth: &AuthDescriptor,
    credentials: &Credentials,
    bearer: Option<&SecretString>,
    request: &mut HttpRequest,
) -> Result<(), PollError> {
    match auth {
        AuthDescriptor::ApiKey(c) => {
            let key = credential(credentials, c.credential_key.as_deref(), &c.credential_fields)?;
            match c.delivery {
                ApiKeyDelivery::Header => request.secret_header(&c.param_name, key),
                ApiKeyDelivery::Query => {
                    set_query_param(&mut request.url, &c.param_name, key);
                    Ok(())
                }
                ApiKeyDelivery::Bearer => request.secret_header(AUTHORIZATION.as_str(), &format!("Bearer {key}")),
            }
        }
        AuthDescriptor::Pat(c) => {
            let token = credential(credentials, c.credential_key.as_deref(), &c.credential_fields)?;
            match c.delivery {
                PatDelivery::Header => request.secret_header(&c.param_name, token),
                PatDelivery::Bearer => request.secret_header(AUTHORIZATION.as_str(), &format!("Bearer {token}")),
            }
        }
        AuthDescriptor::Basic(c) => {
            let user_key = c.username_key.as_deref().unwrap_or("username");
            let password_key = c.password_key.as_deref().unwrap_or("password");
            let user =
                expose(credentials, user_key).ok_or_else(|| PollError::MissingCredential(user_key.to_owned()))?;
            let password = expose(credentials, password_key)
                .ok_or_else(|| PollError::MissingCredential(password_key.to_owned()))?;
            let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            request.secret_header(AUTHORIZATION.as_str(), &format!("Basic {encoded}"))
        }
        AuthDescriptor::Oauth2(_) => {
            let token = bearer.ok_or_else(|| PollError::MissingCredential("accessToken".to_owned()))?;
            request.secret_header(AUTHORIZATION.as_str(), &format!("Bearer {}", token.expose_secret()))
        }
        // A webhook secret authenticates incoming deliveries, not our requests.
        AuthDescriptor::WebhookSecret(_) | AuthDescriptor::None => Ok(()),
    }
}

/// The credential named by `key`, or by the first declared credential field.
fn credential<'c>(
    credentials: &'c Credentials,
    key: Option<&str>,
    fields: &[CredentialField],
) -> Result<&'c str, PollError> {
    let key = key.or_else(|| fields.first().map(|f| f.key.as_str())).unwrap_or("apiKey");
    expose(credentials, key).filter(|v| !v.is_empty()).ok_or_else(|| PollError::MissingCredential(key.to_owned()))
}
