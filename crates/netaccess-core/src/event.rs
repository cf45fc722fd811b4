//! [`ReplyEvent`]: the Qt signals of a reply, as values.

use bytes::Bytes;
use url::Url;

use crate::error::NetworkError;

/// One thing that happened to a reply, in the order it happened (Qt's reply signals).
///
/// Progress totals are `-1` when unknown, as in Qt; the last `DownloadProgress` of a reply that
/// finished without error has `received == total`.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum ReplyEvent {
    /// A new connection for the request started connecting (Qt 6.3's
    /// `socketStartedConnecting`): the request did not get a pooled one. Before any TLS.
    SocketStartedConnecting,
    /// The request, head and body, was written to the connection (Qt 6.3's `requestSent`).
    /// A reader is not woken for it alone: it is delivered at the latest with the next event,
    /// which saves a thread wake-up per request.
    RequestSent,
    /// The status, headers or attributes changed (a response head arrived).
    MetaDataChanged,
    /// A chunk of the body arrived (Qt's `readyRead`, with the data).
    ReadyRead(Bytes),
    /// Download progress: bytes received so far and the total, `-1` when unknown.
    DownloadProgress {
        /// Body bytes delivered so far.
        received: u64,
        /// The expected total, `-1` when unknown.
        total: i64,
    },
    /// Upload progress: bytes sent so far and the total, `-1` when unknown.
    UploadProgress {
        /// Body bytes sent so far.
        sent: u64,
        /// The total to send, `-1` when unknown.
        total: i64,
    },
    /// A redirect is being followed to this URL.
    Redirected(Url),
    /// The connection's certificate has problems (Qt's `sslErrors`); whether they were ignored
    /// shows in what follows: `Encrypted`, or `Error` with `SslHandshakeFailedError`.
    SslErrors(Vec<crate::ssl::SslError>),
    /// The connection is encrypted (emitted once the TLS handshake succeeded).
    Encrypted,
    /// The reply failed; `Finished` follows.
    Error(NetworkError),
    /// The reply is complete; nothing follows.
    Finished,
}

/// Converts an optional length into Qt's progress total (`-1` for unknown).
pub fn progress_total(len: Option<u64>) -> i64 {
    len.and_then(|n| i64::try_from(n).ok()).unwrap_or(-1)
}
