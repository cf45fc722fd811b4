//! What a request sends, whatever protocol carries it, and how an attempt failed: shared by
//! the HTTP/1.1 exchange and HTTP/2 streams, so neither protocol module imports the other.
//!
//! # Design
//!
//! An [`Outgoing`] is borrowed, built once per try by the route, and `Copy`: each protocol
//! takes what it needs (HTTP/1.1 encodes the head with the caller's name spelling, HTTP/2 takes
//! the origin and the headers). A [`Failed`] says whether nothing of a response arrived, the
//! one fact the route's retry rules need from either protocol.

use std::time::Duration;

use http::Method;
use netaccess_core::{EventSink, NetworkError};
use netaccess_http1::{encode_request_head_as_written, RequestFraming, RequestTarget};

/// What a request sends.
#[derive(Clone, Copy)]
pub(crate) struct Outgoing<'a> {
    pub(crate) url: &'a str,
    /// The URL as parsed (HTTP/2 takes its origin and target from it).
    pub(crate) target: &'a url::Url,
    pub(crate) method: &'a Method,
    /// Whether the HTTP/1.1 request target is the absolute URL (to a forwarding proxy).
    pub(crate) absolute_form: bool,
    /// The caller's spelling of header names (HTTP/1.1 only; HTTP/2 sends them in lower case).
    pub(crate) names_as_written: &'a [Box<str>],
    /// The headers to send.
    pub(crate) headers: &'a http::HeaderMap,
    pub(crate) framing: RequestFraming,
    pub(crate) expect_continue: bool,
    pub(crate) close_after: bool,
    pub(crate) events: &'a EventSink,
    pub(crate) emit_all_upload_progress: bool,
    pub(crate) limits: netaccess_http1::Limits,
    /// The longest wait for the response head once the request was sent (zero: none).
    pub(crate) head_timeout: Duration,
}

impl Outgoing<'_> {
    /// The HTTP/1.1 head, encoded only when the request goes over HTTP/1.1.
    pub(crate) fn encode_head(&self) -> Vec<u8> {
        let target =
            if self.absolute_form { RequestTarget::Absolute(self.target) } else { RequestTarget::Origin(self.target) };
        let mut head = Vec::with_capacity(256);
        encode_request_head_as_written(
            self.method,
            target,
            self.headers,
            self.names_as_written,
            self.framing,
            &mut head,
        );
        head
    }
}

/// A failed exchange, and whether it may be retried on a fresh connection: nothing of a
/// response arrived and the failure was the connection's.
pub(crate) struct Failed {
    pub(crate) error: NetworkError,
    pub(crate) before_response: bool,
}

impl From<NetworkError> for Failed {
    fn from(error: NetworkError) -> Self {
        Failed { error, before_response: false }
    }
}
