//! One request's way: the proxies to try, the connection (direct, forwarded, tunnelled, TLS),
//! and the retries (a stale pooled connection, proxy authentication, the next proxy).
//!
//! # Design
//!
//! The proxies come from the manager's proxy if one is set, else from its factory (the
//! environment by default); an empty answer means direct. Usable for plain http: direct, an HTTP
//! proxy (the request goes to it in absolute form), SOCKS5; for anything else, only tunnels
//! (HTTP `CONNECT` carrying the request's User-Agent and nothing else of its headers, SOCKS5).
//! None usable is `ProxyNotFoundError`. When a proxy cannot be reached (refused, timed out, not found, closed), the next one is tried with
//! the body from byte 0. Connections are pooled per proxy: a tunnel through one proxy never serves
//! a request routed through another.
//!
//! Connections come ready from the shared connector (`netaccess-connect`: overrides, resolver,
//! happy eyeballs, the tunnel and its authentication, TLS with this route's ALPN offer); this
//! module only says where to (`Destination`, `Via`). The connect timeout bounds resolving and the TCP
//! race, then the proxy's answer to `CONNECT` or SOCKS5 (else `ProxyTimeoutError`); the TLS
//! handshake has its own limit (else `TimeoutError` naming it); a person answering a
//! certificate or credential question is never timed. A request that opens a connection emits
//! `SocketStartedConnecting` first; the connection keeps its facts and opening moments for the
//! request that opened it.
//! The futures of those rare phases are boxed, as is the exchange once a pool slot is held, so
//! a request waiting in the pool holds a small future (`cargo xtask bench --only burst`).

use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderMap, HeaderValue};
use http::Method;
use netaccess_connect::{Destination, TlsOffer, Via};
use netaccess_core::order::{next_sequence, Place};
use netaccess_core::{
    within_limit, BackendRequest, BackendResponse, Body, EventSink, IgnoredSslErrors, NetworkError, NetworkErrorKind,
    ReplyEvent, SendTime,
};
use netaccess_http1::{apply_default_headers, asks_to_close, expects_continue, RequestFraming};
use netaccess_proxy::{Capabilities, Proxy, ProxyKind, ProxyRounds};
use tracing::Instrument;
use url::Url;

use crate::connection::Connection;
use crate::exchange::exchange;
use crate::incoming::Incoming;
use crate::outgoing::{Failed, Outgoing};
use crate::pool::{Http2Mode, Opening, OpeningGuard, PoolKey, Slot};
use crate::{accept_encoding, http2, invalid, Inner, DEFAULT_POST_CONTENT_TYPE};

/// Where a request goes, and through which proxy.
pub(crate) struct Route<'a> {
    pub(crate) url: &'a Url,
    pub(crate) host: &'a str,
    pub(crate) port: u16,
    pub(crate) ignore: &'a IgnoredSslErrors,
    pub(crate) proxy: &'a Proxy,
    /// The request's `User-Agent` (its own, else the default): a `CONNECT` carries it, and
    /// nothing else of the request's headers.
    pub(crate) user_agent: Option<HeaderValue>,
    /// Whether the route's connections may speak HTTP/2 (see `http2`).
    pub(crate) http2: Http2Mode,
}

impl Route<'_> {
    /// Plain http through an HTTP proxy: the request itself goes to the proxy.
    fn forwards(&self) -> bool {
        forwards(self.proxy, self.url)
    }
}

fn forwards(proxy: &Proxy, url: &Url) -> bool {
    matches!(proxy.kind, ProxyKind::Http | ProxyKind::HttpCaching) && url.scheme() == "http"
}

/// How a request's connections may speak HTTP/2: never when forwarded to an HTTP proxy;
/// from the first byte when asked (`http2_direct`); by ALPN over TLS unless not allowed.
fn http2_mode(url: &Url, proxy: &Proxy, attributes: &netaccess_core::RequestAttributes) -> Http2Mode {
    if forwards(proxy, url) || !may_speak_http2(url, attributes) {
        Http2Mode::Off
    } else if attributes.http2_direct {
        Http2Mode::Direct
    } else {
        Http2Mode::Negotiate
    }
}

