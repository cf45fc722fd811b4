//! The `http:` backend of netaccess: the hand-written HTTP/1.1 core (`netaccess-http1`) driven
//! over a pooled transport on tokio, and HTTP/2 on the `h2` crate.
//!
//! [`HttpBackend`] implements [`netaccess_core::Backend`]; the `netaccess` manager registers it
//! for `http`, and it works on its own as well:
//!
//! ```no_run
//! # async fn example() -> Result<(), netaccess_core::NetworkError> {
//! use futures::StreamExt;
//! use netaccess_core::{Backend, BackendRequest, Operation};
//! use netaccess_http::HttpBackend;
//!
//! let backend = HttpBackend::default();
//! let url = url::Url::parse("http://127.0.0.1:8080/").unwrap();
//! let mut response = backend.send(BackendRequest::new(Operation::Get, url)).await?;
//! while let Some(chunk) = response.body.next().await {
//!     println!("{} bytes", chunk?.len());
//! }
//! # Ok(()) }
//! ```
//!
//! # Design
//!
//! - **Pool**: at most [`HttpConfig::max_connections_per_host`] (6) connections per scheme, host,
//!   port, proxy and accepted certificate problems, a queue ordered by priority then arrival, idle
//!   connections kept [`DEFAULT_IDLE_TIMEOUT`] and checked for liveness at checkout.
//! - **Routes and proxies**: the `route` module: the connector's proxies for the URL, HTTP
//!   forwarding and a forwarding proxy's 407, failover to the next proxy. Every connection comes
//!   ready from the shared [`Connector`] (`netaccess-connect`: the tunnel and its
//!   authentication, TLS with the ALPN offer); this crate performs no handshake of its own.
//! - **Retry**: a request that fails on a reused connection before any response byte arrived is
//!   sent once more on a fresh connection, with its body from byte 0; a body that cannot be
//!   replayed gives `ContentReSendError` instead.
//! - **Timeouts**: the connect timeout bounds resolving and connecting (see
//!   [`netaccess_connect::TransportConfig`]), the TLS handshake has its own; the optional
//!   [`HttpConfig::response_head_timeout`] bounds the wait for a head once the request was
//!   sent; the transfer timeout
//!   starts when the request holds a connection slot (never while queued) and bounds the wait for
//!   the response head; the manager applies it to every body chunk after that.
//! - **POST without `Content-Type`**: [`DEFAULT_POST_CONTENT_TYPE`] with a logged warning, as the
//!   Qt 4.8 documentation says (Qt 4.8.3 and later send `application/x-www-form-urlencoded`).
//! - **Decompression**: see [`decompress`](crate::accept_encoding): only when the caller did not
//!   set `Accept-Encoding`; the decoded reply loses `Content-Length` and `Content-Encoding` (kept
//!   as the `original_content_length` attribute). A coding it cannot decode is delivered as it
//!   came with its header (as Qt does); an empty body is empty whatever its coding.
//! - **Uploads** over HTTP/1.1 are written whole before the response is read; a server that
//!   answers early without reading the body makes the upload fail with the write error. Over
//!   HTTP/2 the upload runs beside the wait for the response.
//! - **HTTP/2**: see the `http2` module: ALPN offers `h2` and `http/1.1` for https (the
//!   request's `http2_allowed`), `http2_direct` speaks it by prior knowledge; one connection per
//!   pool key carries every request of the key as a stream, up to the server's stream limit, in
//!   the queue's order.

#![forbid(unsafe_code)]

mod connection;
pub mod decompress;
mod errors;
mod exchange;
mod http2;
mod incoming;
mod outgoing;
mod pool;
mod route;
mod shown;

use std::sync::Arc;
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use http::header::{self, HeaderValue};
use netaccess_connect::Connector;
use netaccess_core::{
    Backend, BackendRequest, BackendResponse, KnownHeaders, NetworkError, NetworkErrorKind, ReplyAttributes,
};
use netaccess_http1::{Framing, Limits};
use url::Url;

