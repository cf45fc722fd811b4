//! The reply for Rust code: the head as `http` types, the body as a `Stream` of results or as
//! an `AsyncRead`, and JSON.
//!
//! # Design
//!
//! Qt's model hands out events; Rust code wants a head it can await and a body that cannot end
//! silently on failure. [`Reply::head`] reads events ahead until `MetaDataChanged`, and keeps
//! them: [`Reply::next_event`] hands them out afterwards, so the two styles mix without losing
//! an event. [`Reply::into_stream`] ends a failed body with the reply's error as an `Err` item,
//! never as a plain end: a cut-off download cannot pass for a complete one.

use bytes::Bytes;
use futures::Stream;
use http::{HeaderMap, StatusCode, Version};
use netaccess_core::{NetworkError, NetworkErrorKind};

use crate::reply::Reply;

/// A reply's head, as `http::response::Parts` has it.
///
/// For schemes without a status line (`file:`, `data:`, `ftp:`), a reply that succeeded has
/// status 200 and version HTTP/1.1, so code written for HTTP reads them alike.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct ResponseHead {
    /// The status.
    pub status: StatusCode,
    /// The HTTP version of the response.
    pub version: Version,
    /// The response headers (after decompression, as the reply reports them).
    pub headers: HeaderMap,
}

impl Reply {
    /// Waits for the response head: the status, version and headers, or the error the reply
    /// failed with before it had one. Events read meanwhile are kept for
    /// [`next_event`](Self::next_event). Cancel-safe.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use netaccess::{NetworkAccessManager, Request};
    /// let manager = NetworkAccessManager::new();
    /// let mut reply = manager.get(Request::new("data:text/plain,hi"));
    /// let head = reply.head().await.unwrap();
    /// assert_eq!(head.status, http::StatusCode::OK);
    /// assert_eq!(head.headers["content-type"], "text/plain");
    /// assert_eq!(reply.text().await.unwrap(), "hi"); // the body is still all there
    /// # });
    /// ```
    ///
    /// # Errors
    /// The reply's error, when it ended without a head.
    pub async fn head(&mut self) -> Result<ResponseHead, NetworkError> {
        if !self.read_ahead_to_head().await {
            return Err(self.error().unwrap_or_else(|| {
                NetworkError::new(
                    NetworkErrorKind::UnknownContentError,
                    self.url_text(),
                    "the reply ended without a response head",
                )
            }));
        }
        let attributes = self.attributes();
        let status = match attributes.http_status_code {
            Some(code) => StatusCode::from_u16(code).unwrap_or(StatusCode::OK),
            None => StatusCode::OK,
        };
        Ok(ResponseHead {
            status,
            version: attributes.http_version.unwrap_or(Version::HTTP_11),
            headers: self.headers(),
        })
    }

    /// The status as `http::StatusCode`, once the head arrived (`None` for schemes without
    /// one).
    pub fn status_code(&self) -> Option<StatusCode> {
        self.status().and_then(|code| StatusCode::from_u16(code).ok())
    }

    /// The body as a stream of chunks; a failure ends it with an `Err` (the reply's error),
    /// never with a plain end. An HTTP error status is a failure too, after its body.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use futures::StreamExt;
    /// use netaccess::{NetworkAccessManager, Request};
    /// let manager = NetworkAccessManager::new();
    /// let mut body = manager.get(Request::new("data:,hello")).into_stream();
    /// assert_eq!(body.next().await.unwrap().unwrap(), "hello");
    /// assert!(body.next().await.is_none());
    /// # });
    /// ```
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes, NetworkError>> + Send + Unpin + 'static {
        Box::pin(futures::stream::unfold(Some(self), |reply| async move {
            let mut reply = reply?;
            match reply.chunk().await {
                Some(chunk) => Some((Ok(chunk), Some(reply))),
                None => reply.error().map(|error| (Err(error), None)),
            }
        }))
    }

    /// The body as a `tokio::io::AsyncRead` (so `tokio::io::copy` works); a failure is an
    /// `io::Error` whose source is the [`NetworkError`].
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use netaccess::{NetworkAccessManager, Request};
    /// let manager = NetworkAccessManager::new();
    /// let mut reader = manager.get(Request::new("data:,hello")).into_async_read();
    /// let mut out = Vec::new();
    /// tokio::io::copy(&mut reader, &mut out).await.unwrap();
    /// assert_eq!(out, b"hello");
    /// # });
    /// ```
    pub fn into_async_read(self) -> impl tokio::io::AsyncRead + Send + Unpin + 'static {
        use futures::TryStreamExt;
        tokio_util::io::StreamReader::new(self.into_stream().map_err(std::io::Error::other))
    }

    /// Waits for the end and parses the body as JSON. Feature `json`.
    ///
    /// # Errors
    /// As [`bytes`](Self::bytes) (the body of an HTTP error status is parsed: a 4xx JSON error
    /// document reads), or `UnknownContentError` naming the parse failure when the body is not
    /// the JSON `T` expects.
    #[cfg(feature = "json")]
    pub async fn json<T: serde::de::DeserializeOwned>(&mut self) -> Result<T, NetworkError> {
        let body = self.bytes().await?;
        serde_json::from_slice(&body).map_err(|error| {
            NetworkError::new(
                NetworkErrorKind::UnknownContentError,
                self.url_text(),
                format!("the body is not the JSON expected: {error}"),
            )
        })
    }
}