/// Whether a request may speak HTTP/2, whatever its proxy: asked for from the first byte, or
/// allowed over TLS (ALPN decides).
pub(crate) fn may_speak_http2(url: &Url, attributes: &netaccess_core::RequestAttributes) -> bool {
    attributes.http2_direct || (url.scheme() == "https" && attributes.http2_allowed)
}

/// What the request sends, prepared once for every route.
struct Prepared<'a> {
    url: &'a Url,
    url_text: &'a str,
    method: &'a Method,
    /// A `Proxy-Authorization` the caller set: sent when no proxy asked for other credentials.
    caller_proxy_authorization: Option<HeaderValue>,
    framing: RequestFraming,
    expect_continue: bool,
    decompress: bool,
    events: &'a EventSink,
    attributes: &'a netaccess_core::RequestAttributes,
    /// When the request was issued: its rank in the pool's queue, on every route and try.
    sequence: u64,
    /// What to decide once the request holds its connection.
    send_time: Option<&'a dyn SendTime>,
    /// The caller's spelling of header names.
    names_as_written: &'a [Box<str>],
}

fn usable(proxy: &Proxy, scheme: &str) -> bool {
    match proxy.kind {
        ProxyKind::NoProxy | ProxyKind::Default | ProxyKind::Socks5 => true,
        ProxyKind::HttpCaching => scheme == "http",
        ProxyKind::Http => scheme == "http" || proxy.capabilities.contains(Capabilities::TUNNELING),
        _ => false,
    }
}

fn unreachable_proxy(error: &NetworkError) -> bool {
    use NetworkErrorKind::*;
    matches!(
        error.kind(),
        ProxyConnectionRefusedError | ProxyTimeoutError | ProxyNotFoundError | ProxyConnectionClosedError
    )
}

impl Inner {
    fn routes(&self, url: &Url) -> Result<Vec<Proxy>, NetworkError> {
        let candidates = self.connector.proxy_candidates(url);
        if candidates.is_empty() {
            return Ok(vec![Proxy::none()]);
        }
        let usable: Vec<Proxy> = candidates.into_iter().filter(|p| usable(p, url.scheme())).collect();
        if usable.is_empty() {
            return Err(NetworkError::new(
                NetworkErrorKind::ProxyNotFoundError,
                url.as_str(),
                "No suitable proxy found",
            ));
        }
        Ok(usable)
    }

    pub(crate) async fn send(self: Arc<Self>, request: BackendRequest) -> Result<BackendResponse, NetworkError> {
        let BackendRequest {
            operation,
            url,
            mut headers,
            body,
            attributes,
            events,
            place,
            send_time,
            names_as_written,
            ..
        } = request;
        let sequence = place.as_ref().map_or_else(next_sequence, Place::sequence);
        // Held until the request is queued for a connection (see `Pool::acquire`).
        let mut place = place;
        let method = Method::from_bytes(operation.verb().as_bytes())
            .map_err(|_| invalid(&url, format!("{:?} is not a valid HTTP method", operation.verb())))?;
        let host =
            url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| invalid(&url, "the URL has no host".into()))?;
        let port = url.port_or_known_default().ok_or_else(|| invalid(&url, "the URL has no port".into()))?;

