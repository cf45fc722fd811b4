//! Reaching a target through a proxy: HTTP `CONNECT` and SOCKS5, over any byte stream.
//!
//! # Design
//!
//! Both connectors write their request, read exactly the proxy's answer, and leave the stream
//! positioned at the start of the tunnel. Every way a proxy can refuse maps to a
//! [`ConnectFailure`], and from there to Qt's proxy errors. A `CONNECT` answered with 407 has its
//! body drained (bounded) before the failure is returned, so the caller may authenticate. The
//! answer's head is bounded by the HTTP/1.1 core's limits; a SOCKS5 answer is fixed-size but for a
//! domain name of at most 255 bytes.
//!
//! SOCKS5 uses `fast-socks5` (MIT): `socks5-proto`, which the project brief names, is
//! GPL-3.0-or-later, which this MIT/Apache-2.0 workspace cannot ship (cargo-deny refuses it).

use std::io;
use std::net::SocketAddr;

use bytes::BytesMut;
use fast_socks5::client::{Config, Socks5Stream};
use fast_socks5::util::target_addr::TargetAddr;
use fast_socks5::{AuthenticationMethod, ReplyError, Socks5Command, SocksError};
use http::header::HeaderMap;
use http::Method;
use netaccess_core::{NetworkError, NetworkErrorKind};
use netaccess_http1::{encode_request_head, Event, RequestFraming, RequestTarget, ResponseReader};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The most bytes of a 407 body drained before giving up on the connection.
pub const MAX_DRAINED_BODY: usize = 64 * 1024;

/// Where the tunnel goes.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A host name the proxy resolves, and a port.
    Name(&'a str, u16),
    /// An address resolved here.
    Address(SocketAddr),
}

/// Why a proxy did not open the tunnel.
#[non_exhaustive]
#[derive(Debug)]
pub enum ConnectFailure {
    /// The proxy closed the connection or it broke.
    Io(io::Error),
    /// The proxy wants (other) credentials; the challenges of a 407 (empty for SOCKS5).
    AuthenticationRequired(HeaderMap),
    /// The proxy refused to connect to the target.
    Refused(String),
    /// The proxy says the target cannot be reached.
    Target(NetworkErrorKind, String),
    /// The proxy's answer makes no sense.
    Protocol(String),
}

impl ConnectFailure {
    /// The error for a request to `url` through the proxy named `proxy`.
    pub fn into_network_error(self, url: &str, proxy: &str) -> NetworkError {
        let (kind, message) = match self {
            ConnectFailure::Io(err) => match err.kind() {
                io::ErrorKind::TimedOut => {
                    (NetworkErrorKind::ProxyTimeoutError, format!("the proxy {proxy} timed out"))
                }
                _ => (
                    NetworkErrorKind::ProxyConnectionClosedError,
                    format!("the proxy {proxy} closed the connection: {err}"),
                ),
            },
            ConnectFailure::AuthenticationRequired(_) => (
                NetworkErrorKind::ProxyAuthenticationRequiredError,
                format!("the proxy {proxy} requires authentication"),
            ),
            ConnectFailure::Refused(why) => {
                (NetworkErrorKind::ProxyConnectionRefusedError, format!("the proxy {proxy} refused: {why}"))
            }
            ConnectFailure::Target(kind, why) => (kind, format!("through the proxy {proxy}: {why}")),
            ConnectFailure::Protocol(why) => {
                (NetworkErrorKind::UnknownProxyError, format!("the proxy {proxy} answered nonsense: {why}"))
            }
        };
        NetworkError::new(kind, url, message)
    }
}

impl From<io::Error> for ConnectFailure {
    fn from(err: io::Error) -> Self {
        ConnectFailure::Io(err)
    }
}

