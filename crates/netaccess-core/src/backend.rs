//! [`Backend`]: how a URL scheme plugs into the manager (Qt's `createRequest` hook).
//!
//! # Design
//!
//! A backend turns one [`BackendRequest`] (one hop: the manager's driver handles redirects,
//! cookies and the cache around it) into a [`BackendResponse`]: the reply's head and a stream of
//! body chunks. Everything a backend reports while it works (upload progress, `encrypted`) goes
//! through the request's [`EventSink`]. Dropping the returned future, or the body stream, aborts
//! the transfer: backends must release their resources on drop.
//!
//! Two things tie a backend to the moment a request is issued and the moment it is sent:
//! [`BackendRequest::place`], the request's place in its host's line (see [`crate::order`]),
//! which a backend with a queue drops once the request has its place there; and
//! [`BackendRequest::send_time`], the decisions that depend on the moment of sending (cookies,
//! credentials), which a backend that says so ([`Backend::decides_at_send_time`]) makes once the
//! request holds its connection. For any other backend the manager makes them before `send`.

use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{self, Stream};
use http::HeaderMap;
use url::Url;

use crate::attributes::{ReplyAttributes, RequestAttributes};
use crate::body::Body;
use crate::error::NetworkError;
use crate::event::{progress_total, ReplyEvent};
use crate::event_queue::EventSender;
use crate::operation::Operation;
use crate::order::Place;

/// The body of a response, as chunks; an `Err` ends it.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, NetworkError>> + Send>>;

/// A protocol implementation for one or more URL schemes.
///
/// ```
/// use futures::future::{BoxFuture, FutureExt};
/// use netaccess_core::{Backend, BackendRequest, BackendResponse, NetworkError};
///
/// /// Answers every request with the same text: handy in a caller's own tests.
/// struct Canned(&'static str);
///
/// impl Backend for Canned {
///     fn send(&self, _request: BackendRequest) -> BoxFuture<'static, Result<BackendResponse, NetworkError>> {
///         let text = self.0;
///         async move { Ok(BackendResponse::from_bytes(text)) }.boxed()
///     }
/// }
/// ```
pub trait Backend: Send + Sync + 'static {
    /// Performs one hop of a request.
    fn send(&self, request: BackendRequest) -> BoxFuture<'static, Result<BackendResponse, NetworkError>>;

    /// Whether this backend works without the network (`file:`, `data:`): such requests still run
    /// when the manager's network access is disabled.
    fn is_local(&self) -> bool {
        false
    }

    /// Whether this backend calls [`BackendRequest::send_time`] itself: before writing each
    /// request head on the connection the request holds, and with each response head. When it
    /// does not (the default), the manager calls them around [`Backend::send`].
    fn decides_at_send_time(&self) -> bool {
        false
    }

    /// How many requests of one host may run at once when this request may share a connection
    /// with others (HTTP/2 streams, later HTTP/3): more than the manager's start limit, so that
    /// this backend's own queue, which learns what the host speaks, decides how many go at once,
    /// by priority then issue order. `None` (the default): the manager's start limit. Asked
    /// once per request, when it is issued.
    fn shared_line_limit(&self, url: &Url, attributes: &RequestAttributes) -> Option<usize> {
        let _ = (url, attributes);
        None
    }
}

/// The decisions that depend on the moment a request is sent (Qt makes them when a request is
/// sent on a connection): the jar's `Cookie` and the `Authorization` known by then, and the
/// response's `Set-Cookie` stored before the connection serves the next request.
///
/// ```
/// use http::HeaderMap;
/// use netaccess_core::SendTime;
/// use url::Url;
///
/// /// Numbers every request as it goes out.
/// struct Counter(std::sync::atomic::AtomicU64);
/// impl SendTime for Counter {
///     fn before_send(&self, _url: &Url, _method: &str, headers: &mut HeaderMap) {
///         let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///         headers.insert("x-attempt", n.into());
///     }
///     fn on_response_head(&self, _url: &Url, _headers: &HeaderMap) {}
/// }
/// ```
pub trait SendTime: Send + Sync + 'static {
    /// Adds to `headers` what depends on this moment; called once the request holds its
    /// connection, just before its head is written (again for each try).
    fn before_send(&self, url: &Url, method: &str, headers: &mut HeaderMap);

    /// Sees a response head while the connection is still the request's, so a request sent
    /// next on it sees its effects (a `Set-Cookie`).
    fn on_response_head(&self, url: &Url, headers: &HeaderMap);
}

/// One hop of a request, as a backend receives it.
#[non_exhaustive]
pub struct BackendRequest {
    /// The operation.
    pub operation: Operation,
    /// The URL of this hop.
    pub url: Url,
    /// The headers to send (the caller's plus what the manager added, e.g. `Cookie`).
    pub headers: HeaderMap,
    /// The body to upload.
    pub body: Body,
    /// The request's attributes, with the manager's defaults filled in.
    pub attributes: RequestAttributes,
    /// Where to report progress and other events.
    pub events: EventSink,
    /// The request's place in its host's line (see [`crate::order`]): a backend with a queue
    /// serves it by [`Place::sequence`] and drops it once the request has its place there;
    /// `None` for a request issued outside a manager (it takes a sequence number when queued).
    pub place: Option<Place>,
    /// The decisions to make when the request is sent (see [`SendTime`]).
    pub send_time: Option<std::sync::Arc<dyn SendTime>>,
    /// Header names as the caller spelled them (see [`crate::Request::names_as_written`]).
    pub names_as_written: Vec<Box<str>>,
}

