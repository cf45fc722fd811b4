//! The request driver: one task per reply, from the scheme check to the last event.
//!
//! # Design
//!
//! `start` creates the reply's shared state and event queue, takes the request's place in its
//! host's line and spawns a small task at once, so the caller gets the reply while the request
//! is already queued. The task first waits for the request's turn to start (see
//! [`netaccess_core::order`]: at most `max_connections_per_host` run per host), and only then
//! makes the transfer's state machine: a waiting request holds its task, its shared state, its
//! request and its place, about 2.3 KB (`cargo xtask bench --only scale`), where a running one
//! holds 10 KB more. The task races the
//! transfer against the reply's cancellation token; whichever way it ends, the task alone emits
//! the closing `Error` and `Finished` events and the manager's `Finished`, so every reply ends
//! with exactly one `Finished`. The event channel is bounded twice, in events ([`EVENT_QUEUE`])
//! and in body bytes (the reply's read buffer size, [`DEFAULT_READ_BUFFER_SIZE`] unless set): a
//! reply nobody reads holds its transfer back, and with it the peer, rather than buffering the
//! body. The byte bound is what caps memory: one read may be up to 1 MiB, so 64 queued reads
//! alone could hold 64 MiB per reply. A chunk larger than the bound still goes when nothing
//! waits, so a reply holds at most the bound or one read, whichever is larger. The default is
//! one large read, 1 MiB: with 4 MiB a 256 MiB download in a fresh process peaked at 19.9 MB
//! resident, with 1 MiB at 12.4 MB (`cargo xtask bench --only footprint`), and bulk CPU per GiB
//! did not grow (`--only download,download-chunked`: 0.20–0.29 s/GiB, hyper 0.23–0.35).
//!
//! A reply an interceptor makes (an answer without the network, or a reply that waits and
//! relays another; see [`crate::intercept`]) is the same shared state, queue and closing
//! events, driven by a task of its own kind (`run_without_network`): it takes no place in a
//! host's line, and the network's task is not made larger for it. The response that ends a
//! request, from the network or an interceptor, is delivered by the same two steps:
//! `publish_head` (not async, so the large response stays out of the state machine) and
//! `deliver` (the body pump).
//!
//! The request's way from the first hop to the response that ends it is a short loop,
//! `drive`, over steps with names (see the `way` module: choose the backend, prepare the hop,
//! the cache else the network, observe the head, the hop's verdict, follow).
//!
//! Each hop asks the cache first (see [`crate::cache`]): a reply served from it skips the
//! backend and the cookie jar. The driver follows redirects (see [`crate::redirect`]) and
//! applies the transfer timeout to every body chunk; a backend applies it to its own wait for the response head (the HTTP
//! backend from the moment a request holds a connection slot, so time in the queue never
//! counts).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use netaccess_core::event_queue::{self, EventSender};
use netaccess_core::order::{line_key, Place, Running};
use netaccess_core::{
    progress_total, within_limit, Backend, BackendRequest, Body, CacheLoadControl, NetworkError, NetworkErrorKind,
    Operation, ReplyEvent, Request, RequestAttributes,
};
use netaccess_core::{RetryPolicy, RetryTrigger};
use tracing::Instrument;
use url::Url;

use crate::auth;
use crate::cache;
use crate::context::{ManagerEvent, ManagerInner};
use crate::cookies;
use crate::reply::{Reply, ReplyShared};

mod way;

/// How many events may wait in a reply's queue before the transfer waits for the reader.
pub const EVENT_QUEUE: usize = 64;

/// How many body bytes may wait in a reply for its reader by default (see
/// [`NetworkAccessManagerBuilder::read_buffer_size`](crate::NetworkAccessManagerBuilder::read_buffer_size)).
pub const DEFAULT_READ_BUFFER_SIZE: u64 = 1024 * 1024;

