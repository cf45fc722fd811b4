//! What the connector hands over: a ready connection and what is known of how it was made.
//!
//! # Design
//!
//! [`Ready`] is protocol-neutral: the stream, its facts and milestones, what TLS showed and what
//! ALPN chose. A plain stream stays a `TcpStream` ([`Stream::Tcp`]) because a protocol library
//! may want one (suppaftp does) and because boxing it is the caller's choice; a TLS stream is
//! boxed once. The HTTP backend wraps a `Ready` into its pooled connection; nothing about the
//! pool or HTTP is known here.

use std::time::Instant;

use netaccess_core::{ConnectionFacts, Milestones};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A byte stream a request can run over: TCP, a proxy's tunnel, TLS over either.
pub trait Transport: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Transport for T {}

/// What a TLS handshake showed: the server's chain and the certificate problems that were
/// accepted (by the request's own list or by the manager's handler).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TlsInfo {
    /// The server's certificates, leaf first, DER.
    pub chain: Vec<bytes::Bytes>,
    /// The problems found and accepted.
    pub errors: Vec<netaccess_core::SslError>,
}

/// The application protocol the TLS handshake chose by ALPN.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negotiated {
    /// Nothing was negotiated: no TLS, no ALPN offer, or a server that chose nothing (which
    /// means HTTP/1.1 to an HTTP client).
    Nothing,
    /// `http/1.1`.
    Http1,
    /// `h2`.
    Http2,
}

/// The stream of a [`Ready`] connection: plain TCP (straight, or through a proxy's tunnel,
/// which stays a TCP stream), or TLS over it.
#[non_exhaustive]
pub enum Stream {
    /// TCP, `TCP_NODELAY` set.
    Tcp(TcpStream),
    /// TLS over TCP.
    Tls(Box<dyn Transport>),
}

impl Stream {
    /// The stream as a transport, whatever it is.
    pub fn into_transport(self) -> Box<dyn Transport> {
        match self {
            Stream::Tcp(tcp) => Box::new(tcp),
            Stream::Tls(tls) => tls,
        }
    }

    /// The TCP stream, for a protocol library that wants one (suppaftp): `None` over TLS.
    pub fn into_tcp(self) -> Option<TcpStream> {
        match self {
            Stream::Tcp(tcp) => Some(tcp),
            Stream::Tls(_) => None,
        }
    }
}

/// A connection ready for its protocol's first byte: connected, tunnelled through the proxy,
/// secured with TLS when TLS was offered.
#[non_exhaustive]
pub struct Ready {
    /// The stream.
    pub stream: Stream,
    /// Its addresses (the server's or the first proxy's), id, TLS session and the addresses
    /// tried.
    pub facts: ConnectionFacts,
    /// When resolving, connecting (with the tunnel) and the TLS handshake ended.
    pub milestones: Milestones,
    /// Present when TLS was negotiated.
    pub tls: Option<TlsInfo>,
    /// What ALPN chose.
    pub protocol: Negotiated,
    /// Whether another request may use it: not when the manager's handler accepted
    /// certificate problems (the next request is asked again).
    pub poolable: bool,
}

impl std::fmt::Debug for Ready {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ready")
            .field("facts", &self.facts)
            .field("tls", &self.tls.is_some())
            .field("protocol", &self.protocol)
            .field("poolable", &self.poolable)
            .finish_non_exhaustive()
    }
}

impl Ready {
    /// A TCP connection as the connector opened it.
    pub(crate) fn tcp(connected: crate::Connected) -> Self {
        let mut facts = connected.facts;
        facts.attempts = connected.tried;
        let mut milestones = Milestones::default();
        milestones.resolved = connected.resolved;
        milestones.connected = Some(connected.connected);
        Self {
            stream: Stream::Tcp(connected.stream),
            facts,
            milestones,
            tls: None,
            protocol: Negotiated::Nothing,
            poolable: true,
        }
    }

    /// The tunnel through the proxy is open: connecting ends now.
    pub(crate) fn tunnelled(mut self) -> Self {
        self.milestones.connected = Some(Instant::now());
        self
    }
}
