//! Who is calling: a [`CallerResolver`] turns each request into a [`Caller`] before any route
//! runs (see `docs/functions.md`, "Authentication and authorisation").
//!
//! - [`ClaimsResolver`] (Lambda): the claims API Gateway's JWT authorizer verified, which the
//!   Lambda edge leaves in the request as [`AuthorizerClaims`].
//! - [`BearerTokenResolver`] (`switchboard serve`): `Authorization: Bearer <token>`, compared by
//!   SHA-256 hash in constant time, so the process never keeps the token itself. An admin token
//!   chosen by the operator must pass [`check_admin_token`] (32 to 512 printable characters).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::edge::AuthorizerClaims;
use crate::error::ApiError;

/// Claim listing the caller's projects (comma- or space-separated, `*` for all), added by the
/// identity provider (in Cognito, a pre-token-generation Lambda), never by the user.
pub const PROJECTS_CLAIM: &str = "switchboard:projects";
/// Claim granting admin when `true`, from the identity provider like [`PROJECTS_CLAIM`].
pub const ADMIN_CLAIM: &str = "switchboard:admin";
/// The claim listing the caller's Cognito groups (only an administrator can add a user to one).
pub const GROUPS_CLAIM: &str = "cognito:groups";
/// Cognito group granting admin.
pub const ADMIN_GROUP: &str = "switchboard-admin";
/// Cognito group granting every project.
pub const ALL_PROJECTS_GROUP: &str = "switchboard-all-projects";
/// Prefix of the Cognito groups granting one project each: `switchboard-project-<id>`.
pub const PROJECT_GROUP_PREFIX: &str = "switchboard-project-";

/// Which projects a caller may see and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectAccess {
    /// Every project (`*`).
    All,
    /// Only these.
    Only(BTreeSet<String>),
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Who (the token's `sub`), for logs and the OAuth audit trail.
    pub subject: String,
    /// May register, change and delete connector descriptors.
    pub admin: bool,
    /// The projects it may use.
    pub projects: ProjectAccess,
}

impl Caller {
    /// Whether the caller may use `project_id`.
    pub fn can_access(&self, project_id: &str) -> bool {
        match &self.projects {
            ProjectAccess::All => true,
            ProjectAccess::Only(projects) => projects.contains(project_id),
        }
    }
}

/// Why no caller could be resolved (logged at debug level; the client only sees 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unauthenticated: {0}")]
pub struct Unauthenticated(pub &'static str);

/// Resolves the caller of a request from its headers and extensions.
pub trait CallerResolver: Send + Sync {
    /// The caller, or why there is none.
    fn resolve(&self, headers: &HeaderMap, extensions: &Extensions) -> Result<Caller, Unauthenticated>;
}

/// Reads the token claims the edge verified and left in the request ([`AuthorizerClaims`]);
/// a request without them is unauthenticated.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClaimsResolver;

impl CallerResolver for ClaimsResolver {
    fn resolve(&self, _headers: &HeaderMap, extensions: &Extensions) -> Result<Caller, Unauthenticated> {
        let AuthorizerClaims(claims) =
            extensions.get::<AuthorizerClaims>().ok_or(Unauthenticated("no authorizer claims in the request"))?;
        caller_from_claims(claims)
    }
}

/// Builds a caller from JWT claims: `sub`; projects from [`PROJECTS_CLAIM`] and the
/// `switchboard-project-<id>` / [`ALL_PROJECTS_GROUP`] groups; admin from [`ADMIN_CLAIM`] or
/// [`ADMIN_GROUP`]. Attributes a user can write themselves (Cognito's `custom:*`) grant nothing.
pub fn caller_from_claims(claims: &HashMap<String, String>) -> Result<Caller, Unauthenticated> {
    let subject = claims.get("sub").filter(|s| !s.is_empty()).ok_or(Unauthenticated("the token has no `sub` claim"))?;
    let groups: Vec<String> = claims.get(GROUPS_CLAIM).map(|text| claim_list(text).collect()).unwrap_or_default();
    let mut names: BTreeSet<String> =
        claims.get(PROJECTS_CLAIM).map(|text| claim_list(text).collect()).unwrap_or_default();
    let group_projects = groups.iter().filter_map(|group| group.strip_prefix(PROJECT_GROUP_PREFIX));
    names.extend(group_projects.filter(|id| !id.is_empty()).map(str::to_owned));
    let projects = if names.contains("*") || groups.iter().any(|g| g == ALL_PROJECTS_GROUP) {
        ProjectAccess::All
    } else {
        ProjectAccess::Only(names)
    };
    let admin = claims.get(ADMIN_CLAIM).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        || groups.iter().any(|g| g == ADMIN_GROUP);
    Ok(Caller { subject: subject.clone(), admin, projects })
}

/// Splits a list claim: `a,b`, `a b`, or API Gateway's rendering of a JSON array, `[a b]`.
fn claim_list(text: &str) -> impl Iterator<Item = String> + '_ {
    text.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split([',', ' '])
        .map(|s| s.trim().trim_matches('"'))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Shortest admin token accepted (32 characters: 128 bits and more as hex or base64).
pub const MIN_ADMIN_TOKEN_CHARS: usize = 32;
/// Longest admin token accepted.
pub const MAX_ADMIN_TOKEN_CHARS: usize = 512;

/// Why an operator-chosen admin token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AdminTokenError {
    /// Shorter than [`MIN_ADMIN_TOKEN_CHARS`].
    #[error(
        "the admin token has {0} characters; it needs at least {MIN_ADMIN_TOKEN_CHARS}: generate one with `openssl rand -hex 32`"
    )]
    TooShort(usize),
    /// Longer than [`MAX_ADMIN_TOKEN_CHARS`].
    #[error(
        "the admin token has {0} characters; at most {MAX_ADMIN_TOKEN_CHARS} are accepted: generate one with `openssl rand -hex 32`"
    )]
    TooLong(usize),
    /// Holds a space, a control or a non-ASCII character (it could not be sent in a header as is).
    #[error(
        "the admin token may hold only printable ASCII characters without spaces: generate one with `openssl rand -hex 32`"
    )]
    BadCharacter,
}

