//! Control connections: connecting, logging in (with Qt's order of credentials), and keeping
//! idle ones per server and user.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use netaccess_core::credentials::{lock, CredentialRounds};
use netaccess_core::{within_limit, NetworkError, NetworkErrorKind};
use netaccess_proxy::{socks5_connect, Proxy, Target};
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
}

/// Idle control connections by server and user.
#[derive(Default)]
pub(crate) struct Sessions {
    idle: Mutex<HashMap<String, Vec<Ftp>>>,
}

/// The most idle control connections kept per server and user.
const MAX_IDLE: usize = 4;

impl Sessions {
    /// Gives a session back for the next request to the same server and user.
    pub(crate) fn put(&self, session: Session) {
        let mut idle = lock(&self.idle);
        let list = idle.entry(session.key).or_default();
        if list.len() < MAX_IDLE {
            list.push(session.ftp);
        }
    }

    async fn take(&self, key: &str) -> Option<Ftp> {
        loop {
            let mut ftp = lock(&self.idle).get_mut(key)?.pop()?;
            if ftp.noop().await.is_ok() {
                return Some(ftp);
            }
        }
    }

    /// A logged-in session for `url`: an idle one of the same user, or a new login.
    pub(crate) async fn open(
        &self,
        url: &Url,
        login: Option<&Arc<dyn FtpLogin>>,
        connect_timeout: Duration,
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
            if let Some(ftp) = self.take(&key).await {
                return Ok(Session { ftp, key });
            }
            let mut ftp = connect(url.as_str(), &host, port, connect_timeout, proxy).await?;
            if let Some(config) = &secure {
                ftp = secure_control(ftp, config.clone(), &host, url.as_str()).await?;
            }
            match ftp.login(credentials.0.as_str(), credentials.1.as_str()).await {
                Ok(()) => {
                    ftp.transfer_type(FileType::Binary).await.map_err(|e| ftp_error(url.as_str(), "TYPE I", e))?;
                    ftp.set_mode(Mode::ExtendedPassive);
                    ftp.set_passive_nat_workaround(proxy.is_direct());
                    return Ok(Session { ftp, key });
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

/// Connects to `host:port`, directly or through a SOCKS5 proxy. Through a proxy, the data
/// connections go through it too, to the control connection's host and the port the server named
/// (its address is never trusted).
async fn connect(url: &str, host: &str, port: u16, timeout: Duration, proxy: &Proxy) -> Result<Ftp, NetworkError> {
    // The connect timeout covers the server's greeting too: a server that accepts and never
    // greets must not hold the request for ever.
    if proxy.is_direct() {
        return within(timeout, url, host, port, async {
            let stream = tcp(url, host, port).await?;
            Ftp::connect_with_stream(stream).await.map_err(|e| ftp_error(url, "the greeting", e))
        })
        .await;
    }
    let ftp = within(timeout, url, host, port, async {
        let control = socks_tunnel(url, proxy.clone(), host.to_owned(), port).await?;
        Ftp::connect_with_stream(control).await.map_err(|e| ftp_error(url, "the greeting", e))
    })
    .await?;
    let (proxy, url, host) = (proxy.clone(), url.to_owned(), host.to_owned());
    Ok(ftp.passive_stream_builder(move |address| {
        let (proxy, url, host) = (proxy.clone(), url.clone(), host.clone());
        Box::pin(async move {
            socks_tunnel(&url, proxy, host, address.port())
                .await
                .map_err(|e| suppaftp::FtpError::ConnectionError(std::io::Error::other(e.to_string())))
        })
    }))
}

async fn within<T>(
    timeout: Duration,
    url: &str,
    host: &str,
    port: u16,
    work: impl std::future::Future<Output = Result<T, NetworkError>>,
) -> Result<T, NetworkError> {
    within_limit(timeout, work, || {
        NetworkError::new(NetworkErrorKind::TimeoutError, url, format!("connecting to {host}:{port} timed out"))
    })
    .await
}

/// A TCP stream to `host:port` through a SOCKS5 proxy (the stream is a plain TCP stream once
/// the proxy answered).
async fn socks_tunnel(url: &str, proxy: Proxy, host: String, port: u16) -> Result<TcpStream, NetworkError> {
    let label = proxy.label();
    let mut stream = tcp(url, &proxy.host, proxy.port).await.map_err(|e| {
        let kind = match e.kind() {
            NetworkErrorKind::ConnectionRefusedError => NetworkErrorKind::ProxyConnectionRefusedError,
            NetworkErrorKind::HostNotFoundError => NetworkErrorKind::ProxyNotFoundError,
            _ => NetworkErrorKind::UnknownProxyError,
        };
        NetworkError::new(kind, url, format!("the proxy {label}: {}", e.message()))
    })?;
    let credentials = proxy.user.as_deref().map(|user| (user, proxy.password.as_deref().unwrap_or_default()));
    let target = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => Target::Address(std::net::SocketAddr::new(ip, port)),
        Err(_) => Target::Name(&host, port),
    };
    socks5_connect(&mut stream, target, credentials).await.map_err(|f| f.into_network_error(url, &label))?;
    Ok(stream)
}

async fn tcp(url: &str, host: &str, port: u16) -> Result<TcpStream, NetworkError> {
    {
        let addresses: Vec<_> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| {
                NetworkError::new(NetworkErrorKind::HostNotFoundError, url, format!("host {host} not found: {e}"))
            })?
            .collect();
        let mut last = None;
        for address in addresses {
            match TcpStream::connect(address).await {
                Ok(stream) => return Ok(stream),
                Err(err) => last = Some(err),
            }
        }
        let err = last.ok_or_else(|| {
            NetworkError::new(NetworkErrorKind::HostNotFoundError, url, format!("host {host} has no address"))
        })?;
        let kind = match err.kind() {
            std::io::ErrorKind::ConnectionRefused => NetworkErrorKind::ConnectionRefusedError,
            _ => NetworkErrorKind::UnknownNetworkError,
        };
        Err(NetworkError::new(kind, url, format!("connecting to {host}:{port} failed: {err}")))
    }
}

/// AUTH TLS on the control connection; the data connections are protected from then on.
#[cfg(feature = "ftps")]
async fn secure_control(
    ftp: Ftp,
    config: Arc<tokio_rustls::rustls::ClientConfig>,
    host: &str,
    url: &str,
) -> Result<Ftp, NetworkError> {
    let connector = suppaftp::tokio::AsyncRustlsConnector::from(tokio_rustls::TlsConnector::from(config));
    ftp.into_secure(connector, host).await.map_err(|error| {
        NetworkError::new(NetworkErrorKind::SslHandshakeFailedError, url, format!("AUTH TLS failed: {error}"))
            .with_source(error)
    })
}

/// Without the `ftps` feature there is no TLS to start.
#[cfg(not(feature = "ftps"))]
async fn secure_control(
    _ftp: Ftp,
    _config: Arc<tokio_rustls::rustls::ClientConfig>,
    _host: &str,
    url: &str,
) -> Result<Ftp, NetworkError> {
    Err(NetworkError::new(NetworkErrorKind::ProtocolUnknownError, url, "Protocol \"ftps\" is unknown"))
}
