//! [`Reply`]: the handle of a request in flight.
//!
//! # Cancel safety
//!
//! [`Reply::next_event`] and [`Reply::chunk`] are cancel-safe: dropping their future (in a
//! `select!`) loses no event. The collecting methods ([`Reply::bytes`], [`Reply::text`],
//! [`Reply::read_all`], [`Reply::finished`]) are not: the data they gathered before being dropped is
//! gone, though the reply itself goes on.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::Stream;
use http::HeaderMap;
use netaccess_core::event_queue::EventReceiver;
use netaccess_core::{NetworkError, Operation, ReplyAttributes, ReplyEvent, Request};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::read_buffer::ReadBuffer;

/// What the driver task and the reply handle share.
#[derive(Debug)]
pub(crate) struct ReplyShared {
    state: Mutex<ReplyState>,
    pub(crate) cancel: CancellationToken,
    pub(crate) read_buffer: ReadBuffer,
}

/// The reply's metadata, as the driver last set it.
#[derive(Debug)]
pub(crate) struct ReplyState {
    pub(crate) headers: HeaderMap,
    /// Set when the head arrives; boxed so that a waiting reply's state stays small (a
    /// waiting request holds it: `cargo xtask bench --only scale`).
    pub(crate) attributes: Option<Box<ReplyAttributes>>,
    /// The redirects followed, in order; the last is the reply's URL (else the request's).
    pub(crate) redirects: Vec<Url>,
    pub(crate) bytes_received: u64,
    /// The download progress total (`-1` unknown), set before `MetaDataChanged` is sent.
    pub(crate) progress_total: i64,
    pub(crate) error: Option<NetworkError>,
    pub(crate) finished: bool,
}

impl ReplyState {
    /// The attributes, empty until the head arrived.
    pub(crate) fn attributes(&self) -> &ReplyAttributes {
        static NONE_YET: std::sync::LazyLock<ReplyAttributes> = std::sync::LazyLock::new(ReplyAttributes::default);
        self.attributes.as_deref().unwrap_or(&NONE_YET)
    }

    /// The reply's URL as text: the last redirect's, else the request's as given.
    fn url_text<'a>(&'a self, request: &'a Request) -> &'a str {
        self.redirects.last().map_or(request.url_text(), Url::as_str)
    }
}

