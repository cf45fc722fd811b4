//! Interceptors: Qt's `createRequest`, the one place that sees every request of every scheme.
//!
//! An [`Interceptor`] is given each request the manager is handed, with its operation and body,
//! and the rest of the chain as [`Next`]. It may change the request and send it on
//! ([`Next::send`]), answer it itself without the network ([`Next::answer`]), wait for
//! something before sending it ([`Next::send_when_ready`]), or fail it. Whatever it does, it
//! returns a [`Reply`] at once, as `manager.get` does.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use netaccess::{Body, Interceptor, NetworkAccessManager, Next, Operation, Reply, Request};
//!
//! /// Adds the API key to every request.
//! struct ApiKey(&'static str);
//!
//! impl Interceptor for ApiKey {
//!     fn create_request(&self, request: Request, operation: Operation, body: Body, next: Next<'_>) -> Reply {
//!         next.send(request.with_header("x-api-key", self.0), operation, body)
//!     }
//! }
//!
//! let manager = NetworkAccessManager::builder().interceptor(ApiKey("k-123")).build();
//! let mut reply = manager.get(Request::new("data:,hi"));
//! assert_eq!(reply.request().headers()["x-api-key"], "k-123");
//! assert_eq!(reply.text().await.unwrap(), "hi");
//! # });
//! ```
//!
//! # Design
//!
//! Qt's contract: the chain runs once per request the manager is given (`get`, `post`,
//! `send_custom_request`, `send_http`, the blocking manager's, every scheme's), not per
//! redirect hop or authentication round: those happen inside the reply the chain's end makes.
//! The first interceptor added is the outermost. The request an interceptor sees is complete:
//! the manager's [base URL and default headers](crate::NetworkAccessManagerBuilder::base_url)
//! were applied before the chain, so a canned answer can match on the absolute URL. What
//! belongs to the network is applied at the chain's end, after every interceptor: the
//! `Content-Type` the (possibly replaced) body implies and the HSTS upgrade, as Qt's own
//! `createRequest` upgrades inside the base implementation.
//!
//! [`Next`] is a position in the manager's chain, a borrow of the manager and an index, so an
//! empty chain costs one bounds check per request. A reply made without the network
//! ([`Next::answer`]) runs the reply's ordinary task with the response as its work: the same
//! events, limits, deadline and manager `Finished` as a network reply, but no place in a host's
//! line, no cookies and no cache. A reply that waits ([`Next::send_when_ready`], and the tower
//! adapter) is a reply of its own that, once the wait is over, relays the reply the rest of the
//! chain returned: its events in order, its head and attributes mirrored when
//! `MetaDataChanged` arrives. Aborting or dropping it drops the relayed reply, which aborts it.
//!
//! The HAR replay ([`HarReplay`](crate::HarReplay)) and offline mode
//! ([`network_accessible`](crate::NetworkAccessManagerBuilder::network_accessible)) are what an
//! interceptor could do too; they stay a backend and a manager switch, which already see every
//! request they must.
//!
//! An interceptor that keeps a clone of the manager it is installed in makes a cycle that keeps
//! the manager (and its connections) alive for ever: keep what it needs instead (a token store,
//! a counter).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};

use futures::StreamExt;
use netaccess_core::event_queue::EventSender;
use netaccess_core::{BackendResponse, Body, NetworkError, NetworkErrorKind, Operation, ReplyEvent, Request};

use crate::context::ManagerInner;
use crate::driver::{self, Work};
use crate::reply::{Reply, ReplyShared};

/// Sees every request the manager is given, and returns its reply (Qt's
/// `QNetworkAccessManager::createRequest`, the function subclasses override).
///
/// Add one with [`NetworkAccessManagerBuilder::interceptor`](crate::NetworkAccessManagerBuilder::interceptor);
/// see the [module docs](self) for what an interceptor can do and an example.
pub trait Interceptor: Send + Sync + 'static {
    /// Makes the reply to `request`: usually by changing the request and handing it to
    /// `next`. Returns at once; an interceptor that must wait returns a reply that waits
    /// ([`Next::send_when_ready`]).
    fn create_request(&self, request: Request, operation: Operation, body: Body, next: Next<'_>) -> Reply;
}

/// The rest of an interceptor chain, then the manager's own sending.
pub struct Next<'a> {
    manager: &'a Arc<ManagerInner>,
    /// The interceptor that comes next; past the last, the network.
    index: usize,
}

impl std::fmt::Debug for Next<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let remaining = self.manager.interceptors.len().saturating_sub(self.index);
        f.debug_struct("Next").field("interceptors_remaining", &remaining).finish()
    }
}

