//! [`Body`]: what a request uploads.
//!
//! # Design
//!
//! A body is bytes, a file, a stream (an `AsyncRead` or an `http_body::Body` is turned into
//! one), or a sequence of those (a multipart body, see [`crate::multipart`]). Bytes and files
//! can be replayed (a redirect with 307/308,
//! a retry on a fresh connection, an authentication round): [`Body::try_clone`] gives a new body
//! that starts again from byte 0. A stream can be sent once; a request that would need to send it
//! again fails with `ContentReSendError`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use bytes::Bytes;
use futures::stream::{self, BoxStream, Stream, StreamExt};

/// The size of the chunks a file body is read in.
pub const FILE_CHUNK_SIZE: usize = 64 * 1024;

/// A stream of upload chunks.
pub type UploadStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// The body of a request.
///
/// ```
/// use netaccess_core::Body;
/// let body = Body::from("hello");
/// assert_eq!(body.len(), Some(5));
/// assert!(body.try_clone().is_some());
/// assert!(Body::empty().is_empty());
/// ```
pub struct Body {
    source: Source,
    /// The `Content-Type` the body implies ([`Body::from_form`], [`Body::json`]); sent when
    /// the request sets none.
    content_type: Option<http::HeaderValue>,
}

enum Source {
    Empty,
    Bytes(Bytes),
    File {
        path: PathBuf,
        len: u64,
    },
    /// In a mutex only so that a `&Body` may cross threads; it is never locked twice.
    Stream {
        stream: std::sync::Mutex<BoxStream<'static, io::Result<Bytes>>>,
        len: Option<u64>,
    },
    /// Bodies sent one after the other (a multipart body's delimiters and parts).
    Parts(Vec<Body>),
}

impl Body {
    /// No body.
    pub fn empty() -> Self {
        Self { source: Source::Empty, content_type: None }
    }

    /// A body held in memory.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        Self { source: Source::Bytes(bytes.into()), content_type: None }
    }

    /// A body read from a file, in chunks, when it is sent. The length is taken now.
    ///
    /// # Errors
    /// The file's metadata cannot be read, or it is not a regular file.
    pub async fn from_file(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_owned();
        let metadata = tokio::fs::metadata(&path).await?;
        if !metadata.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a regular file", path.display()),
            ));
        }
        Ok(Self { source: Source::File { path, len: metadata.len() }, content_type: None })
    }

    /// A body produced by a stream, sent once. `len` is its length when known (it becomes the
    /// `Content-Length`; otherwise HTTP uses chunked framing).
    pub fn from_stream<S>(stream: S, len: Option<u64>) -> Self
    where
        S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    {
        Self { source: Source::Stream { stream: std::sync::Mutex::new(stream.boxed()), len }, content_type: None }
    }

    /// A body read from `reader` when it is sent, in [`FILE_CHUNK_SIZE`] chunks, once (like a
    /// stream); `len` is its length when known (else HTTP sends it chunked).
    ///
    /// ```
    /// let body = netaccess_core::Body::from_async_read(&b"from a reader"[..], Some(13));
    /// assert_eq!(body.len(), Some(13));
    /// assert!(!body.is_replayable());
    /// ```
    pub fn from_async_read<R>(reader: R, len: Option<u64>) -> Self
    where
        R: tokio::io::AsyncRead + Send + 'static,
    {
        Self::from_stream(tokio_util::io::ReaderStream::with_capacity(reader, FILE_CHUNK_SIZE), len)
    }

    /// A body taken from any [`http_body::Body`] (hyper's, axum's, `http_body_util`'s), sent
    /// once; its exact size hint, if it has one, is the length. Trailers are not sent.
    ///
    /// ```
    /// let source = http_body_util::Full::new(bytes::Bytes::from_static(b"hello"));
    /// let body = netaccess_core::Body::from_http_body(source);
    /// assert_eq!(body.len(), Some(5));
    /// ```
    pub fn from_http_body<B>(body: B) -> Self
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        use bytes::Buf;
        use http_body_util::BodyExt;
        let len = body.size_hint().exact();
        let stream = body.into_data_stream().map(|chunk| match chunk {
            Ok(mut data) => Ok(data.copy_to_bytes(data.remaining())),
            Err(error) => Err(io::Error::other(error)),
        });
        Self::from_stream(stream, len)
    }

    /// Bodies sent one after the other, as one: its length is known when every piece's is, and
    /// it replays when every piece does.
    pub(crate) fn concat(pieces: Vec<Body>) -> Self {
        Self { source: Source::Parts(pieces), content_type: None }
    }

    /// A body of static bytes.
    pub(crate) fn from_static(bytes: &'static [u8]) -> Self {
        Self::from_bytes(Bytes::from_static(bytes))
    }

    /// A form, `application/x-www-form-urlencoded`, from name and value pairs (an array of
    /// tuples works); the request gets that `Content-Type` unless it sets one.
    ///
    /// ```
    /// use netaccess_core::Body;
    /// let body = Body::from_form([("name", "Ada Lovelace"), ("lang", "en&fr")]);
    /// assert_eq!(body.in_memory().unwrap(), "name=Ada+Lovelace&lang=en%26fr");
    /// assert_eq!(body.content_type().unwrap(), "application/x-www-form-urlencoded");
    /// ```
    pub fn from_form<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs {
            form.append_pair(name.as_ref(), value.as_ref());
        }
        Self::from_bytes(form.finish())
            .with_content_type(http::HeaderValue::from_static("application/x-www-form-urlencoded"))
    }

    /// `value` as JSON (`serde_json`), `Content-Type: application/json` unless the request sets
    /// one. Feature `json`.
    ///
    /// # Errors
    /// `value` cannot be serialized.
    #[cfg(feature = "json")]
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        Ok(Self::from_bytes(serde_json::to_vec(value)?)
            .with_content_type(http::HeaderValue::from_static("application/json")))
    }

    /// The same body, implying `content_type` (sent when the request sets none).
    #[must_use]
    pub fn with_content_type(mut self, content_type: http::HeaderValue) -> Self {
        self.content_type = Some(content_type);
        self
    }

    /// The `Content-Type` this body implies, if any.
    pub fn content_type(&self) -> Option<&http::HeaderValue> {
        self.content_type.as_ref()
    }

    /// The length in bytes, when known.
    pub fn len(&self) -> Option<u64> {
        match &self.source {
            Source::Empty => Some(0),
            Source::Bytes(bytes) => Some(bytes.len() as u64),
            Source::File { len, .. } => Some(*len),
            Source::Stream { len, .. } => *len,
            Source::Parts(pieces) => pieces.iter().map(Body::len).sum(),
        }
    }

    /// Whether this is known to be an empty body.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The whole body when it is held in memory (an empty body is an empty slice); `None` for
    /// files and streams.
    pub fn in_memory(&self) -> Option<Bytes> {
        match &self.source {
            Source::Empty => Some(Bytes::new()),
            Source::Bytes(bytes) => Some(bytes.clone()),
            _ => None,
        }
    }

    /// Whether the body can be sent again from the start.
    pub fn is_replayable(&self) -> bool {
        match &self.source {
            Source::Stream { .. } => false,
            Source::Parts(pieces) => pieces.iter().all(Body::is_replayable),
            _ => true,
        }
    }

    /// A copy that starts again from byte 0, or `None` for a stream.
    pub fn try_clone(&self) -> Option<Body> {
        let source = match &self.source {
            Source::Empty => Source::Empty,
            Source::Bytes(bytes) => Source::Bytes(bytes.clone()),
            Source::File { path, len } => Source::File { path: path.clone(), len: *len },
            Source::Stream { .. } => return None,
            Source::Parts(pieces) => Source::Parts(pieces.iter().map(Body::try_clone).collect::<Option<_>>()?),
        };
        Some(Body { source, content_type: self.content_type.clone() })
    }

    /// The body as a stream of chunks. A file is opened now and read in
    /// [`FILE_CHUNK_SIZE`] chunks; a file that shrank since [`Body::from_file`] ends in an error.
    pub fn into_stream(self) -> UploadStream {
        match self.source {
            Source::Empty => Box::pin(stream::empty()),
            Source::Bytes(bytes) => Box::pin(stream::iter((!bytes.is_empty()).then_some(Ok(bytes)))),
            Source::Stream { stream, .. } => Box::pin(stream.into_inner().unwrap_or_else(|e| e.into_inner())),
            Source::File { path, len } => Box::pin(file_stream(path, len)),
            Source::Parts(pieces) => Box::pin(stream::iter(pieces).flat_map(Body::into_stream)),
        }
    }
}

