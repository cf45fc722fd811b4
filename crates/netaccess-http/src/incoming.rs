//! A response head as either protocol delivered it, and its body to come.

use netaccess_core::{BodyStream, ConnectionFacts, Milestones};
use netaccess_http1::{Framing, ResponseHead};
use std::sync::Arc;

use crate::connection::TlsInfo;
use crate::decompress::Decompressor;
use crate::pool::{Pool, Slot};
use crate::{exchange, http2};

/// A final response head: over HTTP/1.1 (the connection is the request's until the body ends)
/// or HTTP/2 (a stream).
#[allow(
    clippy::large_enum_variant,
    reason = "the HTTP/1.1 variant is the common one: boxing it costs every HTTP/1.1 request an allocation"
)]
pub(crate) enum Incoming {
    Http1(exchange::Incoming),
    Http2(http2::Incoming),
}

impl Incoming {
    pub(crate) fn head(&self) -> &ResponseHead {
        match self {
            Incoming::Http1(incoming) => &incoming.head,
            Incoming::Http2(incoming) => &incoming.head,
        }
    }

    pub(crate) fn head_mut(&mut self) -> &mut ResponseHead {
        match self {
            Incoming::Http1(incoming) => &mut incoming.head,
            Incoming::Http2(incoming) => &mut incoming.head,
        }
    }

    /// What the connection's TLS showed, if it is encrypted.
    pub(crate) fn tls(&self) -> Option<&TlsInfo> {
        match self {
            Incoming::Http1(incoming) => incoming.tls(),
            Incoming::Http2(incoming) => incoming.tls(),
        }
    }

    /// The connection's facts and the moments of this exchange.
    pub(crate) fn facts(&self) -> (Option<ConnectionFacts>, Milestones) {
        match self {
            Incoming::Http1(incoming) => incoming.facts(),
            Incoming::Http2(incoming) => incoming.facts(),
        }
    }

    /// How the body is delimited.
    pub(crate) fn framing(&self) -> Framing {
        match self {
            Incoming::Http1(incoming) => incoming.framing(),
            Incoming::Http2(incoming) => incoming.framing(),
        }
    }

    /// The body, decoded when asked; the slot goes back when it ends or is dropped.
    pub(crate) fn into_body(
        self,
        decompressor: Option<Decompressor>,
        pool: Arc<Pool>,
        slot: Slot,
        url: String,
    ) -> BodyStream {
        match self {
            Incoming::Http1(incoming) => exchange::body_stream(incoming, decompressor, pool, slot, url),
            Incoming::Http2(incoming) => http2::body_stream(incoming, decompressor, slot, url),
        }
    }
}
