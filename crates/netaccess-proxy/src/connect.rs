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
//! The SOCKS5 client handshake (RFC 1928, RFC 1929 logins) is our own: `socks5-proto`, which the
//! project brief names, is GPL-3.0-or-later, which this MIT/Apache-2.0 workspace cannot ship
//! (cargo-deny refuses it), and `fast-socks5`, used before, panicked on a reply code RFC 1928
//! does not define (found by the `proxy_reply` fuzz target): a proxy could crash the request's
//! task. The tests still use `fast-socks5`'s server side.

use std::io;
use std::net::SocketAddr;

use bytes::BytesMut;
use http::header::HeaderMap;
use http::Method;
use netaccess_core::{NetworkError, NetworkErrorKind};
use netaccess_http1::{encode_request_head, Call, Event, RequestFraming, RequestTarget};
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

impl Target<'_> {
    /// The host as text: the name, or the address (without its port); what a connection that
    /// must reach the same place again is given.
    pub fn host(&self) -> String {
        match self {
            Target::Name(name, _) => (*name).to_owned(),
            Target::Address(address) => address.ip().to_string(),
        }
    }
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
    // The HTTP/1.1 core's call owns the exchange's rules; this moves its bytes.
    let mut call = Call::new(Method::CONNECT, head, RequestFraming::None);
    let protocol = |e: netaccess_http1::Http1Error| ConnectFailure::Protocol(e.to_string());
    stream.write_all(&call.transmit_head(std::time::Instant::now()).map_err(protocol)?).await?;
    stream.flush().await?;

    let mut buffer = BytesMut::with_capacity(4096);
    let head = loop {
        match call.read(&mut buffer).map_err(protocol)? {
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
        // The call ends here: the connection is the tunnel now (CloseReason::Tunnel), and a
        // byte already past the answer belongs to no one.
        return match call.read(&mut buffer).map_err(protocol)? {
            Some(Event::End { reuse, .. }) if buffer.is_empty() => {
                tracing::debug!(proxy_answer = status, reuse = ?reuse, "CONNECT answered: the connection is a tunnel");
                Ok(())
            }
            _ => Err(ConnectFailure::Protocol("bytes followed the CONNECT answer before the tunnel was used".into())),
        };
    }
    drain(stream, &mut call, &mut buffer).await?;
    tracing::debug!(proxy_answer = status, reasons = ?call.close_reasons(), "CONNECT refused");
    match status {
        407 => Err(ConnectFailure::AuthenticationRequired(head.headers)),
        _ => Err(ConnectFailure::Refused(format!("CONNECT {bracketed}:{port} answered {status} {}", head.reason))),
    }
}