pub(crate) fn start(manager: Arc<ManagerInner>, request: Request, operation: Operation, body: Body) -> Reply {
    // The backend is chosen as the request is issued (Qt's `createRequest` does too): it says
    // how many requests of the host may run at once, and the first hop goes to it.
    let backend = request.url().and_then(|url| manager.backend(url.scheme()));
    // The request's place among its host's requests is taken here, before any task runs.
    let place = request.url().and_then(|url| {
        let key = line_key(url.scheme(), url.host_str()?, url.port_or_known_default()?);
        let attributes = request.attributes();
        Some(match backend.as_ref().and_then(|backend| backend.shared_line_limit(url, attributes)) {
            Some(limit) => manager.order.issue_multiplexed(key, attributes.priority, limit),
            None => manager.order.issue(key, attributes.priority),
        })
    });
    manager.retry_budget.deposit();
    launch(manager, Arc::new(request), operation, move |transfer, expiry| transfer.run(body, place, backend, expiry))
}

/// Starts a reply whose work is not the network's: an interceptor's answer or a reply it makes
/// later (see [`crate::intercept`]). It takes no place in a host's line (the reply it relays
/// took its own) and deposits nothing in the retry budget.
pub(crate) fn start_without_network(
    manager: Arc<ManagerInner>,
    request: Request,
    operation: Operation,
    work: Work,
) -> Reply {
    launch(manager, Arc::new(request), operation, move |transfer, expiry| transfer.run_without_network(work, expiry))
}

/// What the task of a reply an interceptor made does (see [`crate::intercept`]).
pub(crate) enum Work {
    /// Deliver this response, made without the network.
    Answer(Box<netaccess_core::BackendResponse>),
    /// Wait for another reply and deliver what it delivers.
    Relay(crate::intercept::Later),
}

/// Makes the reply and its transfer, and spawns `run` with the transfer and its deadline. The
/// network's and the interceptors' replies each spawn a future of their own, so a network
/// reply's task is no larger for the interceptors' sake.
fn launch<F, Task>(manager: Arc<ManagerInner>, request: Arc<Request>, operation: Operation, run: F) -> Reply
where
    F: FnOnce(Transfer, Option<Expiry>) -> Task,
    Task: std::future::Future<Output = ()> + Send + 'static,
{
    let shared = Arc::new(ReplyShared::new(manager.defaults.read_buffer_size));
    let (sender, receiver) = event_queue::channel(EVENT_QUEUE);
    let reply = Reply::new(shared.clone(), receiver, request.clone(), operation.clone());
    let transfer = Transfer { manager, shared, events: sender, request, operation };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        // No runtime to run on: the reply fails at once, with a clear error, instead of the
        // panic `tokio::spawn` would give. Its two closing events fit in the fresh queue, so
        // this never waits.
        let error = NetworkError::new(
            NetworkErrorKind::UnknownNetworkError,
            transfer.request.url_text(),
            "netaccess needs a Tokio runtime: send from inside one, or use netaccess::blocking",
        );
        futures::executor::block_on(Box::pin(transfer.finish(Err(error))));
        return reply;
    };
    // The deadline counts from now, the moment the request was issued.
    let deadline = transfer.request.attributes().deadline.unwrap_or(transfer.manager.defaults.deadline);
    let expiry = (!deadline.is_zero()).then(|| {
        let _inside = runtime.enter();
        Box::pin(tokio::time::sleep(deadline))
    });
    runtime.spawn(run(transfer, expiry.map(|sleep| (sleep, deadline))));
    reply
}

fn unknown_scheme(url: &Url) -> NetworkError {
    NetworkError::new(
        NetworkErrorKind::ProtocolUnknownError,
        url.as_str(),
        format!("Protocol \"{}\" is unknown", url.scheme()),
    )
}

/// The request's deadline, when it has one: the timer and the limit it was set from.
type Expiry = (std::pin::Pin<Box<tokio::time::Sleep>>, Duration);

/// Waits for the deadline; never, without one.
async fn expired(expiry: &mut Option<Expiry>) -> Duration {
    match expiry {
        Some((sleep, limit)) => {
            sleep.as_mut().await;
            *limit
        }
        None => std::future::pending().await,
    }
}

fn past_deadline(url: &str, limit: Duration) -> NetworkError {
    NetworkError::new(
        NetworkErrorKind::TimeoutError,
        url,
        format!("the request took longer than its deadline of {} ms", limit.as_millis()),
    )
}

