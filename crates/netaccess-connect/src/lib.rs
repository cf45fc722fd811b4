//! The one connector of netaccess: every socket of every scheme is opened here.
//!
//! ```no_run
//! # async fn example() -> Result<(), netaccess_core::NetworkError> {
//! use netaccess_connect::{Connector, TransportConfig};
//!
//! let connector = Connector::new(TransportConfig::default());
//! let connected = connector.connect("http://example.com/", "example.com", 80).await?;
//! println!("{} from {}", connected.facts.remote_address, connected.facts.local_address);
//! # Ok(()) }
//! ```
//!
//! # Design
//!
//! A connection is opened in one chain, the same for http, https and ftp (control and data
//! connections), by [`Connector::open`]: resolve ([`ResolveOverrides`] first, then the
//! [`Resolver`]; address literals are never resolved; the [`IpFamily`] filters) → race the
//! addresses (RFC 8305, see the `eyeballs` module) → the proxy's tunnel (HTTP `CONNECT` or
//! SOCKS5 from `netaccess-proxy`, answering the proxy's authentication with the one credential
//! cache and handler every scheme shares, `netaccess_proxy::ProxyRounds`;
//! [`Connector::socks_target`] is the one rule for what a SOCKS5 proxy is told) → TLS with
//! the caller's ALPN offer (the `secure` module: the one [`TlsConnector`] this connector keeps,
//! so every scheme shares its session cache; certificate problems decided) → a [`Ready`]
//! connection that says what ALPN chose. No backend performs a handshake of its own; the one
//! exception is FTPS, whose TLS starts inside the protocol (`AUTH TLS`), run by suppaftp with
//! this connector's trust. The connect timeout bounds resolution and the race together, one
//! budget for every attempt: an attempt still running keeps going until it is spent (curl's
//! rule); the proxy's answer has the connect timeout again, the handshake its own limit.
//!
//! A QUIC transport would be one more kind of [`Ready`] stream, raced inside the same
//! eyeballs: [`Destination`] and [`Negotiated`] are `#[non_exhaustive]` for it.
//!
//! The connector also holds what every scheme's routing shares: the proxy set or the
//! factory ([`Connector::proxy_candidates`], changeable while requests run) and the proxy
//! credentials learnt ([`Connector::proxy_auth`]).
//!
//! [`TransportConfig`] holds every default, each with its reason beside it in its `Default`
//! impl, as quinn-proto's `TransportConfig` does; the backends share one [`Connector`] (an
//! `Arc`) instead of copies of settings.
//!
//! What a connection was is returned with it ([`ConnectionFacts`]: the addresses, an id, the
//! addresses tried, the TLS session) with the moments resolution, connecting and the handshake
//! ended, from which the manager makes a reply's timings.

#![forbid(unsafe_code)]

mod config;
mod eyeballs;
mod open;
mod proxies;
mod resolve;
mod secure;
mod transport;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use netaccess_core::{within_limit, ConnectionFacts, NetworkError, NetworkErrorKind};
use netaccess_proxy::{Capabilities, Proxy, Target};
use netaccess_tls::TlsConnector;
use tokio::net::TcpStream;

pub use config::{
    IpFamily, TransportConfig, DEFAULT_CONNECT_TIMEOUT, DEFAULT_HAPPY_EYEBALLS_DELAY, DEFAULT_TLS_HANDSHAKE_TIMEOUT,
};
pub use open::{Destination, TlsOffer, Via};
pub use resolve::{ResolveOverrides, Resolver, SystemResolver};
pub use secure::exceptions_key;
pub use transport::{Negotiated, Ready, Stream, TlsInfo, Transport};