        let decompress = self.config.auto_decompress && !headers.contains_key(header::ACCEPT_ENCODING);
        let codings = decompress.then(|| HeaderValue::from_static(accept_encoding()));
        apply_default_headers(&mut headers, self.user_agent.as_ref(), codings.as_ref());
        if method == Method::POST && !headers.contains_key(header::CONTENT_TYPE) {
            tracing::warn!(url = %url, "content-type missing in HTTP POST, defaulting to {DEFAULT_POST_CONTENT_TYPE}");
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(DEFAULT_POST_CONTENT_TYPE));
        }
        let framing = RequestFraming::for_body(&method, body.len());
        let expect_continue = expects_continue(&headers);
        let replay = body.try_clone();
        let mut body = Some(body);
        let routes = self.routes(&url)?;
        let prepared = Prepared {
            url: &url,
            url_text: url.as_str(),
            method: &method,
            caller_proxy_authorization: headers.get(header::PROXY_AUTHORIZATION).cloned(),
            framing,
            expect_continue,
            decompress,
            events: &events,
            attributes: &attributes,
            sequence,
            send_time: send_time.as_deref(),
            names_as_written: &names_as_written,
        };
        let mut last_error = None;
        for proxy in &routes {
            let route = Route {
                url: &url,
                host,
                port,
                ignore: &attributes.ignore_ssl_errors,
                proxy,
                user_agent: headers.get(header::USER_AGENT).cloned(),
                http2: http2_mode(&url, proxy, &attributes),
            };
            match self.through(&route, &prepared, &mut headers, &mut place, &mut body, &replay).await {
                Err(error) if unreachable_proxy(&error) && !proxy.is_direct() => {
                    tracing::debug!(%error, "trying the next proxy");
                    last_error = Some(error);
                }
                outcome => return outcome,
            }
        }
        Err(last_error.unwrap_or_else(|| {
            NetworkError::new(NetworkErrorKind::ProxyNotFoundError, url.as_str(), "No suitable proxy found")
        }))
    }

    /// The request through one route, answering the proxy's 407s when it forwards.
    async fn through(
        &self,
        route: &Route<'_>,
        prepared: &Prepared<'_>,
        headers: &mut HeaderMap,
        place: &mut Option<Place>,
        body: &mut Option<Body>,
        replay: &Option<Body>,
    ) -> Result<BackendResponse, NetworkError> {
        let attributes = prepared.attributes;
        let proxy_auth = self.connector.proxy_auth();
        let mut rounds = ProxyRounds::new(proxy_auth, self.connector.proxy_authentication_handler(), route.proxy);
        let mut proxy_authorization = if route.forwards() {
            proxy_auth.preemptive(route.proxy, prepared.method.as_str(), prepared.url_text)
        } else {
            None
        };
        loop {
            let key = PoolKey::new(
                route.url.scheme() == "https",
                route.host,
                route.port,
                netaccess_connect::exceptions_key(route.ignore),
                if route.proxy.is_direct() { String::new() } else { route.proxy.label() },
                route.http2,
            );
            let slot = self.pool.acquire(key, attributes.priority, prepared.sequence, place.take()).await;
            // The moment of sending decides the jar's cookies and the credentials known now; a
            // forwarding proxy's credentials are this route's. Edited in place: each edit sets or
            // removes its own fields, so a second try or route starts from the same state.
            if let Some(send_time) = prepared.send_time {
                send_time.before_send(prepared.url, prepared.method.as_str(), headers);
            }
            let answered = proxy_authorization.as_deref().and_then(|v| HeaderValue::from_str(v).ok());
            match answered.or_else(|| prepared.caller_proxy_authorization.clone()) {
                Some(value) => headers.insert(header::PROXY_AUTHORIZATION, value),
                None => headers.remove(header::PROXY_AUTHORIZATION),
            };
            let headers = &*headers;
            let out = Outgoing {
                url: prepared.url_text,
                target: prepared.url,
                method: prepared.method,
                absolute_form: route.forwards(),
                names_as_written: prepared.names_as_written,
                headers,
                framing: prepared.framing,
                expect_continue: prepared.expect_continue,
                close_after: asks_to_close(headers),
                events: prepared.events,
                emit_all_upload_progress: attributes.emit_all_upload_progress,
                limits: self.config.limits,
                head_timeout: self.config.response_head_timeout,
            };
            let head_as_sent = self.config.keep_request_heads.then(|| out.encode_head());
            let timeout = attributes.transfer_timeout.unwrap_or(Duration::ZERO);
            // Boxed: the exchange's future comes into being once a slot is held, so a request
            // queued for a connection holds only the small future above (10,000 queued
            // requests: 171 MiB peak before, see `cargo xtask bench --only burst`).
            let attempts = Box::pin(self.attempts(out, route, &slot, body, replay));
            let incoming = within_limit(timeout, attempts, || {
                NetworkError::new(
                    NetworkErrorKind::TimeoutError,
                    prepared.url_text,
                    format!("no response within {} ms (the transfer timeout)", timeout.as_millis()),
                )
            })
            .await?;
            if route.forwards() && incoming.head().status == 407 {
                let uri = prepared.url_text;
                if let Some(answer) =
                    Box::pin(rounds.answer(&incoming.head().headers, prepared.method.as_str(), uri)).await
                {
                    drain(incoming.into_body(None, self.pool.clone(), slot, uri.to_owned())).await;
                    proxy_authorization = Some(answer);
                    continue;
                }
            } else if route.forwards() {
                rounds.succeeded();
            }
            if let Some(send_time) = prepared.send_time {
                send_time.on_response_head(prepared.url, &incoming.head().headers);
            }
            let version = incoming.head().version;
            let mut response =
                self.response(incoming, prepared.decompress, slot, prepared.url_text.to_owned(), route.proxy)?;
            if let Some(head) = head_as_sent {
                let shown = crate::shown::request_head(head, version);
                response.attributes.wire_heads.get_or_insert_with(Box::default).request_head = Some(shown);
            }
            return Ok(response);
        }
    }

    /// Sends on the key's shared (HTTP/2) connection, a pooled one or a new one. An attempt
    /// that fails before any response byte is tried again: on a fresh connection once when a
    /// reused HTTP/1.1 connection failed, a few times when the server did not process a
    /// stream (see `http2`).
    async fn attempts(
        &self,
        out: Outgoing<'_>,
        route: &Route<'_>,
        slot: &Slot,
        body: &mut Option<Body>,
        replay: &Option<Body>,
    ) -> Result<Incoming, NetworkError> {
        let mut fresh_only = false;
        let mut unprocessed = 0;
        loop {
            // Each branch returns its response at once: carried out through a `Result`, the
            // response (and the connection in it) would be copied twice more per request.
            let failed = match self.pool.shared::<http2::Multiplexed>(slot) {
                Some(shared) => {
                    let this_body = next_body(body, replay, out.url)?;
                    let announce = Announce::of(shared.tls().is_some(), true, out.framing);
                    announce.before(out.events).await;
                    let exchange = http2::exchange(&shared, out, this_body, Default::default(), &self.pool, slot.key());
                    let sent = exchange.await;
                    announce.with_response(out.events, sent.is_ok()).await;
                    match sent {
                        Ok(incoming) => return Ok(Incoming::Http2(incoming)),
                        Err(failed) => Attempt::Stream(failed),
                    }
                }
                None => {
                    let (connection, opening) = match self.connection_for(route, out.events, slot, fresh_only).await? {
                        Found::Connection(connection, opening) => (connection, opening),
                        Found::Wait(mut opened) => {
                            // Woken when the other opening ends, however it ends.
                            let _ = opened.changed().await;
                            continue;
                        }
                    };
                    let this_body = next_body(body, replay, out.url)?;
                    if route.http2 == Http2Mode::Direct || (route.http2 != Http2Mode::Off && connection.alpn_h2) {
                        // Boxed: a new HTTP/2 connection is rare (one per key), and its futures
                        // would make every request's larger.
                        match Box::pin(self.start_http2(connection, opening, out, slot, this_body)).await? {
                            Ok(incoming) => return Ok(incoming),
                            Err(failed) => failed,
                        }
                    } else {
                        let reused = connection.reused;
                        if route.http2 != Http2Mode::Off && !reused {
                            self.pool.learned_exclusive(slot);
                        }
                        drop(opening);
                        let announce = Announce::of(connection.tls.is_some(), reused, out.framing);
                        announce.before(out.events).await;
                        let sent = exchange(connection, out, out.encode_head(), this_body).await;
                        announce.with_response(out.events, sent.is_ok()).await;
                        match sent {
                            Ok(incoming) => return Ok(Incoming::Http1(incoming)),
                            Err(failed) => Attempt::Exchange { failed, reused },
                        }
                    }
                }
            };
            match failed {
                Attempt::Stream(failed) => self.retry_unprocessed(failed, &mut unprocessed, replay, out.url)?,
                Attempt::Exchange { failed, reused } => {
                    if !(failed.before_response && reused && !fresh_only) {
                        return Err(failed.error);
                    }
                    tracing::debug!(url = out.url, error = %failed.error, "a reused connection failed; retrying on a fresh one");
                    if replay.is_none() {
                        let why = format!(
                            "the connection failed ({}) and the request body cannot be sent again",
                            failed.error.message()
                        );
                        return Err(NetworkError::new(NetworkErrorKind::ContentReSendError, out.url, why));
                    }
                    fresh_only = true;
                }
            }
        }
    }

    /// A connection for the slot: an idle one (unless only a fresh one will do), else a new
    /// one; while a key that may speak HTTP/2 opens its first connection, the others wait.
    async fn connection_for(
        &self,
        route: &Route<'_>,
        events: &EventSink,
        slot: &Slot,
        fresh_only: bool,
    ) -> Result<Found, NetworkError> {
        if !fresh_only {
            if let Some(connection) = self.pool.take_idle(slot, std::time::Instant::now()) {
                return Ok(Found::Connection(connection, None));
            }
        }
        let mut opening = None;
        if route.http2 != Http2Mode::Off {
            match self.pool.open_or_wait(slot) {
                Opening::Open(guard) => opening = guard,
                Opening::Wait(opened) => return Ok(Found::Wait(opened)),
            }
        }
        events.send(ReplyEvent::SocketStartedConnecting).await;
        let span =
            tracing::debug_span!("connection", host = route.host, port = route.port, proxy = %route.proxy.label());
        // Boxed: opening (TCP, proxies, TLS) is a large future that a pooled request never
        // runs; inline, every request would carry and move its size.
        let connection = Box::pin(self.open(route, events).instrument(span)).await?;
        Ok(Found::Connection(connection, opening))
    }

    /// Starts HTTP/2 on a new connection, offers it to the key's other requests once the
    /// server's settings are in, and sends the request as its first stream.
    async fn start_http2(
        &self,
        connection: Connection,
        mut opening: Option<OpeningGuard>,
        out: Outgoing<'_>,
        slot: &Slot,
        body: Body,
    ) -> Result<Result<Incoming, Attempt>, NetworkError> {
        let (opened, poolable, encrypted) = (connection.opened, connection.poolable, connection.tls.is_some());
        let key = slot.key().clone();
        let handshake = http2::handshake(connection, self.pool.clone(), key.clone(), self.config.limits, out.url);
        let (shared, ping) = handshake.await?;
        // A connection whose certificate problems a handler accepted for this request serves
        // it alone (as over HTTP/1.1: the next request is asked again).
        match poolable {
            true => http2::offer(shared.clone(), ping, self.pool.clone(), key, opening.take()),
            false => drop(opening.take()),
        }
        let announce = Announce::of(encrypted, false, out.framing);
        announce.before(out.events).await;
        let sent = http2::exchange(&shared, out, body, opened, &self.pool, slot.key()).await;
        announce.with_response(out.events, sent.is_ok()).await;
        Ok(sent.map(Incoming::Http2).map_err(Attempt::Stream))
    }

    /// After an HTTP/2 stream failed: `Ok` to send it again (the server did not process it,
    /// the body can be sent again, and retries remain), else the error.
    fn retry_unprocessed(
        &self,
        failed: Failed,
        retries: &mut u32,
        replay: &Option<Body>,
        url: &str,
    ) -> Result<(), NetworkError> {
        if !failed.before_response || *retries >= http2::MAX_UNPROCESSED_RETRIES {
            return Err(failed.error);
        }
        if replay.is_none() {
            return Err(NetworkError::new(
                NetworkErrorKind::ContentReSendError,
                url,
                format!("{} and the request body cannot be sent again", failed.error.message()),
            ));
        }
        *retries += 1;
        tracing::debug!(url, error = %failed.error, "the server did not process the stream; sending it again");
        Ok(())
    }

    /// Opens a connection along the route, ready for HTTP: the connector does everything (TCP to
    /// the server or the proxy, the tunnel and its authentication, TLS with the route's ALPN
    /// offer and the certificate decision).
    async fn open(&self, route: &Route<'_>, events: &EventSink) -> Result<Connection, NetworkError> {
        let via = if route.proxy.is_direct() {
            Via::Direct
        } else if route.forwards() {
            Via::Forward(route.proxy)
        } else {
            Via::Tunnel(route.proxy)
        };
        let mut destination =
            Destination::new(route.url, route.host, route.port).via(via).user_agent(route.user_agent.as_ref());
        if route.url.scheme() == "https" {
            let protocols = match route.http2 {
                Http2Mode::Off => netaccess_tls::ALPN_HTTP1,
                Http2Mode::Negotiate | Http2Mode::Direct => netaccess_tls::ALPN_H2_HTTP1,
            };
            destination = destination.secured(TlsOffer::new(protocols).ignoring(route.ignore).reporting_to(events));
        }
        Ok(Connection::opened(self.connector.open(&destination).await?))
    }
}