/// Checks an admin token chosen by the operator (e.g. `SWITCHBOARD_ADMIN_TOKEN`) before it is
/// accepted: 32 to 512 printable ASCII characters, no spaces.
pub fn check_admin_token(token: &str) -> Result<(), AdminTokenError> {
    let chars = token.chars().count();
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        Err(AdminTokenError::BadCharacter)
    } else if chars < MIN_ADMIN_TOKEN_CHARS {
        Err(AdminTokenError::TooShort(chars))
    } else if chars > MAX_ADMIN_TOKEN_CHARS {
        Err(AdminTokenError::TooLong(chars))
    } else {
        Ok(())
    }
}

/// Accepts `Authorization: Bearer <token>` for tokens known by their SHA-256 hash.
#[derive(Clone, Default)]
pub struct BearerTokenResolver {
    tokens: Vec<([u8; 32], Caller)>,
}

impl std::fmt::Debug for BearerTokenResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerTokenResolver").field("tokens", &self.tokens.len()).finish()
    }
}

impl BearerTokenResolver {
    /// A resolver accepting `token` as the admin token (all projects, admin). Where the token is
    /// configured, check it first with [`check_admin_token`].
    pub fn admin(token: &SecretString) -> Self {
        Self::default().with_token_hash(token_hash(token.expose_secret()), Self::admin_caller())
    }

    /// A resolver accepting the admin token whose SHA-256 hash is `hash` (as stored on disk).
    pub fn admin_from_hash(hash: [u8; 32]) -> Self {
        Self::default().with_token_hash(hash, Self::admin_caller())
    }

    /// Also accepts the token with this hash, as `caller`.
    pub fn with_token_hash(mut self, hash: [u8; 32], caller: Caller) -> Self {
        self.tokens.push((hash, caller));
        self
    }

    fn admin_caller() -> Caller {
        Caller { subject: "admin".to_owned(), admin: true, projects: ProjectAccess::All }
    }
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive, surrounding spaces
/// trimmed), or why there is none.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, Unauthenticated> {
    let value = headers.get(header::AUTHORIZATION).ok_or(Unauthenticated("no Authorization header"))?;
    let value = value.to_str().map_err(|_| Unauthenticated("Authorization header is not text"))?;
    let (scheme, token) = value.split_once(' ').ok_or(Unauthenticated("Authorization is not `Bearer <token>`"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Unauthenticated("Authorization is not `Bearer <token>`"));
    }
    Ok(token.trim())
}

/// The SHA-256 hash a bearer token is known by.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl CallerResolver for BearerTokenResolver {
    fn resolve(&self, headers: &HeaderMap, _extensions: &Extensions) -> Result<Caller, Unauthenticated> {
        let presented = token_hash(bearer_token(headers)?);
        // Compare against every known hash without stopping early.
        let mut found = None;
        for (hash, caller) in &self.tokens {
            if bool::from(hash.ct_eq(&presented)) {
                found = Some(caller);
            }
        }
        found.cloned().ok_or(Unauthenticated("unknown bearer token"))
    }
}

/// What the middleware found out about the request's caller.
#[derive(Debug, Clone)]
struct Authentication(Result<Caller, Unauthenticated>);

