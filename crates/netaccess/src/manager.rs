//! [`NetworkAccessManager`]: the one object that holds the configuration and sends requests.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use netaccess_core::{Backend, Body, Operation, RedirectPolicy, Request, DEFAULT_MAX_REDIRECTS};
use netaccess_http::{HttpBackend, HttpConfig};
use tokio::sync::broadcast;

use crate::auth::{AuthCache, AuthenticationHandler};
use crate::cache::NetworkCache;
use crate::context::{Defaults, ManagerInner};
pub use crate::context::{ManagerEvent, MANAGER_EVENT_CAPACITY};
use crate::redirect::RedirectHandler;
use crate::reply::Reply;
use netaccess_cookie::{CookieJar, DefaultCookieJar};

/// Sends requests and returns [`Reply`]s; holds what requests share: the backends for each URL
/// scheme, network accessibility and the defaults.
///
/// A manager is cheap to clone (clones share everything) and is `Send + Sync`. Requests must be
/// sent from within a Tokio runtime: each reply is driven by a task spawned on it.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use netaccess::{NetworkAccessManager, Request};
///
/// let manager = NetworkAccessManager::new();
/// let mut reply = manager.get(Request::new("data:,Hello%20world"));
/// assert_eq!(reply.text().await.unwrap(), "Hello world");
/// # });
/// ```
///
/// # Design
///
/// Every default lives in [`NetworkAccessManagerBuilder`] and is written in its docs. The
/// scheme router is a map from scheme to [`Backend`]; [`register_backend`](Self::register_backend)
/// adds a scheme or replaces one. Qt's `createRequest` override point, which sees every
/// request of every scheme, is the [interceptor](crate::Interceptor) chain that
/// [`send`](Self::send) runs first. Network accessibility is Qt 4.8's `setNetworkAccessible`: while off,
/// every request whose backend is not [local](Backend::is_local) fails with
/// `UnknownNetworkError`, "Network access is disabled.".
///
/// Requests to one scheme, host and port start at most
/// [`max_connections_per_host`](NetworkAccessManagerBuilder::max_connections_per_host) at a time
/// (see [`netaccess_core::order`]); the others wait as small records, the highest priority
/// first, then in issue order (Qt's queue per host), so a program may issue a hundred
/// thousand requests at once. A started request runs until its reply's body is in; one
/// redirected to another host still counts against the first until then.
#[derive(Clone)]
pub struct NetworkAccessManager {
    pub(crate) inner: Arc<ManagerInner>,
}

impl std::fmt::Debug for NetworkAccessManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkAccessManager")
            .field("schemes", &self.supported_schemes())
            .field("accessible", &self.is_network_accessible())
            .field("defaults", &self.inner.defaults)
            .finish()
    }
}

impl Default for NetworkAccessManager {
    fn default() -> Self {
        Self::new()
    }
}

impl NetworkAccessManager {
    /// A manager with every default (see [`NetworkAccessManagerBuilder`]).
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder to change the defaults.
    pub fn builder() -> NetworkAccessManagerBuilder {
        NetworkAccessManagerBuilder::default()
    }

    /// Downloads the resource (`GET`).
    pub fn get(&self, request: Request) -> Reply {
        self.send(request, Operation::Get, Body::empty())
    }

    /// Asks for the resource's metadata only (`HEAD`).
    pub fn head(&self, request: Request) -> Reply {
        self.send(request, Operation::Head, Body::empty())
    }

    /// Sends `body` to the resource (`POST`).
    pub fn post(&self, request: Request, body: impl Into<Body>) -> Reply {
        self.send(request, Operation::Post, body.into())
    }

    /// Uploads `body` to the resource (`PUT`).
    pub fn put(&self, request: Request, body: impl Into<Body>) -> Reply {
        self.send(request, Operation::Put, body.into())
    }

    /// Deletes the resource (`DELETE`).
    pub fn delete_resource(&self, request: Request) -> Reply {
        self.send(request, Operation::Delete, Body::empty())
    }

    /// Sends a request with any verb (Qt's `sendCustomRequest`). The five standard verbs map to
    /// their operations.
    pub fn send_custom_request(&self, request: Request, verb: &str, body: impl Into<Body>) -> Reply {
        self.send(request, Operation::from_verb(verb), body.into())
    }

    /// Turns HTTP Strict Transport Security on or off (see
    /// [`NetworkAccessManagerBuilder::strict_transport_security_enabled`]).
    pub fn set_strict_transport_security_enabled(&self, on: bool) {
        self.inner.hsts.set_enabled(on);
    }

