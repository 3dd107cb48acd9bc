//! The OAuth 2.0 client credentials grant (RFC 6749 §4.4): the client's id and secret
//! (credential fields `clientId`, `clientSecret`) exchanged for an access token at the token
//! endpoint, with the configured scopes and extra parameters.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use secrecy::SecretString;

use switchboard_core::polling::{ClientCredentialsPlan, OAuthError};

use crate::credentials::{Credentials, expose};
use crate::request::{Escape, Vars, render_text, render_url};
use crate::token_answer::Issued;
use crate::token_http::{TokenLimits, client_auth_form, expiry_after, send_token_form};

/// Requests an access token with the client's credentials.
pub(crate) async fn request_token(
    http: &reqwest::Client,
    plan: &ClientCredentialsPlan,
    config: &BTreeMap<String, String>,
    credentials: &Credentials,
    limits: TokenLimits,
    now: DateTime<Utc>,
) -> Result<Issued, OAuthError> {
    let vars = Vars::instance(config, credentials);
    let url = render_url(&plan.token_url, &vars).map_err(|e| OAuthError::Config(format!("tokenUrl: {e}")))?;
    let client_id = expose(credentials, "clientId")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::MissingCredential("clientId".into()))?;
    let client_secret = expose(credentials, "clientSecret")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::MissingCredential("clientSecret".into()))?;
    let scope = plan.scopes.join(" ");
    let mut extra = Vec::new();
    for (name, template) in &plan.token_params {
        let value = render_text(template, &vars, Escape::Raw).map_err(|e| OAuthError::Config(e.to_string()))?;
        extra.push((name.as_str(), value));
    }
    let mut grant: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
    if !scope.is_empty() {
        grant.push(("scope", &scope));
    }
    grant.extend(extra.iter().map(|(name, value)| (*name, value.as_str())));
    // Built before any `.await`: the form serializer is not `Send`.
    let (body, basic) = client_auth_form(plan.client_auth, &grant, client_id, client_secret)?;
    let answer = send_token_form(http, url, body, basic, credentials, limits).await?;
    let expires_at = answer.expires_in.as_ref().and_then(|v| expiry_after(v, now));
    Ok(Issued { token: SecretString::from(answer.access_token), expires_at })
}
