//! Control connections: connecting, logging in (with Qt's order of credentials), and keeping
//! idle ones per server and user.
//!
//! # Design
//!
//! Logins follow the engine every challenger shares (`netaccess_core::credentials`): the URL's
//! credentials (or anonymous) first, then the login handler, nothing cached, at most
//! [`MAX_LOGIN_ROUNDS`]. Every connection, control and data, comes from the shared connector
//! (`Connector::open`), so a SOCKS5 proxy's authentication is the one every scheme uses; the
//! data connections go where the control connection was tunnelled to (see `connect`). `AUTH
//! TLS` runs inside the protocol, after the greeting, so it is suppaftp's, with the connector's
//! trust. Idle sessions are kept per server, user and proxy (at most four) and checked with a
//! `NOOP` before reuse.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use netaccess_connect::{Connector, Destination, Via};
use netaccess_core::credentials::{lock, CredentialRounds};
use netaccess_core::{within_limit, ConnectionFacts, Milestones, NetworkError, NetworkErrorKind};
use netaccess_proxy::Proxy;
use suppaftp::types::FileType;
use suppaftp::Mode;
use tokio::net::TcpStream;
use url::Url;

use crate::errors::ftp_error;
use crate::Ftp;

/// The password sent with an anonymous login.
pub const ANONYMOUS_PASSWORD: &str = "netaccess@";

/// The most logins one request tries after the URL's credentials were refused.
pub(crate) const MAX_LOGIN_ROUNDS: usize = 8;

/// Gives FTP login credentials when the server refuses the ones tried (the manager adapts its
/// authentication handler to this).
pub trait FtpLogin: Send + Sync + 'static {
    /// A user name and a password for `url`, or `None` to give up; `retry` when credentials were
    /// just refused.
    fn credentials(&self, url: &Url, retry: bool) -> BoxFuture<'static, Option<(String, String)>>;
}

/// A logged-in control connection.
pub(crate) struct Session {
    pub(crate) ftp: Ftp,
    pub(crate) key: String,
    /// Its facts, and the moments of opening it when this request did.
    pub(crate) opened: Opened,
}

/// Idle control connections by server and user.
#[derive(Default)]
pub(crate) struct Sessions {
    idle: Mutex<HashMap<String, Vec<(Ftp, Opened)>>>,
}

/// The most idle control connections kept per server and user.
const MAX_IDLE: usize = 4;

impl Sessions {
    /// Gives a session back for the next request to the same server and user.
    pub(crate) fn put(&self, session: Session) {
        let mut idle = lock(&self.idle);
        let list = idle.entry(session.key).or_default();
        if list.len() < MAX_IDLE {
            list.push((session.ftp, session.opened.reused()));
        }
    }

    async fn take(&self, key: &str) -> Option<(Ftp, Opened)> {
        loop {
            let (mut ftp, opened) = lock(&self.idle).get_mut(key)?.pop()?;
            if ftp.noop().await.is_ok() {
                return Some((ftp, opened));
            }
        }
    }

    /// A logged-in session for `url`: an idle one of the same user, or a new login.
    pub(crate) async fn open(
        &self,
        url: &Url,
        login: Option<&Arc<dyn FtpLogin>>,
        connector: &Arc<Connector>,
        proxy: &Proxy,
        secure: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
    ) -> Result<Session, NetworkError> {
        let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
        let port = url.port().unwrap_or(21);
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let mut credentials = if url.username().is_empty() {
            ("anonymous".to_owned(), ANONYMOUS_PASSWORD.to_owned())
        } else {
            (decode(url.username()), decode(url.password().unwrap_or_default()))
        };
        // The URL's (or anonymous) go first, outside the engine; then the handler, in the order
        // every other login follows (netaccess_core::credentials), nothing cached.
        let mut rounds: CredentialRounds<'_, ()> = CredentialRounds::new(None, None, MAX_LOGIN_ROUNDS);
        loop {
            let key = format!("{}://{host}:{port}:{}:{}", url.scheme(), credentials.0, proxy.label());
            if let Some((ftp, opened)) = self.take(&key).await {
                return Ok(Session { ftp, key, opened });
            }
            let (mut ftp, mut opened) = connect(connector, url, &host, port, proxy).await?;
            if let Some(config) = &secure {
                let limit = connector.config().tls_handshake_timeout;
                ftp = secure_control(ftp, config.clone(), &host, url.as_str(), limit).await?;
                opened.milestones.secured = Some(std::time::Instant::now());
            }
            match ftp.login(credentials.0.as_str(), credentials.1.as_str()).await {
                Ok(()) => {
                    ftp.transfer_type(FileType::Binary).await.map_err(|e| ftp_error(url.as_str(), "TYPE I", e))?;
                    ftp.set_mode(Mode::ExtendedPassive);
                    ftp.set_passive_nat_workaround(proxy.is_direct());
                    return Ok(Session { ftp, key, opened });
                }
                Err(error) => {
                    let refused = ftp_error(url.as_str(), "logging in", error);
                    if refused.kind() != NetworkErrorKind::AuthenticationRequiredError {
                        return Err(refused);
                    }
                    let Some(login) = login else { return Err(refused) };
                    match rounds.next(&(), |retry| login.credentials(url, retry)).await {
                        Some(next) => credentials = next,
                        None => return Err(refused),
                    }
                }
            }
        }
    }
}

