//! The request for one page: a URL the API handed out, or the endpoint template with the delta
//! position, the page position, the page size and the partition's values filled in. A run's
//! pages and a partition source's parent list are built the same way.

use std::collections::BTreeMap;

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;

use switchboard_core::model::PollMethod;
use switchboard_core::polling::{DeltaPlan, PageCursor, PollError, RequestPlan};

use crate::auth::HttpRequest;
use crate::credentials::Credentials;
use crate::request::{
    Escape, PageVars, Vars, is_dropped_when_empty, parse_http_url, reads_credentials, render_body, render_text,
    render_url, secret_query_params, set_query_param,
};

/// What a page request is built from besides its cursor.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageRequest<'a> {
    /// The compiled request.
    pub(crate) requests: &'a RequestPlan,
    /// Instance config with defaults.
    pub(crate) config: &'a BTreeMap<String, String>,
    /// Instance credentials.
    pub(crate) credentials: &'a Credentials,
    /// The delta position as the API expects it.
    pub(crate) delta_value: Option<&'a str>,
    /// The partition's values (`{{partition.<field>}}`), in a partitioned stream.
    pub(crate) partition: Option<&'a BTreeMap<String, String>>,
    /// The end of the pass's time window (`{{windowEnd}}`), when the API is asked in windows.
    pub(crate) window_end: Option<&'a str>,
    /// Where the endpoint is: URLs handed out by the API must stay there.
    pub(crate) origin: &'a url::Origin,
}

impl PageRequest<'_> {
    /// The request for the page at `cursor` (`None`: the first page).
    pub(crate) fn build(&self, cursor: Option<&PageCursor>) -> Result<HttpRequest, PollError> {
        let requests = self.requests;
        let pagination = requests.pagination.as_ref();
        let first_number = pagination.and_then(|p| p.start_page());
        let page_token = match cursor {
            Some(PageCursor::Offset(n) | PageCursor::Page(n)) => n.to_string(),
            Some(PageCursor::Token(t)) => t.clone(),
            Some(PageCursor::Url(_)) => String::new(),
            None if pagination.is_some_and(|p| p.is_offset()) => "0".to_owned(),
            None => first_number.map(|n| n.to_string()).unwrap_or_default(),
        };
        let delta_value = self.delta_value;
        let vars = PageVars {
            vars: Vars {
                config: self.config,
                credentials: self.credentials,
                checkpoint: delta_value.unwrap_or_default(),
                page_token: &page_token,
            },
            page_size: pagination.map(|p| p.page_size),
            partition: self.partition,
            window_end: self.window_end,
        };
        let delta_link = match (&requests.delta, delta_value) {
            (DeltaPlan::DeltaToken { .. }, Some(v)) if v.starts_with("http://") || v.starts_with("https://") => Some(v),
            _ => None,
        };
        let credentials = self.credentials;
        let url = match (cursor, delta_link) {
            (Some(PageCursor::Url(next)), _) => self.same_origin(parse_http_url(next, credentials)?)?,
            (None, Some(link)) => self.same_origin(parse_http_url(link, credentials)?)?,
            _ => {
                let mut url = render_url(&requests.endpoint, &vars)?;
                let param = requests.delta.param();
                if let Some(value) = delta_value
                    && !param.is_empty()
                    && !requests.checkpoint_in_template
                {
                    set_query_param(&mut url, param, value);
                }
                let end_param = requests.backfill.as_ref().and_then(|b| b.window.as_ref()).map(|w| &w.end_param);
                if let (Some(end), Some(end_param)) = (self.window_end, end_param)
                    && !end_param.is_empty()
                {
                    set_query_param(&mut url, end_param, end);
                }
                if let Some(p) = pagination {
                    if let Some(size_param) = &p.page_size_param {
                        set_query_param(&mut url, size_param, &p.page_size.to_string());
                    }
                    // A page number goes on the first page too (the API's default may differ
                    // from `startPage`); a token or offset only once there is one.
                    if let Some(next_param) = &p.next_param
                        && (cursor.is_some() || first_number.is_some())
                        && !requests.page_token_in_template
                    {
                        set_query_param(&mut url, next_param, &page_token);
                    }
                }
                url
            }
        };
        let method = match requests.method {
            PollMethod::Get => Method::GET,
            PollMethod::Post => Method::POST,
        };
        let mut request = HttpRequest::new(method, url);
        request.secret_params = secret_query_params(&requests.endpoint);
        for (name, template) in &requests.headers {
            let value = render_text(template, &vars, Escape::Raw)?;
            if value.is_empty() && is_dropped_when_empty(template) {
                continue;
            }
            if reads_credentials(template) {
                request.secret_header(name, &value)?
            } else {
                request.header(name, &value)?
            }
        }
        if let Some(body) = &requests.body {
            request.body = Some(render_body(body, &vars)?);
            if !request.headers.contains_key(CONTENT_TYPE) {
                request.header(CONTENT_TYPE.as_str(), "application/json")?;
            }
        }
        Ok(request)
    }

    fn same_origin(&self, url: url::Url) -> Result<url::Url, PollError> {
        if url.origin() == *self.origin {
            Ok(url)
        } else {
            Err(PollError::Config(format!(
                "refusing to send credentials to {}: the endpoint is on {}",
                url.origin().ascii_serialization(),
                self.origin.ascii_serialization()
            )))
        }
    }
}