impl Next<'_> {
    /// Sends the request through the rest of the chain, then as the manager sends every
    /// request (its backend by scheme, the queue, cookies, cache, redirects).
    pub fn send(self, request: Request, operation: Operation, body: Body) -> Reply {
        send_from(self.manager, self.index, request, operation, body)
    }

    /// Answers the request here, without the rest of the chain or the network: the reply
    /// delivers `response`'s status, headers and body with the same events as any reply
    /// (`MetaDataChanged`, `ReadyRead`, progress, `Finished`), and an error status fails it as
    /// a server's would (404 is `ContentNotFoundError`). A [`ReplyAttributes`](crate::ReplyAttributes)
    /// in the response's extensions is the reply's attributes (the status is the response's).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use netaccess::{Body, Interceptor, NetworkAccessManager, Next, Operation, Reply, Request};
    ///
    /// /// Answers every request to `/health` itself.
    /// struct Healthy;
    ///
    /// impl Interceptor for Healthy {
    ///     fn create_request(&self, request: Request, operation: Operation, body: Body, next: Next<'_>) -> Reply {
    ///         if request.url().is_some_and(|url| url.path() == "/health") {
    ///             let answer = http::Response::builder().header("content-type", "text/plain").body(Body::from("ok"));
    ///             return next.answer(request, operation, answer.unwrap());
    ///         }
    ///         next.send(request, operation, body)
    ///     }
    /// }
    ///
    /// let manager = NetworkAccessManager::builder().interceptor(Healthy).build();
    /// let mut reply = manager.get(Request::new("http://service.invalid/health"));
    /// assert_eq!(reply.text().await.unwrap(), "ok");
    /// assert_eq!(reply.status(), Some(200));
    /// # });
    /// ```
    pub fn answer(self, request: Request, operation: Operation, response: http::Response<Body>) -> Reply {
        answer(self.manager.clone(), request, operation, response)
    }

    /// Returns a reply at once that waits for `ready`, then sends the request it gives through
    /// the rest of the chain and delivers what that reply delivers: for an interceptor that must
    /// wait before a request can go (a token to fetch or refresh). `request` and `operation`
    /// are what the reply reports as its own until then (its URL, for errors). An error from
    /// `ready` fails the reply with it; aborting the reply while it waits drops `ready`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use netaccess::{Body, Interceptor, NetworkAccessManager, Next, Operation, Reply, Request};
    ///
    /// /// Waits for a token before every request.
    /// struct Token;
    ///
    /// impl Interceptor for Token {
    ///     fn create_request(&self, request: Request, operation: Operation, body: Body, next: Next<'_>) -> Reply {
    ///         let (shown, verb) = (request.clone(), operation.clone());
    ///         next.send_when_ready(&shown, &verb, async move {
    ///             let token = async { "t0ken" }.await; // a refresh, say
    ///             Ok((request.with_header("authorization", &format!("Bearer {token}")), operation, body))
    ///         })
    ///     }
    /// }
    ///
    /// let manager = NetworkAccessManager::builder().interceptor(Token).build();
    /// let mut reply = manager.get(Request::new("data:,later"));
    /// assert_eq!(reply.text().await.unwrap(), "later");
    /// # });
    /// ```
    pub fn send_when_ready<F>(self, request: &Request, operation: &Operation, ready: F) -> Reply
    where
        F: Future<Output = Result<(Request, Operation, Body), NetworkError>> + Send + 'static,
    {
        let rest = OwnedNext::of(&self);
        let later = Box::pin(async move {
            let (request, operation, body) = ready.await?;
            Ok(Relayed::new(rest.send(request, operation, body)?))
        });
        self.relay(request, operation, later)
    }

    /// Sends the request through the rest of the chain, and shows `observer` every event of
    /// the reply that comes back, with that reply, before the caller gets the event: for an
    /// interceptor that watches (times, logs, counts) without changing anything. The reply is
    /// relayed (see the [module docs](self)), which costs a task per request.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use std::time::Instant;
    /// use netaccess::{Body, Interceptor, NetworkAccessManager, Next, Operation, Reply, ReplyEvent, Request};
    ///
    /// /// Logs how long each request took.
    /// struct Timing;
    ///
    /// impl Interceptor for Timing {
    ///     fn create_request(&self, request: Request, operation: Operation, body: Body, next: Next<'_>) -> Reply {
    ///         let started = Instant::now();
    ///         next.send_observed(request, operation, body, move |reply, event| {
    ///             if matches!(event, ReplyEvent::Finished) {
    ///                 println!("{} in {:?}", reply.url_text(), started.elapsed());
    ///             }
    ///         })
    ///     }
    /// }
    ///
    /// let manager = NetworkAccessManager::builder().interceptor(Timing).build();
    /// assert_eq!(manager.get(Request::new("data:,timed")).text().await.unwrap(), "timed");
    /// # });
    /// ```
    pub fn send_observed<F>(self, request: Request, operation: Operation, body: Body, observer: F) -> Reply
    where
        F: FnMut(&Reply, &ReplyEvent) + Send + 'static,
    {
        let (shown, verb) = (request.clone(), operation.clone());
        let reply = send_from(self.manager, self.index, request, operation, body);
        let later = Box::pin(async move { Ok(Relayed { observer: Some(Box::new(observer)), ..Relayed::new(reply) }) });
        self.relay(&shown, &verb, later)
    }

    /// A reply that reports `request` and `operation` and relays the reply `later` makes.
    pub(crate) fn relay(self, request: &Request, operation: &Operation, later: Later) -> Reply {
        let work = Work::Relay(later);
        driver::start_without_network(self.manager.clone(), request.clone(), operation.clone(), work)
    }
}