impl std::fmt::Debug for BackendRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendRequest")
            .field("operation", &self.operation)
            .field("url", &self.url.as_str())
            .field("headers", &self.headers)
            .field("body", &self.body)
            .field("attributes", &self.attributes)
            .field("place", &self.place)
            .field("send_time", &self.send_time.is_some())
            .finish_non_exhaustive()
    }
}

impl BackendRequest {
    /// A request with no headers, no body, default attributes and events discarded.
    pub fn new(operation: Operation, url: Url) -> Self {
        Self {
            operation,
            url,
            headers: HeaderMap::new(),
            body: Body::empty(),
            attributes: RequestAttributes::default(),
            events: EventSink::discard(),
            place: None,
            send_time: None,
            names_as_written: Vec::new(),
        }
    }

    /// Sets the body.
    #[must_use]
    pub fn with_body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    /// Sets the event sink.
    #[must_use]
    pub fn with_events(mut self, events: EventSink) -> Self {
        self.events = events;
        self
    }
}

/// The head of a response and its body stream.
#[non_exhaustive]
pub struct BackendResponse {
    /// The response headers.
    pub headers: HeaderMap,
    /// The reply attributes (status, reason, encryption, ...).
    pub attributes: ReplyAttributes,
    /// The length of the body as it will be delivered, when known (the progress total).
    pub expected_length: Option<u64>,
    /// The body.
    pub body: BodyStream,
    /// When this hop's phases ended (the manager makes the reply's
    /// [`Timings`](crate::facts::Timings) of them).
    pub milestones: crate::facts::Milestones,
}

impl BackendResponse {
    /// A response with the given body stream and nothing else.
    pub fn new(body: BodyStream, expected_length: Option<u64>) -> Self {
        Self {
            headers: HeaderMap::new(),
            attributes: ReplyAttributes::default(),
            expected_length,
            body,
            milestones: crate::facts::Milestones::default(),
        }
    }

    /// A response without a body.
    pub fn empty() -> Self {
        Self::new(Box::pin(stream::empty()), Some(0))
    }

    /// A response whose whole body is `bytes`.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        let bytes: Bytes = bytes.into();
        let len = bytes.len() as u64;
        let body = stream::iter((!bytes.is_empty()).then_some(Ok(bytes)));
        Self::new(Box::pin(body), Some(len))
    }
}

impl std::fmt::Debug for BackendResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendResponse")
            .field("headers", &self.headers)
            .field("attributes", &self.attributes)
            .field("expected_length", &self.expected_length)
            .field("milestones", &self.milestones)
            .finish_non_exhaustive()
    }
}

/// Where a backend reports events for the reply it serves. Sending waits while the reply's
/// event queue is full (back-pressure); a reply that is gone discards events.
#[derive(Debug, Clone)]
pub struct EventSink {
    sender: Option<EventSender>,
}

impl EventSink {
    /// A sink that delivers into `sender` (see [`crate::event_queue`]).
    pub fn new(sender: EventSender) -> Self {
        Self { sender: Some(sender) }
    }

    /// A sink that discards every event.
    pub fn discard() -> Self {
        Self { sender: None }
    }

    /// Delivers an event.
    pub async fn send(&self, event: ReplyEvent) {
        if let Some(sender) = &self.sender {
            // A dropped reply aborts the transfer on its own; its events are discarded.
            sender.send(event).await;
        }
    }

    /// Delivers an event without waking the reader for it (see
    /// [`EventSender::send_quietly`]).
    pub async fn send_quietly(&self, event: ReplyEvent) {
        if let Some(sender) = &self.sender {
            sender.send_quietly(event).await;
        }
    }
}

/// The shortest gap between two upload progress events, unless the request asks for all.
pub const UPLOAD_PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// Counts uploaded bytes and reports them as [`ReplyEvent::UploadProgress`], at most once per
/// [`UPLOAD_PROGRESS_INTERVAL`] unless every step is asked for; the first and the last step are
/// always reported.
#[derive(Debug)]
pub struct UploadProgress {
    sink: EventSink,
    sent: u64,
    total: i64,
    emit_all: bool,
    last: Option<Instant>,
}

impl UploadProgress {
    /// A tracker for an upload of `total` bytes (when known).
    pub fn new(sink: EventSink, total: Option<u64>, emit_all: bool) -> Self {
        Self { sink, sent: 0, total: progress_total(total), emit_all, last: None }
    }

    /// Records `bytes` more sent, reporting when due.
    pub async fn advance(&mut self, bytes: u64) {
        self.sent += bytes;
        let now = Instant::now();
        let due = self.emit_all || self.last.is_none_or(|last| now.duration_since(last) >= UPLOAD_PROGRESS_INTERVAL);
        if due {
            self.last = Some(now);
            self.emit().await;
        }
    }

    /// Reports the final count (the total, when the upload completed).
    pub async fn finish(&mut self) {
        self.emit().await;
    }

    /// The bytes sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    async fn emit(&self) {
        self.sink.send(ReplyEvent::UploadProgress { sent: self.sent, total: self.total }).await;
    }
}
