//! [`Proxy`], [`ProxyQuery`] and the [`ProxyFactory`] trait (Qt's `QNetworkProxy`,
//! `QNetworkProxyQuery`, `QNetworkProxyFactory`).

use std::fmt;

use url::Url;

/// The kind of a proxy (Qt's `QNetworkProxy::ProxyType`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyKind {
    /// Connect directly.
    NoProxy,
    /// Whatever the manager's factory says (in a factory's answer: connect directly).
    Default,
    /// An HTTP proxy: plain http forwarded in absolute form, anything else through `CONNECT`.
    Http,
    /// An HTTP proxy that only forwards plain http (no `CONNECT`).
    HttpCaching,
    /// A SOCKS5 proxy.
    Socks5,
}

/// What a proxy can do (Qt's `QNetworkProxy::Capability` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Capabilities(u8);

impl Capabilities {
    /// It tunnels TCP (`CONNECT`, SOCKS5).
    pub const TUNNELING: Self = Self(0x01);
    /// It can listen (SOCKS5 BIND).
    pub const LISTENING: Self = Self(0x02);
    /// It relays UDP.
    pub const UDP_TUNNELING: Self = Self(0x04);
    /// It forwards requests, possibly caching (HTTP forward proxy).
    pub const CACHING: Self = Self(0x08);
    /// It resolves host names itself (`socks5h://`, HTTP proxies).
    pub const HOST_NAME_LOOKUP: Self = Self(0x10);

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets of flags.
    #[must_use]
    pub fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Without the flags of `other`.
    #[must_use]
    pub fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }
}

/// A proxy: kind, address, credentials and capabilities.
///
/// ```
/// use netaccess_proxy::{Capabilities, Proxy, ProxyKind};
/// let proxy = Proxy::from_url("socks5h://user:pw@127.0.0.1").unwrap();
/// assert_eq!((proxy.kind, proxy.port), (ProxyKind::Socks5, 1080));
/// assert!(proxy.capabilities.contains(Capabilities::HOST_NAME_LOOKUP));
/// assert_eq!(proxy.user.as_deref(), Some("user"));
/// ```
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Proxy {
    /// The kind.
    pub kind: ProxyKind,
    /// The host name or IP address.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The user name, if the proxy wants one.
    pub user: Option<String>,
    /// The password.
    pub password: Option<String>,
    /// What it can do.
    pub capabilities: Capabilities,
}

/// The port of an HTTP proxy URL that names none (Qt's).
pub const DEFAULT_HTTP_PROXY_PORT: u16 = 8080;
/// The port of a SOCKS5 proxy URL that names none.
pub const DEFAULT_SOCKS5_PORT: u16 = 1080;

impl Proxy {
    /// No proxy: connect directly.
    pub fn none() -> Self {
        Self::new(ProxyKind::NoProxy, "", 0)
    }

    /// A proxy of `kind` at `host:port`, with Qt's default capabilities for the kind.
    pub fn new(kind: ProxyKind, host: impl Into<String>, port: u16) -> Self {
        let capabilities = match kind {
            ProxyKind::Socks5 => Capabilities::TUNNELING
                .with(Capabilities::LISTENING)
                .with(Capabilities::UDP_TUNNELING)
                .with(Capabilities::HOST_NAME_LOOKUP),
            ProxyKind::Http => Capabilities::TUNNELING.with(Capabilities::CACHING).with(Capabilities::HOST_NAME_LOOKUP),
            ProxyKind::HttpCaching => Capabilities::CACHING.with(Capabilities::HOST_NAME_LOOKUP),
            ProxyKind::NoProxy | ProxyKind::Default => Capabilities::default(),
        };
        Self { kind, host: host.into(), port, user: None, password: None, capabilities }
    }

