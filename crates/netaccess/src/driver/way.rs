//! The request's way, hop by hop, in named steps: [`Transfer::drive`] is a short loop over them.
//!
//! # Design
//!
//! A hop is one request to a backend (the first, a retry, an authentication round, a redirect).
//! Its steps, in order, each a method below, called by `drive`'s loop:
//!
//! 1. **choose the backend**: by the URL's scheme (`backend_for`), again after each redirect;
//! 2. **prepare the hop** (`prepare_hop`): the backend request, the cookies a cache lookup needs,
//!    the send-time decisions ([`AtSend`]) it carries;
//! 3. **the cache, else the network** (`fetch`): a stored response, a stale one revalidated in
//!    the background, or the network: **the request's turn** (`take_turn`: its place in its
//!    host's line) then the send (the send-time decisions made by the backend once the
//!    request holds a connection, or just before), and on a failure **the retry decision**
//!    (`after_failure`);
//! 4. **observe the head** (`observe_head`): HSTS learns, the HAR recorder starts the entry;
//! 5. **the hop's verdict** (`verdict`, without waiting): an error status retried
//!    (`status_retry`), else `hop::after_head`'s decision (a value, unit-tested there):
//!    deliver, answer an authentication challenge, or follow the redirect; a question for
//!    the retry policy or a handler is answered by `decide` (boxed: rare);
//! 6. **the next hop** (`next_hop`), once a hop that is not delivered was drained: the body
//!    again, the answer to send, or **the redirect followed** (`follow`).
//!
//! What stays the same for every hop is [`Settings`], read once; what one hop leaves to the
//! next is [`Way`]. The backend request and the response stay where they are made (in
//! [`Hop`], in the loop): passed by value from step to step, each would be copied several
//! times per request (callgrind: 27 `memcpy` calls and about 2,100 instructions per request
//! when they were). The rare paths (a retry's wait, authentication, a redirect's verification)
//! are boxed, so a plain request's state machine does not carry their futures. Delivering the
//! last response (`publish_head`, `deliver`) is shared with the replies interceptors make.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use netaccess_core::order::{Place, Running};
use netaccess_core::{
    Backend, BackendRequest, BackendResponse, Body, EventSink, KnownHeaders, LoadControl, NetworkError,
    NetworkErrorKind, Operation, RedirectPolicy, RequestAttributes, RetryPolicy, RetryTrigger, SendTime,
    DEFAULT_MAX_REDIRECTS,
};
use url::Url;

use super::{revalidate_in_background, Transfer};
use crate::at_send::AtSend;
use crate::cache::{self, NetworkCache};
use crate::har::PendingEntry;
use crate::{auth, cookies, hop, redirect};

/// What stays the same for every hop of one transfer.
pub(super) struct Settings {
    pub(super) attributes: RequestAttributes,
    /// The transfer timeout (zero: none).
    pub(super) timeout: Duration,
    policy: RedirectPolicy,
    max_hops: u32,
    retry: RetryPolicy,
    /// Whether credentials known from earlier requests may be used.
    reuse_credentials: bool,
    /// Whether the manager records HAR.
    recording: bool,
    jar: Arc<dyn netaccess_cookie::CookieJar>,
    cache: Option<Arc<dyn NetworkCache>>,
}

/// What one hop leaves to the next.
pub(super) struct Way<'t> {
    /// Borrowed from the request until a redirect gives the next hop its own.
    pub(super) url: Cow<'t, Url>,
    backend: Arc<dyn Backend>,
    operation: Operation,
    headers: http::HeaderMap,
    body: Body,
    hops: u32,
    auth: auth::Rounds<'t>,
    /// The answer to a 401, for the next hop's send time.
    answer: Option<auth::Answer>,
    /// The rank the request was issued with, kept by every later hop.
    sequence: Option<u64>,
    pub(super) retries: u32,
    /// When the request started running: its timings count from here.
    pub(super) started_at: Instant,
    place: Option<Place>,
    /// Counts the request against its line's start limit until the transfer ends.
    pub(super) running: Option<Running>,
}

impl Way<'_> {
    /// The request's place in its host's line, if it still holds it.
    pub(super) fn take_place(&mut self) -> Option<Place> {
        self.place.take()
    }
}

/// One hop as prepared: the backend request until it is sent, and what the steps share.
pub(super) struct Hop {
    request: Option<BackendRequest>,
    at_send: Arc<AtSend>,
    /// A copy of the body for another try, when it can be replayed.
    pub(super) replay: Option<Body>,
    body_size: Option<u64>,
    /// When it started (wall clock and monotonic), when recording HAR.
    started: Option<(SystemTime, Instant)>,
    is_http: bool,
    save_cookies: bool,
}