/// Hands the request to the interceptor at `index`, or past the last one to the network.
pub(crate) fn send_from(
    manager: &Arc<ManagerInner>,
    index: usize,
    request: Request,
    operation: Operation,
    body: Body,
) -> Reply {
    match manager.interceptors.get(index) {
        Some(interceptor) => interceptor.create_request(request, operation, body, Next { manager, index: index + 1 }),
        None => to_network(manager, request, operation, body),
    }
}

/// The chain's end, the manager's own sending: what the body implies, the HSTS upgrade, then
/// the request driver.
// Always inlined into `send_from`: the request is not moved once more on every request's way.
#[inline(always)]
fn to_network(manager: &Arc<ManagerInner>, mut request: Request, operation: Operation, body: Body) -> Reply {
    manager.defaults.requests.apply_body_type(&mut request, &body);
    if manager.hsts.is_enabled() && request.url().is_some_and(|url| url.scheme() == "http") {
        if let Some(mut url) = request.url().cloned() {
            if manager.hsts.upgrade(&mut url) {
                request.set_url(url);
            }
        }
    }
    driver::start(manager.clone(), request, operation, body)
}

/// A reply delivering `response`, made without the network.
pub(crate) fn answer(
    manager: Arc<ManagerInner>,
    request: Request,
    operation: Operation,
    response: http::Response<Body>,
) -> Reply {
    let response = backend_response(response, request.url_text());
    driver::start_without_network(manager, request, operation, Work::Answer(Box::new(response)))
}

/// A position in a manager's chain that may outlive the call it was given in (a reply that
/// waits, a tower service). It holds the manager weakly: an interceptor that keeps one makes
/// no cycle.
#[derive(Clone)]
pub(crate) struct OwnedNext {
    manager: Weak<ManagerInner>,
    index: usize,
}

impl OwnedNext {
    /// The position `next` stands for.
    pub(crate) fn of(next: &Next<'_>) -> Self {
        Self { manager: Arc::downgrade(next.manager), index: next.index }
    }

    fn manager(&self, url: &str) -> Result<Arc<ManagerInner>, NetworkError> {
        self.manager.upgrade().ok_or_else(|| {
            NetworkError::new(
                NetworkErrorKind::OperationCanceledError,
                url,
                "the manager was dropped before the request could be sent",
            )
        })
    }

    /// Sends through the rest of the chain (see [`Next::send`]).
    pub(crate) fn send(&self, request: Request, operation: Operation, body: Body) -> Result<Reply, NetworkError> {
        Ok(send_from(&self.manager(request.url_text())?, self.index, request, operation, body))
    }

    /// Answers without the network (see [`Next::answer`]).
    #[cfg(feature = "tower")]
    pub(crate) fn answer(
        &self,
        request: Request,
        operation: Operation,
        response: http::Response<Body>,
    ) -> Result<Reply, NetworkError> {
        Ok(answer(self.manager(request.url_text())?, request, operation, response))
    }
}

/// The work of a reply that waits: the reply to relay, once it is made.
pub(crate) type Later = Pin<Box<dyn Future<Output = Result<Relayed, NetworkError>> + Send>>;

/// A reply to relay, the head to report instead of its own (a tower layer may have changed
/// the status or the headers), and who watches its events.
pub(crate) struct Relayed {
    pub(crate) reply: Reply,
    pub(crate) head: Option<http::response::Parts>,
    pub(crate) observer: Option<Observer>,
}

/// Who watches a relayed reply's events (see [`Next::send_observed`]).
pub(crate) type Observer = Box<dyn FnMut(&Reply, &ReplyEvent) + Send>;