    /// With credentials.
    #[must_use]
    pub fn with_credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self.password = Some(password.into());
        self
    }

    /// A proxy from a URL as the environment and curl's `-x` write them: `http://` or no scheme
    /// (HTTP, port 8080), `socks5://` (the client resolves names), `socks5h://` (the proxy
    /// does); credentials in the URL. `None` for anything else.
    pub fn from_url(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let with_scheme = if text.contains("://") { text.to_owned() } else { format!("http://{text}") };
        let url = Url::parse(&with_scheme).ok()?;
        let host = url.host_str()?.trim_start_matches('[').trim_end_matches(']').to_owned();
        let (kind, default_port, remote_dns) = match url.scheme() {
            "http" => (ProxyKind::Http, DEFAULT_HTTP_PROXY_PORT, true),
            "socks5" => (ProxyKind::Socks5, DEFAULT_SOCKS5_PORT, false),
            "socks5h" => (ProxyKind::Socks5, DEFAULT_SOCKS5_PORT, true),
            _ => return None,
        };
        let mut proxy = Proxy::new(kind, host, url.port().unwrap_or(default_port));
        if kind == ProxyKind::Socks5 && !remote_dns {
            proxy.capabilities = proxy.capabilities.without(Capabilities::HOST_NAME_LOOKUP);
        }
        if !url.username().is_empty() {
            let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
            proxy.user = Some(decode(url.username()));
            proxy.password = Some(decode(url.password().unwrap_or_default()));
        }
        Some(proxy)
    }

    /// A short name for logs, keys and summaries, without the password: `socks5://user@host:1080`.
    pub fn label(&self) -> String {
        let scheme = match self.kind {
            ProxyKind::NoProxy | ProxyKind::Default => return "none".to_owned(),
            ProxyKind::Http | ProxyKind::HttpCaching => "http",
            ProxyKind::Socks5 if self.capabilities.contains(Capabilities::HOST_NAME_LOOKUP) => "socks5h",
            ProxyKind::Socks5 => "socks5",
        };
        let user = self.user.as_deref().map(|u| format!("{u}@")).unwrap_or_default();
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        format!("{scheme}://{user}{host}:{}", self.port)
    }

    /// Whether this is a direct connection.
    pub fn is_direct(&self) -> bool {
        matches!(self.kind, ProxyKind::NoProxy | ProxyKind::Default)
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// What a connection is for (Qt's `QNetworkProxyQuery::QueryType`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryType {
    /// A TCP connection.
    TcpSocket,
    /// UDP datagrams.
    UdpSocket,
    /// A listening TCP socket.
    TcpServer,
    /// A URL request (what the manager asks).
    UrlRequest,
}

/// What a factory is asked about.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct ProxyQuery {
    /// The URL to reach.
    pub url: Url,
    /// The protocol (the URL's scheme).
    pub protocol: String,
    /// What the connection is for.
    pub query_type: QueryType,
}

impl ProxyQuery {
    /// The query for a URL request.
    pub fn for_url(url: &Url) -> Self {
        Self { url: url.clone(), protocol: url.scheme().to_owned(), query_type: QueryType::UrlRequest }
    }
}

/// Chooses the proxies for a request, best first (Qt's `QNetworkProxyFactory::queryProxy`). The
/// manager takes the first usable one and falls back to the next when it cannot be reached; an
/// empty list means no proxy.
pub trait ProxyFactory: Send + Sync + 'static {
    /// The proxies to try, in order.
    fn query_proxy(&self, query: &ProxyQuery) -> Vec<Proxy>;
}

/// Always the same list (what `set_proxy` installs).
#[derive(Debug, Clone)]
pub struct FixedProxyFactory(pub Vec<Proxy>);

impl ProxyFactory for FixedProxyFactory {
    fn query_proxy(&self, _query: &ProxyQuery) -> Vec<Proxy> {
        self.0.clone()
    }
}

/// What a proxy asks for (Qt's `proxyAuthenticationRequired` arguments).
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct ProxyAuthenticationChallenge {
    /// The proxy asking.
    pub proxy: Proxy,
    /// The realm it named (empty for SOCKS5).
    pub realm: String,
    /// `Basic`, `Digest`, or `SOCKS5`.
    pub scheme: String,
    /// Whether credentials for this proxy were just rejected.
    pub retry: bool,
}

impl ProxyAuthenticationChallenge {
    /// A challenge from `proxy` for `realm` in `scheme`.
    pub fn new(proxy: Proxy, realm: &str, scheme: &str, retry: bool) -> Self {
        Self { proxy, realm: realm.to_owned(), scheme: scheme.to_owned(), retry }
    }
}

/// Gives a proxy's credentials (Qt's `proxyAuthenticationRequired` signal): a user name and a
/// password, or `None` to give up.
pub trait ProxyAuthenticationHandler: Send + Sync + 'static {
    /// Credentials for the challenge.
    fn credentials(
        &self,
        challenge: ProxyAuthenticationChallenge,
    ) -> futures::future::BoxFuture<'static, Option<(String, String)>>;
}
