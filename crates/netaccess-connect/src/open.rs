//! The whole chain for one connection: TCP to the server or the proxy, the proxy's tunnel
//! (answering its authentication), TLS with the ALPN offer.
//!
//! # Design
//!
//! The caller says where and how ([`Destination`]: the proxy and whether it forwards or
//! tunnels, the TLS offer); the chain is the connector's alone, so http, https, ftp's control
//! and data connections, and later QUIC, cannot drift apart. A tunnel that the proxy refuses
//! for want of credentials is retried on a fresh connection (the proxy may close the refused
//! one) with the next credentials of [`ProxyRounds`]: the proxy's URL's once, the cache unless
//! just rejected, the handler, at most `MAX_PROXY_AUTH_ROUNDS`. The proxy's answer is bounded
//! by the connect timeout (`ProxyTimeoutError`); a person answering a credential or
//! certificate question is never timed.

use http::header::{self, HeaderMap, HeaderValue};
use netaccess_core::{within_limit, EventSink, IgnoredSslErrors, NetworkError, NetworkErrorKind};
use netaccess_proxy::{http_connect, socks5_connect, ConnectFailure, Proxy, ProxyKind, ProxyRounds};
use url::Url;

use crate::secure::{secure, Decider};
use crate::transport::Ready;
use crate::Connector;

/// How a connection reaches its server.
#[non_exhaustive]
#[derive(Debug, Clone, Copy)]
pub enum Via<'a> {
    /// Straight to the server.
    Direct,
    /// To an HTTP proxy that is given each request in full (plain http through an HTTP
    /// proxy): the connection ends at the proxy, and nothing is tunnelled or secured.
    Forward(&'a Proxy),
    /// Through a tunnel the proxy opens to the server: HTTP `CONNECT` or SOCKS5.
    Tunnel(&'a Proxy),
}

impl<'a> Via<'a> {
    /// The proxy, when there is one.
    pub fn proxy(self) -> Option<&'a Proxy> {
        match self {
            Via::Direct => None,
            Via::Forward(proxy) | Via::Tunnel(proxy) => Some(proxy),
        }
    }
}

/// What the TLS handshake offers and how its certificate problems are decided.
#[non_exhaustive]
#[derive(Debug, Clone, Copy)]
pub struct TlsOffer<'a> {
    /// The ALPN protocols offered, best first (see `netaccess_tls::ALPN_H2_HTTP1`).
    pub protocols: &'a [&'a [u8]],
    /// The certificate problems the request accepts in advance.
    pub ignore: &'a IgnoredSslErrors,
    /// Where the problems found are reported (`ReplyEvent::SslErrors`).
    pub events: Option<&'a EventSink>,
}

impl<'a> TlsOffer<'a> {
    /// An offer of `protocols` that accepts no certificate problem in advance.
    pub fn new(protocols: &'a [&'a [u8]]) -> Self {
        Self { protocols, ignore: &IgnoredSslErrors::None, events: None }
    }

    /// Accepts the problems `ignore` names.
    #[must_use]
    pub fn ignoring(mut self, ignore: &'a IgnoredSslErrors) -> Self {
        self.ignore = ignore;
        self
    }

    /// Reports the problems found to `events`.
    #[must_use]
    pub fn reporting_to(mut self, events: &'a EventSink) -> Self {
        self.events = Some(events);
        self
    }
}

/// Where a connection goes and how: the one argument of [`Connector::open`].
///
/// ```no_run
/// # async fn example() -> Result<(), netaccess_core::NetworkError> {
/// use netaccess_connect::{Connector, Destination, Negotiated, TlsOffer};
///
/// let connector = Connector::default();
/// let url = url::Url::parse("https://example.com/").unwrap();
/// let offer = TlsOffer::new(netaccess_tls::ALPN_H2_HTTP1);
/// let ready = connector.open(&Destination::new(&url, "example.com", 443).secured(offer)).await?;
/// println!("{:?} over {}", ready.protocol, ready.facts.remote_address);
/// # Ok(()) }
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy)]
pub struct Destination<'a> {
    /// The URL the connection is for: errors name it, and a certificate decision is asked for it.
    pub url: &'a Url,
    /// The server's host (a name, or an address literal, IPv6 in brackets or not).
    pub host: &'a str,
    /// The server's port.
    pub port: u16,
    /// Direct, or which proxy and how.
    pub via: Via<'a>,
    /// The `User-Agent` an HTTP `CONNECT` carries (nothing else of a request's headers goes
    /// to a tunnelling proxy).
    pub user_agent: Option<&'a HeaderValue>,
    /// TLS over the connection (after the tunnel), when present.
    pub tls: Option<TlsOffer<'a>>,
}

impl<'a> Destination<'a> {
    /// A direct connection to `host:port`, without TLS.
    pub fn new(url: &'a Url, host: &'a str, port: u16) -> Self {
        Self { url, host, port, via: Via::Direct, user_agent: None, tls: None }
    }

    /// Goes `via` a proxy.
    #[must_use]
    pub fn via(mut self, via: Via<'a>) -> Self {
        self.via = via;
        self
    }