pub use netaccess_connect::Transport;
/// Answering Basic and Digest challenges (now `netaccess_proxy::challenge`, shared with the
/// proxies' authentication).
pub use netaccess_proxy::challenge;

/// The `User-Agent` sent when the caller sets none (Qt sends `Mozilla/5.0`; this names us). A
/// product default: the backend's, not the HTTP/1.1 core's (which knows HTTP, not netaccess).
pub const DEFAULT_USER_AGENT: &str = concat!("netaccess/", env!("CARGO_PKG_VERSION"));
pub use decompress::{accept_encoding, DEFAULT_BOMB_THRESHOLD};
pub use exchange::EXPECT_CONTINUE_WAIT;
pub use http2::{CONNECTION_WINDOW, MAX_STREAMS_PER_CONNECTION, MAX_UNPROCESSED_RETRIES, SETTINGS_WAIT, STREAM_WINDOW};
pub use netaccess_proxy::MAX_PROXY_AUTH_ROUNDS;

use crate::decompress::Decompressor;
use crate::incoming::Incoming;
use crate::pool::Pool;

/// The `Content-Type` of a POST whose caller set none (Qt 4.8's documented default).
pub const DEFAULT_POST_CONTENT_TYPE: &str = "application/octet-stream";

/// Connections per host, as Qt.
pub const DEFAULT_MAX_CONNECTIONS_PER_HOST: usize = 6;

/// How long an idle connection is kept (Qt's connection cache expiry: 120 s).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// How long connecting may take by default (see [`netaccess_connect::TransportConfig`]).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = netaccess_connect::DEFAULT_CONNECT_TIMEOUT;

/// The backend's settings, each with its default.
#[non_exhaustive]
#[derive(Clone)]
pub struct HttpConfig {
    /// Connections per scheme, host and port ([`DEFAULT_MAX_CONNECTIONS_PER_HOST`]).
    pub max_connections_per_host: usize,
    /// How long an idle connection is kept ([`DEFAULT_IDLE_TIMEOUT`]).
    pub idle_timeout: Duration,
    /// The longest wait for a response head once the request was sent (Go's
    /// `ResponseHeaderTimeout`); zero, the default, leaves it to the transfer timeout.
    pub response_head_timeout: Duration,
    /// Decode `Content-Encoding` when the caller did not set `Accept-Encoding` (default on).
    pub auto_decompress: bool,
    /// The decompression-bomb threshold ([`DEFAULT_BOMB_THRESHOLD`]; `None`: no check).
    pub decompression_threshold: Option<u64>,
    /// The `User-Agent` when the caller sets none.
    pub user_agent: String,
    /// Limits on response heads and chunk lines.
    pub limits: Limits,
    /// Whether each response reports the request head that was sent for it
    /// (`netaccess_core::WireHeads::request_head`), for a tool that shows it (curl's `-v`); off by
    /// default: it costs a copy of the head per request.
    pub keep_request_heads: bool,
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("max_connections_per_host", &self.max_connections_per_host)
            .field("idle_timeout", &self.idle_timeout)
            .field("response_head_timeout", &self.response_head_timeout)
            .field("auto_decompress", &self.auto_decompress)
            .field("decompression_threshold", &self.decompression_threshold)
            .field("user_agent", &self.user_agent)
            .field("limits", &self.limits)
            .field("keep_request_heads", &self.keep_request_heads)
            .finish()
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_connections_per_host: DEFAULT_MAX_CONNECTIONS_PER_HOST,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            response_head_timeout: Duration::ZERO,
            auto_decompress: true,
            decompression_threshold: Some(DEFAULT_BOMB_THRESHOLD),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            limits: Limits::default(),
            keep_request_heads: false,
        }
    }
}

/// The HTTP/1.1 backend. Cloning shares the pool.
#[derive(Clone)]
pub struct HttpBackend {
    inner: Arc<Inner>,
}