async fn drain<S: AsyncRead + Unpin>(
    stream: &mut S,
    call: &mut Call,
    buffer: &mut BytesMut,
) -> Result<(), ConnectFailure> {
    let mut drained = 0;
    loop {
        match call.read(buffer).map_err(|e| ConnectFailure::Protocol(e.to_string()))? {
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
/// user name and password (RFC 1929). The handshake is RFC 1928's, read strictly: every field
/// the proxy sends is checked and bounded, and anything unexpected is a protocol failure.
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
    let protocol = |why: String| ConnectFailure::Protocol(why);
    let offered: &[u8] = if credentials.is_some() { &[NO_AUTHENTICATION, USER_PASSWORD] } else { &[NO_AUTHENTICATION] };
    let mut greeting = vec![SOCKS5, offered.len() as u8];
    greeting.extend_from_slice(offered);
    stream.write_all(&greeting).await?;
    let mut choice = [0u8; 2];
    stream.read_exact(&mut choice).await?;
    if choice[0] != SOCKS5 {
        return Err(protocol(format!("version {} instead of 5 in the method choice", choice[0])));
    }
    match (choice[1], credentials) {
        (NO_AUTHENTICATION, _) => {}
        (USER_PASSWORD, Some((user, password))) => {
            let (user, password) = (user.as_bytes(), password.as_bytes());
            let (Ok(user_len), Ok(password_len)) = (u8::try_from(user.len()), u8::try_from(password.len())) else {
                return Err(ConnectFailure::Refused("SOCKS5 credentials are limited to 255 bytes each".into()));
            };
            let mut login = vec![1, user_len];
            login.extend_from_slice(user);
            login.push(password_len);
            login.extend_from_slice(password);
            stream.write_all(&login).await?;
            let mut status = [0u8; 2];
            stream.read_exact(&mut status).await?;
            if status[0] != 1 {
                return Err(protocol(format!("version {} instead of 1 in the login reply", status[0])));
            }
            if status[1] != 0 {
                return Err(ConnectFailure::AuthenticationRequired(HeaderMap::new()));
            }
        }
        (NO_ACCEPTABLE_METHOD, None) => return Err(ConnectFailure::AuthenticationRequired(HeaderMap::new())),
        (NO_ACCEPTABLE_METHOD, Some(_)) => {
            return Err(ConnectFailure::Refused("no acceptable authentication method".into()))
        }
        (other, _) => return Err(protocol(format!("the proxy chose method {other:#04x}, which was not offered"))),
    }

    let mut request = vec![SOCKS5, CONNECT, 0];
    let port = match target {
        Target::Name(name, port) => {
            let name = name.trim_start_matches('[').trim_end_matches(']');
            let length = u8::try_from(name.len())
                .map_err(|_| ConnectFailure::Refused("a SOCKS5 host name is limited to 255 bytes".into()))?;
            request.extend_from_slice(&[DOMAIN, length]);
            request.extend_from_slice(name.as_bytes());
            port
        }
        Target::Address(SocketAddr::V4(address)) => {
            request.push(IPV4);
            request.extend_from_slice(&address.ip().octets());
            address.port()
        }
        Target::Address(SocketAddr::V6(address)) => {
            request.push(IPV6);
            request.extend_from_slice(&address.ip().octets());
            address.port()
        }
    };
    request.extend_from_slice(&port.to_be_bytes());
    stream.write_all(&request).await?;

    // VER REP RSV ATYP, then the bound address: read only after a success (a proxy may close
    // right after an error reply).
    let mut head = [0u8; 4];
    stream.read_exact(&mut head).await?;
    if head[0] != SOCKS5 {
        return Err(protocol(format!("version {} instead of 5 in the reply", head[0])));
    }
    if head[1] != 0 {
        return Err(reply_failure(head[1]));
    }
    let address_len = match head[3] {
        IPV4 => 4,
        IPV6 => 16,
        DOMAIN => {
            let mut length = [0u8; 1];
            stream.read_exact(&mut length).await?;
            usize::from(length[0])
        }
        other => return Err(protocol(format!("unknown address type {other:#04x} in the reply"))),
    };
    let mut bound = [0u8; 255 + 2];
    stream.read_exact(&mut bound[..address_len + 2]).await?;
    Ok(())
}

const SOCKS5: u8 = 5;
const NO_AUTHENTICATION: u8 = 0x00;
const USER_PASSWORD: u8 = 0x02;
const NO_ACCEPTABLE_METHOD: u8 = 0xFF;
const CONNECT: u8 = 0x01;
const IPV4: u8 = 0x01;
const DOMAIN: u8 = 0x03;
const IPV6: u8 = 0x04;

/// A SOCKS5 reply code other than success (RFC 1928 6), as Qt's errors see it.
fn reply_failure(code: u8) -> ConnectFailure {
    match code {
        0x02 => ConnectFailure::Refused("connection not allowed by the ruleset".into()),
        0x03 => ConnectFailure::Target(NetworkErrorKind::TemporaryNetworkFailureError, "network unreachable".into()),
        0x04 => ConnectFailure::Target(NetworkErrorKind::HostNotFoundError, "host unreachable".into()),
        0x05 => {
            ConnectFailure::Target(NetworkErrorKind::ConnectionRefusedError, "the target refused the connection".into())
        }
        0x06 => ConnectFailure::Target(NetworkErrorKind::ProxyTimeoutError, "TTL expired".into()),
        0x01 => ConnectFailure::Protocol("SOCKS5 reply: general failure".into()),
        0x07 => ConnectFailure::Protocol("SOCKS5 reply: command not supported".into()),
        0x08 => ConnectFailure::Protocol("SOCKS5 reply: address type not supported".into()),
        other => ConnectFailure::Protocol(format!("SOCKS5 reply code {other:#04x}, which RFC 1928 does not define")),
    }
}