/// Opens connections as its [`TransportConfig`] says; share one (`Arc<Connector>`) between
/// backends.
pub struct Connector {
    config: TransportConfig,
    tls: OnceLock<Result<TlsConnector, String>>,
    proxies: proxies::ProxySettings,
    proxy_auth: netaccess_proxy::ProxyAuth,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Default for Connector {
    fn default() -> Self {
        Self::new(TransportConfig::default())
    }
}

/// A TCP connection and what is known of how it was made.
#[derive(Debug)]
#[non_exhaustive]
pub struct Connected {
    /// The stream (`TCP_NODELAY` set).
    pub stream: TcpStream,
    /// Its addresses and id.
    pub facts: ConnectionFacts,
    /// The addresses tried, in the order the attempts started (the last one that started is
    /// not always the winner).
    pub tried: Vec<SocketAddr>,
    /// When the name was resolved (`None` for an address literal or an override).
    pub resolved: Option<Instant>,
    /// When the connection was up.
    pub connected: Instant,
}

impl Connector {
    /// A connector with `config`.
    pub fn new(config: TransportConfig) -> Self {
        let proxies = proxies::ProxySettings::new(config.proxy.clone(), config.proxy_factory.clone());
        Self { config, tls: OnceLock::new(), proxies, proxy_auth: netaccess_proxy::ProxyAuth::default() }
    }

    /// Its configuration.
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    /// The TLS connector of [`TransportConfig::tls`], made on first use and shared by every
    /// scheme (one session cache).
    ///
    /// # Errors
    /// The trust or the client identity cannot be loaded; the text says why.
    pub fn tls(&self) -> Result<&TlsConnector, String> {
        self.tls
            .get_or_init(|| TlsConnector::new(self.config.tls.clone()).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The addresses for `host:port` in the order they are tried, and when resolution ended
    /// (`None` when nothing was resolved: an address literal or an override).
    ///
    /// # Errors
    /// `HostNotFoundError` naming the host (and the family when it filtered every address).
    pub async fn resolve(
        &self,
        url: &str,
        host: &str,
        port: u16,
    ) -> Result<(Vec<SocketAddr>, Option<Instant>), NetworkError> {
        let bare = resolve::bare(host);
        let (found, resolved) = if let Ok(ip) = bare.parse::<IpAddr>() {
            (vec![SocketAddr::new(ip, port)], None)
        } else if let Some(addresses) = self.config.resolve.get(bare, port) {
            (addresses.to_vec(), None)
        } else {
            let found = self.config.resolver.resolve(bare, port).await.map_err(|e| resolve_error(url, bare, e))?;
            (found, Some(Instant::now()))
        };
        let family = self.config.ip_family;
        let total = found.len();
        let usable: Vec<SocketAddr> = found.into_iter().filter(|a| family.allows(a)).collect();
        if usable.is_empty() {
            let why = if total == 0 {
                format!("host {bare} has no address")
            } else {
                format!("host {bare} has no address of the family asked for ({family:?})")
            };
            return Err(NetworkError::new(NetworkErrorKind::HostNotFoundError, url, why));
        }
        Ok((eyeballs::interleave(usable), resolved))
    }

    /// Resolves `host` and races its addresses (see the [crate docs](crate)), within the
    /// connect timeout.
    ///
    /// # Errors
    /// `HostNotFoundError`, `ConnectionRefusedError`, `TimeoutError` (the message names the
    /// connect timeout), `TemporaryNetworkFailureError` (unreachable), each naming the URL and
    /// the address.
    pub async fn connect(&self, url: &str, host: &str, port: u16) -> Result<Connected, NetworkError> {
        let timeout = self.config.connect_timeout;
        within_limit(timeout, self.resolve_and_race(url, host, port), || {
            NetworkError::new(
                NetworkErrorKind::TimeoutError,
                url,
                format!(
                    "connecting to {host}:{port} took longer than {} ms (the connect timeout)",
                    timeout.as_millis()
                ),
            )
        })
        .await
    }

    /// Connects to a proxy; failures are named as the proxy's (`ProxyConnectionRefusedError`,
    /// `ProxyNotFoundError`, `ProxyTimeoutError`, ...).
    ///
    /// # Errors
    /// As [`connect`](Self::connect), as the proxy's errors.
    pub async fn connect_to_proxy(&self, url: &str, proxy: &Proxy) -> Result<Connected, NetworkError> {
        self.connect(url, &proxy.host, proxy.port).await.map_err(|e| proxy_error(e, proxy))
    }

    async fn resolve_and_race(&self, url: &str, host: &str, port: u16) -> Result<Connected, NetworkError> {
        let (addresses, resolved) = self.resolve(url, host, port).await?;
        let mut tried = Vec::with_capacity(1);
        let raced = eyeballs::race(&addresses, self.config.happy_eyeballs_delay, |a| tried.push(a)).await;
        let (stream, remote) = raced.map_err(|failed| connect_error(url, host, failed.address, failed.error))?;
        let connected = Instant::now();
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        tracing::debug!(%remote, %local, attempts = tried.len(), "connected");
        Ok(Connected { stream, facts: ConnectionFacts::new(remote, local), tried, resolved, connected })
    }

    /// What a SOCKS5 proxy is told to connect to, the same for every scheme: an address
    /// literal as it is; a name as it is when the proxy resolves names (`socks5h://`), else
    /// resolved here, with the overrides, the resolver and the family (`socks5://`, curl's
    /// rule).
    ///
    /// # Errors
    /// `HostNotFoundError` when the name resolves to nothing here.
    pub async fn socks_target<'h>(
        &self,
        url: &str,
        host: &'h str,
        port: u16,
        proxy: &Proxy,
    ) -> Result<Target<'h>, NetworkError> {
        let bare = resolve::bare(host);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(Target::Address(SocketAddr::new(ip, port)));
        }
        if proxy.capabilities.contains(Capabilities::HOST_NAME_LOOKUP) {
            return Ok(Target::Name(bare, port));
        }
        let (addresses, _) = self.resolve(url, bare, port).await?;
        Ok(Target::Address(addresses[0]))
    }
}

