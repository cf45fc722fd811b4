//! The `http:` backend of netaccess: the hand-written HTTP/1.1 core (`netaccess-http1`) driven
//! over a pooled transport on tokio.
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
//! - **Pool**: see [`pool`](crate::HttpConfig::max_connections_per_host): at most 6 connections
//!   per scheme, host and port, a queue ordered by priority then arrival, idle connections kept
//!   [`DEFAULT_IDLE_TIMEOUT`] and checked for liveness at checkout.
//! - **Retry**: a request that fails on a reused connection before any response byte arrived is
//!   sent once more on a fresh connection, with its body from byte 0; a body that cannot be
//!   replayed gives `ContentReSendError` instead.
//! - **Timeouts**: the connect timeout bounds each connection attempt; the transfer timeout
//!   starts when the request holds a connection slot (never while queued) and bounds the wait for
//!   the response head; the manager applies it to every body chunk after that.
//! - **POST without `Content-Type`**: [`DEFAULT_POST_CONTENT_TYPE`] with a logged warning, as the
//!   Qt 4.8 documentation says (Qt 4.8.3 and later send `application/x-www-form-urlencoded`).
//! - **Decompression**: see [`decompress`](crate::accept_encoding): only when the caller did not
//!   set `Accept-Encoding`; the decoded reply loses `Content-Length` and `Content-Encoding` (kept
//!   as the `original_content_length` attribute).
//! - **Uploads** are written whole before the response is read; a server that answers early
//!   without reading the body makes the upload fail with the write error.

#![forbid(unsafe_code)]

pub mod challenge;
mod connect;
mod connection;
mod decompress;
mod errors;
mod exchange;
mod pool;
mod secure;

use std::sync::Arc;
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use http::header::{self, HeaderValue};
use http::Method;
use netaccess_core::{
    Backend, BackendRequest, BackendResponse, IgnoredSslErrors, KnownHeaders, NetworkError, NetworkErrorKind,
    ReplyAttributes, ReplyEvent, SslErrorHandler,
};
use netaccess_http1::{
    apply_default_headers, asks_to_close, encode_request_head, Framing, Limits, RequestFraming, RequestTarget,
    DEFAULT_USER_AGENT,
};
use netaccess_tls::TlsConnector;
use url::Url;

pub use connection::Transport;
pub use decompress::{accept_encoding, DEFAULT_BOMB_THRESHOLD};
pub use exchange::EXPECT_CONTINUE_WAIT;

use crate::connect::connect_tcp;
use crate::decompress::Decompressor;
use crate::exchange::{body_stream, exchange, Failed, Incoming, Outgoing};
use crate::pool::{Pool, PoolKey};

/// The `Content-Type` of a POST whose caller set none (Qt 4.8's documented default).
pub const DEFAULT_POST_CONTENT_TYPE: &str = "application/octet-stream";

/// Connections per host, as Qt.
pub const DEFAULT_MAX_CONNECTIONS_PER_HOST: usize = 6;

