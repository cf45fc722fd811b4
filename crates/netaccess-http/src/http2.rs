//! HTTP/2 on the `h2` crate: one multiplexed connection per pool key, a request as a stream.
//!
//! # Design
//!
//! The framing, HPACK and flow control are `h2`'s; this module is the client around it.
//!
//! - **Which connections**: https offers `h2` then `http/1.1` by ALPN unless the request's
//!   `http2_allowed` is off; `http2_direct` speaks HTTP/2 from the first byte (h2c over plain
//!   http, no `Upgrade`). A route that forwards plain http to an HTTP proxy never does.
//! - **One connection per key** (scheme, host, port, proxy, accepted certificate problems, the
//!   HTTP/2 mode). While the first connection of a key that may speak HTTP/2 opens, the key's
//!   other requests wait in the pool's queue for it (its limit is 1 until the protocol is
//!   known); when it is HTTP/1.1 the usual `max_per_host` applies, when it is HTTP/2 the limit
//!   is the server's `SETTINGS_MAX_CONCURRENT_STREAMS`, at most
//!   [`MAX_STREAMS_PER_CONNECTION`]. So the pool's priorities and issue order still decide which
//!   waiting request gets the next stream: a slot is a stream.
//! - **Retries**: a stream the server never processed (above the last id of its `GOAWAY`, or
//!   one the connection could not open because it went away or closed while idle) is sent
//!   again on a new connection; `REFUSED_STREAM` likewise. Each
//!   request does so at most [`MAX_UNPROCESSED_RETRIES`] times. A stream the server may have
//!   processed fails with `RemoteHostClosedError`.
//! - **Flow control**: windows of [`STREAM_WINDOW`] per stream and [`CONNECTION_WINDOW`] (their
//!   sum) per connection; credit is given back as the reply takes each chunk into its bounded
//!   read buffer, so a reader that stops reading stops its stream at one window, and never the
//!   connection's other streams. Uploads wait for
//!   the server's credit (a server that never opens its window holds the upload until the
//!   transfer timeout).
//! - **Uploads** run beside the wait for the response (a server may answer, and keep reading,
//!   before the body ends); `Expect: 100-continue` is not sent over HTTP/2 (the body goes at
//!   once, as curl does).
//! - **Abort**: dropping the body drops the stream, which `h2` resets with `CANCEL`.
//! - **Hostile peers**: a response's header list is bounded by the core's `max_head_bytes`
//!   (HPACK bombs and `CONTINUATION` floods end in a stream error); `h2` bounds resets, pings
//!   and settings. The reason phrase is the status's canonical one (HTTP/2 sends none).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::poll_fn;
use futures::StreamExt;
use h2::client::SendRequest;
use h2::{Reason, RecvStream, SendStream};
use http::header::{self, HeaderValue};
use http::{Request, Version};
use netaccess_core::{
    Body, BodyStream, ConnectionFacts, EventSink, Milestones, NetworkError, NetworkErrorKind, ReplyEvent,
    UploadProgress,
};
use netaccess_http1::{Framing, Limits, RequestFraming, ResponseHead};

use crate::connection::{Connection, TlsInfo};
use crate::decompress::Decompressor;
use crate::outgoing::{Failed, Outgoing};
use crate::pool::{Pool, PoolKey, Shared, Slot};

/// The most streams one connection carries at once, whatever the server allows (RFC 9113
/// §6.5.2 advises servers to allow at least 100; Qt and hyper start at 100).
pub const MAX_STREAMS_PER_CONNECTION: usize = 100;

/// The receive window of each stream: as much as the reply's read buffer holds (1 MiB).
pub const STREAM_WINDOW: u32 = 1024 * 1024;

/// The receive window of a connection: the sum of its streams' windows, so replies that are not
/// being read (each holding at most its stream's window) never use up the window of the one
/// that is: a smaller one deadlocks a program that reads many replies of one host one after
/// another (`tests/tests/http2.rs`, 60 replies read last first). The memory this allows is the
/// streams' own: at most [`STREAM_WINDOW`] unread per reply.
pub const CONNECTION_WINDOW: u32 = STREAM_WINDOW * MAX_STREAMS_PER_CONNECTION as u32;

/// How often one request is sent again after its stream went unprocessed (`GOAWAY`,
/// `REFUSED_STREAM`).
pub const MAX_UNPROCESSED_RETRIES: u32 = 3;

/// An HTTP/2 connection every request of its pool key shares.
pub(crate) struct Multiplexed {
    sender: SendRequest<Bytes>,
    tls: Option<TlsInfo>,
    facts: Option<ConnectionFacts>,
    id: u64,
    /// Streams opened so far.
    streams: AtomicU64,
}