/// A redirect to follow, as the hop's verdict found it.
pub(super) struct Redirect {
    next: Url,
    operation: Operation,
    /// Whether the next hop sends the body again (307, 308).
    keeps_body: bool,
    status: u16,
}

/// What the hop's verdict leaves the loop to do. The response stays where it is (in the loop):
/// moving it through the steps would copy its 650 bytes several times per request.
pub(super) enum Verdict {
    /// Deliver the response: the request's last hop.
    Deliver,
    /// Drain it and send the hop again (an error status the retry policy retries).
    Retry,
    /// Drain it and send the hop again with this answer to its challenge.
    Authenticate(auth::Answer),
    /// Drain it and follow the redirect.
    Follow(Redirect),
    /// Someone must be asked first ([`Transfer::decide`]).
    Ask(Question),
}

/// What a verdict must ask before it is known.
pub(super) enum Question {
    /// Whether the retry policy and the budget allow another try of an error status (and its
    /// delay).
    Retry,
    /// Which credentials answer the challenge.
    Authenticate,
    /// Whether the redirect handler allows a `UserVerified` redirect (to the given location).
    MayFollow(Redirect, String),
}

impl Transfer {
    /// The settings every hop shares: the request's attributes with the manager's defaults, the
    /// jar and the cache as they are now.
    #[inline(always)]
    pub(super) fn settings(&self) -> Settings {
        let attributes = self.attributes();
        Settings {
            timeout: attributes.transfer_timeout.unwrap_or(Duration::ZERO),
            policy: attributes.redirect_policy.unwrap_or_default(),
            max_hops: attributes.max_redirects.unwrap_or(DEFAULT_MAX_REDIRECTS),
            retry: attributes.retry.clone().unwrap_or_default(),
            reuse_credentials: attributes.authentication_reuse == LoadControl::Automatic,
            recording: self.manager.har.is_some(),
            jar: self.manager.cookie_jar.read().unwrap_or_else(|e| e.into_inner()).clone(),
            cache: self.manager.cache.read().unwrap_or_else(|e| e.into_inner()).clone(),
            attributes,
        }
    }

