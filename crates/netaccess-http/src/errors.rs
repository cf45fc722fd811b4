//! Mapping I/O and protocol failures to Qt's errors, with the URL and the cause.

use std::io;

use netaccess_core::{NetworkError, NetworkErrorKind};
use netaccess_http1::Http1Error;

/// Reading or writing an established connection failed.
pub(crate) fn transfer_error(url: &str, doing: &str, err: io::Error) -> NetworkError {
    let kind = match err.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => NetworkErrorKind::RemoteHostClosedError,
        io::ErrorKind::TimedOut => NetworkErrorKind::TimeoutError,
        _ => NetworkErrorKind::UnknownNetworkError,
    };
    NetworkError::new(kind, url, format!("{doing} failed: {err}")).with_source(err)
}

/// The server broke HTTP/1.1.
pub(crate) fn protocol_error(url: &str, err: Http1Error) -> NetworkError {
    let kind = match err {
        Http1Error::IncompleteBody { .. } | Http1Error::IncompleteHead => NetworkErrorKind::RemoteHostClosedError,
        _ => NetworkErrorKind::ProtocolFailure,
    };
    NetworkError::new(kind, url, err.to_string()).with_source(err)
}