impl Shared for Multiplexed {
    fn id(&self) -> u64 {
        self.id
    }

    /// How many streams may be open at once: the server's limit, at most
    /// [`MAX_STREAMS_PER_CONNECTION`], at least one (`h2` queues beyond the server's limit).
    fn capacity(&self) -> usize {
        self.sender.current_max_send_streams().clamp(1, MAX_STREAMS_PER_CONNECTION)
    }
}

impl Multiplexed {
    pub(crate) fn tls(&self) -> Option<&TlsInfo> {
        self.tls.as_ref()
    }
}

/// A connection id for transports the connector did not open (their facts carry none).
fn unnamed_connection_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1 << 63);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Starts HTTP/2 on a fresh connection and drives it on a task of its own until it closes;
/// the pool then forgets it. The opener sends its request at once; the connection is offered
/// to the key's other requests by [`offer`] once the server's settings are known.
pub(crate) async fn handshake(
    connection: Connection,
    pool: Arc<Pool>,
    key: PoolKey,
    limits: Limits,
    url: &str,
) -> Result<(Arc<Multiplexed>, Option<h2::PingPong>), NetworkError> {
    let Connection { io, tls, facts, .. } = connection;
    let mut builder = h2::client::Builder::new();
    builder
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_header_list_size(u32::try_from(limits.max_head_bytes).unwrap_or(u32::MAX))
        .initial_max_send_streams(MAX_STREAMS_PER_CONNECTION)
        .enable_push(false);
    let (sender, mut driver) =
        builder.handshake::<_, Bytes>(io).await.map_err(|e| stream_error(url, "starting HTTP/2", e))?;
    let id = facts.as_ref().map_or_else(unnamed_connection_id, |f| f.id);
    let ping = driver.ping_pong();
    // Weak: the pool holds the connection's sender; were the task to hold the pool, a dropped
    // manager's connection would stay open for ever.
    let pool = Arc::downgrade(&pool);
    tokio::spawn(async move {
        match driver.await {
            Ok(()) => tracing::debug!(key = ?key, "an HTTP/2 connection closed"),
            Err(error) => tracing::debug!(key = ?key, %error, "an HTTP/2 connection failed"),
        }
        if let Some(pool) = pool.upgrade() {
            pool.forget_shared(&key, id);
        }
    });
    Ok((Arc::new(Multiplexed { sender, tls, facts, id, streams: AtomicU64::new(0) }), ping))
}

/// How long the key's other requests wait for the server's settings on a new connection
/// before they are let in on `h2`'s defaults.
pub const SETTINGS_WAIT: Duration = Duration::from_secs(1);

/// Offers a new connection to the key's waiting requests once its server's settings are in:
/// the answer to a PING comes after them (RFC 9113 §3.4: the server's preface is a SETTINGS
/// frame), so the stream limit the pool grants by is the server's, not a guess. Runs on a task
/// of its own; the `opening` guard is dropped after, waking the requests that wait for it.
pub(crate) fn offer<G: Send + 'static>(
    connection: Arc<Multiplexed>,
    ping: Option<h2::PingPong>,
    pool: Arc<Pool>,
    key: PoolKey,
    opening: G,
) {
    tokio::spawn(async move {
        let failed = match ping {
            Some(mut ping) => match tokio::time::timeout(SETTINGS_WAIT, ping.ping(h2::Ping::opaque())).await {
                Ok(Err(error)) => Some(error),
                Ok(Ok(_)) | Err(_) => None,
            },
            None => None,
        };
        match failed {
            Some(error) => {
                tracing::debug!(%error, "a new HTTP/2 connection failed before its settings arrived");
                pool.forget_shared(&key, connection.id);
            }
            None => pool.learned_shared(&key, connection),
        }
        drop(opening);
    });
}

/// A response head on a stream and what is needed to read its body.
pub(crate) struct Incoming {
    pub(crate) head: ResponseHead,
    body: RecvStream,
    connection: Arc<Multiplexed>,
    /// Whether an earlier stream used the connection.
    reused: bool,
    milestones: Milestones,
    /// The upload, when it still runs beside the response.
    upload: Option<AbortOnDrop>,
}

impl Incoming {
    pub(crate) fn tls(&self) -> Option<&TlsInfo> {
        self.connection.tls()
    }

    pub(crate) fn facts(&self) -> (Option<ConnectionFacts>, Milestones) {
        let mut facts = self.connection.facts.clone();
        if let Some(facts) = &mut facts {
            facts.reused = self.reused;
            if self.reused {
                facts.attempts = Vec::new();
            }
        }
        (facts, self.milestones)
    }