/// Middleware: resolves the caller once per request and leaves it in the request's extensions
/// for the [`Caller`] extractor. Open routes (health, OpenAPI, OAuth callback) ignore it.
pub async fn resolve_caller(
    State(resolver): State<Arc<dyn CallerResolver>>,
    mut request: Request,
    next: Next,
) -> Response {
    let outcome = resolver.resolve(request.headers(), request.extensions());
    request.extensions_mut().insert(Authentication(outcome));
    next.run(request).await
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Authentication>() {
            Some(Authentication(Ok(caller))) => Ok(caller.clone()),
            Some(Authentication(Err(why))) => {
                tracing::debug!(reason = why.0, "request not authenticated");
                Err(ApiError::Unauthenticated)
            }
            None => Err(ApiError::internal("resolving the caller", "the authentication middleware is not installed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn claims(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn projects_claim_accepts_commas_spaces_and_bracketed_arrays() {
        for text in ["acme,globex", "acme globex", "[acme globex]", " acme , globex "] {
            let caller = caller_from_claims(&claims(&[("sub", "u1"), (PROJECTS_CLAIM, text)])).unwrap();
            assert!(caller.can_access("acme") && caller.can_access("globex"), "{text}");
            assert!(!caller.can_access("initech"), "{text}");
        }
    }

    #[test]
    fn star_grants_every_project_and_admin_comes_from_claim_or_group() {
        let caller = caller_from_claims(&claims(&[("sub", "u1"), (PROJECTS_CLAIM, "*")])).unwrap();
        assert_eq!(caller.projects, ProjectAccess::All);
        assert!(!caller.admin);
        assert!(caller_from_claims(&claims(&[("sub", "u"), (ADMIN_CLAIM, "true")])).unwrap().admin);
        assert!(
            caller_from_claims(&claims(&[("sub", "u"), ("cognito:groups", "[ops switchboard-admin]")])).unwrap().admin
        );
    }

    #[test]
    fn project_groups_grant_their_projects_and_the_all_projects_group_every_one() {
        let groups = "[ops switchboard-project-acme switchboard-project-globex]";
        let caller = caller_from_claims(&claims(&[("sub", "u1"), (GROUPS_CLAIM, groups)])).unwrap();
        assert_eq!(caller.projects, ProjectAccess::Only(["acme".to_owned(), "globex".to_owned()].into()));
        assert!(!caller.admin);
        let caller = caller_from_claims(&claims(&[("sub", "u1"), (GROUPS_CLAIM, ALL_PROJECTS_GROUP)])).unwrap();
        assert_eq!(caller.projects, ProjectAccess::All);
    }

    #[test]
    fn groups_and_the_projects_claim_add_up() {
        let caller = caller_from_claims(&claims(&[
            ("sub", "u1"),
            (PROJECTS_CLAIM, "acme"),
            (GROUPS_CLAIM, "[switchboard-project-globex]"),
        ]))
        .unwrap();
        assert!(caller.can_access("acme") && caller.can_access("globex") && !caller.can_access("initech"));
    }

    /// Cognito users may edit their own custom attributes unless the app client forbids it, so
    /// `custom:switchboard_projects` (read by earlier versions) must grant nothing.
    #[test]
    fn a_user_writable_custom_attribute_grants_nothing() {
        let caller = caller_from_claims(&claims(&[
            ("sub", "u1"),
            ("custom:switchboard_projects", "*"),
            ("custom:switchboard_admin", "true"),
        ]))
        .unwrap();
        assert_eq!(caller.projects, ProjectAccess::Only(BTreeSet::new()));
        assert!(!caller.admin && !caller.can_access("acme"));
    }

    #[test]
    fn only_groups_with_the_full_prefix_and_an_id_grant_a_project() {
        let groups = "[switchboard-project- project-acme acme switchboard-projects-acme]";
        let caller = caller_from_claims(&claims(&[("sub", "u1"), (GROUPS_CLAIM, groups)])).unwrap();
        assert_eq!(caller.projects, ProjectAccess::Only(BTreeSet::new()));
    }

    #[test]
    fn claims_without_subject_are_refused() {
        assert!(caller_from_claims(&claims(&[(PROJECTS_CLAIM, "*")])).is_err());
    }

    #[test]
    fn admin_tokens_need_32_to_512_printable_characters() {
        let hex64 = "0123456789abcdef".repeat(4);
        assert_eq!(check_admin_token(&hex64), Ok(()));
        assert_eq!(check_admin_token(&"a".repeat(32)), Ok(()));
        assert_eq!(check_admin_token(&"a".repeat(512)), Ok(()));
        assert_eq!(check_admin_token(&"a".repeat(31)), Err(AdminTokenError::TooShort(31)));
        assert_eq!(check_admin_token(""), Err(AdminTokenError::TooShort(0)));
        assert_eq!(check_admin_token(&"a".repeat(513)), Err(AdminTokenError::TooLong(513)));
        assert_eq!(check_admin_token(&format!("{hex64} ")), Err(AdminTokenError::BadCharacter));
        assert_eq!(check_admin_token(&format!("{hex64}é")), Err(AdminTokenError::BadCharacter));
        let message = AdminTokenError::TooShort(8).to_string();
        assert!(message.contains("at least 32") && message.contains("openssl rand -hex 32"), "{message}");
    }

    #[test]
    fn bearer_resolver_accepts_only_the_admin_token() {
        let resolver = BearerTokenResolver::admin(&SecretString::from("s3cret-token"));
        let mut headers = HeaderMap::new();
        let extensions = Extensions::new();
        assert!(resolver.resolve(&headers, &extensions).is_err());
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer wrong"));
        assert!(resolver.resolve(&headers, &extensions).is_err());
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer s3cret-token"));
        let caller = resolver.resolve(&headers, &extensions).unwrap();
        assert!(caller.admin && caller.can_access("anything"));
        assert!(!format!("{resolver:?}").contains("s3cret"));
    }
}