    /// Whether HTTP Strict Transport Security is on.
    pub fn is_strict_transport_security_enabled(&self) -> bool {
        self.inner.hsts.is_enabled()
    }

    /// Adds or replaces HSTS policies (Qt's `addStrictTransportSecurityHosts`); an expired
    /// policy removes its host's. They are saved to the store file, if there is one.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use netaccess::{HstsPolicy, NetworkAccessManager};
    ///
    /// let manager = NetworkAccessManager::builder().strict_transport_security_enabled(true).build();
    /// let year = SystemTime::now() + Duration::from_secs(365 * 86_400);
    /// manager.add_strict_transport_security_hosts([HstsPolicy::new("example.com", Some(year), true)]);
    /// assert_eq!(manager.strict_transport_security_hosts().len(), 1);
    /// ```
    pub fn add_strict_transport_security_hosts(&self, policies: impl IntoIterator<Item = crate::HstsPolicy>) {
        self.inner.hsts.add(policies);
    }

    /// The HSTS policies in force, sorted by host (Qt's `strictTransportSecurityHosts`).
    pub fn strict_transport_security_hosts(&self) -> Vec<crate::HstsPolicy> {
        self.inner.hsts.hosts()
    }

    /// Writes the HSTS store file now, if the manager has one (it is also written on each
    /// material change and when the manager is dropped, where a failure can only be logged).
    ///
    /// # Errors
    /// The file cannot be saved; the message names the path. The previous file is untouched.
    pub fn save_strict_transport_security_store(&self) -> std::io::Result<()> {
        self.inner.hsts.save()
    }

    /// Sends a request with the given operation and body.
    ///
    /// Every way of sending comes here: the request gets the manager's
    /// [base URL and default headers](NetworkAccessManagerBuilder::base_url), then goes through
    /// the [interceptors](NetworkAccessManagerBuilder::interceptor), then to the network.
    pub fn send(&self, request: Request, operation: Operation, body: Body) -> Reply {
        let mut request = request;
        self.inner.defaults.requests.apply(&mut request);
        crate::intercept::send_from(&self.inner, 0, request, operation, body)
    }

    /// Sends an [`http::Request`] as it is: its method, URI (relative ones against the
    /// [`base_url`](NetworkAccessManagerBuilder::base_url)), headers and body (anything that
    /// becomes a [`Body`]: `()`, bytes, strings, a `Body` built from a stream or an
    /// `http_body::Body`).
    ///
    /// ```
    /// # async fn example() -> Result<(), netaccess::NetworkError> {
    /// let manager = netaccess::NetworkAccessManager::new();
    /// let request = http::Request::post("http://127.0.0.1:8080/items").header("content-type", "text/plain").body("hello").unwrap();
    /// let mut reply = manager.send_http(request);
    /// let head = reply.head().await?;
    /// println!("{}", head.status);
    /// # Ok(()) }
    /// ```
    pub fn send_http<B: Into<Body>>(&self, request: http::Request<B>) -> Reply {
        let parts = netaccess_core::request::HttpRequestParts::from(request);
        self.send(parts.request, parts.operation, parts.body)
    }

    /// Turns network access on or off. While off, only local schemes (`file:`, `data:`) work.
    /// A [`ManagerEvent::NetworkAccessibleChanged`] is sent once per actual change.
    pub fn set_network_accessible(&self, accessible: bool) {
        let _serialized = self.inner.accessible_change.lock().unwrap_or_else(|e| e.into_inner());
        if self.inner.accessible.swap(accessible, Ordering::SeqCst) != accessible {
            let _ = self.inner.events.send(ManagerEvent::NetworkAccessibleChanged(accessible));
        }
    }

    /// Whether network access is on.
    pub fn is_network_accessible(&self) -> bool {
        self.inner.is_accessible()
    }

    /// The schemes a backend is registered for, sorted.
    pub fn supported_schemes(&self) -> Vec<String> {
        let backends = self.inner.backends.read().unwrap_or_else(|e| e.into_inner());
        let mut schemes: Vec<String> = backends.keys().cloned().collect();
        schemes.sort();
        schemes
    }

