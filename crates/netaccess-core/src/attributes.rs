//! Request and reply attributes: Qt's `QNetworkRequest::Attribute` as typed fields.
//!
//! # Design
//!
//! Qt keys attributes by number and stores `QVariant`s. Here each attribute Qt defines is a typed
//! field with its Qt default, so a wrong type cannot be stored; user attributes (Qt's
//! `User..UserMax`) live in an [`http::Extensions`] map keyed by type.

use std::time::Duration;

/// Where a reply may come from when a cache is set (Qt's `CacheLoadControl`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CacheLoadControl {
    /// Never read the cache; ask the origin with `Cache-Control: no-cache`.
    AlwaysNetwork,
    /// Use a fresh cache entry, else revalidate or fetch (the default).
    #[default]
    PreferNetwork,
    /// Use any cache entry that is not expired, else fetch.
    PreferCache,
    /// Only the cache; a miss is `ContentNotFoundError`.
    AlwaysCache,
}

/// Automatic or manual handling of cookies or credentials (Qt's `LoadControl`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LoadControl {
    /// The manager handles it (the default).
    #[default]
    Automatic,
    /// The manager leaves it alone; the caller does it by hand.
    Manual,
}

/// The order in which queued requests to one host get a connection (Qt's `Priority`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Priority {
    /// Before normal and low requests.
    High = 1,
    /// The default.
    #[default]
    Normal = 3,
    /// After high and normal requests.
    Low = 5,
}

/// Which redirects are followed (Qt's `RedirectPolicy`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RedirectPolicy {
    /// Never follow: the reply keeps the 3xx status and `redirection_target`.
    Manual,
    /// Follow unless the redirect goes from https to http (the default).
    #[default]
    NoLessSafe,
    /// Follow only to the same scheme, host and port.
    SameOrigin,
    /// Ask the manager's redirect handler for each hop.
    UserVerified,
}

/// The redirect limit applied when neither the request nor the manager sets one.
pub const DEFAULT_MAX_REDIRECTS: u32 = 50;

/// What a request asks of the manager beyond its URL and headers.
///
/// Every field has Qt's default. `None` in an `Option` field means "the manager's default".
///
/// ```
/// use netaccess_core::{Priority, Request, RedirectPolicy};
/// let mut request = Request::new("http://example.invalid/");
/// request.attributes_mut().priority = Priority::High;
/// request.attributes_mut().redirect_policy = Some(RedirectPolicy::SameOrigin);
/// assert_eq!(request.attributes().priority, Priority::High);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct RequestAttributes {
    /// Where the reply may come from when a cache is set.
    pub cache_load_control: CacheLoadControl,
    /// Whether the reply may be stored in the cache (default `true`).
    pub cache_save_control: bool,
    /// Whether the jar's cookies are sent.
    pub cookie_load_control: LoadControl,
    /// Whether `Set-Cookie` is stored in the jar.
    pub cookie_save_control: LoadControl,
    /// Whether credentials from the URL and the cache are used, and new ones cached.
    pub authentication_reuse: LoadControl,
    /// The redirect policy; `None` uses the manager's.
    pub redirect_policy: Option<RedirectPolicy>,
    /// The most redirects followed; `None` uses the manager's.
    pub max_redirects: Option<u32>,
    /// The longest time without progress; `None` uses the manager's, `Some(Duration::ZERO)` is
    /// no limit.
    pub transfer_timeout: Option<Duration>,
    /// The longest the whole request may take, from the moment it was issued (queued, sent,
    /// redirected and read to its end), as curl's `--max-time` and reqwest's `timeout`; `None`
    /// uses the manager's (no limit by default), `Some(Duration::ZERO)` is no limit. When it
    /// passes, the reply ends with `TimeoutError`, the message naming the limit.
    pub deadline: Option<Duration>,
    /// The order among queued requests to one host.
    pub priority: Priority,
    /// Report every upload progress step instead of at most one per 100 ms.
    pub emit_all_upload_progress: bool,
    /// Certificate problems accepted in advance (Qt's `ignoreSslErrors`).
    pub ignore_ssl_errors: crate::ssl::IgnoredSslErrors,
    /// Which failures are tried again (see [`RetryPolicy`](crate::retry::RetryPolicy));
    /// `None` uses the manager's (no retries by default).
    pub retry: Option<crate::retry::RetryPolicy>,
    /// Whether https may speak HTTP/2 when the server offers it by ALPN (Qt's
    /// `Http2AllowedAttribute`, default `true`); `false` offers HTTP/1.1 only.
    pub http2_allowed: bool,
    /// Speak HTTP/2 without asking first (Qt's `Http2DirectAttribute`): h2c over plain http by
    /// prior knowledge, and h2 over TLS even without ALPN's agreement. Default `false`.
    pub http2_direct: bool,
    /// The caller's own attributes, keyed by type.
    pub user: http::Extensions,
}