struct Inner {
    config: HttpConfig,
    /// `config.user_agent` as a header value, built once (`None` when it is not a valid value).
    user_agent: Option<HeaderValue>,
    pool: Arc<Pool>,
    /// Opens every connection ready for HTTP (the proxy chain, TLS and ALPN), holds the proxy
    /// settings and the proxy credentials; shared with the other backends.
    connector: Arc<Connector>,
}

impl Default for HttpBackend {
    fn default() -> Self {
        Self::new(HttpConfig::default())
    }
}

impl std::fmt::Debug for HttpBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpBackend").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl HttpBackend {
    /// A backend with these settings and a connector of its own with the default transport
    /// settings (the environment's proxies, the system's trust).
    pub fn new(config: HttpConfig) -> Self {
        Self::with_connector(config, Arc::new(Connector::default()))
    }

    /// A backend with these settings that opens its connections with `connector` (its
    /// timeouts, resolution, proxies, proxy credentials and TLS; the manager shares one between
    /// every backend).
    pub fn with_connector(config: HttpConfig, connector: Arc<Connector>) -> Self {
        let pool = Pool::new(config.max_connections_per_host, config.idle_timeout);
        let user_agent = HeaderValue::from_str(&config.user_agent).ok();
        Self { inner: Arc::new(Inner { user_agent, config, pool, connector }) }
    }

    /// The connector this backend opens connections with.
    pub fn connector(&self) -> Arc<Connector> {
        self.inner.connector.clone()
    }

    /// The settings.
    pub fn config(&self) -> &HttpConfig {
        &self.inner.config
    }

    /// Closes the idle connections (Qt's `clearConnectionCache`); connections in use finish
    /// their requests.
    pub fn clear_connection_cache(&self) {
        self.inner.pool.clear_idle();
    }

    /// Sends every request through `proxy` (Qt's `setProxy`); `None` returns to the factory.
    /// The setting is the connector's: every backend sharing it follows.
    pub fn set_proxy(&self, proxy: Option<netaccess_proxy::Proxy>) {
        self.inner.connector.set_proxy(proxy);
    }

    /// Chooses proxies per request with `factory` when no proxy is set (Qt's `setProxyFactory`);
    /// the connector's setting, as [`set_proxy`](Self::set_proxy).
    pub fn set_proxy_factory(&self, factory: Arc<dyn netaccess_proxy::ProxyFactory>) {
        self.inner.connector.set_proxy_factory(factory);
    }

    /// The proxies a request for `url` may take, as the proxy settings give them (the proxy set,
    /// else the factory's answer), before any filtering by scheme.
    pub fn proxy_candidates(&self, url: &Url) -> Vec<netaccess_proxy::Proxy> {
        self.inner.connector.proxy_candidates(url)
    }

    /// How many idle connections are kept now.
    pub fn idle_connections(&self) -> usize {
        self.inner.pool.idle_count()
    }
}

impl Backend for HttpBackend {
    fn send(&self, request: BackendRequest) -> BoxFuture<'static, Result<BackendResponse, NetworkError>> {
        let inner = self.inner.clone();
        inner.send(request).boxed()
    }

    /// The request's [`SendTime`](netaccess_core::SendTime) decisions are made once it holds
    /// a pool slot, before each head is written; the response head is shown to it before the
    /// slot can serve another request.
    fn decides_at_send_time(&self) -> bool {
        true
    }

    /// A request that may become an HTTP/2 stream lets its host's line run as many requests
    /// as one connection may carry ([`MAX_STREAMS_PER_CONNECTION`]): the pool, which learns
    /// what the host speaks, holds the rest (six per host over HTTP/1.1), in the same priority
    /// and issue order. The same rule chooses a route's HTTP/2 mode (before the proxy is
    /// known: a forwarding proxy then turns HTTP/2 off, and the pool allows six).
    fn shared_line_limit(&self, url: &Url, attributes: &netaccess_core::RequestAttributes) -> Option<usize> {
        route::may_speak_http2(url, attributes).then_some(MAX_STREAMS_PER_CONNECTION)
    }
}

