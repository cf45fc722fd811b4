//! A connection: a transport and the bytes read from it but not yet parsed.

use std::time::Instant;

use netaccess_connect::{Negotiated, Ready};
pub(crate) use netaccess_connect::{TlsInfo, Transport};
use netaccess_core::{ConnectionFacts, Milestones};

use bytes::BytesMut;

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
    /// How much room the next read asks for: grows while reads fill it (see [`READ_BUFFER`]).
    pub(crate) read_size: usize,
    /// When it went back to the pool.
    pub(crate) idle_since: Instant,
    /// Whether it carried a request before this one.
    pub(crate) reused: bool,
    /// Its addresses, id and TLS session (`None` only for a transport the connector did not
    /// open).
    pub(crate) facts: Option<ConnectionFacts>,
    /// When resolving, connecting and the TLS handshake ended: reported by the request that
    /// opened it, cleared when it goes back to the pool.
    pub(crate) opened: Milestones,
    /// When the first byte of the current response arrived (reset for each request).
    pub(crate) first_byte: Option<Instant>,
    /// Whether its TLS handshake chose HTTP/2 by ALPN.
    pub(crate) alpn_h2: bool,
}

impl Connection {
    pub(crate) fn new(io: Box<dyn Transport>) -> Self {
        Self {
            io,
            buffer: BytesMut::with_capacity(FIRST_READ),
            read_size: FIRST_READ,
            idle_since: Instant::now(),
            reused: false,
            tls: None,
            poolable: true,
            facts: None,
            opened: Milestones::default(),
            first_byte: None,
            alpn_h2: false,
        }
    }

    /// A fresh connection the connector opened, ready for HTTP.
    pub(crate) fn opened(ready: Ready) -> Self {
        let mut connection = Self::new(ready.stream.into_transport());
        connection.facts = Some(ready.facts);
        connection.opened = ready.milestones;
        connection.tls = ready.tls;
        connection.poolable = ready.poolable;
        connection.alpn_h2 = ready.protocol == Negotiated::Http2;
        connection
    }
}

/// The room the first read of a connection asks for: enough for most heads and small bodies.
pub(crate) const FIRST_READ: usize = 64 * 1024;

/// The most room a read asks for. The room doubles from [`FIRST_READ`] each time a read fills
/// it, as hyper's adaptive reads do: a large body then arrives in 1 MiB chunks, each one body
/// chunk and one reply event, while a connection that only sees small responses keeps 64 KiB.
/// `cargo xtask bench --only download`, client CPU per GiB: 64 KiB reads 0.49 s, 256 KiB 0.42 s,
/// 1 MiB 0.33 s (hyper-util 0.33 s on the same run).
pub(crate) const READ_BUFFER: usize = 1024 * 1024;