/// Connects to `host:port`, directly or through a SOCKS5 proxy, with the connector every
/// scheme shares (overrides, happy eyeballs, the `socks5`/`socks5h` rule, the proxy
/// credentials of every scheme). The data connections are opened by the same connector and
/// take the control connection's resolution: through a proxy, to the address the control
/// connection was tunnelled to (`socks5://`: the resolve overrides and the resolver were asked
/// once, for the control port) or to its name (`socks5h://`: the proxy resolves it), with the
/// port the server named (its address is never trusted); directly, to the address suppaftp
/// settled on (the control connection's peer for PASV).
async fn connect(
    connector: &Arc<Connector>,
    url: &Url,
    host: &str,
    port: u16,
    proxy: &Proxy,
) -> Result<(Ftp, Opened), NetworkError> {
    // The connect timeout covers the server's greeting too: a server that accepts and never
    // greets must not hold the request for ever.
    let timeout = connector.config().connect_timeout;
    let (ftp, opened, tunnelled_to) = within(timeout, url.as_str(), host, port, async {
        let tunnelled_to = match proxy.is_direct() {
            true => None,
            false => Some(connector.socks_target(url.as_str(), host, port, proxy).await?.host()),
        };
        let stream = open(connector, url, tunnelled_to.as_deref().unwrap_or(host), port, proxy).await?;
        let (stream, opened) = Opened::of(stream, url)?;
        let ftp = Ftp::connect_with_stream(stream).await.map_err(|e| ftp_error(url.as_str(), "the greeting", e))?;
        Ok((ftp, opened, tunnelled_to))
    })
    .await?;
    let (connector, proxy, url) = (connector.clone(), proxy.clone(), url.clone());
    let ftp = ftp.passive_stream_builder(move |address| {
        let (connector, proxy, url) = (connector.clone(), proxy.clone(), url.clone());
        let host = tunnelled_to.clone().unwrap_or_else(|| address.ip().to_string());
        // Spawned: suppaftp wants a `Sync` future, and the connector's holds the resolver's
        // (which need not be); the task's handle is.
        let data = tokio::spawn(async move {
            let ready = open(&connector, &url, &host, address.port(), &proxy).await?;
            Ok::<_, NetworkError>(ready.stream.into_tcp())
        });
        Box::pin(async move {
            match data.await {
                Ok(Ok(Some(stream))) => Ok(stream),
                Ok(Ok(None)) => Err(suppaftp::FtpError::ConnectionError(std::io::Error::other("not a TCP stream"))),
                Ok(Err(error)) => Err(suppaftp::FtpError::ConnectionError(std::io::Error::other(error.to_string()))),
                Err(join) => Err(suppaftp::FtpError::ConnectionError(std::io::Error::other(join.to_string()))),
            }
        })
    });
    Ok((ftp, opened))
}

/// A TCP connection to `host:port`, directly or through the SOCKS5 `proxy` (its tunnel and
/// authentication are the connector's).
async fn open(
    connector: &Connector,
    url: &Url,
    host: &str,
    port: u16,
    proxy: &Proxy,
) -> Result<netaccess_connect::Ready, NetworkError> {
    let via = if proxy.is_direct() { Via::Direct } else { Via::Tunnel(proxy) };
    connector.open(&Destination::new(url, host, port).via(via)).await
}

/// The control connection's facts and the moments it was opened.
#[derive(Debug, Clone)]
pub(crate) struct Opened {
    pub(crate) facts: ConnectionFacts,
    pub(crate) milestones: Milestones,
}

impl Opened {
    fn of(ready: netaccess_connect::Ready, url: &Url) -> Result<(TcpStream, Self), NetworkError> {
        let opened = Self { facts: ready.facts, milestones: ready.milestones };
        let stream = ready.stream.into_tcp().ok_or_else(|| {
            NetworkError::new(NetworkErrorKind::ProtocolFailure, url.as_str(), "the control connection is not TCP")
        })?;
        Ok((stream, opened))
    }

    /// As a pooled session reports itself to its next request: reused, no opening phases.
    fn reused(mut self) -> Self {
        self.facts.reused = true;
        self.facts.attempts = Vec::new();
        self.milestones = Milestones::default();
        self
    }
}

async fn within<T>(
    timeout: Duration,
    url: &str,
    host: &str,
    port: u16,
    work: impl std::future::Future<Output = Result<T, NetworkError>>,
) -> Result<T, NetworkError> {
    within_limit(timeout, work, || {
        NetworkError::new(
            NetworkErrorKind::TimeoutError,
            url,
            format!("connecting to {host}:{port} took longer than {} ms (the connect timeout)", timeout.as_millis()),
        )
    })
    .await
}

/// AUTH TLS on the control connection; the data connections are protected from then on.
#[cfg(feature = "ftps")]
async fn secure_control(
    ftp: Ftp,
    config: Arc<tokio_rustls::rustls::ClientConfig>,
    host: &str,
    url: &str,
    limit: Duration,
) -> Result<Ftp, NetworkError> {
    let connector = suppaftp::tokio::AsyncRustlsConnector::from(tokio_rustls::TlsConnector::from(config));
    let handshake = async {
        ftp.into_secure(connector, host).await.map_err(|error| {
            NetworkError::new(NetworkErrorKind::SslHandshakeFailedError, url, format!("AUTH TLS failed: {error}"))
                .with_source(error)
        })
    };
    within_limit(limit, handshake, || {
        NetworkError::new(
            NetworkErrorKind::TimeoutError,
            url,
            format!("AUTH TLS with {host} took longer than {} ms (the TLS handshake timeout)", limit.as_millis()),
        )
    })
    .await
}

/// Without the `ftps` feature there is no TLS to start.
#[cfg(not(feature = "ftps"))]
async fn secure_control(
    _ftp: Ftp,
    _config: Arc<tokio_rustls::rustls::ClientConfig>,
    _host: &str,
    url: &str,
    _limit: Duration,
) -> Result<Ftp, NetworkError> {
    Err(NetworkError::new(NetworkErrorKind::ProtocolUnknownError, url, "Protocol \"ftps\" is unknown"))
}