    /// Registers `backend` for `scheme` (case-insensitive), replacing any backend it had.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use futures::future::{BoxFuture, FutureExt};
    /// use netaccess::{Backend, BackendRequest, BackendResponse, NetworkAccessManager, NetworkError, Request};
    ///
    /// struct Canned;
    /// impl Backend for Canned {
    ///     fn send(&self, _: BackendRequest) -> BoxFuture<'static, Result<BackendResponse, NetworkError>> {
    ///         async { Ok(BackendResponse::from_bytes("canned")) }.boxed()
    ///     }
    /// }
    ///
    /// let manager = NetworkAccessManager::new();
    /// manager.register_backend("test", Canned);
    /// assert!(manager.supported_schemes().contains(&"test".to_owned()));
    /// assert_eq!(manager.get(Request::new("test:anything")).text().await.unwrap(), "canned");
    /// # });
    /// ```
    pub fn register_backend(&self, scheme: &str, backend: impl Backend) {
        self.register_shared_backend(scheme, Arc::new(backend));
    }

    /// Registers an already shared backend for `scheme`.
    pub fn register_shared_backend(&self, scheme: &str, backend: Arc<dyn Backend>) {
        let mut backends = self.inner.backends.write().unwrap_or_else(|e| e.into_inner());
        backends.insert(scheme.to_ascii_lowercase(), backend);
    }

    /// Forgets the cached credentials and closes the idle connections (Qt's `clearAccessCache`).
    pub fn clear_access_cache(&self) {
        self.inner.auth.clear();
        self.clear_connection_cache();
    }

    /// Closes the idle HTTP connections, keeping the credentials; requests in flight finish on
    /// theirs (Qt's `clearConnectionCache`).
    pub fn clear_connection_cache(&self) {
        self.inner.http.clear_connection_cache();
    }