/// A connection found for a slot, or the opening to wait for.
// The connection is moved once per request, where boxing it would allocate once per request.
#[allow(clippy::large_enum_variant)]
enum Found {
    Connection(Connection, Option<OpeningGuard>),
    Wait(tokio::sync::watch::Receiver<()>),
}

/// How one attempt failed.
enum Attempt {
    /// An HTTP/2 stream (`retry_unprocessed` decides).
    Stream(Failed),
    /// An HTTP/1.1 exchange, on a reused connection or a fresh one.
    Exchange { failed: Failed, reused: bool },
}

/// When a request on an encrypted connection reports `Encrypted`, the one rule for every
/// protocol: a new connection as soon as its handshake succeeded (before the exchange); a
/// reused one with the response (still before `MetaDataChanged`), or before the body's upload
/// progress when there is a body. A reader woken only to learn what it could learn with the
/// response costs a thread wake-up per request (`cargo xtask bench --only sequential-tls`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Announce {
    Never,
    Before,
    WithResponse,
}

impl Announce {
    fn of(encrypted: bool, reused: bool, framing: RequestFraming) -> Self {
        match (encrypted, reused && framing == RequestFraming::None) {
            (false, _) => Announce::Never,
            (true, true) => Announce::WithResponse,
            (true, false) => Announce::Before,
        }
    }

