//! [`Reuse`] and [`CloseReason`]: whether the connection may go back to the pool, and if not,
//! why.

use std::fmt;

/// Why a connection cannot carry another request.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The server sent `Connection: close`.
    ServerClose,
    /// The request carried `Connection: close`.
    ClientClose,
    /// An HTTP/1.0 response without `Connection: keep-alive`.
    Http10,
    /// The body ran until the connection closed.
    CloseDelimited,
    /// `Transfer-Encoding` and `Content-Length` both came: the framing was in doubt.
    AmbiguousFraming,
    /// Bytes arrived after the end of the response: they belong to no request.
    UnsolicitedData,
    /// A `CONNECT` succeeded: the connection is now a tunnel.
    Tunnel,
    /// The response was not read to its end (aborted, or a protocol error).
    Unfinished,
    /// The request body was not sent completely (the server answered early).
    RequestBodyUnfinished,
    /// The exchange failed: the peer broke HTTP/1.1, or the upload broke its announced length.
    Failed,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CloseReason::ServerClose => "the server asked to close",
            CloseReason::ClientClose => "the request asked to close",
            CloseReason::Http10 => "HTTP/1.0 without keep-alive",
            CloseReason::CloseDelimited => "the body was delimited by the close",
            CloseReason::AmbiguousFraming => "the framing was ambiguous",
            CloseReason::UnsolicitedData => "unsolicited bytes followed the response",
            CloseReason::Tunnel => "the connection became a tunnel",
            CloseReason::Unfinished => "the response was not read to its end",
            CloseReason::RequestBodyUnfinished => "the request body was not sent completely",
            CloseReason::Failed => "the exchange failed",
        })
    }
}

/// Whether a connection may carry another request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reuse {
    /// It may go back to the pool.
    Reusable,
    /// It must be closed.
    Close(CloseReason),
}

impl Reuse {
    /// Whether the connection may go back to the pool.
    pub fn is_reusable(self) -> bool {
        self == Reuse::Reusable
    }

    /// Keeps the first reason to close.
    #[must_use]
    pub fn and(self, other: Reuse) -> Reuse {
        match self {
            Reuse::Reusable => other,
            closed => closed,
        }
    }
}
