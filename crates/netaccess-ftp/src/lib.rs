//! The `ftp:` backend of netaccess, on suppaftp's tokio client.
//!
//! [`FtpBackend`] implements [`netaccess_core::Backend`]: GET streams a file (binary, in 64 KiB
//! chunks, the total from `SIZE`, `Last-Modified` from `MDTM`), HEAD gives that metadata alone,
//! PUT stores bytes, a file or a stream with upload progress.
//!
//! ```no_run
//! # async fn example() -> Result<(), netaccess_core::NetworkError> {
//! use netaccess_core::{Backend, BackendRequest, Operation};
//! use netaccess_ftp::FtpBackend;
//!
//! let url = url::Url::parse("ftp://127.0.0.1:2121/pub/readme.txt").unwrap();
//! let response = FtpBackend::default().send(BackendRequest::new(Operation::Get, url)).await?;
//! println!("{:?} bytes coming", response.expected_length);
//! # Ok(()) }
//! ```
//!
//! # Design
//!
//! - **Paths**: the URL path without its leading `/`, percent-decoded, is relative to the login
//!   directory (RFC 1738); `%2F` reaches the root. A path that is empty or ends in `/`, or that the
//!   server lets us `CWD` into, is a directory: `ContentOperationNotPermittedError`.
//! - **Login**: the URL's credentials, else anonymous; a refused login asks the manager's
//!   handler ([`FtpLogin`], the same one HTTP uses), again after each refusal; nothing more to try
//!   ends in `AuthenticationRequiredError` carrying the server's reply.
//! - **Data connections**: passive, EPSV first and PASV when the server does not know it; the
//!   address in a 227 reply is not trusted (the control connection's peer is used, as curl does).
//! - **Control connections** go back to a pool per server and user after a transfer completes
//!   (checked with NOOP before reuse); an aborted transfer drops its control connection.
//! - **Errors** as Qt: 550 is `ContentNotFoundError` (or `ContentAccessDenied` when the reply
//!   says permission), 530 `AuthenticationRequiredError`, 426 `RemoteHostClosedError`; the reply
//!   text is in the message.
//! - **Truncation**: a data connection that ends before the length `SIZE` announced fails the
//!   download with `RemoteHostClosedError`, even when the server then claims `226` (binary mode
//!   makes `SIZE` exact; a file that grew meanwhile is fine).
//! - **Connections** are opened by the manager's one connector (`netaccess-connect`: the
//!   resolve overrides, happy eyeballs, the `socks5`/`socks5h` rule), control and data
//!   connections alike; a reply's connection facts and timings are the control connection's
//!   (for ftp, `sent` is when the transfer command went out after the login, `first_byte` when
//!   the data connection was open; for an upload, when the file was written and acknowledged).
//! - **Timeouts**: the connect timeout covers resolving, the TCP connection (or the SOCKS5
//!   tunnel) and the server's greeting, so a server that accepts and never greets fails with
//!   `TimeoutError`; AUTH TLS has the TLS handshake timeout. The
//!   request's transfer timeout bounds everything from there to the first data byte (login,
//!   SIZE, MDTM, the data connection; a login handler's answer included), then the driver
//!   applies it to each chunk: a server that goes silent mid-command fails with `TimeoutError`
//!   (found by the `ftp_replies` fuzz target).
//! - **Proxies**: SOCKS5 carries both the control and the data connections; a data connection
//!   goes to the control connection's host at the port the server named.
//! - **Explicit FTPS** (`ftps://`, cargo feature `ftps`, on by default): AUTH TLS before the
//!   login, then protected data connections, over rustls with the manager's trust; a certificate
//!   problem fails the request with `SslHandshakeFailedError` (no handler is asked: suppaftp takes a
//!   plain rustls configuration).

#![forbid(unsafe_code)]

mod errors;
mod session;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use futures::future::{BoxFuture, FutureExt};
use futures::StreamExt;
use netaccess_connect::Connector;
use netaccess_core::{
    within_limit, Backend, BackendRequest, BackendResponse, BodyStream, KnownHeaders, Milestones, NetworkError,
    NetworkErrorKind, Operation, UploadProgress,
};
use suppaftp::Mode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

pub use session::{FtpLogin, ANONYMOUS_PASSWORD};

/// The stream type of a control connection: TLS-capable when explicit FTPS is built in.
#[cfg(feature = "ftps")]
pub(crate) type Stream = suppaftp::tokio::AsyncRustlsStream;
/// The stream type of a control connection.
#[cfg(not(feature = "ftps"))]
pub(crate) type Stream = suppaftp::tokio::AsyncNoTlsStream;

/// A control connection.
pub(crate) type Ftp = suppaftp::tokio::ImplAsyncFtpStream<Stream>;

/// A download's data connection.
type Transfer = suppaftp::tokio::TransferStream<Stream>;

use crate::errors::{ftp_error, unsupported};
use crate::session::{Session, Sessions};

/// The size of the chunks a download is read in.
pub const READ_CHUNK: usize = 64 * 1024;