struct Transfer {
    manager: Arc<ManagerInner>,
    shared: Arc<ReplyShared>,
    events: EventSender,
    request: Arc<Request>,
    operation: Operation,
}

impl Transfer {
    /// Runs the transfer; `place` is the request's place in its host's line, held until its
    /// first hop goes to the backend (or dropped with the transfer when it is aborted first).
    ///
    /// While the request waits for its turn to start, this future holds only its arguments and
    /// the wait (about 400 bytes with the task's own); the transfer's state machine and the
    /// closing events are boxed, made when they are needed. A request the cache may answer asks
    /// the cache first, as Qt does, so it starts inside [`drive`](Self::drive), after the
    /// lookup: only such a request holds its state machine while it waits.
    async fn run(
        self,
        body: Body,
        place: Option<Place>,
        backend: Option<Arc<dyn Backend>>,
        mut expiry: Option<Expiry>,
    ) {
        let cancel = self.shared.cancel.clone();
        let started = match place {
            Some(place) if !self.may_use_cache() => tokio::select! {
                biased;
                () = cancel.cancelled() => Err(NetworkError::canceled(self.request.url_text())),
                limit = expired(&mut expiry) => Err(past_deadline(self.request.url_text(), limit)),
                (place, running) = place.start() => Ok((Some(place), Some(running))),
            },
            place => Ok((place, None)),
        };
        let outcome = match started {
            Err(error) => Err(error),
            Ok((place, running)) => tokio::select! {
                biased;
                () = cancel.cancelled() => Err(NetworkError::canceled(self.request.url_text())),
                limit = expired(&mut expiry) => Err(past_deadline(self.request.url_text(), limit)),
                outcome = Box::pin(self.drive(body, place, backend, running).instrument(self.span())) => outcome,
            },
        };
        Box::pin(self.finish(outcome)).await;
    }

    /// Runs the transfer of a reply an interceptor made: its work raced against the reply's
    /// cancellation and deadline, then the closing events, as [`run`](Self::run) does.
    async fn run_without_network(self, work: Work, mut expiry: Option<Expiry>) {
        let cancel = self.shared.cancel.clone();
        let work = async {
            match work {
                Work::Answer(response) => self.answer(*response).await,
                Work::Relay(later) => crate::intercept::relay(later, &self.shared, &self.events, &self.request).await,
            }
        };
        let outcome = tokio::select! {
            biased;
            () = cancel.cancelled() => Err(NetworkError::canceled(self.request.url_text())),
            limit = expired(&mut expiry) => Err(past_deadline(self.request.url_text(), limit)),
            outcome = Box::pin(work.instrument(self.span())) => outcome,
        };
        Box::pin(self.finish(outcome)).await;
    }

    /// The reply's tracing span: every event of its transfer (the backend's, the connection's)
    /// is inside it, so a subscriber can follow one request.
    fn span(&self) -> tracing::Span {
        tracing::debug_span!("reply", url = self.request.url_text(), operation = self.operation.verb())
    }

    /// Delivers a response an interceptor made: the same events as a network reply's, from
    /// `MetaDataChanged` to the last chunk, under the same limits.
    async fn answer(&self, response: netaccess_core::BackendResponse) -> Result<(), NetworkError> {
        let timeout = self.attributes().transfer_timeout.unwrap_or(Duration::ZERO);
        let url = self.request.url_text();
        let started_at = std::time::Instant::now();
        let head = self.publish_head(response, url, 0, started_at);
        self.deliver(head, None, url, timeout, started_at).await
    }