    /// The way's start: the first URL and its backend (step 1: the one chosen when the request
    /// was issued), the request's own method, headers and body.
    #[inline(always)]
    pub(super) fn first_hop<'t>(
        &'t self,
        settings: &Settings,
        backend: Option<Arc<dyn Backend>>,
        body: Body,
        place: Option<Place>,
        running: Option<Running>,
    ) -> Result<Way<'t>, NetworkError> {
        let (url, backend) = self.backend_for(backend)?;
        let auth =
            auth::Rounds::new(&self.manager.auth, self.manager.auth_handler.as_ref(), settings.reuse_credentials, url);
        Ok(Way {
            url: Cow::Borrowed(url),
            backend,
            operation: self.operation.clone(),
            headers: self.request.headers().clone(),
            body,
            hops: 0,
            auth,
            answer: None,
            sequence: None,
            retries: 0,
            started_at: Instant::now(),
            place,
            running,
        })
    }

    /// Step 2: the backend request for this hop and the decisions it carries to send time.
    #[inline(always)]
    pub(super) fn prepare_hop(&self, settings: &Settings, way: &mut Way<'_>) -> Hop {
        let started = settings.recording.then(|| (SystemTime::now(), Instant::now()));
        let body = std::mem::take(&mut way.body);
        let (body_size, replay, in_memory) = (body.len(), body.try_clone(), body.in_memory());
        let mut request = BackendRequest::new(way.operation.clone(), way.url.clone().into_owned())
            .with_body(body)
            .with_events(EventSink::new(self.events.clone()));
        request.headers = way.headers.clone();
        request.names_as_written = self.request.names_as_written().to_vec();
        let attributes = &settings.attributes;
        let is_http = cookies::applies(&way.url);
        let load_cookies = is_http && attributes.cookie_load_control == LoadControl::Automatic;
        let save_cookies = is_http && attributes.cookie_save_control == LoadControl::Automatic;
        if load_cookies && settings.cache.is_some() {
            // The cache matches `Vary: Cookie` against the jar as it is now; what is sent is
            // decided again at send time.
            cookies::load(settings.jar.as_ref(), &way.url, &mut request.headers);
        }
        let at_send = Arc::new(AtSend {
            jar: settings.jar.clone(),
            load_cookies,
            save_cookies,
            caller_cookie: way.headers.get(http::header::COOKIE).cloned(),
            auth: self.manager.auth.clone(),
            preemptive: is_http && settings.reuse_credentials,
            caller_authorization: request.headers.contains_key(http::header::AUTHORIZATION),
            answer: Mutex::new(way.answer.take()),
            body: in_memory,
            sent: settings.recording.then(|| Mutex::new(None)),
        });
        request.attributes = attributes.clone();
        Hop { request: Some(request), at_send, replay, body_size, started, is_http, save_cookies }
    }

    /// Step 3: the cache's response, else the network's, put `into` the loop's slot (where it
    /// stays: a return value would be copied twice more); left empty when the attempt failed
    /// and will be tried again (its body is back in the way).
    pub(super) async fn fetch(
        &self,
        settings: &Settings,
        way: &mut Way<'_>,
        hop: &mut Hop,
        into: &mut Option<BackendResponse>,
    ) -> Result<(), NetworkError> {
        let attributes = &settings.attributes;
        let Some(request) = hop.request.as_mut() else { return Err(sent_twice(&way.url)) };
        let lookup =
            cache::lookup(settings.cache.as_ref(), &way.operation, &way.url, &mut request.headers, attributes)?;
        let lookup = match lookup {
            cache::Lookup::Serve(stored) => {
                *into = Some(stored);
                return Ok(());
            }
            cache::Lookup::ServeStale(stored, refresh) => {
                let jar = hop.save_cookies.then(|| settings.jar.clone());
                revalidate_in_background(&way.backend, refresh, attributes, jar);
                *into = Some(stored);
                return Ok(());
            }
            lookup => lookup,
        };
        let place = self.take_turn(way).await;
        // The send-time decisions: made by the backend once the request holds its connection,
        // or here, just before, for a backend with no queue of ours (the request then leaves
        // its line as it starts, so a long setup such as an FTP login holds nobody up).
        let Some(mut request) = hop.request.take() else { return Err(sent_twice(&way.url)) };
        let sent = if way.backend.decides_at_send_time() {
            request.place = place;
            request.send_time = Some(hop.at_send.clone());
            way.backend.send(request).await
        } else {
            drop(place);
            hop.at_send.before_send(&way.url, way.operation.verb(), &mut request.headers);
            let sent = way.backend.send(request).await;
            if let Ok(response) = &sent {
                hop.at_send.on_response_head(&way.url, &response.headers);
            }
            sent
        };
        let response = match sent {
            Ok(response) => response,
            Err(error) => return self.after_failure(settings, way, hop, error).await,
        };
        *into = Some(match lookup {
            cache::Lookup::Network(pending) => pending.after_network(response),
            _ => response,
        });
        Ok(())
    }

    /// The request's turn at the network. The first hop goes once every request issued earlier
    /// to its host is queued: its place starts here unless `run` started it (a request the
    /// cache may answer starts only now), and its timings count from here. A later hop (a retry
    /// after a 401, a redirect) keeps the rank it was issued with.
    async fn take_turn(&self, way: &mut Way<'_>) -> Option<Place> {
        match (way.place.take(), way.sequence) {
            (Some(place), _) => {
                // An already started place gets a guard that counts nothing; the one from
                // `run` is kept.
                let (place, started) = place.start().await;
                if way.running.is_none() {
                    way.started_at = Instant::now();
                }
                way.running.get_or_insert(started);
                let place = place.wait_turn().await;
                way.sequence = Some(place.sequence());
                Some(place)
            }
            (None, Some(sequence)) => Some(Place::detached(sequence)),
            (None, None) => None,
        }
    }

    /// After a failed attempt: `Ok` when the retry policy and the budget allow another (after
    /// its delay; the body is back in the way), else the error, with the retries counted.
    async fn after_failure(
        &self,
        settings: &Settings,
        way: &mut Way<'_>,
        hop: &mut Hop,
        error: NetworkError,
    ) -> Result<(), NetworkError> {
        let trigger = RetryTrigger::Failure(error.kind());
        if let Some(again) = hop.replay.take().filter(|_| settings.retry.max_retries > 0) {
            let retrying = self.may_retry(&settings.retry, &mut way.retries, &way.operation, trigger, way.started_at);
            if Box::pin(retrying).await {
                way.body = again;
                return Ok(());
            }
        }
        if way.retries > 0 {
            // The count is the caller's to see on a failed reply too.
            self.shared.state().attributes.get_or_insert_with(Box::default).retries = way.retries;
        }
        Err(error)
    }

    /// Step 4: HSTS learns from a network head of http(s); the HAR recorder, if any, starts the
    /// hop's entry with the headers as sent.
    #[inline(always)]
    pub(super) fn observe_head(
        &self,
        way: &Way<'_>,
        hop: &Hop,
        response: &BackendResponse,
    ) -> Option<Box<PendingEntry>> {
        if !hop.is_http {
            return None;
        }
        if !response.attributes.source_is_from_cache {
            let trusted = response.attributes.connection_encrypted && response.attributes.ssl_errors.is_empty();
            self.manager.hsts.observe(&way.url, &response.headers, trusted);
        }
        let (recorder, started) = (self.manager.har.as_ref()?, hop.started?);
        let sent = hop.at_send.sent.as_ref().and_then(|s| s.lock().unwrap_or_else(|e| e.into_inner()).take());
        let facts = crate::har::HopFacts {
            started,
            method: way.operation.verb(),
            url: &way.url,
            request_headers: sent.as_ref().unwrap_or(&way.headers),
            request_body: hop.at_send.body.clone(),
            request_body_size: hop.body_size,
            response_headers: &response.headers,
            attributes: &response.attributes,
            milestones: &response.milestones,
        };
        Some(Box::new(PendingEntry::new(recorder, &facts)))
    }

    /// Step 5: what the head means for the request, decided without waiting when it can be
    /// (the common case: deliver); a question for someone (the retry policy's delay, the
    /// authentication handler, the redirect handler) is left to [`decide`](Self::decide).
    /// Only a delivered redirect's target changes the response. `consider_retry`: whether an
    /// error status may still be retried.
    #[inline(always)]
    pub(super) fn verdict(
        &self,
        settings: &Settings,
        way: &Way<'_>,
        hop: &Hop,
        response: &mut BackendResponse,
        consider_retry: bool,
    ) -> Result<Verdict, NetworkError> {
        let status = response.attributes.http_status_code.unwrap_or(0);
        if consider_retry && hop.replay.is_some() && status_retry(&settings.retry, status, &response.headers).is_some()
        {
            return Ok(Verdict::Ask(Question::Retry));
        }
        let standing = hop::Standing {
            url: &way.url,
            operation: &way.operation,
            is_http: hop.is_http,
            policy: settings.policy,
            hops: way.hops,
            max_hops: settings.max_hops,
            hsts: Some(&self.manager.hsts),
        };
        Ok(match hop::after_head(&standing, status, response.headers.location())? {
            hop::Next::Deliver => Verdict::Deliver,
            hop::Next::DeliverRedirect { location } => {
                response.attributes.redirection_target = Some(location);
                Verdict::Deliver
            }
            hop::Next::Authenticate => Verdict::Ask(Question::Authenticate),
            hop::Next::Follow { url: next, operation, keeps_body, location, verify } => {
                let to = Redirect { next, operation, keeps_body, status };
                match verify {
                    true => Verdict::Ask(Question::MayFollow(to, location)),
                    false => Verdict::Follow(to),
                }
            }
        })
    }

    /// Answers the verdict's question (a rare path: boxed by the caller, so a plain request's
    /// state machine does not carry it).
    pub(super) async fn decide(
        &self,
        settings: &Settings,
        way: &mut Way<'_>,
        hop: &Hop,
        response: &mut BackendResponse,
        mut verdict: Verdict,
    ) -> Result<Verdict, NetworkError> {
        loop {
            let Verdict::Ask(question) = verdict else { return Ok(verdict) };
            verdict = match question {
                Question::Retry => {
                    let status = response.attributes.http_status_code.unwrap_or(0);
                    let trigger = status_retry(&settings.retry, status, &response.headers);
                    let started_at = way.started_at;
                    let retrying = match trigger {
                        Some(trigger) => {
                            self.may_retry(&settings.retry, &mut way.retries, &way.operation, trigger, started_at).await
                        }
                        None => false,
                    };
                    match retrying {
                        true => Verdict::Retry,
                        false => self.verdict(settings, way, hop, response, false)?,
                    }
                }
                Question::Authenticate => match way.auth.answer(&way.url, &response.headers).await {
                    Some(answered) => Verdict::Authenticate(answered),
                    None => Verdict::Deliver,
                },
                Question::MayFollow(to, location) => {
                    if self.redirect_allowed(&way.url, &to.next).await {
                        Verdict::Follow(to)
                    } else {
                        response.attributes.redirection_target = Some(location);
                        Verdict::Deliver
                    }
                }
            };
        }
    }

    /// After a hop that is not delivered was drained: the next hop's body (the replayed one)
    /// and what the verdict asked for (the answer to send, the redirect to follow).
    pub(super) async fn next_hop<'t>(
        &'t self,
        settings: &Settings,
        way: &mut Way<'t>,
        replay: Option<Body>,
        verdict: Verdict,
    ) -> Result<(), NetworkError> {
        match verdict {
            Verdict::Deliver | Verdict::Ask(_) => {}
            Verdict::Retry => way.body = replay.unwrap_or_default(),
            Verdict::Authenticate(answered) => {
                let why = "authentication needs the request body again, and it cannot be replayed";
                way.body = replay.ok_or_else(|| resend_error(&way.url, why.to_owned()))?;
                way.answer = Some(answered);
            }
            Verdict::Follow(to) => Box::pin(self.follow(settings, way, to, replay)).await?,
        }
        Ok(())
    }

    /// Follows a redirect: the next hop's method, body (the replayed one when the redirect keeps
    /// it) and headers, its own authentication rounds and backend, and `Redirected` to the
    /// caller.
    async fn follow<'t>(
        &'t self,
        settings: &Settings,
        way: &mut Way<'t>,
        to: Redirect,
        replay: Option<Body>,
    ) -> Result<(), NetworkError> {
        let Redirect { next, operation, keeps_body, status } = to;
        let body = match keeps_body {
            true => replay.ok_or_else(|| {
                let why = format!("the {status} redirect needs the request body again, and it cannot be replayed");
                resend_error(&way.url, why)
            })?,
            false => Body::empty(),
        };
        redirect::next_headers(&mut way.headers, keeps_body, &way.url, &next);
        let handler = self.manager.auth_handler.as_ref();
        way.auth = auth::Rounds::new(&self.manager.auth, handler, settings.reuse_credentials, &next);
        way.hops += 1;
        way.operation = operation;
        way.body = body;
        self.shared.state().redirects.push(next.clone());
        self.emit(netaccess_core::ReplyEvent::Redirected(next.clone())).await;
        way.backend = self.backend_for_url(&next)?;
        way.url = Cow::Owned(next);
        Ok(())
    }
}