/// The backend for `ftp:` URLs. Cloning shares the idle control connections.
#[derive(Clone, Default)]
pub struct FtpBackend {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    sessions: Sessions,
    login: Option<Arc<dyn FtpLogin>>,
    /// Opens the control and data connections, gives the proxies and their credentials, and
    /// says whom `ftps://` trusts (shared with the http backend by the manager).
    connector: Arc<Connector>,
    /// The connector's trust as suppaftp takes it, made on the first `ftps://` request.
    ftps_config: std::sync::OnceLock<Result<Arc<tokio_rustls::rustls::ClientConfig>, String>>,
}

impl std::fmt::Debug for FtpBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FtpBackend").field("login", &self.inner.login.is_some()).finish_non_exhaustive()
    }
}

impl FtpBackend {
    /// A backend that asks `login` when the server refuses a login and opens its connections
    /// with `connector`: its connect timeout, resolution, happy eyeballs; its proxies, of which
    /// the first direct or SOCKS5 one is used for the control and the data connections (a list
    /// of only HTTP proxies is `ProxyNotFoundError`, as Qt says for proxies that cannot carry
    /// the protocol), with the proxy credentials every scheme shares; and its trust for
    /// `ftps://`: explicit FTPS, AUTH TLS on the control connection, protected data
    /// connections; any certificate problem fails the request with `SslHandshakeFailedError`.
    pub fn new(login: Option<Arc<dyn FtpLogin>>, connector: Arc<Connector>) -> Self {
        let ftps_config = std::sync::OnceLock::new();
        Self { inner: Arc::new(Inner { sessions: Sessions::default(), login, connector, ftps_config }) }
    }
}

impl Backend for FtpBackend {
    fn send(&self, request: BackendRequest) -> BoxFuture<'static, Result<BackendResponse, NetworkError>> {
        let inner = self.inner.clone();
        let limit = request.attributes.transfer_timeout.unwrap_or(Duration::ZERO);
        let url = request.url.to_string();
        async move {
            within_limit(limit, inner.send(request), || {
                NetworkError::new(
                    NetworkErrorKind::TimeoutError,
                    &url,
                    format!(
                        "the server did not get to the transfer within {} ms (the transfer timeout)",
                        limit.as_millis()
                    ),
                )
            })
            .await
        }
        .boxed()
    }
}

