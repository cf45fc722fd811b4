//! [`NetworkError`]: what went wrong, for which URL, and why.
//!
//! # Design
//!
//! Qt's `QNetworkReply::NetworkError` is a plain code; the message lives elsewhere. Here the code
//! is [`NetworkErrorKind`] (every Qt 6 value, with Qt's numbers and groups), and the error a
//! caller receives is [`NetworkError`]: the kind, the URL as the request named it, a sentence a
//! person can act on, and the underlying cause when there is one. This is the shape of
//! `std::io::Error` (a kind to match on, a cause to print), chosen over an enum whose thirty-odd
//! variants would each repeat the same two fields.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

/// Qt's `QNetworkReply::NetworkError` codes, with Qt's numeric values.
///
/// The variant names are Qt's, so logs and scripts can name them the same way
/// (`ContentNotFoundError`, `ProtocolUnknownError`, ...). `NoError` has no variant: success is
/// `Ok`.
///
/// ```
/// use netaccess_core::{ErrorGroup, NetworkErrorKind};
/// let kind = NetworkErrorKind::ContentNotFoundError;
/// assert_eq!(kind.code(), 203);
/// assert_eq!(kind.group(), ErrorGroup::Content);
/// assert_eq!(kind.name(), "ContentNotFoundError");
/// assert_eq!(NetworkErrorKind::from_code(203), Some(kind));
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetworkErrorKind {
    /// The remote server refused the connection.
    ConnectionRefusedError,
    /// The remote server closed the connection before the reply was complete.
    RemoteHostClosedError,
    /// The host name was not found.
    HostNotFoundError,
    /// The connection or the transfer timed out.
    TimeoutError,
    /// The operation was canceled (`abort()`, or the reply was dropped).
    OperationCanceledError,
    /// The TLS handshake failed.
    SslHandshakeFailedError,
    /// The network is temporarily unavailable.
    TemporaryNetworkFailureError,
    /// The network session failed (kept for Qt parity).
    NetworkSessionFailedError,
    /// A background request was not allowed (kept for Qt parity).
    BackgroundRequestNotAllowedError,
    /// More redirects than the request allows.
    TooManyRedirectsError,
    /// A redirect went to a less safe place than the policy allows.
    InsecureRedirectError,
    /// Some other network-layer error.
    UnknownNetworkError,
    /// The proxy refused the connection.
    ProxyConnectionRefusedError,
    /// The proxy closed the connection early.
    ProxyConnectionClosedError,
    /// No usable proxy was found.
    ProxyNotFoundError,
    /// The connection to the proxy timed out.
    ProxyTimeoutError,
    /// The proxy requires authentication that was not given or was rejected.
    ProxyAuthenticationRequiredError,
    /// Some other proxy error.
    UnknownProxyError,
    /// Access to the content was denied (HTTP 403, an unreadable file).
    ContentAccessDenied,
    /// The operation is not permitted on this content (HTTP 405, a directory).
    ContentOperationNotPermittedError,
    /// The content was not found (HTTP 404, a missing file).
    ContentNotFoundError,
    /// The server requires authentication that was not given or was rejected.
    AuthenticationRequiredError,
    /// The request had to be sent again but its body could not be replayed.
    ContentReSendError,
    /// The request conflicts with the current state of the resource (HTTP 409).
    ContentConflictError,
    /// The resource is gone (HTTP 410).
    ContentGoneError,
    /// Some other content error (another 4xx).
    UnknownContentError,
    /// The URL's scheme has no backend.
    ProtocolUnknownError,
    /// The operation is invalid for this protocol.
    ProtocolInvalidOperationError,
    /// The peer broke the protocol (malformed reply, broken compression, ...).
    ProtocolFailure,
    /// The server hit an internal error (HTTP 500).
    InternalServerError,
    /// The server does not implement the operation (HTTP 501).
    OperationNotImplementedError,
    /// The service is unavailable (HTTP 503).
    ServiceUnavailableError,
    /// Some other server error (another 5xx).
    UnknownServerError,
}

/// The range a [`NetworkErrorKind`] code falls in, as Qt groups them.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorGroup {
    /// Codes 1–99: the network.
    Network,
    /// Codes 101–199: the proxy.
    Proxy,
    /// Codes 201–299: the content.
    Content,
    /// Codes 301–399: the protocol.
    Protocol,
    /// Codes 401–499: the server.
    Server,
}

macro_rules! kinds {
    ($($variant:ident = $code:literal),* $(,)?) => {
        impl NetworkErrorKind {
            /// Every kind, in Qt's numeric order.
            pub const ALL: &'static [NetworkErrorKind] = &[$(NetworkErrorKind::$variant),*];

            /// Qt's numeric value for this kind.
            pub const fn code(self) -> u16 {
                match self { $(NetworkErrorKind::$variant => $code),* }
            }

            /// The variant's name, as Qt spells it.
            pub const fn name(self) -> &'static str {
                match self { $(NetworkErrorKind::$variant => stringify!($variant)),* }
            }

            /// The kind with Qt's numeric value `code`, if there is one.
            pub const fn from_code(code: u16) -> Option<Self> {
                match code { $($code => Some(NetworkErrorKind::$variant),)* _ => None }
            }
        }
    };
}