    /// Secures the connection with TLS as `offer` says.
    #[must_use]
    pub fn secured(mut self, offer: TlsOffer<'a>) -> Self {
        self.tls = Some(offer);
        self
    }

    /// The `User-Agent` a `CONNECT` carries.
    #[must_use]
    pub fn user_agent(mut self, user_agent: Option<&'a HeaderValue>) -> Self {
        self.user_agent = user_agent;
        self
    }
}

impl Connector {
    /// Opens a connection to `destination`, ready for its protocol: resolved and raced, through
    /// the proxy's tunnel (authenticating as often as the proxy asks and the credentials
    /// allow), secured with TLS when offered (its certificate problems decided, its ALPN
    /// choice in [`Ready::protocol`]).
    ///
    /// # Errors
    /// As [`connect`](Self::connect); the proxy's failures as the proxy's
    /// (`ProxyConnectionRefusedError`, `ProxyAuthenticationRequiredError`,
    /// `ProxyTimeoutError`, ...); `SslHandshakeFailedError` for a failed handshake or a
    /// refused certificate; `TimeoutError` naming the TLS handshake timeout.
    pub async fn open(&self, destination: &Destination<'_>) -> Result<Ready, NetworkError> {
        let url = destination.url.as_str();
        let ready = match destination.via {
            Via::Direct => Ready::tcp(self.connect(url, destination.host, destination.port).await?),
            Via::Forward(proxy) => return Ok(Ready::tcp(self.connect_to_proxy(url, proxy).await?)),
            Via::Tunnel(proxy) => self.tunnel(destination, proxy).await?,
        };
        let Some(offer) = destination.tls else { return Ok(ready) };
        let tls = self.tls().map_err(|why| {
            NetworkError::new(NetworkErrorKind::SslHandshakeFailedError, url, format!("TLS is not usable: {why}"))
        })?;
        let decider = Decider {
            url: destination.url,
            ignore: offer.ignore,
            handler: self.config.ssl_error_handler.as_ref(),
            events: offer.events,
        };
        let limit = self.config.tls_handshake_timeout;
        secure(tls, ready, destination.host, decider, limit, offer.protocols).await
    }

    /// A tunnel to the destination through `proxy` (`CONNECT` or SOCKS5), authenticating as
    /// often as the proxy asks and the credentials allow, on a fresh connection each time.
    async fn tunnel(&self, destination: &Destination<'_>, proxy: &Proxy) -> Result<Ready, NetworkError> {
        let (url, host, port) = (destination.url.as_str(), destination.host, destination.port);
        let handler = self.config.proxy_authentication_handler.as_ref();
        let mut rounds = ProxyRounds::new(&self.proxy_auth, handler, proxy);
        let authority = format!("{host}:{port}");
        let mut proxy_authorization = self.proxy_auth.preemptive(proxy, "CONNECT", &authority);
        let mut credentials = proxy.user.clone().map(|user| (user, proxy.password.clone().unwrap_or_default()));
        loop {
            let mut connected = self.connect_to_proxy(url, proxy).await?;
            let target = match proxy.kind {
                ProxyKind::Socks5 => Some(self.socks_target(url, host, port, proxy).await?),
                _ => None,
            };
            let handshake = async {
                match target {
                    Some(target) => {
                        let pair = credentials.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
                        socks5_connect(&mut connected.stream, target, pair).await
                    }
                    None => {
                        let mut headers = HeaderMap::new();
                        if let Some(agent) = destination.user_agent {
                            headers.insert(header::USER_AGENT, agent.clone());
                        }
                        if let Some(value) = proxy_authorization.as_deref().and_then(|v| HeaderValue::from_str(v).ok())
                        {
                            headers.insert(header::PROXY_AUTHORIZATION, value);
                        }
                        let bare = host.trim_start_matches('[').trim_end_matches(']');
                        http_connect(&mut connected.stream, bare, port, &headers).await
                    }
                }
            };
            // The connect timeout covers the proxy's answer too: a proxy that accepts and never
            // answers must not hold the request for ever.
            let limit = self.config.connect_timeout;
            let outcome = within_limit(limit, async { Ok(handshake.await) }, || {
                NetworkError::new(
                    NetworkErrorKind::ProxyTimeoutError,
                    url,
                    format!(
                        "the proxy {} did not answer the tunnel request within {} ms",
                        proxy.label(),
                        limit.as_millis()
                    ),
                )
            })
            .await?;
            match outcome {
                Ok(()) => {
                    rounds.succeeded();
                    return Ok(Ready::tcp(connected).tunnelled());
                }
                Err(ConnectFailure::AuthenticationRequired(challenges)) => {
                    let answered = match proxy.kind {
                        ProxyKind::Socks5 => {
                            credentials = rounds.credentials("", "SOCKS5").await;
                            credentials.is_some()
                        }
                        _ => {
                            proxy_authorization = rounds.answer(&challenges, "CONNECT", &authority).await;
                            proxy_authorization.is_some()
                        }
                    };
                    if !answered {
                        return Err(
                            ConnectFailure::AuthenticationRequired(challenges).into_network_error(url, &proxy.label())
                        );
                    }
                }
                Err(failure) => return Err(failure.into_network_error(url, &proxy.label())),
            }
        }
    }
}
