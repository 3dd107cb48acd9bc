//! The auth provider: puts an instance's credentials on an outgoing request as its compiled
//! [`AuthPlan`] says (`api_key`, `pat`, `basic`, an obtained token — `oauth2`, client
//! credentials and JWT assertions as a bearer token, a session token where its `delivery`
//! says — or nothing).
//!
//! Header values carrying secrets are marked sensitive so `reqwest` and `hyper` never print them
//! and a redirect to another origin drops them; query parameters carrying secrets are listed
//! ([`HttpRequest::secret_params`]) for the same reason.

use base64::Engine as _;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use switchboard_core::model::{ApiKeyDelivery, PatDelivery, TokenDelivery};
use switchboard_core::polling::{AuthPlan, PollError};

use switchboard_core::template::Template;

use crate::credentials::{Credentials, expose};
use crate::request::{Escape, Vars, reads_credentials, render_text, set_query_param};

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

    /// Adds a header rendered from a descriptor template; one whose template reads a credential
    /// (Datadog's `DD-APPLICATION-KEY: {{credentials.applicationKey}}`) is marked sensitive.
    pub fn templated_header(&mut self, name: &str, template: &Template, vars: &Vars<'_>) -> Result<(), PollError> {
        let value = render_text(template, vars, Escape::Raw)?;
        if reads_credentials(template) { self.secret_header(name, &value) } else { self.header(name, &value) }
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

/// Applies the connector's auth to `request`. For the methods that obtain a token, `bearer` is
/// the token the [`crate::oauth::TokenRefresher`] handed out.
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
        AuthPlan::OAuth2(_) | AuthPlan::ClientCredentials(_) | AuthPlan::JwtAssertion(_) => {
            let token = bearer.ok_or_else(|| PollError::MissingCredential("accessToken".to_owned()))?;
            request.secret_header(AUTHORIZATION.as_str(), &format!("Bearer {}", token.expose_secret()))
        }
        AuthPlan::SessionToken(plan) => {
            let token = bearer.ok_or_else(|| PollError::MissingCredential("sessionToken".to_owned()))?;
            let token = token.expose_secret();
            match &plan.delivery {
                TokenDelivery::Bearer => request.secret_header(AUTHORIZATION.as_str(), &format!("Bearer {token}")),
                TokenDelivery::Header(header) => {
                    let prefix = header.prefix.as_deref().unwrap_or_default();
                    request.secret_header(&header.name, &format!("{prefix}{token}"))
                }
                TokenDelivery::Query(query) => {
                    set_query_param(&mut request.url, &query.name, token);
                    request.secret_params.push(query.name.clone());
                    Ok(())
                }
            }
        }
        AuthPlan::None => Ok(()),
    }
}

/// The (non-empty) credential named by `key`.
fn credential<'c>(credentials: &'c Credentials, key: &str) -> Result<&'c str, PollError> {
    expose(credentials, key).filter(|v| !v.is_empty()).ok_or_else(|| PollError::MissingCredential(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_header_whose_template_reads_a_credential_is_sensitive() {
        let credentials: Credentials = [("applicationKey", "app-key-value")].into_iter().collect();
        let config = BTreeMap::from([("site".to_owned(), "eu".to_owned())]);
        let vars = Vars::instance(&config, &credentials);
        let mut request = HttpRequest::new(Method::GET, Url::parse("https://api.example.com/").expect("valid"));
        let secret = Template::parse("{{credentials.applicationKey}}").expect("valid");
        let plain = Template::parse("site-{{config.site}}").expect("valid");
        request.templated_header("DD-APPLICATION-KEY", &secret, &vars).expect("valid");
        request.templated_header("X-Site", &plain, &vars).expect("valid");
        assert!(request.headers["dd-application-key"].is_sensitive());
        assert!(!request.headers["x-site"].is_sensitive());
        assert_eq!(request.headers["x-site"], "site-eu");
    }

    #[test]
    fn an_api_key_in_the_query_is_listed_as_a_secret_parameter() {
        let credentials: Credentials = [("apiKey", "k3y")].into_iter().collect();
        let plan = AuthPlan::ApiKey {
            credential: "apiKey".to_owned(),
            delivery: ApiKeyDelivery::Query,
            param_name: "key".to_owned(),
        };
        let mut request = HttpRequest::new(Method::GET, Url::parse("https://api.example.com/").expect("valid"));
        apply(&plan, &credentials, None, &mut request).expect("applied");
        assert_eq!(request.secret_params, ["key"]);
    }
}