kinds! {
    ConnectionRefusedError = 1,
    RemoteHostClosedError = 2,
    HostNotFoundError = 3,
    TimeoutError = 4,
    OperationCanceledError = 5,
    SslHandshakeFailedError = 6,
    TemporaryNetworkFailureError = 7,
    NetworkSessionFailedError = 8,
    BackgroundRequestNotAllowedError = 9,
    TooManyRedirectsError = 10,
    InsecureRedirectError = 11,
    UnknownNetworkError = 99,
    ProxyConnectionRefusedError = 101,
    ProxyConnectionClosedError = 102,
    ProxyNotFoundError = 103,
    ProxyTimeoutError = 104,
    ProxyAuthenticationRequiredError = 105,
    UnknownProxyError = 199,
    ContentAccessDenied = 201,
    ContentOperationNotPermittedError = 202,
    ContentNotFoundError = 203,
    AuthenticationRequiredError = 204,
    ContentReSendError = 205,
    ContentConflictError = 206,
    ContentGoneError = 207,
    UnknownContentError = 299,
    ProtocolUnknownError = 301,
    ProtocolInvalidOperationError = 302,
    ProtocolFailure = 399,
    InternalServerError = 401,
    OperationNotImplementedError = 402,
    ServiceUnavailableError = 403,
    UnknownServerError = 499,
}

impl NetworkErrorKind {
    /// The group this kind's code falls in.
    pub const fn group(self) -> ErrorGroup {
        match self.code() {
            1..=99 => ErrorGroup::Network,
            101..=199 => ErrorGroup::Proxy,
            201..=299 => ErrorGroup::Content,
            301..=399 => ErrorGroup::Protocol,
            _ => ErrorGroup::Server,
        }
    }

    /// The error Qt 6 reports for an HTTP status, or `None` when the status is not an error
    /// (1xx, 2xx and 3xx).
    ///
    /// ```
    /// use netaccess_core::NetworkErrorKind;
    /// assert_eq!(NetworkErrorKind::from_http_status(404), Some(NetworkErrorKind::ContentNotFoundError));
    /// assert_eq!(NetworkErrorKind::from_http_status(502), Some(NetworkErrorKind::UnknownServerError));
    /// assert_eq!(NetworkErrorKind::from_http_status(302), None);
    /// ```
    pub const fn from_http_status(status: u16) -> Option<Self> {
        use NetworkErrorKind::*;
        Some(match status {
            100..=399 => return None,
            400 | 418 => ProtocolInvalidOperationError,
            401 => AuthenticationRequiredError,
            403 => ContentAccessDenied,
            404 => ContentNotFoundError,
            405 => ContentOperationNotPermittedError,
            407 => ProxyAuthenticationRequiredError,
            409 => ContentConflictError,
            410 => ContentGoneError,
            500 => InternalServerError,
            501 => OperationNotImplementedError,
            503 => ServiceUnavailableError,
            // 600-999 are valid status codes (RFC 9110 §15: three digits) that no RFC defines;
            // Qt maps every unknown code above 500 to `UnknownServerError`.
            502 | 504..=999 => UnknownServerError,
            402 | 406 | 408 | 411..=417 | 419..=499 => UnknownContentError,
            _ => ProtocolFailure,
        })
    }
}

impl fmt::Display for NetworkErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of a failed request: its [`kind`](Self::kind), the URL it concerns, a message a
/// person can act on, and the underlying cause when there is one.
///
/// ```
/// use netaccess_core::{NetworkError, NetworkErrorKind};
/// let err = NetworkError::new(
///     NetworkErrorKind::ContentNotFoundError,
///     "file:///srv/missing.txt",
///     "the file does not exist",
/// );
/// assert_eq!(err.kind(), NetworkErrorKind::ContentNotFoundError);
/// assert_eq!(err.url(), "file:///srv/missing.txt");
/// assert_eq!(
///     err.to_string(),
///     "file:///srv/missing.txt: the file does not exist (ContentNotFoundError)"
/// );
/// ```
#[derive(Clone)]
pub struct NetworkError {
    kind: NetworkErrorKind,
    url: String,
    message: String,
    http_status: Option<u16>,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

impl NetworkError {
    /// An error of `kind` for `url`, explained by `message`. A password in the URL is dropped
    /// ([`crate::redact_password`]): errors get logged and shown.
    pub fn new(kind: NetworkErrorKind, url: impl Into<String>, message: impl Into<String>) -> Self {
        Self { kind, url: without_password(url.into()), message: message.into(), http_status: None, source: None }
    }

