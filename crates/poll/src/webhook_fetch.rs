//! [`GuardedFetcher`]: the webhook gateway's [`WebhookFetcher`] (SNS signing certificates,
//! JWKS, subscription confirmation URLs) over the polling engine's guarded client: the egress
//! guard at connect time, no redirects, no proxy, short timeouts and a size limit.

use std::time::Duration;

use switchboard_core::webhook::{FetchError, WebhookFetcher};
use url::Url;

use crate::client::LazyHttp;
use crate::egress::{EgressAllow, EgressGuard};

/// Largest document fetched (a certificate or a key set is a few KB).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const TIMEOUT: Duration = Duration::from_secs(5);

/// Fetches webhook key documents and confirmation URLs through the egress guard.
#[derive(Debug, Clone)]
pub struct GuardedFetcher {
    http: LazyHttp,
    guard: EgressGuard,
}

impl GuardedFetcher {
    /// A fetcher whose guard has `allow`'s exceptions, with its client built now. Fails when
    /// the client cannot be built (its TLS setup).
    pub fn new(allow: EgressAllow) -> Result<Self, FetchError> {
        let fetcher = Self::lazy(allow);
        fetcher.client()?;
        Ok(fetcher)
    }

    /// The same fetcher as [`GuardedFetcher::new`], whose client is built by the first fetch
    /// ([`LazyHttp`]): a gateway that never fetches a key never loads the root certificates.
    pub fn lazy(allow: EgressAllow) -> Self {
        let guard = EgressGuard::new(allow);
        Self { http: LazyHttp::guarded(&guard, CONNECT_TIMEOUT, TIMEOUT), guard }
    }

    /// Whether the fetcher's client has been built yet.
    pub fn is_built(&self) -> bool {
        self.http.is_built()
    }

    fn client(&self) -> Result<&reqwest::Client, FetchError> {
        self.http.get().map_err(|error| {
            tracing::error!(%error, "the webhook key fetcher's HTTP client could not be built");
            FetchError("the HTTP client could not be built".to_owned())
        })
    }
}

#[async_trait::async_trait]
impl WebhookFetcher for GuardedFetcher {
    async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let parsed = Url::parse(url).map_err(|_| FetchError("the URL is not valid".to_owned()))?;
        let host = parsed.host_str().unwrap_or_default().to_owned();
        self.guard.check_url(&parsed).map_err(|denied| FetchError(denied.to_string()))?;
        let mut response = self.client()?.get(parsed).send().await.map_err(|error| {
            match crate::egress::EgressDenied::find(&error) {
                Some(denied) => FetchError(denied.to_string()),
                None => FetchError(format!("GET to {host} failed")),
            }
        })?;
        if !response.status().is_success() {
            return Err(FetchError(format!("GET to {host} answered {}", response.status().as_u16())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|_| FetchError(format!("reading from {host} failed")))? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(FetchError(format!("the document from {host} exceeds {MAX_DOCUMENT_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    #[tokio::test]
    async fn loopback_is_refused_unless_the_operator_allows_it() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/cert.pem"))
            .respond_with(ResponseTemplate::new(200).set_body_string("PEM"))
            .mount(&server)
            .await;
        let url = format!("{}/cert.pem", server.uri());

        let refused = GuardedFetcher::new(EgressAllow::none()).unwrap().get(&url).await.unwrap_err();
        assert!(refused.0.starts_with("egress_denied"), "{refused}");

        let allowed = GuardedFetcher::lazy(EgressAllow::parse("127.0.0.1").unwrap());
        assert!(!allowed.is_built(), "no client before the first fetch");
        assert_eq!(allowed.get(&url).await.unwrap(), b"PEM");
        assert!(allowed.is_built());
        assert_eq!(allowed.get(&url).await.unwrap(), b"PEM");
        assert_eq!(allowed.http.builds(), 1, "one client for every fetch");
    }

    #[tokio::test]
    async fn errors_and_oversized_documents_are_refused_without_echoing_the_query() {
        let server = MockServer::start().await;
        Mock::given(path("/missing")).respond_with(ResponseTemplate::new(404)).mount(&server).await;
        Mock::given(path("/big"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; MAX_DOCUMENT_BYTES + 1]))
            .mount(&server)
            .await;
        let fetcher = GuardedFetcher::new(EgressAllow::parse("127.0.0.1").unwrap()).unwrap();
        let missing = fetcher.get(&format!("{}/missing?Token=secret", server.uri())).await.unwrap_err();
        assert_eq!(missing.0, "GET to 127.0.0.1 answered 404");
        let big = fetcher.get(&format!("{}/big", server.uri())).await.unwrap_err();
        assert!(big.0.contains("exceeds"), "{big}");
    }
}