    fn may_use_cache(&self) -> bool {
        self.request.attributes().cache_load_control != CacheLoadControl::AlwaysNetwork
            && self.manager.cache.read().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    async fn finish(&self, outcome: Result<(), NetworkError>) {
        let error = {
            let mut state = self.shared.state();
            if !state.finished {
                state.finished = true;
                state.error = outcome.err();
            }
            state.error.clone()
        };
        if let Some(error) = &error {
            tracing::debug!(url = self.request.url_text(), %error, "reply failed");
            self.emit(ReplyEvent::Error(error.clone())).await;
        }
        self.emit(ReplyEvent::Finished).await;
        if self.manager.events.receiver_count() > 0 {
            let _ = self.manager.events.send(ManagerEvent::Finished {
                url: self.request.url_text().to_owned(),
                operation: self.operation.clone(),
                error,
            });
        }
    }

    async fn emit(&self, event: ReplyEvent) {
        // A dropped reply aborts the transfer by itself; its events are discarded.
        self.events.send(event).await;
    }

    /// The first hop's URL and backend: the one chosen when the request was issued, else
    /// (no backend for its scheme, or not a URL) the error that says why.
    fn backend_for(&self, chosen: Option<Arc<dyn Backend>>) -> Result<(&Url, Arc<dyn Backend>), NetworkError> {
        let url = self.request.url().ok_or_else(|| {
            let text = self.request.url_text();
            NetworkError::new(NetworkErrorKind::ProtocolUnknownError, text, crate::url_words::why_not_a_url(text))
        })?;
        let backend = match chosen {
            Some(backend) => backend,
            None => self.manager.backend(url.scheme()).ok_or_else(|| unknown_scheme(url))?,
        };
        Ok((url, self.accessible(url, backend)?))
    }

    /// The backend for a redirect's `url`.
    fn backend_for_url(&self, url: &Url) -> Result<Arc<dyn Backend>, NetworkError> {
        let backend = self.manager.backend(url.scheme()).ok_or_else(|| unknown_scheme(url))?;
        self.accessible(url, backend)
    }

    /// `backend`, unless it needs the network and the manager's network access is disabled.
    fn accessible(&self, url: &Url, backend: Arc<dyn Backend>) -> Result<Arc<dyn Backend>, NetworkError> {
        if !backend.is_local() && !self.manager.is_accessible() {
            return Err(NetworkError::new(
                NetworkErrorKind::UnknownNetworkError,
                url.as_str(),
                "Network access is disabled.",
            ));
        }
        Ok(backend)
    }

    fn attributes(&self) -> RequestAttributes {
        let mut attributes = self.request.attributes().clone();
        let defaults = &self.manager.defaults;
        attributes.redirect_policy.get_or_insert(defaults.redirect_policy);
        attributes.max_redirects.get_or_insert(defaults.max_redirects);
        attributes.transfer_timeout.get_or_insert(defaults.transfer_timeout);
        attributes.deadline.get_or_insert(defaults.deadline);
        attributes.retry.get_or_insert_with(|| defaults.retry.clone());
        attributes
    }

    /// After an attempt went wrong as `trigger`: when the policy and the manager's budget allow
    /// another, waits its delay and returns `true`.
    async fn may_retry(
        &self,
        policy: &RetryPolicy,
        retries: &mut u32,
        operation: &Operation,
        trigger: RetryTrigger<'_>,
        started_at: std::time::Instant,
    ) -> bool {
        let Some(delay) = policy.decide(*retries, operation, trigger, started_at.elapsed()) else {
            return false;
        };
        if !self.manager.retry_budget.withdraw() {
            tracing::debug!(?trigger, "not retried: the manager's retry budget is spent");
            return false;
        }
        *retries += 1;
        tracing::debug!(?trigger, retry = *retries, ?delay, "retrying");
        tokio::time::sleep(delay).await;
        true
    }

    /// Sends the request hop by hop (see [`way`] for the steps) and delivers the last response.
    /// `running` counts the request against its line's start limit until the transfer ends;
    /// when the request has not started yet, it starts at its first hop to the network.
    async fn drive(
        &self,
        body: Body,
        place: Option<Place>,
        backend: Option<Arc<dyn Backend>>,
        running: Option<Running>,
    ) -> Result<(), NetworkError> {
        let settings = self.settings();
        let mut way = self.first_hop(&settings, backend, body, place, running)?;
        // The hop's response, filled by `fetch` and read in place by the later steps.
        let mut slot = None;
        let (response, pending) = loop {
            let mut hop = self.prepare_hop(&settings, &mut way);
            let fetched = self.fetch(&settings, &mut way, &mut hop, &mut slot).await;
            // Whatever happened, nobody waits behind this request any more.
            drop(way.take_place());
            fetched?;
            let Some(response) = slot.as_mut() else { continue };
            let pending = self.observe_head(&way, &hop, response);
            let mut verdict = self.verdict(&settings, &way, &hop, response, true)?;
            if let way::Verdict::Ask(_) = verdict {
                verdict = Box::pin(self.decide(&settings, &mut way, &hop, response, verdict)).await?;
            }
            let Some(response) = slot.take() else { continue };
            if let way::Verdict::Deliver = verdict {
                break (response, pending);
            }
            self.drain_hop(response.body, pending).await;
            self.next_hop(&settings, &mut way, hop.replay, verdict).await?;
        };
        let url = way.url.as_str();
        let head = self.publish_head(response, url, way.retries, way.started_at);
        let delivered = self.deliver(head, pending, url, settings.timeout, way.started_at).await;
        // The body is in: the next request of the line may start.
        drop(way.running);
        delivered
    }

    /// Puts the head of the response that ends the request into the reply's state (the
    /// headers, the attributes with the timings so far) and returns what delivering it needs.
    /// Not async: the large response stays out of the transfer's state machine.
    fn publish_head(
        &self,
        response: netaccess_core::BackendResponse,
        url: &str,
        retries: u32,
        started_at: std::time::Instant,
    ) -> Delivery {
        let total = progress_total(response.expected_length);
        let status_error = {
            let mut state = self.shared.state();
            state.progress_total = total;
            state.headers = response.headers;
            let mut attributes = Box::new(response.attributes);
            attributes.retries = retries;
            attributes.timings = Some(netaccess_core::Timings::since(started_at, &response.milestones));
            let state = &mut *state;
            let attributes = &**state.attributes.insert(attributes);
            attributes.http_status_code.and_then(|status| {
                let reason = attributes.http_reason_phrase.as_deref().unwrap_or_default();
                let error = NetworkError::for_http_status(status, reason, url)?;
                Some(match (status == 401).then(|| auth::describe(&state.headers)).flatten() {
                    Some(challenge) => error.with_detail(&format!("it asks for {challenge}")),
                    None => error,
                })
            })
        };
        Delivery { body: response.body, total, status_error }
    }

    /// Delivers the response whose head was published: `MetaDataChanged`, then its body chunk
    /// by chunk under the transfer timeout and the body limit; the HTTP status's error, if it
    /// has one, once the body is in.
    async fn deliver(
        &self,
        head: Delivery,
        mut pending: Option<Box<crate::har::PendingEntry>>,
        url: &str,
        timeout: Duration,
        started_at: std::time::Instant,
    ) -> Result<(), NetworkError> {
        let Delivery { mut body, total, status_error } = head;
        self.emit(ReplyEvent::MetaDataChanged).await;

        // The reply makes the DownloadProgress that follows each ReadyRead (see `Reply::note`).
        let max_body = self.manager.defaults.max_body_size;
        within_body_limit(max_body, u64::try_from(total).unwrap_or(0), url)?;
        let mut received = 0u64;
        while let Some(chunk) = within(timeout, url, body.next()).await? {
            let chunk = chunk?;
            received += chunk.len() as u64;
            within_body_limit(max_body, received, url)?;
            self.shared.state().bytes_received = received;
            if let Some(pending) = pending.as_mut() {
                pending.body_chunk(&chunk);
            }
            self.shared.read_buffer.wait_for_room(chunk.len() as u64).await;
            self.emit(ReplyEvent::ReadyRead(chunk)).await;
        }
        if i64::try_from(received).ok() != Some(total) || received == 0 {
            let received_total = i64::try_from(received).unwrap_or(i64::MAX);
            self.emit(ReplyEvent::DownloadProgress { received, total: received_total }).await;
        }
        if let Some(timings) = self.shared.state().attributes.as_mut().and_then(|a| a.timings.as_mut()) {
            timings.total = Some(started_at.elapsed());
        }
        if let (Some(pending), Some(recorder)) = (pending.take(), &self.manager.har) {
            pending.finish(recorder);
        }
        status_error.map_or(Ok(()), Err)
    }

    /// Reads what a hop that is not delivered sent of its body (see [`drain`]); a recorded hop
    /// becomes its HAR entry with what was read.
    async fn drain_hop(&self, body: netaccess_core::BodyStream, pending: Option<Box<crate::har::PendingEntry>>) {
        match (pending, &self.manager.har) {
            (Some(mut pending), Some(recorder)) => {
                drain(body, |chunk| pending.body_chunk(chunk)).await;
                pending.finish(recorder);
            }
            _ => drain(body, |_| ()).await,
        }
    }

    /// Whether the redirect handler allows a `UserVerified` redirect (no handler: no).
    async fn redirect_allowed(&self, from: &Url, to: &Url) -> bool {
        match &self.manager.redirect_handler {
            Some(handler) => handler.allow(from, to).await,
            None => false,
        }
    }
}

/// What delivering a response needs once its head is in the reply's state.
struct Delivery {
    body: netaccess_core::BodyStream,
    /// The progress total (`-1` unknown).
    total: i64,
    /// The error the HTTP status stands for, reported after the body.
    status_error: Option<NetworkError>,
}

/// How long a background revalidation may take, head and body, before it is given up (and its
/// connection slot freed).
const BACKGROUND_LIMIT: Duration = Duration::from_secs(60);

/// Sends the revalidation of a stale response served under `stale-while-revalidate`; what
/// comes back is stored (or merged) as for any request, its `Set-Cookie` goes to the jar, and
/// the body is read to its end so the entry is complete. Nobody waits for it: it is bounded by
/// [`BACKGROUND_LIMIT`], and its failures are only logged.
fn revalidate_in_background(
    backend: &Arc<dyn Backend>,
    refresh: Box<cache::Pending>,
    attributes: &RequestAttributes,
    jar: Option<Arc<dyn netaccess_cookie::CookieJar>>,
) {
    let mut request = BackendRequest::new(Operation::Get, refresh.url().clone());
    request.headers = refresh.request_headers().clone();
    request.attributes = attributes.clone();
    let backend = backend.clone();
    tokio::spawn(async move {
        let work = async {
            let url = request.url.clone();
            let response = backend.send(request).await?;
            if let Some(jar) = &jar {
                cookies::save(jar.as_ref(), &url, &response.headers);
            }
            let mut body = refresh.after_network(response).body;
            while let Some(chunk) = body.next().await {
                chunk?;
            }
            Ok::<(), NetworkError>(())
        };
        match tokio::time::timeout(BACKGROUND_LIMIT, work).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::debug!(%error, "a background revalidation failed"),
            Err(_) => tracing::debug!("a background revalidation took too long and was given up"),
        }
    });
}

