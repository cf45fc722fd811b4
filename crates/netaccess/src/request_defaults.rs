//! Defaults for a client of one API, as Qt 6.7's `QNetworkRequestFactory` gives them: a base
//! URL that relative requests resolve against, and headers sent with every request that does
//! not set its own.
//!
//! # Design
//!
//! Applied once, as the request is handed to the manager, before the interceptors see it and
//! it takes its place in its host's line: what the request says wins (a header it sets, an
//! absolute URL), then these defaults, then what its body implies (`Content-Type` of a form or
//! JSON body, at the interceptor chain's end, as an interceptor may replace the body). A relative
//! URL resolves as a browser does: `https://api.example.com/v1/` and `items/1` give
//! `https://api.example.com/v1/items/1`; without the trailing slash, `v1` is replaced.

use base64::Engine as _;
use http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use netaccess_core::{Body, Request};
use url::Url;

#[derive(Debug, Clone, Default)]
pub(crate) struct RequestDefaults {
    pub(crate) base_url: Option<Url>,
    pub(crate) headers: HeaderMap,
}

impl RequestDefaults {
    pub(crate) fn set_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.headers.insert(name, value);
    }

    pub(crate) fn set_bearer_token(&mut self, token: &str) {
        if let Ok(mut value) = HeaderValue::from_str(&format!("Bearer {token}")) {
            value.set_sensitive(true);
            self.headers.insert(AUTHORIZATION, value);
        }
    }

    pub(crate) fn set_basic_auth(&mut self, user: &str, password: &str) {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        if let Ok(mut value) = HeaderValue::from_str(&format!("Basic {encoded}")) {
            value.set_sensitive(true);
            self.headers.insert(AUTHORIZATION, value);
        }
    }

    /// Completes `request`: its URL against the base, the default headers it lacks (before
    /// the interceptors see it).
    pub(crate) fn apply(&self, request: &mut Request) {
        if request.url().is_none() {
            if let Some(url) = self.base_url.as_ref().and_then(|base| base.join(request.url_text()).ok()) {
                request.set_url(url);
            }
        }
        for name in self.headers.keys() {
            if !request.headers().contains_key(name) {
                for value in self.headers.get_all(name) {
                    request.headers_mut().append(name.clone(), value.clone());
                }
            }
        }
    }

    /// The `Content-Type` `body` implies, unless `request` sets one (at the interceptor
    /// chain's end: an interceptor may have replaced the body).
    pub(crate) fn apply_body_type(&self, request: &mut Request, body: &Body) {
        if let Some(content_type) = body.content_type() {
            if !request.headers().contains_key(CONTENT_TYPE) {
                request.headers_mut().insert(CONTENT_TYPE, content_type.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_wins_then_the_defaults_then_the_body() {
        let mut defaults = RequestDefaults {
            base_url: Some(Url::parse("https://api.example.com/v1/").unwrap()),
            ..RequestDefaults::default()
        };
        defaults.set_header(HeaderName::from_static("x-api-key"), HeaderValue::from_static("k"));
        defaults.set_bearer_token("t0ken");
        let mut request = Request::new("items/1").with_header("X-Api-Key", "mine");
        let form = Body::from_form([("a", "b")]);
        defaults.apply(&mut request);
        defaults.apply_body_type(&mut request, &form);
        assert_eq!(request.url_text(), "https://api.example.com/v1/items/1");
        assert_eq!(request.headers()["x-api-key"], "mine");
        assert_eq!(request.headers()[AUTHORIZATION], "Bearer t0ken");
        assert!(request.headers()[AUTHORIZATION].is_sensitive());
        assert_eq!(request.headers()[CONTENT_TYPE], "application/x-www-form-urlencoded");

        let mut absolute = Request::new("http://other.example/x");
        defaults.apply(&mut absolute);
        defaults.apply_body_type(&mut absolute, &Body::empty());
        assert_eq!(absolute.url_text(), "http://other.example/x", "an absolute URL is kept");
        assert!(!absolute.headers().contains_key(CONTENT_TYPE));

        defaults.set_basic_auth("Aladdin", "open sesame");
        let mut basic = Request::new("/");
        defaults.apply(&mut basic);
        assert_eq!(basic.headers()[AUTHORIZATION], "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(basic.url_text(), "https://api.example.com/");
    }
}