/// How long an idle connection is kept (Qt's connection cache expiry: 120 s).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// How long one connection attempt may take by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The backend's settings, each with its default.
#[non_exhaustive]
#[derive(Clone)]
pub struct HttpConfig {
    /// Connections per scheme, host and port ([`DEFAULT_MAX_CONNECTIONS_PER_HOST`]).
    pub max_connections_per_host: usize,
    /// How long an idle connection is kept ([`DEFAULT_IDLE_TIMEOUT`]).
    pub idle_timeout: Duration,
    /// The limit on one connection attempt ([`DEFAULT_CONNECT_TIMEOUT`]; zero: none).
    pub connect_timeout: Duration,
    /// Decode `Content-Encoding` when the caller did not set `Accept-Encoding` (default on).
    pub auto_decompress: bool,
    /// The decompression-bomb threshold ([`DEFAULT_BOMB_THRESHOLD`]; `None`: no check).
    pub decompression_threshold: Option<u64>,
    /// The `User-Agent` when the caller sets none.
    pub user_agent: String,
    /// Limits on response heads and chunk lines.
    pub limits: Limits,
    /// Trust and client identity for https.
    pub tls: netaccess_tls::TlsConfig,
    /// Who decides on certificate problems a request did not accept in advance; without one
    /// they fail the request.
    pub ssl_error_handler: Option<Arc<dyn SslErrorHandler>>,
    /// Addresses to use instead of resolving `host:port` (lower case), like curl's `--resolve`.
    pub resolve: std::collections::HashMap<String, std::net::SocketAddr>,
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("max_connections_per_host", &self.max_connections_per_host)
            .field("idle_timeout", &self.idle_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("auto_decompress", &self.auto_decompress)
            .field("decompression_threshold", &self.decompression_threshold)
            .field("user_agent", &self.user_agent)
            .field("limits", &self.limits)
            .field("tls", &self.tls)
            .field("ssl_error_handler", &self.ssl_error_handler.is_some())
            .field("resolve", &self.resolve)
            .finish()
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_connections_per_host: DEFAULT_MAX_CONNECTIONS_PER_HOST,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            auto_decompress: true,
            decompression_threshold: Some(DEFAULT_BOMB_THRESHOLD),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            limits: Limits::default(),
            tls: netaccess_tls::TlsConfig::default(),
            ssl_error_handler: None,
            resolve: std::collections::HashMap::new(),
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
    pool: Arc<Pool>,
    /// Built on the first https request (loading the system's roots costs time).
    tls: std::sync::OnceLock<Result<TlsConnector, String>>,
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
    /// A backend with these settings.
    pub fn new(config: HttpConfig) -> Self {
        let pool = Pool::new(config.max_connections_per_host, config.idle_timeout);
        Self { inner: Arc::new(Inner { config, pool, tls: std::sync::OnceLock::new() }) }
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

    /// How many idle connections are kept now.
    pub fn idle_connections(&self) -> usize {
        self.inner.pool.idle_count()
    }
}

impl Backend for HttpBackend {
    fn send(&self, request: BackendRequest) -> BoxFuture<'static, Result<BackendResponse, NetworkError>> {
        let inner = self.inner.clone();
        async move { inner.send(request).await }.boxed()
    }
}

/// Where a request goes.
struct Route<'a> {
    url: &'a Url,
    host: &'a str,
    port: u16,
    ignore: &'a IgnoredSslErrors,
}

fn invalid(url: &Url, message: String) -> NetworkError {
    NetworkError::new(NetworkErrorKind::ProtocolInvalidOperationError, url.as_str(), message)
}

impl Inner {
    async fn send(self: Arc<Self>, request: BackendRequest) -> Result<BackendResponse, NetworkError> {
        let url = request.url;
        let url_text = url.as_str().to_owned();
        let method = Method::from_bytes(request.operation.verb().as_bytes())
            .map_err(|_| invalid(&url, format!("{:?} is not a valid HTTP method", request.operation.verb())))?;
        let host =
            url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| invalid(&url, "the URL has no host".into()))?;
        let port = url.port_or_known_default().ok_or_else(|| invalid(&url, "the URL has no port".into()))?;