/// Opens a tunnel with `CONNECT host:port`, sending `headers` (User-Agent,
/// Proxy-Authorization) with it.
///
/// # Errors
/// The proxy refused, asked for credentials (the 407 body is drained), or broke the protocol.
pub async fn http_connect<S>(stream: &mut S, host: &str, port: u16, headers: &HeaderMap) -> Result<(), ConnectFailure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let bracketed = if host.contains(':') { format!("[{host}]") } else { host.to_owned() };
    let mut head = Vec::new();
    let target = RequestTarget::Authority { host: &bracketed, port };
    encode_request_head(&Method::CONNECT, target, headers, RequestFraming::None, &mut head);
    stream.write_all(&head).await?;
    stream.flush().await?;

    let mut reader = ResponseReader::new(Method::CONNECT);
    let mut buffer = BytesMut::with_capacity(4096);
    let head = loop {
        match reader.read(&mut buffer).map_err(|e| ConnectFailure::Protocol(e.to_string()))? {
            Some(Event::Head(head)) => break head,
            Some(_) => {}
            None => {
                if stream.read_buf(&mut buffer).await? == 0 {
                    return Err(ConnectFailure::Io(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "closed before answering CONNECT",
                    )));
                }
            }
        }
    };
    let status = head.status.as_u16();
    if head.status.is_success() {
        return if buffer.is_empty() {
            Ok(())
        } else {
            Err(ConnectFailure::Protocol("bytes followed the CONNECT answer before the tunnel was used".into()))
        };
    }
    drain(stream, &mut reader, &mut buffer).await?;
    match status {
        407 => Err(ConnectFailure::AuthenticationRequired(head.headers)),
        _ => Err(ConnectFailure::Refused(format!("CONNECT {bracketed}:{port} answered {status} {}", head.reason))),
    }
}

async fn drain<S: AsyncRead + Unpin>(
    stream: &mut S,
    reader: &mut ResponseReader,
    buffer: &mut BytesMut,
) -> Result<(), ConnectFailure> {
    let mut drained = 0;
    loop {
        match reader.read(buffer).map_err(|e| ConnectFailure::Protocol(e.to_string()))? {
            Some(Event::Data(data)) => drained += data.len(),
            Some(Event::End { .. }) => return Ok(()),
            Some(_) => {}
            None => {
                if drained > MAX_DRAINED_BODY || stream.read_buf(buffer).await? == 0 {
                    return Ok(());
                }
            }
        }
    }
}

/// Opens a SOCKS5 tunnel to `target`, with no authentication or, when `credentials` are given,
/// user name and password (RFC 1929). The SOCKS5 protocol comes from `fast-socks5`.
///
/// # Errors
/// The proxy refused, rejected the credentials, could not reach the target, or broke the
/// protocol.
pub async fn socks5_connect<S>(
    stream: &mut S,
    target: Target<'_>,
    credentials: Option<(&str, &str)>,
) -> Result<(), ConnectFailure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let auth = credentials.map(|(username, password)| AuthenticationMethod::Password {
        username: username.to_owned(),
        password: password.to_owned(),
    });
    let has_credentials = auth.is_some();
    let target = match target {
        Target::Name(name, port) => TargetAddr::Domain(name.to_owned(), port),
        Target::Address(address) => TargetAddr::Ip(address),
    };
    let result = async {
        let mut socks = Socks5Stream::use_stream(stream, auth, Config::default()).await?;
        socks.request(Socks5Command::TCPConnect, target).await
    }
    .await;
    result.map(|_bound| ()).map_err(|error| socks_failure(error, has_credentials))
}

fn socks_failure(error: SocksError, has_credentials: bool) -> ConnectFailure {
    match error {
        SocksError::Io(err) => ConnectFailure::Io(err),
        SocksError::AuthenticationRejected(_) => ConnectFailure::AuthenticationRequired(HeaderMap::new()),
        SocksError::AuthMethodUnacceptable(_) if !has_credentials => {
            ConnectFailure::AuthenticationRequired(HeaderMap::new())
        }
        SocksError::AuthMethodUnacceptable(_) => ConnectFailure::Refused("no acceptable authentication method".into()),
        SocksError::ReplyError(reply) => match reply {
            ReplyError::ConnectionNotAllowed => ConnectFailure::Refused("connection not allowed by the ruleset".into()),
            ReplyError::NetworkUnreachable => {
                ConnectFailure::Target(NetworkErrorKind::TemporaryNetworkFailureError, "network unreachable".into())
            }
            ReplyError::HostUnreachable => {
                ConnectFailure::Target(NetworkErrorKind::HostNotFoundError, "host unreachable".into())
            }
            ReplyError::ConnectionRefused => ConnectFailure::Target(
                NetworkErrorKind::ConnectionRefusedError,
                "the target refused the connection".into(),
            ),
            ReplyError::ConnectionTimeout | ReplyError::TtlExpired => {
                ConnectFailure::Target(NetworkErrorKind::ProxyTimeoutError, format!("{reply}"))
            }
            other => ConnectFailure::Protocol(format!("SOCKS5 reply: {other}")),
        },
        other => ConnectFailure::Protocol(other.to_string()),
    }
}