    /// The cookie jar requests read and fill.
    pub fn cookie_jar(&self) -> Arc<dyn CookieJar> {
        self.inner.cookie_jar.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The response cache, if one is set (feature `cache`).
    #[cfg(feature = "cache")]
    pub fn cache(&self) -> Option<Arc<dyn NetworkCache>> {
        self.inner.cache.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sets or removes the response cache (Qt's `setCache`; feature `cache`).
    #[cfg(feature = "cache")]
    pub fn set_cache(&self, cache: Option<Arc<dyn NetworkCache>>) {
        *self.inner.cache.write().unwrap_or_else(|e| e.into_inner()) = cache;
    }

    /// Replaces the cookie jar (Qt's `setCookieJar`); a jar may be shared by several managers.
    pub fn set_cookie_jar(&self, jar: Arc<dyn CookieJar>) {
        *self.inner.cookie_jar.write().unwrap_or_else(|e| e.into_inner()) = jar;
    }

    /// Sends every request through `proxy`, whatever the factory says (Qt's `setProxy`);
    /// `None` returns to the factory.
    pub fn set_proxy(&self, proxy: Option<netaccess_proxy::Proxy>) {
        self.inner.connector.set_proxy(proxy);
    }

    /// Chooses the proxies per request (Qt's `setProxyFactory`); the default reads the
    /// environment ([`netaccess_proxy::SystemProxyFactory`]).
    pub fn set_proxy_factory(&self, factory: Arc<dyn netaccess_proxy::ProxyFactory>) {
        self.inner.connector.set_proxy_factory(factory);
    }

    /// The built-in HTTP backend (its settings, its pool).
    pub fn http_backend(&self) -> &HttpBackend {
        &self.inner.http
    }

    /// Subscribes to manager events. Each call gets its own receiver that sees events from now
    /// on.
    pub fn events(&self) -> broadcast::Receiver<ManagerEvent> {
        self.inner.events.subscribe()
    }
}

/// Builds a [`NetworkAccessManager`]; every default is set and documented here.
///
/// | setting | default |
/// |---|---|
/// | backends | `http` and `https` ([`netaccess_http::HttpBackend`]), `ftp` (`netaccess_ftp::FtpBackend` with the default `ftp` feature, logins through the authentication handler), `file` ([`netaccess_file::FileBackend`]), `data` ([`netaccess_file::DataBackend`]) |
/// | network accessible | yes |
/// | redirect policy | [`RedirectPolicy::NoLessSafe`]; user-verified redirects need a [`RedirectHandler`] |
/// | most redirects | [`DEFAULT_MAX_REDIRECTS`] (50) |
/// | transfer timeout | none (`Duration::ZERO`): Qt's default |
/// | reply read buffer | [`DEFAULT_READ_BUFFER_SIZE`](crate::DEFAULT_READ_BUFFER_SIZE) (1 MiB) of body waiting for the reader; Qt's default is unlimited |
/// | connections per host | [`netaccess_http::DEFAULT_MAX_CONNECTIONS_PER_HOST`] (6) |
/// | idle connection kept | [`netaccess_http::DEFAULT_IDLE_TIMEOUT`] (120 s) |
/// | connect timeout | [`netaccess_http::DEFAULT_CONNECT_TIMEOUT`] (30 s): resolving and connecting, every address raced |
/// | happy eyeballs | the next address tried [`netaccess_connect::DEFAULT_HAPPY_EYEBALLS_DELAY`] (250 ms) after the last attempt started, or at once when one failed; IPv6 and IPv4 interleaved |
/// | IP family | both ([`IpFamily::Any`](netaccess_connect::IpFamily::Any)) |
/// | resolver | the system's ([`SystemResolver`](netaccess_connect::SystemResolver)), after the [`resolve`](NetworkAccessManagerBuilder::resolve) overrides |
/// | TLS handshake timeout | [`netaccess_connect::DEFAULT_TLS_HANDSHAKE_TIMEOUT`] (30 s) |
/// | response head timeout | none: the transfer timeout's |
/// | request deadline | none (`Duration::ZERO`) |
/// | automatic decompression | on (gzip, deflate, br, zstd), bomb guard at [`netaccess_http::DEFAULT_BOMB_THRESHOLD`] (512 MiB, then 40:1 / 100:1; Qt's is 10 MiB) |
/// | largest body | no limit ([`max_body_size`](Self::max_body_size)) |
/// | `User-Agent` | [`netaccess_http::DEFAULT_USER_AGENT`] |
/// | proxies | the environment's (`http_proxy`, `https_proxy`, `all_proxy`, `no_proxy`, as curl reads them) |
/// | cookie jar | an empty in-memory [`DefaultCookieJar`] |
/// | HSTS | off, as in Qt ([`strict_transport_security_enabled`](Self::strict_transport_security_enabled), [`strict_transport_security_store`](Self::strict_transport_security_store)) |
/// | TLS trust | the system's store ([`netaccess_tls::Trust::System`]); certificate problems fail the request unless the request or an [`SslErrorHandler`](netaccess_core::SslErrorHandler) accepts them |
///
/// ```
/// use std::time::Duration;
/// use netaccess::{NetworkAccessManager, RedirectPolicy};
/// let manager = NetworkAccessManager::builder()
///     .redirect_policy(RedirectPolicy::SameOrigin)
///     .max_redirects(5)
///     .transfer_timeout(Duration::from_secs(30))
///     .build();
/// assert!(manager.supported_schemes().contains(&"file".to_owned()));
/// ```
#[must_use]
#[derive(Clone)]
pub struct NetworkAccessManagerBuilder {
    backends: BTreeMap<String, Arc<dyn Backend>>,
    cookie_jar: Option<Arc<dyn CookieJar>>,
    cache: Option<Arc<dyn NetworkCache>>,
    auth_handler: Option<Arc<dyn AuthenticationHandler>>,
    accessible: bool,
    defaults: Defaults,
    http: HttpConfig,
    /// How every backend's connections are opened (one connector for all of them).
    transport: netaccess_connect::TransportConfig,
    redirect_handler: Option<Arc<dyn RedirectHandler>>,
    hsts_enabled: bool,
    hsts_store: Option<std::path::PathBuf>,
    har: Option<Arc<crate::har::HarRecorder>>,
    interceptors: Vec<Arc<dyn crate::Interceptor>>,
}

impl Default for NetworkAccessManagerBuilder {
    fn default() -> Self {
        let mut backends: BTreeMap<String, Arc<dyn Backend>> = BTreeMap::new();
        backends.insert("file".into(), Arc::new(netaccess_file::FileBackend));
        backends.insert("data".into(), Arc::new(netaccess_file::DataBackend));
        Self {
            backends,
            accessible: true,
            defaults: Defaults {
                redirect_policy: RedirectPolicy::NoLessSafe,
                max_redirects: DEFAULT_MAX_REDIRECTS,
                transfer_timeout: Duration::ZERO,
                deadline: Duration::ZERO,
                read_buffer_size: crate::DEFAULT_READ_BUFFER_SIZE,
                max_body_size: None,
                requests: crate::request_defaults::RequestDefaults::default(),
                retry: netaccess_core::RetryPolicy::default(),
            },
            http: HttpConfig::default(),
            transport: netaccess_connect::TransportConfig::default(),
            redirect_handler: None,
            cookie_jar: None,
            cache: None,
            auth_handler: None,
            hsts_enabled: false,
            hsts_store: None,
            har: None,
            interceptors: Vec::new(),
        }
    }
}

impl NetworkAccessManagerBuilder {
    /// Registers `backend` for `scheme`, replacing the default one if any.
    pub fn backend(mut self, scheme: &str, backend: impl Backend) -> Self {
        self.backends.insert(scheme.to_ascii_lowercase(), Arc::new(backend));
        self
    }

    /// Whether network access starts enabled.
    pub fn network_accessible(mut self, accessible: bool) -> Self {
        self.accessible = accessible;
        self
    }

    /// The redirect policy for requests that set none.
    pub fn redirect_policy(mut self, policy: RedirectPolicy) -> Self {
        self.defaults.redirect_policy = policy;
        self
    }

    /// The most redirects followed for requests that set no limit.
    pub fn max_redirects(mut self, max: u32) -> Self {
        self.defaults.max_redirects = max;
        self
    }

    /// The longest time a transfer may go without progress; `Duration::ZERO` is no limit.
    pub fn transfer_timeout(mut self, timeout: Duration) -> Self {
        self.defaults.transfer_timeout = timeout;
        self
    }

    /// How much of a body may wait in a reply for its reader before the transfer stops reading
    /// from the peer (Qt's `QNetworkReply::setReadBufferSize`, set here for every reply; each
    /// reply may change its own with [`Reply::set_read_buffer_size`](crate::Reply::set_read_buffer_size)).
    /// `0` lifts the byte bound, as Qt's default does; the reply's event queue
    /// ([`EVENT_QUEUE`](crate::EVENT_QUEUE) entries, each up to one 1 MiB read) still holds the
    /// transfer back then.
    ///
    /// A reply that waits for its reader keeps its connection, and a host has at most
    /// [`max_connections_per_host`](Self::max_connections_per_host) of them: read replies to one
    /// host concurrently or in the order they were sent (the earliest hold the connections);
    /// reading only a later one while earlier large ones sit unread can wait for ever.
    pub fn read_buffer_size(mut self, bytes: u64) -> Self {
        self.defaults.read_buffer_size = bytes;
        self
    }

    /// The largest body a reply delivers, as its reader gets it (after decompression); `None`,
    /// the default, is no limit (curl's `--max-filesize`). A response whose `Content-Length` says
    /// more fails before its body, one whose body grows past it fails there, both with
    /// `UnknownContentError` naming the limit. It caps what a legitimate download may be, where
    /// the [decompression threshold](Self::decompression_threshold) guards against bombs.
    ///
    /// ```
    /// let manager = netaccess::NetworkAccessManager::builder().max_body_size(Some(1 << 30)).build();
    /// # drop(manager);
    /// ```
    pub fn max_body_size(mut self, bytes: Option<u64>) -> Self {
        self.defaults.max_body_size = bytes;
        self
    }

    /// Who decides [`RedirectPolicy::UserVerified`] redirects.
    pub fn redirect_handler(mut self, handler: impl RedirectHandler) -> Self {
        self.redirect_handler = Some(Arc::new(handler));
        self
    }

    /// The URL relative requests resolve against, as a browser resolves a link: keep the
    /// trailing slash of a base path (`https://api.example.com/v1/` and `items/1` give
    /// `…/v1/items/1`). Qt 6.7's `QNetworkRequestFactory::setBaseUrl`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use netaccess::{NetworkAccessManager, Request, Url};
    /// let manager = NetworkAccessManager::builder()
    ///     .base_url(Url::parse("data:text/plain,").unwrap())
    ///     .build();
    /// // `data:` URLs cannot be a base: the relative text stays unresolved and fails clearly.
    /// let error = manager.get(Request::new("hello")).text().await.unwrap_err();
    /// assert_eq!(error.kind(), netaccess::NetworkErrorKind::ProtocolUnknownError);
    /// # });
    /// ```
    pub fn base_url(mut self, url: url::Url) -> Self {
        self.defaults.requests.base_url = Some(url);
        self
    }

    /// A header sent with every request that does not set its own (replacing an earlier
    /// default of that name).
    pub fn default_header(mut self, name: http::HeaderName, value: http::HeaderValue) -> Self {
        self.defaults.requests.set_header(name, value);
        self
    }

    /// `Authorization: Bearer TOKEN` with every request that sets no `Authorization` (marked
    /// sensitive: never logged).
    pub fn bearer_token(mut self, token: &str) -> Self {
        self.defaults.requests.set_bearer_token(token);
        self
    }

    /// `Authorization: Basic …` from `user` and `password` with every request that sets no
    /// `Authorization`, sent at once (preemptively, as curl's `-u` with `--basic`); the
    /// authentication handler is for credentials asked for by a challenge.
    pub fn basic_auth(mut self, user: &str, password: &str) -> Self {
        self.defaults.requests.set_basic_auth(user, password);
        self
    }

    /// The most HTTP connections per scheme, host and port, and the most requests to one of
    /// them that run at once (the others wait, see [`NetworkAccessManager`]).
    pub fn max_connections_per_host(mut self, max: usize) -> Self {
        self.http.max_connections_per_host = max.max(1);
        self
    }

    /// How long an idle HTTP connection is kept for reuse.
    pub fn idle_connection_timeout(mut self, timeout: Duration) -> Self {
        self.http.idle_timeout = timeout;
        self
    }

    /// The longest resolving a name and connecting to it (its addresses raced) may take, and
    /// the longest a proxy may take to open a tunnel; `Duration::ZERO` is no limit (default
    /// 30 s, see [`TransportConfig`](netaccess_connect::TransportConfig)).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.transport.connect_timeout = timeout;
        self
    }

    /// The longest a TLS handshake may take; `Duration::ZERO` is no limit (default 30 s).
    pub fn tls_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.transport.tls_handshake_timeout = timeout;
        self
    }

    /// The longest wait for an HTTP response head once the request was sent; `Duration::ZERO`
    /// (the default) leaves it to the transfer timeout.
    pub fn response_head_timeout(mut self, timeout: Duration) -> Self {
        self.http.response_head_timeout = timeout;
        self
    }

    /// How long a connection attempt has before the next address is tried beside it (happy
    /// eyeballs, RFC 8305; default 250 ms).
    pub fn happy_eyeballs_delay(mut self, delay: Duration) -> Self {
        self.transport.happy_eyeballs_delay = delay;
        self
    }

    /// Which address families connections use (default both, raced; curl's `-4`/`-6`).
    pub fn ip_family(mut self, family: netaccess_connect::IpFamily) -> Self {
        self.transport.ip_family = family;
        self
    }

    /// Who resolves host names (default the system's resolver).
    pub fn resolver(mut self, resolver: Arc<dyn netaccess_connect::Resolver>) -> Self {
        self.transport.resolver = resolver;
        self
    }

    /// The longest a whole request may take, from `get()` to the end of its body, for requests
    /// that set no [`deadline`](netaccess_core::RequestAttributes::deadline) (curl's
    /// `--max-time`); `Duration::ZERO`, the default, is no limit.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.defaults.deadline = deadline;
        self
    }