        let mut headers = request.headers;
        let decompress = self.config.auto_decompress && !headers.contains_key(header::ACCEPT_ENCODING);
        apply_default_headers(&mut headers, &self.config.user_agent, decompress.then(accept_encoding));
        if method == Method::POST && !headers.contains_key(header::CONTENT_TYPE) {
            tracing::warn!(url = %url, "content-type missing in HTTP POST, defaulting to {DEFAULT_POST_CONTENT_TYPE}");
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(DEFAULT_POST_CONTENT_TYPE));
        }
        let framing = RequestFraming::for_body(&method, request.body.len());
        let mut head = Vec::with_capacity(256);
        encode_request_head(&method, RequestTarget::Origin(&url), &headers, framing, &mut head);
        let expect_continue =
            headers.get(header::EXPECT).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        let out = Outgoing {
            url: &url_text,
            method: &method,
            head: &head,
            framing,
            expect_continue,
            close_after: asks_to_close(&headers),
            events: &request.events,
            emit_all_upload_progress: request.attributes.emit_all_upload_progress,
            limits: self.config.limits,
        };

        let ignore = &request.attributes.ignore_ssl_errors;
        let key = PoolKey {
            scheme: url.scheme().to_owned(),
            host: host.to_owned(),
            port,
            tls_exceptions: secure::exceptions_key(ignore),
        };
        let slot = self.pool.acquire(key, request.attributes.priority).await;
        let timeout = request.attributes.transfer_timeout.unwrap_or(Duration::ZERO);
        let route = Route { url: &url, host, port, ignore };
        let attempt = self.attempts(out, &route, &slot, request.body);
        let incoming = if timeout.is_zero() {
            attempt.await?
        } else {
            tokio::time::timeout(timeout, attempt).await.map_err(|_| {
                NetworkError::new(
                    NetworkErrorKind::TimeoutError,
                    &url_text,
                    format!("no response within {} ms (the transfer timeout)", timeout.as_millis()),
                )
            })??
        };
        self.response(&method, incoming, decompress, slot, url_text)
    }

    /// Sends on a pooled or new connection; a reused connection that fails before any response
    /// byte gets one retry on a fresh one.
    async fn attempts(
        &self,
        out: Outgoing<'_>,
        route: &Route<'_>,
        slot: &pool::Slot,
        body: netaccess_core::Body,
    ) -> Result<Incoming, NetworkError> {
        let replay = body.try_clone();
        let mut body = Some(body);
        let mut fresh_only = false;
        loop {
            let idle = if fresh_only { None } else { self.pool.take_idle(slot) };
            let connection = match idle {
                Some(connection) => connection,
                None => self.open(route, out.events).await?,
            };
            if connection.tls.is_some() {
                out.events.send(ReplyEvent::Encrypted).await;
            }
            let reused = connection.reused;
            let this_body = match body.take() {
                Some(body) => body,
                None => replay.as_ref().and_then(|b| b.try_clone()).ok_or_else(|| {
                    NetworkError::new(
                        NetworkErrorKind::ContentReSendError,
                        out.url,
                        "the request body cannot be sent again",
                    )
                })?,
            };
            match exchange(connection, out, this_body).await {
                Ok(incoming) => return Ok(incoming),
                Err(Failed { error, before_response: true }) if reused && !fresh_only => {
                    tracing::debug!(url = out.url, %error, "a reused connection failed; retrying on a fresh one");
                    if replay.is_none() {
                        return Err(NetworkError::new(
                            NetworkErrorKind::ContentReSendError,
                            out.url,
                            format!(
                                "the connection failed ({}) and the request body cannot be sent again",
                                error.message()
                            ),
                        ));
                    }
                    fresh_only = true;
                }
                Err(failed) => return Err(failed.error),
            }
        }
    }

    fn tls(&self) -> Result<&TlsConnector, String> {
        self.tls
            .get_or_init(|| TlsConnector::new(self.config.tls.clone()).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Opens a connection: TCP, and TLS for https.
    async fn open(
        &self,
        route: &Route<'_>,
        events: &netaccess_core::EventSink,
    ) -> Result<connection::Connection, NetworkError> {
        let url = route.url.as_str();
        let pinned = self.config.resolve.get(&format!("{}:{}", route.host.to_ascii_lowercase(), route.port)).copied();
        let tcp = connect_tcp(url, route.host, route.port, pinned, self.config.connect_timeout).await?;
        if route.url.scheme() != "https" {
            return Ok(tcp);
        }
        let connector = self.tls().map_err(|why| {
            NetworkError::new(NetworkErrorKind::SslHandshakeFailedError, url, format!("TLS is not usable: {why}"))
        })?;
        let decider = secure::Decider {
            url: route.url,
            ignore: route.ignore,
            handler: self.config.ssl_error_handler.as_ref(),
            events,
        };
        secure::secure(connector, tcp, route.host, decider).await
    }

    fn response(
        &self,
        method: &Method,
        incoming: Incoming,
        decompress: bool,
        slot: pool::Slot,
        url: String,
    ) -> Result<BackendResponse, NetworkError> {
        let head = &incoming.head;
        let mut headers = head.headers.clone();
        let mut attributes = ReplyAttributes::default();
        attributes.http_status_code = Some(head.status.as_u16());
        attributes.http_reason_phrase = Some(head.reason.clone());
        if let Some(tls) = incoming.tls() {
            attributes.connection_encrypted = true;
            attributes.peer_certificates = tls.chain.clone();
            attributes.ssl_errors = tls.errors.clone();
        }
        let framing = netaccess_http1::parse::framing(method, head).map(|(f, _)| f).unwrap_or(Framing::CloseDelimited);
        let mut expected_length = match framing {
            Framing::Empty => Some(0),
            Framing::Length(n) => Some(n),
            Framing::Chunked | Framing::CloseDelimited => None,
        };
        let mut decoder = None;
        if decompress && framing != Framing::Empty {
            if let Some(encoding) = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()) {
                decoder = Decompressor::for_encoding(encoding, self.config.decompression_threshold)
                    .map_err(|why| NetworkError::new(NetworkErrorKind::ProtocolFailure, &url, why))?;
            }
            if decoder.is_some() {
                attributes.original_content_length = headers.content_length();
                headers.remove(header::CONTENT_LENGTH);
                headers.remove(header::CONTENT_ENCODING);
                expected_length = None;
            }
        }
        let body = body_stream(incoming, decoder, self.pool.clone(), slot, url);
        let mut response = BackendResponse::new(body, expected_length);
        response.headers = headers;
        response.attributes = attributes;
        Ok(response)
    }
}
