//! [`Http1Error`]: why a response was rejected.

use std::fmt;

/// A violation of HTTP/1.1 by the peer (or a limit it exceeded). After one, the connection must
/// be closed: its framing can no longer be trusted.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Http1Error {
    /// The response head is larger than the limit.
    HeadTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The response has more header fields than the limit.
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// The status line is not `HTTP/1.x nnn reason`.
    InvalidStatusLine(String),
    /// A header field is malformed.
    InvalidHeader(String),
    /// `Content-Length` is not one non-negative decimal number.
    InvalidContentLength(String),
    /// `Transfer-Encoding` cannot frame the body safely.
    InvalidTransferEncoding(String),
    /// The chunked framing is malformed.
    InvalidChunk(String),
    /// The connection ended before the body was complete.
    IncompleteBody {
        /// Body bytes still expected, when known.
        missing: Option<u64>,
    },
    /// The connection ended before a response head was complete.
    IncompleteHead,
    /// The server switched protocols without being asked to.
    UnexpectedSwitchingProtocols,
    /// The response cannot be framed safely for the request it answers.
    AmbiguousFraming(String),
    /// The caller's upload body broke its announced `Content-Length` (the caller's fault, not
    /// the peer's; the connection is closed all the same).
    UploadLengthMismatch {
        /// The announced length.
        announced: u64,
        /// The bytes the body produced (so far, when it grew past the length).
        sent: u64,
    },
    /// A [`Call`](crate::Call) was asked for something its state does not allow (a caller's
    /// bug).
    OutOfOrder {
        /// What was asked.
        action: &'static str,
        /// The call's state.
        state: String,
    },
}

impl fmt::Display for Http1Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Http1Error::HeadTooLarge { limit } => write!(f, "the response head exceeds {limit} bytes"),
            Http1Error::TooManyHeaders { limit } => write!(f, "the response has more than {limit} header fields"),
            Http1Error::InvalidStatusLine(why) => write!(f, "invalid status line: {why}"),
            Http1Error::InvalidHeader(why) => write!(f, "invalid header: {why}"),
            Http1Error::InvalidContentLength(value) => write!(f, "invalid Content-Length: {value:?}"),
            Http1Error::InvalidTransferEncoding(why) => write!(f, "invalid Transfer-Encoding: {why}"),
            Http1Error::InvalidChunk(why) => write!(f, "invalid chunked framing: {why}"),
            Http1Error::IncompleteBody { missing: Some(n) } => {
                write!(f, "the connection closed with {n} body bytes still expected")
            }
            Http1Error::IncompleteBody { missing: None } => write!(f, "the connection closed inside a chunked body"),
            Http1Error::IncompleteHead => write!(f, "the connection closed before the response head was complete"),
            Http1Error::UnexpectedSwitchingProtocols => write!(f, "the server switched protocols unasked (101)"),
            Http1Error::AmbiguousFraming(why) => write!(f, "ambiguous response framing: {why}"),
            Http1Error::UploadLengthMismatch { announced, sent } if sent > announced => {
                write!(f, "the upload body produced more bytes than its announced length {announced}")
            }
            Http1Error::UploadLengthMismatch { announced, sent } => {
                write!(f, "the upload body produced fewer bytes ({sent}) than its announced length {announced}")
            }
            Http1Error::OutOfOrder { action, state } => {
                write!(f, "{action} is not allowed while the call is in {state}")
            }
        }
    }
}

impl std::error::Error for Http1Error {}