/// How much of a redirect's body is read so its connection can be reused; past that, or after
/// [`DRAIN_WAIT`], the connection is dropped instead.
const DRAIN_LIMIT: usize = 64 * 1024;
const DRAIN_WAIT: Duration = Duration::from_secs(1);

async fn drain(mut body: netaccess_core::BodyStream, mut seen: impl FnMut(&[u8])) {
    let mut drained = 0;
    while drained <= DRAIN_LIMIT {
        match tokio::time::timeout(DRAIN_WAIT, body.next()).await {
            Ok(Some(Ok(chunk))) => {
                seen(&chunk);
                drained += chunk.len();
            }
            _ => return,
        }
    }
}

/// Runs `future` with a limit on how long it may take; `Duration::ZERO` is no limit.
/// Fails a body of `size` bytes (announced or received so far) above the manager's
/// [`max_body_size`](crate::NetworkAccessManagerBuilder::max_body_size).
fn within_body_limit(limit: Option<u64>, size: u64, url: &str) -> Result<(), NetworkError> {
    match limit {
        Some(limit) if size > limit => Err(NetworkError::new(
            NetworkErrorKind::UnknownContentError,
            url,
            format!("the body is larger than the limit of {limit} bytes (max_body_size, the command's --max-filesize)"),
        )),
        _ => Ok(()),
    }
}

async fn within<F: std::future::Future>(limit: Duration, url: &str, future: F) -> Result<F::Output, NetworkError> {
    within_limit(limit, async { Ok(future.await) }, || {
        NetworkError::new(
            NetworkErrorKind::TimeoutError,
            url,
            format!("no progress for {} ms (the transfer timeout)", limit.as_millis()),
        )
    })
    .await
}