    /// The body's delimitation: none when the stream already ended, the announced length, else
    /// unknown until the stream ends.
    pub(crate) fn framing(&self) -> Framing {
        if self.body.is_end_stream() {
            return Framing::Empty;
        }
        match self.head.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok()) {
            Some(length) => Framing::Length(length),
            None => Framing::Chunked,
        }
    }
}

/// Aborts the upload task when the exchange or the body is dropped (a timeout, an abort).
struct AbortOnDrop(tokio::task::JoinHandle<Result<(), UploadFailure>>);

/// Why an upload stopped: the body's source failed (the stream was reset), or the stream did
/// (the response may tell more).
enum UploadFailure {
    Source(Failed),
    Stream(Failed),
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sends the request as a new stream and waits for its final response head. A failure before
/// the server processed the stream says so (`before_response`), and the caller may send it
/// again on a new connection.
pub(crate) async fn exchange(
    connection: &Arc<Multiplexed>,
    out: Outgoing<'_>,
    body: Body,
    opened: Milestones,
    pool: &Arc<Pool>,
    key: &PoolKey,
) -> Result<Incoming, Failed> {
    let request = request(&out)?;
    let unprocessed = |error: h2::Error, doing: &str| {
        let again = is_unprocessed(&error);
        if error.is_go_away() {
            pool.forget_shared(key, connection.id);
        }
        Failed { error: stream_error(out.url, doing, error), before_response: again }
    };
    // A connection that cannot open a stream (it went away, or closed while idle) never saw
    // the request: it goes again on a new connection, as a stale HTTP/1.1 one's does.
    let unopened = |error: h2::Error, doing: &str| {
        pool.forget_shared(key, connection.id);
        Failed { error: stream_error(out.url, doing, error), before_response: true }
    };
    let mut sender = connection.sender.clone().ready().await.map_err(|e| unopened(e, "opening a stream"))?;
    let empty = matches!(out.framing, RequestFraming::None | RequestFraming::Length(0));
    let (mut response, send) = sender.send_request(request, empty).map_err(|e| unopened(e, "opening a stream"))?;
    let reused = connection.streams.fetch_add(1, Ordering::Relaxed) > 0;
    let mut upload = (!empty).then(|| {
        let task = upload(send, body, out.events.clone(), out.emit_all_upload_progress, out.url.to_owned());
        AbortOnDrop(tokio::spawn(task))
    });
    let mut sent = None;
    let early = match &mut upload {
        None => None,
        Some(uploading) => upload_or_head(uploading, &mut response, &unprocessed, out.url).await?,
    };
    if early.is_none() {
        upload = None;
    }
    let head = match early {
        Some(head) => head,
        None => {
            sent = Some(Instant::now());
            out.events.send_quietly(ReplyEvent::RequestSent).await;
            let limit = out.head_timeout;
            let waiting = async { Ok((&mut response).await) };
            netaccess_core::within_limit(limit, waiting, || {
                NetworkError::new(
                    NetworkErrorKind::TimeoutError,
                    out.url,
                    format!("no response head within {} ms of sending (the response head timeout)", limit.as_millis()),
                )
            })
            .await?
        }
    };
    let head = head.map_err(|e| unprocessed(e, "reading the response"))?;
    let first_byte = Some(Instant::now());
    let (parts, body) = head.into_parts();
    let mut milestones = opened;
    milestones.sent = sent;
    milestones.first_byte = first_byte;
    let head = ResponseHead {
        status: parts.status,
        reason: parts.status.canonical_reason().unwrap_or_default().to_owned(),
        version: Version::HTTP_2,
        headers: parts.headers,
        // HTTP/2 field names are lower case on the wire.
        names_as_received: Box::default(),
    };
    Ok(Incoming { head, body, connection: connection.clone(), reused, milestones, upload })
}

/// While the body uploads, the server may answer first: the head when it did, `None` when the
/// upload finished first, or why the request failed (the stream's own failure over the
/// upload's, which says less).
async fn upload_or_head(
    uploading: &mut AbortOnDrop,
    response: &mut h2::client::ResponseFuture,
    unprocessed: &(dyn Fn(h2::Error, &str) -> Failed + Sync),
    url: &str,
) -> Result<Option<Result<http::Response<RecvStream>, h2::Error>>, Failed> {
    tokio::select! {
        finished = &mut uploading.0 => {
            match finished {
                Ok(Ok(())) => Ok(None),
                Ok(Err(UploadFailure::Source(failed))) => Err(failed),
                Ok(Err(UploadFailure::Stream(failed))) => {
                    // The stream's own failure says more than the upload's.
                    match response.await {
                        Err(error) => Err(unprocessed(error, "sending the request body")),
                        Ok(_) => Err(failed),
                    }
                }
                Err(join) => Err(Failed::from(NetworkError::new(
                    NetworkErrorKind::UnknownContentError,
                    url,
                    format!("the upload stopped: {join}"),
                ))),
            }
        }
        head = &mut *response => match head {
            // Reset by us: only the upload does, when its source failed; its error
            // says why (the task returns right after the reset).
            Err(error) if error.is_reset() && !error.is_remote() && !error.is_library() => {
                Err(match (&mut uploading.0).await {
                    Ok(Err(UploadFailure::Source(failed) | UploadFailure::Stream(failed))) => failed,
                    _ => unprocessed(error, "sending the request body"),
                })
            }
            head => Ok(Some(head)),
        },
    }
}

/// Whether the server cannot have processed the stream: it was above the last id of a
/// `GOAWAY`, opened after one, or refused.
fn is_unprocessed(error: &h2::Error) -> bool {
    (error.is_go_away() && error.is_remote()) || (error.is_remote() && error.reason() == Some(Reason::REFUSED_STREAM))
}

/// The request as `h2` sends it: the URL's origin as `:scheme` and `:authority`, the headers
/// without those HTTP/2 forbids (RFC 9113 §8.2.2) and without `Host` and `Expect`.
fn request(out: &Outgoing<'_>) -> Result<Request<()>, Failed> {
    let target = &out.target[..url::Position::AfterQuery];
    let uri: http::Uri = target.parse().map_err(|e| {
        Failed::from(NetworkError::new(
            NetworkErrorKind::ProtocolInvalidOperationError,
            out.url,
            format!("the URL is not a valid HTTP/2 target: {e}"),
        ))
    })?;
    let mut request = Request::new(());
    *request.method_mut() = out.method.clone();
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_2;
    let headers = request.headers_mut();
    headers.reserve(out.headers.len() + 1);
    for (name, value) in out.headers {
        if !forbidden(name, value) {
            headers.append(name.clone(), value.clone());
        }
    }
    if let RequestFraming::Length(length) = out.framing {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    Ok(request)
}

fn forbidden(name: &header::HeaderName, value: &HeaderValue) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "expect"
            | "content-length"
    ) || (name == header::TE && value != "trailers")
}