/// A failure to reach a proxy, named as the proxy's.
pub fn proxy_error(error: NetworkError, proxy: &Proxy) -> NetworkError {
    use NetworkErrorKind::*;
    let kind = match error.kind() {
        ConnectionRefusedError => ProxyConnectionRefusedError,
        TimeoutError => ProxyTimeoutError,
        HostNotFoundError => ProxyNotFoundError,
        RemoteHostClosedError => ProxyConnectionClosedError,
        _ => UnknownProxyError,
    };
    NetworkError::new(kind, error.url(), format!("the proxy {}: {}", proxy.label(), error.message()))
}

/// A connection attempt failed.
fn connect_error(url: &str, host: &str, address: SocketAddr, err: io::Error) -> NetworkError {
    let (kind, what) = match err.kind() {
        io::ErrorKind::ConnectionRefused => (NetworkErrorKind::ConnectionRefusedError, "the connection was refused"),
        io::ErrorKind::TimedOut => (NetworkErrorKind::TimeoutError, "connecting timed out"),
        io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable => {
            (NetworkErrorKind::TemporaryNetworkFailureError, "the host is unreachable")
        }
        io::ErrorKind::NotFound => (NetworkErrorKind::HostNotFoundError, "no address to connect to"),
        _ => (NetworkErrorKind::UnknownNetworkError, "the connection failed"),
    };
    NetworkError::new(kind, url, format!("{what} ({host} at {address}): {err}")).with_source(err)
}

/// The host name did not resolve.
fn resolve_error(url: &str, host: &str, err: io::Error) -> NetworkError {
    NetworkError::new(NetworkErrorKind::HostNotFoundError, url, format!("host {host} not found: {err}"))
        .with_source(err)
}

/// Shares a connector.
impl From<TransportConfig> for Arc<Connector> {
    fn from(config: TransportConfig) -> Self {
        Arc::new(Connector::new(config))
    }
}

/// The README's example, compiled (and run where it needs no server) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