    /// Which failed requests are sent again, for requests that set no
    /// [`retry`](netaccess_core::RequestAttributes::retry) policy; none by default, as in Qt.
    /// Only failures before the response head are retried, so a reply never shows a body it
    /// takes back; the manager also keeps a budget (a fifth of its requests, plus ten a
    /// second) so that its retries cannot multiply the load on a failing server. The reply's
    /// [`retries`](netaccess_core::ReplyAttributes::retries) counts them.
    ///
    /// ```
    /// use netaccess::{NetworkAccessManager, RetryPolicy};
    /// let manager = NetworkAccessManager::builder().retry_policy(RetryPolicy::new(3)).build();
    /// # drop(manager);
    /// ```
    pub fn retry_policy(mut self, policy: netaccess_core::RetryPolicy) -> Self {
        self.defaults.retry = policy;
        self
    }

    /// Whether HTTP replies are decompressed automatically (when the request sets no
    /// `Accept-Encoding`).
    pub fn auto_decompress(mut self, on: bool) -> Self {
        self.http.auto_decompress = on;
        self
    }

    /// The decompressed size past which the bomb guard checks the ratio
    /// ([`netaccess_http::DEFAULT_BOMB_THRESHOLD`], 512 MiB); `None` turns it off.
    pub fn decompression_threshold(mut self, threshold: Option<u64>) -> Self {
        self.http.decompression_threshold = threshold;
        self
    }