fn path_of(url: &Url) -> String {
    let raw = url.path().strip_prefix('/').unwrap_or(url.path());
    percent_encoding::percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

fn directory(url: &Url) -> NetworkError {
    NetworkError::new(NetworkErrorKind::ContentOperationNotPermittedError, url.as_str(), "the path is a directory")
}

impl Inner {
    fn tls_config(&self, url: &Url) -> Result<Arc<tokio_rustls::rustls::ClientConfig>, NetworkError> {
        self.ftps_config
            .get_or_init(|| self.connector.tls().map(netaccess_tls::TlsConnector::verifying_config))
            .clone()
            .map_err(|why| {
                NetworkError::new(
                    NetworkErrorKind::SslHandshakeFailedError,
                    url.as_str(),
                    format!("TLS is not usable: {why}"),
                )
            })
    }

    fn proxy_for(&self, url: &Url) -> Result<netaccess_proxy::Proxy, NetworkError> {
        let candidates = self.connector.proxy_candidates(url);
        if candidates.is_empty() {
            return Ok(netaccess_proxy::Proxy::none());
        }
        candidates.into_iter().find(|p| p.is_direct() || p.kind == netaccess_proxy::ProxyKind::Socks5).ok_or_else(
            || NetworkError::new(NetworkErrorKind::ProxyNotFoundError, url.as_str(), "No suitable proxy found"),
        )
    }

    async fn send(self: Arc<Self>, request: BackendRequest) -> Result<BackendResponse, NetworkError> {
        let url = request.url.clone();
        let path = path_of(&url);
        if path.is_empty() || path.ends_with('/') {
            return Err(directory(&url));
        }
        if !matches!(request.operation, Operation::Get | Operation::Head | Operation::Put) {
            return Err(NetworkError::new(
                NetworkErrorKind::ProtocolInvalidOperationError,
                url.as_str(),
                format!("ftp: URLs support GET, HEAD and PUT, not {}", request.operation),
            ));
        }
        let proxy = self.proxy_for(&url)?;
        let secure = if url.scheme() == "ftps" { Some(self.tls_config(&url)?) } else { None };
        let session = self.sessions.open(&url, self.login.as_ref(), &self.connector, &proxy, secure).await?;
        let mut opened = session.opened.clone();
        let mut response = match request.operation {
            Operation::Put => self.put(session, &url, &path, request, &mut opened.milestones).await?,
            _ => self.get(session, &url, &path, request.operation.is_head(), &mut opened.milestones).await?,
        };
        response.attributes.connection = Some(opened.facts);
        response.milestones = opened.milestones;
        Ok(response)
    }

    async fn get(
        self: Arc<Self>,
        mut session: Session,
        url: &Url,
        path: &str,
        head: bool,
        milestones: &mut Milestones,
    ) -> Result<BackendResponse, NetworkError> {
        // A directory cannot be downloaded; CWD tells, and the session that moved is not reused.
        if session.ftp.cwd(path).await.is_ok() {
            return Err(directory(url));
        }
        let size = session.ftp.size(path).await.ok().map(|n| n as u64);
        let modified = session.ftp.mdtm(path).await.ok().and_then(|time| {
            let seconds = u64::try_from(time.and_utc().timestamp()).ok()?;
            Some(UNIX_EPOCH + Duration::from_secs(seconds))
        });
        milestones.sent = Some(Instant::now());
        let mut response = if head {
            milestones.first_byte = milestones.sent;
            let response = BackendResponse::empty();
            self.sessions.put(session);
            response
        } else {
            let transfer = match session.ftp.retr_as_stream(path).await {
                Err(error) if unsupported(&error) => {
                    session.ftp.set_mode(Mode::Passive);
                    session.ftp.retr_as_stream(path).await
                }
                other => other,
            }
            .map_err(|e| ftp_error(url.as_str(), "RETR", e))?;
            milestones.first_byte = Some(Instant::now());
            BackendResponse::new(self.download(session, transfer, url.to_string(), size), size)
        };
        if let Some(size) = size {
            response.headers.set_content_length(size);
        }
        if let Some(modified) = modified.filter(|m| *m <= SystemTime::now() + Duration::from_secs(86_400 * 365 * 100)) {
            response.headers.set_last_modified(modified);
        }
        Ok(response)
    }

    /// The download as a body stream; at its end the transfer is completed (the server's final
    /// reply read) and the control connection goes back to the pool. Dropping the stream drops
    /// both connections. When SIZE announced the length, a data connection that ends short is
    /// a truncation whatever the server's final reply claims (binary mode: SIZE is exact).
    fn download(self: Arc<Self>, session: Session, transfer: Transfer, url: String, size: Option<u64>) -> BodyStream {
        let state = Some(Download { inner: self, session, transfer, url, announced: size, received: 0 });
        Box::pin(futures::stream::unfold(state, |state| async move {
            let mut download = state?;
            let mut buffer = BytesMut::with_capacity(READ_CHUNK);
            match download.transfer.read_buf(&mut buffer).await {
                Ok(0) => {
                    let completed = download.transfer.finish().await;
                    let Download { inner, session, url, announced, received, .. } = download;
                    match (completed, announced) {
                        (Err(error), _) => Some((Err(ftp_error(&url, "completing RETR", error)), None)),
                        (Ok(()), Some(announced)) if received < announced => {
                            let message = format!(
                                "the data connection closed after {received} of the {announced} bytes SIZE announced"
                            );
                            Some((Err(NetworkError::new(NetworkErrorKind::RemoteHostClosedError, url, message)), None))
                        }
                        (Ok(()), _) => {
                            inner.sessions.put(session);
                            None
                        }
                    }
                }
                Ok(read) => {
                    download.received += read as u64;
                    Some((Ok(buffer.freeze()), Some(download)))
                }
                Err(error) => Some((
                    Err(NetworkError::new(
                        NetworkErrorKind::RemoteHostClosedError,
                        download.url.as_str(),
                        format!("the data connection failed: {error}"),
                    )),
                    None,
                )),
            }
        }))
    }

    async fn put(
        &self,
        mut session: Session,
        url: &Url,
        path: &str,
        request: BackendRequest,
        milestones: &mut Milestones,
    ) -> Result<BackendResponse, NetworkError> {
        let mut transfer = match session.ftp.put_with_stream(path).await {
            Err(error) if unsupported(&error) => {
                session.ftp.set_mode(Mode::Passive);
                session.ftp.put_with_stream(path).await
            }
            other => other,
        }
        .map_err(|e| ftp_error(url.as_str(), "STOR", e))?;
        let mut progress = UploadProgress::new(
            request.events.clone(),
            request.body.len(),
            request.attributes.emit_all_upload_progress,
        );
        let mut chunks = request.body.into_stream();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|err| NetworkError::upload_body(url.as_str(), err))?;
            transfer.write_all(&chunk).await.map_err(|e| {
                NetworkError::new(
                    NetworkErrorKind::RemoteHostClosedError,
                    url.as_str(),
                    format!("sending the file failed: {e}"),
                )
            })?;
            progress.advance(chunk.len() as u64).await;
        }
        milestones.sent = Some(Instant::now());
        transfer.finish().await.map_err(|e| ftp_error(url.as_str(), "completing STOR", e))?;
        milestones.first_byte = Some(Instant::now());
        progress.finish().await;
        self.sessions.put(session);
        Ok(BackendResponse::empty())
    }
}

/// A download in progress: the connections, and what it was told and got so far.
struct Download {
    inner: Arc<Inner>,
    session: Session,
    transfer: Transfer,
    url: String,
    announced: Option<u64>,
    received: u64,
}

/// The README's example, compiled (and run where it needs no server) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