/// An error status that may be retried before anything of it reaches the caller (401 and 407
/// are authentication's to answer), as the retry policy's trigger.
fn status_retry<'r>(retry: &RetryPolicy, status: u16, headers: &'r http::HeaderMap) -> Option<RetryTrigger<'r>> {
    if retry.max_retries == 0 || status < 400 || status == 401 || status == 407 {
        return None;
    }
    let retry_after = headers.get(http::header::RETRY_AFTER).and_then(|v| v.to_str().ok());
    Some(RetryTrigger::Status { status, retry_after })
}

/// A hop's request was asked for after it was sent: a bug of this module, reported rather
/// than a panic.
fn sent_twice(url: &Url) -> NetworkError {
    NetworkError::new(NetworkErrorKind::UnknownNetworkError, url.as_str(), "internal: the hop was already sent")
}

fn resend_error(url: &Url, why: String) -> NetworkError {
    NetworkError::new(NetworkErrorKind::ContentReSendError, url.as_str(), why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_retries: u32) -> RetryPolicy {
        let mut policy = RetryPolicy::default();
        policy.max_retries = max_retries;
        policy
    }

    #[test]
    fn only_error_statuses_other_than_authentication_are_retried() {
        let headers = http::HeaderMap::new();
        for status in [200, 204, 301, 304, 399, 401, 407] {
            assert!(status_retry(&policy(3), status, &headers).is_none(), "{status}");
        }
        for status in [400, 404, 429, 500, 503] {
            let trigger = status_retry(&policy(3), status, &headers);
            assert!(matches!(trigger, Some(RetryTrigger::Status { status: s, retry_after: None }) if s == status));
        }
    }

    #[test]
    fn no_retries_allowed_means_no_trigger_and_retry_after_is_passed_on() {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("7"));
        assert!(status_retry(&policy(0), 503, &headers).is_none());
        let trigger = status_retry(&policy(1), 503, &headers);
        assert!(matches!(trigger, Some(RetryTrigger::Status { status: 503, retry_after: Some("7") })));
    }
}