    /// The error an HTTP status reports, as Qt maps it ([`NetworkErrorKind::from_http_status`]),
    /// "the server replied 404 Not Found"; `None` for a status that is not an error.
    ///
    /// ```
    /// use netaccess_core::{NetworkError, NetworkErrorKind};
    /// let err = NetworkError::for_http_status(404, "Not Found", "http://example.com/x").unwrap();
    /// assert_eq!(err.kind(), NetworkErrorKind::ContentNotFoundError);
    /// assert_eq!(err.http_status(), Some(404));
    /// assert_eq!(err.message(), "the server replied 404 Not Found");
    /// assert!(NetworkError::for_http_status(204, "No Content", "http://example.com/x").is_none());
    /// ```
    pub fn for_http_status(status: u16, reason: &str, url: impl Into<String>) -> Option<Self> {
        let kind = NetworkErrorKind::from_http_status(status)?;
        let message = format!("the server replied {status} {reason}");
        Some(Self { http_status: Some(status), ..Self::new(kind, url, message.trim_end()) })
    }

    /// The same error with more said after its message ("...: it asks for Basic").
    #[must_use]
    pub fn with_detail(mut self, detail: &str) -> Self {
        self.message = format!("{}: {detail}", self.message);
        self
    }

    /// Attaches the underlying cause (an I/O error, a parse error, ...).
    #[must_use]
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// The same error, for another URL (a backend that did not know the request's URL text).
    #[must_use]
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = without_password(url.into());
        self
    }

    /// The reply was canceled: Qt's text, "Operation canceled".
    pub fn canceled(url: impl Into<String>) -> Self {
        Self::new(NetworkErrorKind::OperationCanceledError, url, "Operation canceled")
    }

    /// The upload body (a file, a stream) could not be read: `UnknownContentError`.
    pub fn upload_body(url: impl Into<String>, err: std::io::Error) -> Self {
        Self::new(NetworkErrorKind::UnknownContentError, url, format!("reading the upload body failed: {err}"))
            .with_source(err)
    }

    /// What kind of error this is.
    pub fn kind(&self) -> NetworkErrorKind {
        self.kind
    }

    /// The URL the error concerns, as the request named it but without a password.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The explanation, without the URL and the kind.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status, when this error is the status itself (made by
    /// [`for_http_status`](Self::for_http_status)): the response arrived whole, its body
    /// readable. `None` for every other failure, a broken body after an error status included.
    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }
}

fn without_password(url: String) -> String {
    match crate::redact_password(&url) {
        std::borrow::Cow::Borrowed(_) => url,
        std::borrow::Cow::Owned(redacted) => redacted,
    }
}

impl fmt::Debug for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkError")
            .field("kind", &self.kind)
            .field("url", &self.url)
            .field("message", &self.message)
            .field("http_status", &self.http_status)
            .field("source", &self.source.as_ref().map(|s| s.to_string()))
            .finish()
    }
}

impl fmt::Display for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.url.is_empty() {
            write!(f, "{} ({})", self.message, self.kind)
        } else {
            write!(f, "{}: {} ({})", self.url, self.message, self.kind)
        }
    }
}

impl StdError for NetworkError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_deref().map(|s| s as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        for kind in NetworkErrorKind::ALL {
            assert_eq!(NetworkErrorKind::from_code(kind.code()), Some(*kind));
        }
        assert_eq!(NetworkErrorKind::ALL.len(), 33);
        assert_eq!(NetworkErrorKind::from_code(0), None);
        assert_eq!(NetworkErrorKind::from_code(100), None);
    }

    #[test]
    fn groups_follow_qt_ranges() {
        use NetworkErrorKind::*;
        assert_eq!(UnknownNetworkError.group(), ErrorGroup::Network);
        assert_eq!(UnknownProxyError.group(), ErrorGroup::Proxy);
        assert_eq!(ContentGoneError.group(), ErrorGroup::Content);
        assert_eq!(ProtocolFailure.group(), ErrorGroup::Protocol);
        assert_eq!(UnknownServerError.group(), ErrorGroup::Server);
    }

    #[test]
    fn http_status_table_matches_qt6() {
        use NetworkErrorKind::*;
        let table = [
            (200, None),
            (304, None),
            (400, Some(ProtocolInvalidOperationError)),
            (401, Some(AuthenticationRequiredError)),
            (402, Some(UnknownContentError)),
            (403, Some(ContentAccessDenied)),
            (404, Some(ContentNotFoundError)),
            (405, Some(ContentOperationNotPermittedError)),
            (407, Some(ProxyAuthenticationRequiredError)),
            (409, Some(ContentConflictError)),
            (410, Some(ContentGoneError)),
            (418, Some(ProtocolInvalidOperationError)),
            (451, Some(UnknownContentError)),
            (500, Some(InternalServerError)),
            (501, Some(OperationNotImplementedError)),
            (502, Some(UnknownServerError)),
            (503, Some(ServiceUnavailableError)),
            (599, Some(UnknownServerError)),
            (600, Some(UnknownServerError)),
            (999, Some(UnknownServerError)),
            (1000, Some(ProtocolFailure)),
            (99, Some(ProtocolFailure)),
        ];
        for (status, expected) in table {
            assert_eq!(NetworkErrorKind::from_http_status(status), expected, "status {status}");
        }
    }

    #[test]
    fn source_is_kept() {
        let io = std::io::Error::other("disk on fire");
        let err = NetworkError::new(NetworkErrorKind::UnknownNetworkError, "x:", "boom").with_source(io);
        assert_eq!(err.source().map(|s| s.to_string()).as_deref(), Some("disk on fire"));
    }
}