fn file_stream(path: PathBuf, len: u64) -> impl Stream<Item = io::Result<Bytes>> + Send {
    stream::once(async move { tokio::fs::File::open(&path).await })
        .map(move |opened| match opened {
            Ok(file) => {
                use tokio::io::AsyncReadExt;
                tokio_util::io::ReaderStream::with_capacity(file.take(len), FILE_CHUNK_SIZE).boxed()
            }
            Err(err) => stream::once(async { Err(err) }).boxed(),
        })
        .flatten()
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.source {
            Source::Empty => "empty",
            Source::Bytes(_) => "bytes",
            Source::File { .. } => "file",
            Source::Stream { .. } => "stream",
            Source::Parts(_) => "parts",
        };
        f.debug_struct("Body").field("kind", &kind).field("len", &self.len()).finish()
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

/// No body (an `http::Request<()>`'s).
impl From<()> for Body {
    fn from((): ()) -> Self {
        Body::empty()
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Body::from_bytes(bytes)
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Body::from_bytes(bytes)
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Body::from_bytes(text)
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Body::from_bytes(text)
    }
}

impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Self {
        Body::from_bytes(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(body: Body) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut stream = body.into_stream();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn file_body_streams_in_chunks_and_replays() {
        let dir = std::env::temp_dir().join(format!("netaccess-body-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("upload.bin");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();

        let body = Body::from_file(&path).await.unwrap();
        assert_eq!(body.len(), Some(200_000));
        let again = body.try_clone().unwrap();
        assert_eq!(collect(body).await.unwrap(), data);
        assert_eq!(collect(again).await.unwrap(), data);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn stream_body_is_not_replayable() {
        let body = Body::from_stream(stream::iter([Ok(Bytes::from_static(b"ab"))]), None);
        assert!(!body.is_replayable());
        assert!(body.try_clone().is_none());
        assert_eq!(body.len(), None);
        assert_eq!(collect(body).await.unwrap(), b"ab");
    }

    #[tokio::test]
    async fn directory_is_not_a_file_body() {
        let err = Body::from_file(std::env::temp_dir()).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