pub(crate) fn invalid(url: &Url, message: String) -> NetworkError {
    NetworkError::new(NetworkErrorKind::ProtocolInvalidOperationError, url.as_str(), message)
}

impl Inner {
    fn response(
        &self,
        mut incoming: Incoming,
        decompress: bool,
        slot: pool::Slot,
        url: String,
        proxy: &netaccess_proxy::Proxy,
    ) -> Result<BackendResponse, NetworkError> {
        let framing = incoming.framing();
        // The head is not needed past this point: its parts move into the response.
        let head = incoming.head_mut();
        let mut headers = std::mem::take(&mut head.headers);
        let mut attributes = ReplyAttributes::default();
        attributes.http_status_code = Some(head.status.as_u16());
        attributes.http_reason_phrase = Some(std::mem::take(&mut head.reason));
        if !head.names_as_received.is_empty() {
            let names = std::mem::take(&mut head.names_as_received).into_vec();
            attributes.wire_heads.get_or_insert_with(Box::default).header_names_as_received = names;
        }
        attributes.http_version = Some(head.version);
        attributes.http2_was_used = head.version == http::Version::HTTP_2;
        attributes.proxy = (!proxy.is_direct()).then(|| proxy.label());
        if let Some(tls) = incoming.tls() {
            attributes.connection_encrypted = true;
            attributes.peer_certificates = tls.chain.clone();
            attributes.ssl_errors = tls.errors.clone();
        }
        let mut expected_length = match framing {
            Framing::Empty => Some(0),
            Framing::Length(n) => Some(n),
            Framing::Chunked | Framing::CloseDelimited => None,
        };
        let mut decoder = None;
        if decompress && framing != Framing::Empty {
            if let Some(encoding) = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()) {
                // A coding we cannot decode is delivered as it came, the header kept (Qt's way;
                // RFC 9110 §8.4 leaves it to the recipient).
                decoder =
                    Decompressor::for_encoding(encoding, self.config.decompression_threshold).unwrap_or_else(|why| {
                        tracing::debug!(url = %url, "delivering the body undecoded: {why}");
                        None
                    });
            }
            if decoder.is_some() {
                attributes.original_content_length = headers.content_length();
                headers.remove(header::CONTENT_LENGTH);
                headers.remove(header::CONTENT_ENCODING);
                expected_length = None;
            }
        }
        let (facts, milestones) = incoming.facts();
        attributes.connection = facts;
        let body = incoming.into_body(decoder, self.pool.clone(), slot, url);
        let mut response = BackendResponse::new(body, expected_length);
        response.headers = headers;
        response.attributes = attributes;
        response.milestones = milestones;
        Ok(response)
    }
}

/// The README's example, compiled (and run where it needs no server) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;

#[cfg(test)]
mod tests {
    use super::*;
    use netaccess_core::RequestAttributes;

    fn limit(url: &str, allowed: bool, direct: bool) -> Option<usize> {
        let mut attributes = RequestAttributes::default();
        attributes.http2_allowed = allowed;
        attributes.http2_direct = direct;
        HttpBackend::default().shared_line_limit(&Url::parse(url).unwrap(), &attributes)
    }

    #[test]
    fn only_a_request_that_may_be_an_http2_stream_raises_its_line() {
        assert_eq!(limit("https://a.test/", true, false), Some(MAX_STREAMS_PER_CONNECTION), "ALPN may choose h2");
        assert_eq!(limit("http://a.test/", true, false), None, "no ALPN without TLS");
        assert_eq!(limit("http://a.test/", false, true), Some(MAX_STREAMS_PER_CONNECTION), "h2c by prior knowledge");
        assert_eq!(limit("https://a.test/", false, false), None, "HTTP/2 not allowed");
    }
}