    /// Reports `Encrypted` before the exchange, when that is its moment. This and
    /// [`with_response`](Self::with_response) are the only places it is reported. (Not one
    /// wrapper taking the exchange's future: an async fn stores a future argument twice, which
    /// doubled the size of every request's future.)
    async fn before(self, events: &EventSink) {
        if self == Announce::Before {
            events.send(ReplyEvent::Encrypted).await;
        }
    }

    /// Reports `Encrypted` with the response, when that is its moment and the exchange got one.
    async fn with_response(self, events: &EventSink, answered: bool) {
        if self == Announce::WithResponse && answered {
            events.send(ReplyEvent::Encrypted).await;
        }
    }
}

/// Reads a 407's body so its connection can carry the next try (bounded by the body stream's own
/// framing and the transfer's limits).
async fn drain(mut body: netaccess_core::BodyStream) {
    use futures::StreamExt;
    let mut drained = 0usize;
    while let Some(Ok(chunk)) = body.next().await {
        drained += chunk.len();
        if drained > netaccess_proxy::connect::MAX_DRAINED_BODY {
            return;
        }
    }
}

/// The body for the next try: the one given, else a copy of the replayable one.
fn next_body(body: &mut Option<Body>, replay: &Option<Body>, url: &str) -> Result<Body, NetworkError> {
    body.take().or_else(|| replay.as_ref().and_then(Body::try_clone)).ok_or_else(|| {
        NetworkError::new(NetworkErrorKind::ContentReSendError, url, "the request body cannot be sent again")
    })
}