    /// Who gives credentials when a server asks for them (Qt's `authenticationRequired`).
    /// Without one, only credentials in the URL or the cache are tried.
    pub fn authentication_handler(mut self, handler: impl AuthenticationHandler) -> Self {
        self.auth_handler = Some(Arc::new(handler));
        self
    }

    /// The cookie jar (default: an empty in-memory [`DefaultCookieJar`]).
    pub fn cookie_jar(mut self, jar: Arc<dyn CookieJar>) -> Self {
        self.cookie_jar = Some(jar);
        self
    }

    /// The response cache (default: none; Qt's `setCache`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let directory = tempfile::tempdir().unwrap();
    /// let cache = netaccess::DiskCache::new(directory.path()).unwrap();
    /// let manager = netaccess::NetworkAccessManager::builder().cache(Arc::new(cache)).build();
    /// assert!(manager.cache().is_some());
    /// ```
    #[cfg(feature = "cache")]
    pub fn cache(mut self, cache: Arc<dyn NetworkCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Connects to `address` for `host:port` instead of resolving the name (curl's `--resolve`).
    pub fn resolve(mut self, host: &str, port: u16, address: std::net::SocketAddr) -> Self {
        self.transport.resolve.insert(host, port, vec![address]);
        self
    }

    /// Uses `addresses` for `host:port` instead of resolving the name, raced in this order by
    /// the happy-eyeballs rules (curl's `--resolve HOST:PORT:ADDR[,ADDR...]`; an address may
    /// have another port than the one it stands for).
    pub fn resolve_addresses(
        mut self,
        host: &str,
        port: u16,
        addresses: impl IntoIterator<Item = std::net::SocketAddr>,
    ) -> Self {
        self.transport.resolve.insert(host, port, addresses.into_iter().collect());
        self
    }

    /// The proxy for every request (wins over the factory).
    pub fn proxy(mut self, proxy: netaccess_proxy::Proxy) -> Self {
        self.transport.proxy = Some(proxy);
        self
    }

    /// The proxy factory (default: the environment's, [`netaccess_proxy::SystemProxyFactory`]).
    pub fn proxy_factory(mut self, factory: Arc<dyn netaccess_proxy::ProxyFactory>) -> Self {
        self.transport.proxy_factory = factory;
        self
    }

    /// Who gives proxy credentials (Qt's `proxyAuthenticationRequired`).
    pub fn proxy_authentication_handler(mut self, handler: impl netaccess_proxy::ProxyAuthenticationHandler) -> Self {
        self.transport.proxy_authentication_handler = Some(Arc::new(handler));
        self
    }

    /// Whom https and ftps trust and which client certificate they show.
    pub fn tls(mut self, tls: netaccess_tls::TlsConfig) -> Self {
        self.transport.tls = tls;
        self
    }

    /// Who decides on certificate problems a request did not accept in advance (Qt's
    /// `sslErrors` signal). Without one, such problems fail the request with
    /// `SslHandshakeFailedError`.
    pub fn ssl_error_handler(mut self, handler: impl netaccess_core::SslErrorHandler) -> Self {
        self.transport.ssl_error_handler = Some(Arc::new(handler));
        self
    }

    /// Keeps the response field names as HTTP/1.1 servers spell them, for
    /// [`Reply::raw_header_pairs`](crate::Reply::raw_header_pairs) (hyper's
    /// `preserve_header_case`; off by default: it costs an allocation per response).
    pub fn preserve_header_case(mut self, on: bool) -> Self {
        self.http.limits.keep_names_as_received = on;
        self
    }

    /// Has every HTTP reply report the request head sent for it
    /// ([`WireHeads::request_head`](netaccess_core::WireHeads::request_head)), as
    /// curl's `-v` shows it; off by default (a copy of the head per request).
    pub fn keep_request_heads(mut self, on: bool) -> Self {
        self.http.keep_request_heads = on;
        self
    }

    /// The `User-Agent` sent when a request sets none.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.http.user_agent = user_agent.into();
        self
    }

    /// Turns HTTP Strict Transport Security on or off (Qt's
    /// `setStrictTransportSecurityEnabled`; off by default, as in Qt): policies are learnt from
    /// https responses and http URLs of their hosts become https (see [`crate::hsts`]).
    pub fn strict_transport_security_enabled(mut self, on: bool) -> Self {
        self.hsts_enabled = on;
        self
    }

    /// Keeps the HSTS policies in `path`, in curl's `--hsts` file format, and turns HSTS on
    /// (Qt's `enableStrictTransportSecurityStore`). The file's policies are loaded when the
    /// manager is built; a missing file is created at the first policy; one that cannot be read
    /// is never overwritten (the policies then stay in memory).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::write(dir.path().join("hsts.txt"), ".example.com \"unlimited\"\n").unwrap();
    /// let manager = netaccess::NetworkAccessManager::builder()
    ///     .strict_transport_security_store(dir.path().join("hsts.txt"))
    ///     .build();
    /// assert_eq!(manager.strict_transport_security_hosts()[0].host, "example.com");
    /// ```
    pub fn strict_transport_security_store(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.hsts_enabled = true;
        self.hsts_store = Some(path.into());
        self
    }

    /// Records every http and https hop in `recorder` as a HAR 1.2 entry (see [`crate::har`]);
    /// save it with [`HarRecorder::save`](crate::HarRecorder::save) when done.
    pub fn har_recorder(mut self, recorder: Arc<crate::har::HarRecorder>) -> Self {
        self.har = Some(recorder);
        self
    }

    /// Answers http and https requests from a HAR record instead of the network (see
    /// [`HarReplay`](crate::HarReplay)): for tests and offline demos.
    pub fn har_replay(self, replay: crate::har::HarReplay) -> Self {
        self.backend("http", replay.clone()).backend("https", replay)
    }

    /// Adds an interceptor, which sees every request the manager is given and makes its reply
    /// (Qt's `createRequest`; see [`Interceptor`](crate::Interceptor)). The first added is the
    /// outermost: it sees the request first, and the reply last.
    ///
    /// ```
    /// use netaccess::{Body, Interceptor, NetworkAccessManager, Next, Operation, Reply, Request};
    ///
    /// struct Tagged;
    /// impl Interceptor for Tagged {
    ///     fn create_request(&self, request: Request, operation: Operation, body: Body, next: Next<'_>) -> Reply {
    ///         next.send(request.with_header("x-client", "tagged"), operation, body)
    ///     }
    /// }
    /// let manager = NetworkAccessManager::builder().interceptor(Tagged).build();
    /// # drop(manager);
    /// ```
    pub fn interceptor(mut self, interceptor: impl crate::Interceptor) -> Self {
        self.interceptors.push(Arc::new(interceptor));
        self
    }

    /// The manager.
    pub fn build(self) -> NetworkAccessManager {
        let (events, _) = broadcast::channel(MANAGER_EVENT_CAPACITY);
        let start_limit = self.http.max_connections_per_host;
        let connector = Arc::new(netaccess_connect::Connector::new(self.transport));
        let http = HttpBackend::with_connector(self.http, connector.clone());
        let mut backends = self.backends;
        backends.entry("http".into()).or_insert_with(|| Arc::new(http.clone()));
        backends.entry("https".into()).or_insert_with(|| Arc::new(http.clone()));
        #[cfg(feature = "ftp")]
        {
            let login = self
                .auth_handler
                .clone()
                .map(|h| Arc::new(crate::auth::FtpLoginAdapter(h)) as Arc<dyn netaccess_ftp::FtpLogin>);
            let connector = connector.clone();
            backends.entry("ftp".into()).or_insert_with(|| Arc::new(netaccess_ftp::FtpBackend::new(login, connector)));
        }
        #[cfg(feature = "ftps")]
        {
            let ftp = backends.get("ftp").cloned();
            if let Some(ftp) = ftp {
                backends.entry("ftps".into()).or_insert(ftp);
            }
        }
        NetworkAccessManager {
            inner: Arc::new(ManagerInner {
                cookie_jar: RwLock::new(self.cookie_jar.unwrap_or_else(|| Arc::new(DefaultCookieJar::new()))),
                cache: RwLock::new(self.cache),
                auth: Arc::new(AuthCache::default()),
                order: netaccess_core::order::IssueOrder::with_start_limit(start_limit),
                auth_handler: self.auth_handler,
                redirect_handler: self.redirect_handler,
                http,
                connector,
                backends: RwLock::new(backends.into_iter().collect()),
                accessible: AtomicBool::new(self.accessible),
                accessible_change: Mutex::new(()),
                events,
                defaults: self.defaults,
                retry_budget: crate::retry_budget::RetryBudget::new(),
                hsts: crate::hsts::Hsts::new(self.hsts_enabled, self.hsts_store),
                har: self.har,
                interceptors: self.interceptors.into(),
            }),
        }
    }
}