impl Default for RequestAttributes {
    fn default() -> Self {
        Self {
            cache_load_control: CacheLoadControl::default(),
            cache_save_control: true,
            cookie_load_control: LoadControl::default(),
            cookie_save_control: LoadControl::default(),
            authentication_reuse: LoadControl::default(),
            redirect_policy: None,
            max_redirects: None,
            transfer_timeout: None,
            deadline: None,
            priority: Priority::default(),
            emit_all_upload_progress: false,
            ignore_ssl_errors: crate::ssl::IgnoredSslErrors::None,
            retry: None,
            http2_allowed: true,
            http2_direct: false,
            user: http::Extensions::new(),
        }
    }
}

/// What a reply reports about itself (Qt's reply attributes).
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyAttributes {
    /// The HTTP status code; `None` for schemes without one.
    pub http_status_code: Option<u16>,
    /// The HTTP reason phrase.
    pub http_reason_phrase: Option<String>,
    /// The HTTP version of the response (`None` for schemes without one; a cached response
    /// reports HTTP/1.1).
    pub http_version: Option<http::Version>,
    /// Whether the response came over HTTP/2 (Qt's `Http2WasUsedAttribute`).
    pub http2_was_used: bool,
    /// The `Location` of a redirect that was not followed, as sent (it may be relative).
    pub redirection_target: Option<String>,
    /// Whether the connection was encrypted.
    pub connection_encrypted: bool,
    /// Whether the reply came from the cache.
    pub source_is_from_cache: bool,
    /// The `Content-Length` before automatic decompression removed it.
    pub original_content_length: Option<u64>,
    /// The certificate problems the connection had (all of them were ignored, or the reply
    /// failed).
    pub ssl_errors: Vec<crate::ssl::SslError>,
    /// The peer's certificate chain, DER, leaf first (empty without TLS).
    pub peer_certificates: Vec<bytes::Bytes>,
    /// The proxy the reply came through (`http://host:port`, `socks5h://user@host:port`), if any.
    pub proxy: Option<String>,
    /// The connection the reply used (for ftp, the control connection); `None` for schemes
    /// without one and replies from the cache.
    pub connection: Option<crate::facts::ConnectionFacts>,
    /// Where the reply's time went (see [`Timings`](crate::facts::Timings)); the total is set
    /// when the reply finishes.
    pub timings: Option<crate::facts::Timings>,
    /// How many times the request was sent again after a transient failure (see
    /// [`RetryPolicy`](crate::retry::RetryPolicy)).
    pub retries: u32,
    /// The heads as they were on the wire, for a tool that shows them (curl's `-i`, `-v`);
    /// `None` unless the manager keeps them (`preserve_header_case`, `keep_request_heads`).
    /// Boxed: every response carries this slot, few fill it.
    pub wire_heads: Option<Box<WireHeads>>,
}

/// The heads of an exchange as they were on the wire (see [`ReplyAttributes::wire_heads`]).
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WireHeads {
    /// The response's field names that the server spelled otherwise than in lower case, as it
    /// spelled them (HTTP/1.1; empty unless `preserve_header_case`).
    pub header_names_as_received: Vec<Box<str>>,
    /// The request head sent for this response: the bytes written over HTTP/1.1, the same
    /// fields in HTTP/1.1's notation over HTTP/2 (`GET / HTTP/2`); `None` unless
    /// `keep_request_heads`.
    pub request_head: Option<bytes::Bytes>,
}