/// Sends the body as the server's flow control allows, then ends the stream.
async fn upload(
    mut send: SendStream<Bytes>,
    body: Body,
    events: EventSink,
    emit_all: bool,
    url: String,
) -> Result<(), UploadFailure> {
    let mut progress = UploadProgress::new(events, body.len(), emit_all);
    let mut chunks = body.into_stream();
    let failed = |error: h2::Error| {
        UploadFailure::Stream(Failed {
            error: stream_error(&url, "sending the request body", error),
            before_response: false,
        })
    };
    while let Some(chunk) = chunks.next().await {
        let mut chunk = match chunk {
            Ok(chunk) => chunk,
            Err(err) => {
                // The server would wait for the rest for ever: the stream ends here.
                send.send_reset(Reason::CANCEL);
                return Err(UploadFailure::Source(Failed::from(NetworkError::upload_body(url.as_str(), err))));
            }
        };
        let size = chunk.len() as u64;
        while !chunk.is_empty() {
            send.reserve_capacity(chunk.len());
            match poll_fn(|cx| send.poll_capacity(cx)).await {
                Some(Ok(0)) => {}
                Some(Ok(granted)) => {
                    let piece = chunk.split_to(granted.min(chunk.len()));
                    send.send_data(piece, false).map_err(failed)?;
                }
                Some(Err(error)) => return Err(failed(error)),
                None => {
                    return Err(UploadFailure::Stream(Failed::from(NetworkError::new(
                        NetworkErrorKind::RemoteHostClosedError,
                        url.as_str(),
                        "the server closed the stream before the request body was sent",
                    ))))
                }
            }
        }
        if size > 0 {
            progress.advance(size).await;
        }
    }
    send.send_data(Bytes::new(), true).map_err(failed)?;
    progress.finish().await;
    Ok(())
}

/// Streams the body of `incoming`, decoding it when asked; the slot (the stream's place in the
/// key's limit) is freed when the stream ends or the body is dropped.
pub(crate) fn body_stream(
    incoming: Incoming,
    decompressor: Option<Decompressor>,
    slot: Slot,
    url: String,
) -> BodyStream {
    let state = BodyState {
        body: incoming.body,
        decompressor,
        slot: Some(slot),
        url,
        _upload: incoming.upload,
        _connection: incoming.connection,
    };
    Box::pin(futures::stream::unfold(state, |mut state| async move {
        let item = state.next_chunk().await?;
        Some((item, state))
    }))
}

