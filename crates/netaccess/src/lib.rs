//! Network access in the spirit of Qt's `QNetworkAccessManager`.
//!
//! One [`NetworkAccessManager`] holds what requests share and sends them; each request returns a
//! [`Reply`] at once that streams its body and tells its progress, redirects and errors as
//! [`ReplyEvent`]s. Requests are routed by URL scheme to a [`Backend`]: `http:` and `https:` (the
//! hand-written HTTP/1.1 core and HTTP/2 by `h2`, offered by ALPN over TLS, over one connection
//! pool; TLS on rustls), `ftp:` and `ftps:` (feature `ftp`), `file:` and `data:` are built in,
//! and any scheme can be added or replaced.
//!
//! ```no_run
//! # async fn example() -> Result<(), netaccess::NetworkError> {
//! use netaccess::{NetworkAccessManager, Request};
//!
//! let manager = NetworkAccessManager::new();
//! let mut reply = manager.get(Request::new("https://www.rust-lang.org/"));
//! let head = reply.head().await?; // status, version and headers as `http` types
//! println!("{} {:?}", head.status, head.headers.get("content-type"));
//! let page = reply.text().await?; // decoded from the Content-Type's charset
//! let timings = reply.attributes().timings.unwrap_or_default();
//! println!("{} bytes, first byte after {:?}", page.len(), timings.first_byte);
//! # Ok(()) }
//! ```
//!
//! Every scheme the same way, as Qt's replies: events, errors with Qt's codes.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use netaccess::{NetworkAccessManager, NetworkErrorKind, Request};
//!
//! let manager = NetworkAccessManager::new();
//!
//! let mut reply = manager.get(Request::new("data:;base64,SGVsbG8="));
//! assert_eq!(reply.bytes().await.unwrap(), "Hello");
//! assert_eq!(reply.header("content-type").as_deref(), Some("text/plain;charset=US-ASCII"));
//!
//! let mut missing = manager.get(Request::new("file:///no/such/file"));
//! let error = missing.finished().await.unwrap_err();
//! assert_eq!(error.kind(), NetworkErrorKind::ContentNotFoundError);
//! # });
//! ```
//!
//! # Design
//!
//! The facade is thin: [`NetworkAccessManager`] (configuration and the scheme router),
//! [`Reply`] (the handle), and the request driver, one Tokio task per reply that runs a hop on
//! the backend and turns what comes back into events. Around each hop the driver applies the
//! cookie jar, the credential cache and the response cache ([`DiskCache`] or any
//! [`NetworkCache`], Qt's load controls); redirects and authentication rounds are its loop. The vocabulary shared with the backends
//! lives in `netaccess-core` and is re-exported here, so depending on `netaccess` alone is
//! enough. Connections are opened by `netaccess-connect` (one connector for every scheme);
//! `netaccess::blocking` (feature `blocking`) runs the same manager for programs without async.

#![forbid(unsafe_code)]

mod at_send;
pub mod auth;
#[cfg(feature = "blocking")]
pub mod blocking;
#[cfg(feature = "cache")]
mod cache;
#[cfg(not(feature = "cache"))]
#[path = "no_cache.rs"]
mod cache;
mod context;
mod cookies;
mod driver;
pub mod har;
mod hop;
pub mod hsts;
pub mod intercept;
mod manager;
mod read_buffer;
pub mod redirect;
mod reply;
mod reply_body;
mod request_defaults;
mod retry_budget;
#[cfg(feature = "tower")]
pub mod service;
mod url_words;

pub use auth::{AuthenticationChallenge, AuthenticationHandler, Credentials};
pub use driver::{DEFAULT_READ_BUFFER_SIZE, EVENT_QUEUE};
pub use har::{HarOptions, HarRecorder, HarReplay};
pub use hsts::HstsPolicy;
pub use intercept::{Interceptor, Next};
pub use manager::{ManagerEvent, NetworkAccessManager, NetworkAccessManagerBuilder, MANAGER_EVENT_CAPACITY};
#[cfg(feature = "cache")]
pub use netaccess_cache::{CacheMetaData, CacheWriter, CachedBody, DiskCache, NetworkCache};
pub use netaccess_connect::{IpFamily, ResolveOverrides, Resolver, SystemResolver, TransportConfig};
pub use netaccess_cookie::{Cookie, CookieJar, DefaultCookieJar, JarFileReport, JarFormat, SkippedLine};
pub use netaccess_core::redact_password;
pub use netaccess_core::{
    attributes, Backend, BackendRequest, BackendResponse, Body, BodyStream, CacheLoadControl, ErrorGroup, EventSink,
    KnownHeaders, LoadControl, NetworkError, NetworkErrorKind, Operation, Priority, RedirectPolicy, ReplyAttributes,
    ReplyEvent, Request, RequestAttributes, RetryPolicy, RetryTrigger, UploadProgress, WireHeads,
    DEFAULT_MAX_REDIRECTS,
};
pub use netaccess_core::{ConnectionFacts, Timings, TlsFacts};
pub use netaccess_core::{IgnoredSslErrors, SslError, SslErrorDecision, SslErrorHandler, SslErrorKind};
pub use netaccess_core::{Multipart, MultipartKind, Part};
pub use netaccess_http::{HttpBackend, HttpConfig};
pub use netaccess_proxy::{
    NoProxy, Proxy, ProxyAuthenticationChallenge, ProxyAuthenticationHandler, ProxyFactory, ProxyKind, ProxyQuery,
    SystemProxyFactory,
};
pub use netaccess_tls::{TlsConfig, Trust};
pub use redirect::RedirectHandler;
pub use url::Url;

// The crates whose types the API takes and gives, so a user needs no version of their own that
// could differ from ours: `netaccess::http::HeaderValue`, `netaccess::bytes::Bytes`,
// `netaccess::url::Url`.
pub use bytes;
pub use http;
pub use url;

/// The HTTP defaults as plain numbers, for command lines and configuration files.
pub mod http_defaults {
    /// Connections per host ([`netaccess_http::DEFAULT_MAX_CONNECTIONS_PER_HOST`]).
    pub const MAX_CONNECTIONS_PER_HOST: usize = netaccess_http::DEFAULT_MAX_CONNECTIONS_PER_HOST;
    /// The connect timeout in seconds ([`netaccess_http::DEFAULT_CONNECT_TIMEOUT`]).
    pub const CONNECT_TIMEOUT_SECS: f64 = netaccess_http::DEFAULT_CONNECT_TIMEOUT.as_secs_f64();
}
pub use reply::Reply;

/// This library's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The optional features this build has (`br`, `zstd`, `ftp`, `ftps`, `blocking`, `json`).
pub fn compiled_features() -> Vec<&'static str> {
    [
        (cfg!(feature = "br"), "br"),
        (cfg!(feature = "zstd"), "zstd"),
        (cfg!(feature = "ftp"), "ftp"),
        (cfg!(feature = "ftps"), "ftps"),
        (cfg!(feature = "blocking"), "blocking"),
        (cfg!(feature = "json"), "json"),
        (cfg!(feature = "tower"), "tower"),
        (cfg!(feature = "cache"), "cache"),
        (cfg!(feature = "public-suffix"), "public-suffix"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect()
}
pub use reply_body::ResponseHead;

/// The workspace README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeExample;

/// The README's example, compiled (and run where it needs no server) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeExample;
