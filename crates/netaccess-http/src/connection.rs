//! A connection: a transport and the bytes read from it but not yet parsed.

use std::time::Instant;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite};

/// A byte stream a request can run over: TCP now; TLS and proxy tunnels wrap it later.
pub trait Transport: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Transport for T {}

/// What a TLS connection showed and what was ignored of it.
#[derive(Debug, Clone)]
pub(crate) struct TlsInfo {
    pub(crate) chain: Vec<bytes::Bytes>,
    pub(crate) errors: Vec<netaccess_core::SslError>,
}

/// One connection to a server.
pub(crate) struct Connection {
    /// Present on TLS connections.
    pub(crate) tls: Option<TlsInfo>,
    /// Whether it may go back to the pool (not when a handler accepted its certificate problems:
    /// the next request must be asked again).
    pub(crate) poolable: bool,
    pub(crate) io: Box<dyn Transport>,
    /// Bytes read but not consumed by the parser.
    pub(crate) buffer: BytesMut,
    /// When it went back to the pool.
    pub(crate) idle_since: Instant,
    /// Whether it carried a request before this one.
    pub(crate) reused: bool,
}

impl Connection {
    pub(crate) fn new(io: Box<dyn Transport>) -> Self {
        Self {
            io,
            buffer: BytesMut::with_capacity(READ_BUFFER),
            idle_since: Instant::now(),
            reused: false,
            tls: None,
            poolable: true,
        }
    }
}

/// How much room a read asks for. 256 KiB rather than 64: each read becomes one body chunk and
/// two reply events, and larger chunks cut that cost by four on large downloads (`cargo xtask
/// bench`: 1,647 → 2,197 MiB/s on a 256 MiB download, client CPU 0.52 → 0.36 s/GiB).
pub(crate) const READ_BUFFER: usize = 256 * 1024;