impl Relayed {
    /// `reply`, relayed as it is.
    pub(crate) fn new(reply: Reply) -> Self {
        Self { reply, head: None, observer: None }
    }
}

/// A response an interceptor made, as a backend's: its status in the attributes, its body as
/// the stream the driver delivers.
fn backend_response(response: http::Response<Body>, url: &str) -> BackendResponse {
    let (parts, body) = response.into_parts();
    let mut attributes = parts.extensions.get::<netaccess_core::ReplyAttributes>().cloned().unwrap_or_default();
    attributes.http_status_code = Some(parts.status.as_u16());
    attributes.http_reason_phrase = parts.status.canonical_reason().map(str::to_owned);
    attributes.http_version = Some(parts.version);
    let expected = body.len().or_else(|| {
        let length = parts.headers.get(http::header::CONTENT_LENGTH)?;
        length.to_str().ok()?.parse().ok()
    });
    let url = url.to_owned();
    let stream = body.into_stream().map(move |chunk| {
        chunk.map_err(|error| {
            NetworkError::new(
                NetworkErrorKind::UnknownContentError,
                &url,
                format!("the body an interceptor answered with failed: {error}"),
            )
        })
    });
    let mut response = BackendResponse::new(Box::pin(stream), expected);
    response.headers = parts.headers;
    response.attributes = attributes;
    response
}

/// Waits for the reply `later` makes and delivers what it delivers, in order, as the reply
/// `shared` and `events` belong to: its head and attributes mirrored at `MetaDataChanged`, its
/// redirects, its chunks under this reply's read buffer, its error.
pub(crate) async fn relay(
    later: Later,
    shared: &ReplyShared,
    events: &EventSender,
    request: &Request,
) -> Result<(), NetworkError> {
    let Relayed { mut reply, head, mut observer } = later.await?;
    let mut after_chunk = false;
    while let Some(event) = reply.next_event().await {
        if let Some(observer) = observer.as_mut() {
            observer(&reply, &event);
        }
        let follows_chunk = std::mem::take(&mut after_chunk);
        match &event {
            ReplyEvent::MetaDataChanged => mirror_head(&reply, head.as_ref(), shared),
            ReplyEvent::ReadyRead(chunk) => {
                after_chunk = true;
                let length = chunk.len() as u64;
                shared.state().bytes_received += length;
                shared.read_buffer.wait_for_room(length).await;
            }
            // The progress each chunk brings is made by this reply's handle, as for any reply;
            // the last one (an unknown total made known) is the driver's and goes on.
            ReplyEvent::DownloadProgress { .. } if follows_chunk => continue,
            ReplyEvent::Redirected(url) => shared.state().redirects.push(url.clone()),
            // This reply's own task sends its error and `Finished`.
            ReplyEvent::Error(_) => continue,
            ReplyEvent::Finished => break,
            _ => {}
        }
        events.send(event).await;
    }
    // The relayed reply's timings are complete only now (its total).
    let timings = reply.shared().state().attributes().timings;
    if let Some(attributes) = shared.state().attributes.as_mut() {
        attributes.timings = timings;
    }
    let error = reply.error();
    match head {
        None => error.map_or(Ok(()), Err),
        Some(head) => match error.filter(|error| error.http_status().is_none()) {
            Some(error) => Err(error),
            None => {
                let reason = head.status.canonical_reason().unwrap_or_default();
                let url = shared
                    .state()
                    .redirects
                    .last()
                    .map_or_else(|| request.url_text().to_owned(), |url| url.as_str().to_owned());
                NetworkError::for_http_status(head.status.as_u16(), reason, &url).map_or(Ok(()), Err)
            }
        },
    }
}

/// Copies the relayed reply's head into this one's state, `head`'s status and headers instead
/// of its own when given.
fn mirror_head(from: &Reply, head: Option<&http::response::Parts>, to: &ReplyShared) {
    let (mut headers, mut attributes, total) = {
        let state = from.shared().state();
        (state.headers.clone(), Box::new(state.attributes().clone()), state.progress_total)
    };
    if let Some(head) = head {
        // A reply without a status (`file:`, `data:`) reads as 200 through `http` types: only
        // a status a layer changed is reported.
        if attributes.http_status_code.unwrap_or(200) != head.status.as_u16() {
            attributes.http_status_code = Some(head.status.as_u16());
            attributes.http_reason_phrase = head.status.canonical_reason().map(str::to_owned);
        }
        headers.clone_from(&head.headers);
    }
    let mut state = to.state();
    state.headers = headers;
    state.attributes = Some(attributes);
    state.progress_total = total;
}