impl ReplyShared {
    pub(crate) fn new(read_buffer_size: u64) -> Self {
        Self {
            state: Mutex::new(ReplyState {
                headers: HeaderMap::new(),
                attributes: None,
                redirects: Vec::new(),
                bytes_received: 0,
                progress_total: -1,
                error: None,
                finished: false,
            }),
            cancel: CancellationToken::new(),
            read_buffer: ReadBuffer::new(read_buffer_size),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, ReplyState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks the reply to `request` aborted unless it already finished; returns whether it did.
    fn abort(&self, request: &Request) -> bool {
        let mut state = self.state();
        if state.finished {
            return false;
        }
        state.finished = true;
        state.error = Some(NetworkError::canceled(state.url_text(request)));
        drop(state);
        self.cancel.cancel();
        true
    }
}

/// A request in flight: its metadata as it arrives, its body as a stream, its events.
///
/// Returned at once by the manager, the request already queued. Read it with
/// [`next_event`](Self::next_event) (every Qt signal, the body chunks in
/// [`ReplyEvent::ReadyRead`]), [`chunk`](Self::chunk) (the body only), or collect it with
/// [`bytes`](Self::bytes) / [`text`](Self::text). It is also a [`Stream`] of [`ReplyEvent`]s.
/// Dropping a reply that has not finished aborts it.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use netaccess::{NetworkAccessManager, ReplyEvent, Request};
///
/// let manager = NetworkAccessManager::new();
/// let mut reply = manager.get(Request::new("data:text/plain,hi"));
/// let mut body = Vec::new();
/// while let Some(event) = reply.next_event().await {
///     match event {
///         ReplyEvent::ReadyRead(chunk) => body.extend_from_slice(&chunk),
///         ReplyEvent::DownloadProgress { received, total } => assert!(total == -1 || received as i64 <= total),
///         _ => {}
///     }
/// }
/// assert_eq!(body, b"hi");
/// assert!(reply.is_finished() && reply.error().is_none());
/// # });
/// ```
#[derive(Debug)]
pub struct Reply {
    shared: Arc<ReplyShared>,
    events: EventReceiver,
    /// Shared with the transfer, which reads it as it sends.
    request: Arc<Request>,
    operation: Operation,
    saw_finished: bool,
    /// Body bytes handed out in `ReadyRead` events so far.
    delivered: u64,
    /// The progress total the last `MetaDataChanged` announced (`-1` unknown).
    progress_total: i64,
    /// The `DownloadProgress` that follows the `ReadyRead` just handed out.
    pending_progress: Option<ReplyEvent>,
    /// Events read ahead by [`head`](Self::head), handed out again, in order, before the rest.
    read_ahead: VecDeque<ReplyEvent>,
    /// Whether `MetaDataChanged` was handed out.
    head_in: bool,
}

impl Reply {
    pub(crate) fn new(
        shared: Arc<ReplyShared>,
        events: EventReceiver,
        request: Arc<Request>,
        operation: Operation,
    ) -> Self {
        Self {
            shared,
            events,
            request,
            operation,
            saw_finished: false,
            delivered: 0,
            progress_total: -1,
            pending_progress: None,
            read_ahead: VecDeque::new(),
            head_in: false,
        }
    }

    /// The state this handle shares with its transfer.
    pub(crate) fn shared(&self) -> &ReplyShared {
        &self.shared
    }

    /// The request as it was sent (before redirects).
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The operation.
    pub fn operation(&self) -> &Operation {
        &self.operation
    }

    /// The URL of the reply: the last hop's after redirects. `None` when the request's URL did
    /// not parse.
    pub fn url(&self) -> Option<Url> {
        self.shared.state().redirects.last().or(self.request.url()).cloned()
    }

    /// The reply's URL as text (as given, when it did not parse).
    pub fn url_text(&self) -> String {
        self.shared.state().url_text(&self.request).to_owned()
    }

    /// The HTTP status code, once the head arrived (`None` for schemes without one).
    pub fn status(&self) -> Option<u16> {
        self.shared.state().attributes().http_status_code
    }

    /// The HTTP reason phrase.
    pub fn reason(&self) -> Option<String> {
        self.shared.state().attributes().http_reason_phrase.clone()
    }

    /// The response headers received so far.
    pub fn headers(&self) -> HeaderMap {
        self.shared.state().headers.clone()
    }

    /// The response header fields in order, each name spelled as the server sent it (Qt's
    /// `rawHeaderPairs`): over HTTP/1.1 with
    /// [`preserve_header_case`](crate::NetworkAccessManagerBuilder::preserve_header_case) on;
    /// otherwise, and over HTTP/2, names are in lower case.
    pub fn raw_header_pairs(&self) -> Vec<(String, http::HeaderValue)> {
        let state = self.shared.state();
        // By lower-case name: one lookup a field, however many fields a head has.
        let spelled: std::collections::HashMap<String, &str> = state
            .attributes()
            .wire_heads
            .iter()
            .flat_map(|heads| &heads.header_names_as_received)
            .map(|name| (name.to_ascii_lowercase(), &**name))
            .collect();
        state
            .headers
            .iter()
            .map(|(name, value)| {
                (spelled.get(name.as_str()).copied().unwrap_or(name.as_str()).to_owned(), value.clone())
            })
            .collect()
    }

    /// One response header as text, repeated values joined with `, ` (Qt's `rawHeader`).
    pub fn header(&self, name: &str) -> Option<String> {
        let state = self.shared.state();
        let values: Vec<&str> = state.headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// The reply attributes.
    pub fn attributes(&self) -> ReplyAttributes {
        self.shared.state().attributes().clone()
    }

    /// The URLs of the redirects followed, in order.
    pub fn redirects(&self) -> Vec<Url> {
        self.shared.state().redirects.clone()
    }

    /// The body bytes delivered so far.
    pub fn bytes_received(&self) -> u64 {
        self.shared.state().bytes_received
    }

    /// The error, once the reply failed.
    pub fn error(&self) -> Option<NetworkError> {
        self.shared.state().error.clone()
    }

    /// Whether the reply finished (with or without error).
    pub fn is_finished(&self) -> bool {
        self.shared.state().finished
    }

    /// Whether the reply is still in progress.
    pub fn is_running(&self) -> bool {
        !self.is_finished()
    }

    /// Aborts the reply: it finishes at once with `OperationCanceledError` ("Operation
    /// canceled"), and the transfer stops. Aborting a finished reply changes nothing.
    pub fn abort(&self) {
        self.shared.abort(&self.request);
    }

    /// How many body bytes may wait in this reply for its reader before the transfer stops
    /// reading from the peer; `0` lifts the byte bound, leaving only the event queue's (Qt's
    /// `readBufferSize`, where `0` is unlimited). The default is the
    /// manager's, [`DEFAULT_READ_BUFFER_SIZE`](crate::DEFAULT_READ_BUFFER_SIZE) unless
    /// [set there](crate::NetworkAccessManagerBuilder::read_buffer_size).
    pub fn read_buffer_size(&self) -> u64 {
        self.shared.read_buffer.limit()
    }

    /// Sets [`read_buffer_size`](Self::read_buffer_size) (Qt's `setReadBufferSize`); it applies
    /// from the next chunk on. A chunk larger than the size is still delivered whole when
    /// nothing else waits.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use netaccess::{NetworkAccessManager, Request};
    ///
    /// let manager = NetworkAccessManager::builder().read_buffer_size(1 << 20).build();
    /// let mut reply = manager.get(Request::new("data:,hello"));
    /// assert_eq!(reply.read_buffer_size(), 1 << 20);
    /// reply.set_read_buffer_size(0); // no byte bound, as in Qt by default
    /// assert_eq!(reply.text().await.unwrap(), "hello");
    /// # });
    /// ```
    pub fn set_read_buffer_size(&self, bytes: u64) {
        self.shared.read_buffer.set_limit(bytes);
    }

    /// The next event; `None` after [`ReplyEvent::Finished`]. Cancel-safe.
    pub async fn next_event(&mut self) -> Option<ReplyEvent> {
        if let Some(progress) = self.pending_progress.take() {
            return Some(progress);
        }
        let event = match self.read_ahead.pop_front() {
            Some(event) => Some(event),
            None if self.saw_finished => return None,
            None => self.events.recv().await,
        };
        self.note(&event);
        event
    }

    /// Reads events ahead, keeping them to be handed out again, until `MetaDataChanged` is
    /// among them or was handed out; `false` when the reply ended without it. Cancel-safe.
    pub(crate) async fn read_ahead_to_head(&mut self) -> bool {
        loop {
            if self.head_in || self.read_ahead.iter().any(|e| matches!(e, ReplyEvent::MetaDataChanged)) {
                return true;
            }
            if self.saw_finished || self.read_ahead.iter().any(|e| matches!(e, ReplyEvent::Finished)) {
                return false;
            }
            match self.events.recv().await {
                Some(event) => self.read_ahead.push_back(event),
                None => return false,
            }
        }
    }

    /// Keeps track of the end, and of the progress each chunk brings: the driver sends the
    /// chunks only, and the `DownloadProgress` after each is made here (one channel message per
    /// chunk instead of two).
    fn note(&mut self, event: &Option<ReplyEvent>) {
        match event {
            None | Some(ReplyEvent::Finished) => self.saw_finished = true,
            // The total is in the state before MetaDataChanged is sent: read once, not per chunk.
            Some(ReplyEvent::MetaDataChanged) => {
                self.head_in = true;
                self.progress_total = self.shared.state().progress_total;
            }
            Some(ReplyEvent::ReadyRead(chunk)) => {
                self.shared.read_buffer.taken(chunk.len() as u64);
                self.delivered += chunk.len() as u64;
                let total = self.progress_total;
                self.pending_progress = Some(ReplyEvent::DownloadProgress { received: self.delivered, total });
            }
            Some(_) => {}
        }
    }

    /// The next chunk of the body, skipping other events; `None` once the reply finished (check
    /// [`error`](Self::error)). Cancel-safe.
    pub async fn chunk(&mut self) -> Option<Bytes> {
        while let Some(event) = self.next_event().await {
            if let ReplyEvent::ReadyRead(chunk) = event {
                return Some(chunk);
            }
        }
        None
    }

    /// Waits for the end and returns all the body that arrived, whether or not the reply failed
    /// (the body of an HTTP error response, the part before a broken connection).
    pub async fn read_all(&mut self) -> Bytes {
        let mut body = BytesMut::new();
        while let Some(chunk) = self.chunk().await {
            body.extend_from_slice(&chunk);
        }
        body.freeze()
    }

    /// Waits for the end and returns the body, or the error the reply failed with. The body of
    /// an HTTP error status is returned too (a 4xx JSON error document can be read, as Qt's
    /// `readAll()` and reqwest's `bytes()` read it): ask
    /// [`error_for_status`](Self::error_for_status) for the status error.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use netaccess::{NetworkAccessManager, Request};
    /// let manager = NetworkAccessManager::new();
    /// let mut reply = manager.get(Request::new("data:,hello"));
    /// assert_eq!(reply.bytes().await.unwrap(), "hello");
    /// # });
    /// ```
    ///
    /// # Errors
    /// The reply's error, unless it is the HTTP status itself
    /// ([`NetworkError::http_status`]).
    pub async fn bytes(&mut self) -> Result<Bytes, NetworkError> {
        let body = self.read_all().await;
        self.error().filter(|error| error.http_status().is_none()).map_or(Ok(body), Err)
    }

    /// The reply, or the error its HTTP status reports (404 is `ContentNotFoundError`, Qt's
    /// mapping), as reqwest's `error_for_status`. Call it once the head arrived (after
    /// [`head`](Self::head) or the body); before, there is no status and the reply is returned.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), netaccess::NetworkError> {
    /// use netaccess::{NetworkAccessManager, Request};
    /// let manager = NetworkAccessManager::new();
    /// let mut reply = manager.get(Request::new("https://example.com/api"));
    /// reply.head().await?;
    /// let text = reply.error_for_status()?.text().await?;
    /// # let _ = text; Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The status is 400 or more (or one Qt maps to an error).
    pub fn error_for_status(self) -> Result<Self, NetworkError> {
        self.error_for_status_ref()?;
        Ok(self)
    }

    /// [`error_for_status`](Self::error_for_status) without taking the reply.
    ///
    /// # Errors
    /// The status is 400 or more (or one Qt maps to an error).
    pub fn error_for_status_ref(&self) -> Result<&Self, NetworkError> {
        if let Some(error) = self.error().filter(|error| error.http_status().is_some()) {
            return Err(error);
        }
        let Some(status) = self.status() else { return Ok(self) };
        let reason = self.reason().unwrap_or_default();
        NetworkError::for_http_status(status, &reason, self.url_text()).map_or(Ok(self), Err)
    }

    /// Waits for the end and returns the body as text, decoded from the `charset` of its
    /// `Content-Type` (any label the WHATWG Encoding Standard knows, `encoding_rs`), UTF-8 when
    /// there is none or it is unknown; a byte order mark wins over the header, as in browsers.
    /// Malformed sequences become U+FFFD.
    ///
    /// # Errors
    /// As [`bytes`](Self::bytes): the reply's error, unless it is the HTTP status itself.
    pub async fn text(&mut self) -> Result<String, NetworkError> {
        let body = self.bytes().await?;
        let encoding = self
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(charset_of)
            .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
            .unwrap_or(encoding_rs::UTF_8);
        let (text, _, _) = encoding.decode(&body);
        Ok(text.into_owned())
    }

    /// Waits for the end, discarding the body.
    ///
    /// # Errors
    /// The reply's error.
    pub async fn finished(&mut self) -> Result<(), NetworkError> {
        while self.next_event().await.is_some() {}
        self.error().map_or(Ok(()), Err)
    }
}

impl Stream for Reply {
    type Item = ReplyEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ReplyEvent>> {
        if let Some(progress) = self.pending_progress.take() {
            return Poll::Ready(Some(progress));
        }
        if let Some(event) = self.read_ahead.pop_front() {
            let event = Some(event);
            self.note(&event);
            return Poll::Ready(event);
        }
        if self.saw_finished {
            return Poll::Ready(None);
        }
        let polled = self.events.poll_recv(cx);
        if let Poll::Ready(event) = &polled {
            self.note(event);
        }
        polled
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        self.shared.abort(&self.request);
    }
}

/// The `charset` parameter of a `Content-Type` value, unquoted.
fn charset_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim().eq_ignore_ascii_case("charset").then(|| value.trim().trim_matches('"').to_owned())
    })
}
