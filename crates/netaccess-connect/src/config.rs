//! The transport configuration: every default of opening a connection, with its reason.

use std::sync::Arc;
use std::time::Duration;

use crate::resolve::{ResolveOverrides, Resolver, SystemResolver};

/// Which address families connections use (ureq's `IpFamily`, curl's `-4`/`-6`; Qt has none).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IpFamily {
    /// IPv6 and IPv4, raced (the default).
    #[default]
    Any,
    /// IPv4 only.
    V4Only,
    /// IPv6 only.
    V6Only,
}

impl IpFamily {
    /// Whether an address of this family may be used.
    pub fn allows(self, address: &std::net::SocketAddr) -> bool {
        match self {
            IpFamily::V4Only => address.is_ipv4(),
            IpFamily::V6Only => address.is_ipv6(),
            IpFamily::Any => true,
        }
    }
}

/// How connections are opened, for every scheme: http, https and ftp share one.
///
/// ```
/// use std::time::Duration;
/// use netaccess_connect::{IpFamily, TransportConfig};
///
/// let mut config = TransportConfig::default();
/// config.connect_timeout = Duration::from_secs(5);
/// config.ip_family = IpFamily::V4Only;
/// config.resolve.insert("api.example", 443, vec!["127.0.0.1:8443".parse().unwrap()]);
/// ```
#[non_exhaustive]
#[derive(Clone)]
pub struct TransportConfig {
    /// The longest name resolution and the TCP connect (every address raced) may take together,
    /// and the longest a proxy may take to open a tunnel; zero is no limit.
    pub connect_timeout: Duration,
    /// How long an attempt has before the next address is tried beside it (RFC 8305's
    /// "Connection Attempt Delay").
    pub happy_eyeballs_delay: Duration,
    /// Which address families are used.
    pub ip_family: IpFamily,
    /// Addresses to use instead of resolving some `host:port`s (curl's `--resolve`).
    pub resolve: ResolveOverrides,
    /// Who resolves the other names.
    pub resolver: Arc<dyn Resolver>,
    /// The longest a TLS handshake may take; zero is no limit.
    pub tls_handshake_timeout: Duration,
    /// Whom TLS trusts and which client certificate it shows (https and ftps).
    pub tls: netaccess_tls::TlsConfig,
    /// Who decides on certificate problems a request did not accept in advance; without one
    /// they fail the connection.
    pub ssl_error_handler: Option<Arc<dyn netaccess_core::SslErrorHandler>>,
    /// The proxy for every connection (Qt's `setProxy`); wins over the factory. The initial
    /// value: [`Connector::set_proxy`](crate::Connector::set_proxy) changes it later.
    pub proxy: Option<netaccess_proxy::Proxy>,
    /// The proxies per URL when no proxy is set; by default the environment's.
    pub proxy_factory: Arc<dyn netaccess_proxy::ProxyFactory>,
    /// Who gives proxy credentials (Qt's `proxyAuthenticationRequired`), for every scheme.
    pub proxy_authentication_handler: Option<Arc<dyn netaccess_proxy::ProxyAuthenticationHandler>>,
}

/// The default [`TransportConfig::connect_timeout`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default [`TransportConfig::happy_eyeballs_delay`].
pub const DEFAULT_HAPPY_EYEBALLS_DELAY: Duration = Duration::from_millis(250);
/// The default [`TransportConfig::tls_handshake_timeout`].
pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            // 30 s: Qt's HTTP connection timeout and reqwest users' usual choice; curl waits
            // 300 s, which a person at a terminal gives up on long before. Connecting is
            // bounded, not transferring: a slow body is the transfer timeout's.
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            // 250 ms: RFC 8305 §5's recommendation (curl uses 200 ms, hyper-util 300 ms). A
            // broken first address (a dead IPv6 route) then costs a quarter second, not the
            // connect timeout, and a healthy one is almost never raced.
            happy_eyeballs_delay: DEFAULT_HAPPY_EYEBALLS_DELAY,
            // Both families: the race picks whichever works.
            ip_family: IpFamily::Any,
            // No overrides: names resolve as the system says.
            resolve: ResolveOverrides::default(),
            // The system's resolver (getaddrinfo on a blocking thread, tokio's `lookup_host`),
            // so /etc/hosts, nsswitch and the system's DNS settings apply as for every program.
            resolver: Arc::new(SystemResolver),
            // 30 s, as the connect timeout covered the handshake before it had its own limit
            // (curl's connect timeout covers it too): a peer that accepts and then says nothing
            // must not hold the request for ever. A person deciding on a certificate problem is
            // never timed.
            tls_handshake_timeout: DEFAULT_TLS_HANDSHAKE_TIMEOUT,
            // The system's trust store (see `netaccess_tls::TlsConfig`).
            tls: netaccess_tls::TlsConfig::default(),
            // Nobody to ask: a certificate problem fails the connection, as a browser without
            // a person would.
            ssl_error_handler: None,
            // No fixed proxy: the factory decides.
            proxy: None,
            // The environment's (`http_proxy`, `https_proxy`, `all_proxy`, `no_proxy`, curl's
            // rules), as every command-line tool on the machine.
            proxy_factory: Arc::new(netaccess_proxy::SystemProxyFactory::from_env()),
            // Nobody to ask: only the credentials in the proxy's URL are tried.
            proxy_authentication_handler: None,
        }
    }
}

impl std::fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportConfig")
            .field("connect_timeout", &self.connect_timeout)
            .field("happy_eyeballs_delay", &self.happy_eyeballs_delay)
            .field("ip_family", &self.ip_family)
            .field("resolve", &self.resolve)
            .field("tls_handshake_timeout", &self.tls_handshake_timeout)
            .field("tls", &self.tls)
            .field("ssl_error_handler", &self.ssl_error_handler.is_some())
            .field("proxy", &self.proxy)
            .field("proxy_authentication_handler", &self.proxy_authentication_handler.is_some())
            .finish_non_exhaustive()
    }
}