struct BodyState {
    body: RecvStream,
    decompressor: Option<Decompressor>,
    slot: Option<Slot>,
    url: String,
    _upload: Option<AbortOnDrop>,
    _connection: Arc<Multiplexed>,
}

impl BodyState {
    async fn next_chunk(&mut self) -> Option<Result<Bytes, NetworkError>> {
        self.slot.as_ref()?;
        loop {
            if let Some(decoder) = &mut self.decompressor {
                match decoder.next_output() {
                    Ok(Some(out)) => return Some(Ok(out)),
                    Ok(None) => {}
                    Err(err) => return Some(Err(self.fail(crate::exchange::decode_failure(&self.url, &err)))),
                }
            }
            match self.body.data().await {
                Some(Ok(data)) => {
                    // Taken into the reply's bounded buffer: the server may send as much again.
                    let _ = self.body.flow_control().release_capacity(data.len());
                    match &mut self.decompressor {
                        None => return Some(Ok(data)),
                        Some(decoder) => decoder.push(data),
                    }
                }
                Some(Err(error)) => {
                    let error = stream_error(&self.url, "reading the response body", error);
                    return Some(Err(self.fail(error)));
                }
                None => {
                    self.slot = None;
                    return match self.decompressor.take().map(Decompressor::finish) {
                        Some(Ok(out)) if !out.is_empty() => Some(Ok(out)),
                        Some(Err(err)) => Some(Err(crate::exchange::decode_failure(&self.url, &err))),
                        _ => None,
                    };
                }
            }
        }
    }

    fn fail(&mut self, error: NetworkError) -> NetworkError {
        self.slot = None;
        error
    }
}

/// An `h2` failure as Qt's error, naming the URL and what was being done.
pub(crate) fn stream_error(url: &str, doing: &str, error: h2::Error) -> NetworkError {
    use NetworkErrorKind::*;
    let kind = if let Some(io) = error.get_io() {
        match io.kind() {
            std::io::ErrorKind::TimedOut => TimeoutError,
            std::io::ErrorKind::Other => UnknownNetworkError,
            _ => RemoteHostClosedError,
        }
    } else {
        match error.reason() {
            _ if error.is_go_away() && error.is_remote() => RemoteHostClosedError,
            Some(Reason::NO_ERROR | Reason::CANCEL) => RemoteHostClosedError,
            Some(Reason::INTERNAL_ERROR) => InternalServerError,
            Some(Reason::REFUSED_STREAM) => ServiceUnavailableError,
            _ => ProtocolFailure,
        }
    };
    NetworkError::new(kind, url, format!("{doing} over HTTP/2 failed: {error}")).with_source(error)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    use futures::StreamExt;
    use netaccess_core::{Backend, BackendRequest, Operation};

    use crate::HttpBackend;

    /// An h2c server on the `h2` crate: answers every stream with its path, counting
    /// connections and the most streams open at once.
    async fn h2c_server() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut connection = h2::server::handshake(socket).await.unwrap();
                    while let Some(Ok((request, mut respond))) = connection.accept().await {
                        tokio::spawn(async move {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            let path = Bytes::from(request.uri().path().to_owned());
                            let mut send = respond.send_response(http::Response::new(()), false).unwrap();
                            send.send_data(path, true).unwrap();
                        });
                    }
                });
            }
        });
        (addr, connections)
    }

    #[tokio::test]
    async fn h2c_requests_share_one_connection_as_streams() {
        let (addr, connections) = h2c_server().await;
        let backend = HttpBackend::default();
        let sends = (0..20).map(|i| {
            let url = url::Url::parse(&format!("http://{addr}/stream-{i}")).unwrap();
            let mut request = BackendRequest::new(Operation::Get, url);
            request.attributes.http2_direct = true;
            let backend = backend.clone();
            async move {
                let mut response = backend.send(request).await.unwrap();
                let mut body = Vec::new();
                while let Some(chunk) = response.body.next().await {
                    body.extend_from_slice(&chunk.unwrap());
                }
                (response.attributes, body, i)
            }
        });
        for (attributes, body, i) in futures::future::join_all(sends).await {
            assert!(attributes.http2_was_used);
            assert_eq!(attributes.http_version, Some(Version::HTTP_2));
            assert_eq!(body, format!("/stream-{i}").as_bytes());
        }
        assert_eq!(connections.load(Ordering::SeqCst), 1);
    }
}
