//! The cache glue of the request driver: Qt's load controls over a [`NetworkCache`].
//!
//! # Design
//!
//! Each http or https hop asks [`lookup`] before it is sent. With
//! [`CacheLoadControl::PreferNetwork`] (the default) a fresh stored response is served as is, a
//! stale one is revalidated (`If-None-Match`, `If-Modified-Since`) and a 304 merges its headers
//! into the stored ones and serves the stored body; `PreferCache` serves any stored response that
//! matches the request's `Vary` headers, however old; `AlwaysCache` serves only from the cache
//! (a miss is `ContentNotFoundError`, with or without a cache); `AlwaysNetwork` never reads the
//! cache and asks the origin with `Cache-Control: no-cache`. Replies served from the cache carry
//! `source_is_from_cache` and never feed the cookie jar (RFC 9111 keeps their `Set-Cookie`, the
//! jar already saw it). Responses are stored while they stream (see [`Fill`]) when RFC 9111
//! allows it and the request's save control is on; a `Range` request is sliced from a fresh
//! complete stored response, and otherwise goes to the origin and is not stored. A successful
//! unsafe request (not GET, HEAD, OPTIONS, TRACE) removes the stored response for its URL and for
//! its same-origin `Location` and `Content-Location` (RFC 9111 4.4). Qt serves a stored response
//! when revalidation meets a 5xx; RFC 9111 allows that only when asked (`stale-if-error`), so the
//! 5xx is passed on.

use std::io::Read;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use futures::Stream;
use http::header::{HeaderMap, HeaderValue};
use netaccess_cache::range::single_range;
pub(crate) use netaccess_cache::NetworkCache;
use netaccess_cache::{CacheMetaData, CacheWriter, CachedBody, Freshness};
use netaccess_core::{
    BackendResponse, BodyStream, CacheLoadControl, NetworkError, NetworkErrorKind, Operation, RequestAttributes,
};
use url::Url;

/// What the cache does for one hop.
pub(crate) enum Lookup {
    /// The cache takes no part.
    Bypass,
    /// Served from the cache; nothing is sent.
    Serve(BackendResponse),
    /// Sent to the origin; what comes back may be stored, merge into `stored`, or invalidate.
    Network(Box<Pending>),
    /// Served from the cache although stale (within `stale-while-revalidate`); the
    /// revalidation goes to the origin in the background.
    ServeStale(BackendResponse, Box<Pending>),
}

/// A hop on its way to the origin, with what the cache needs to handle its response.
pub(crate) struct Pending {
    cache: Arc<dyn NetworkCache>,
    url: Url,
    operation: Operation,
    request_headers: HeaderMap,
    /// The stored response being revalidated.
    stored: Option<CacheMetaData>,
    /// Whether the response may be stored (the save control is on, no `Range`).
    store: bool,
}

fn not_in_cache(url: &Url) -> NetworkError {
    NetworkError::new(
        NetworkErrorKind::ContentNotFoundError,
        url.as_str(),
        "the cache holds no response for this URL, and the request allows only the cache (AlwaysCache)",
    )
}

/// Decides how the cache takes part in a hop; may add validators or `no-cache` to `headers`.
pub(crate) fn lookup(
    cache: Option<&Arc<dyn NetworkCache>>,
    operation: &Operation,
    url: &Url,
    headers: &mut HeaderMap,
    attributes: &RequestAttributes,
) -> Result<Lookup, NetworkError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Ok(Lookup::Bypass);
    }
    let control = attributes.cache_load_control;
    let Some(cache) = cache else {
        return if control == CacheLoadControl::AlwaysCache { Err(not_in_cache(url)) } else { Ok(Lookup::Bypass) };
    };
    let reads = matches!(operation, Operation::Get | Operation::Head);
    let ranged = headers.contains_key(http::header::RANGE);
    let mut pending = Box::new(Pending {
        cache: cache.clone(),
        url: url.clone(),
        operation: operation.clone(),
        request_headers: HeaderMap::new(),
        stored: None,
        store: attributes.cache_save_control && !ranged,
    });
    let now = SystemTime::now();
    if reads {
        match control {
            CacheLoadControl::AlwaysNetwork => {
                headers.insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                headers.insert(http::header::PRAGMA, HeaderValue::from_static("no-cache"));
            }
            CacheLoadControl::AlwaysCache | CacheLoadControl::PreferCache => {
                let stored = cache.data(url).filter(|body| body.metadata.matches_request(headers));
                match stored.and_then(|body| serve(body, operation, headers, now)) {
                    Some(response) => return Ok(Lookup::Serve(response)),
                    None if control == CacheLoadControl::AlwaysCache => return Err(not_in_cache(url)),
                    None => {}
                }
            }
            _ => match cache.metadata(url).map(|meta| (meta.freshness(operation.verb(), headers, now), meta)) {
                Some((Freshness::Fresh, _)) => {
                    if let Some(response) = cache.data(url).and_then(|body| serve(body, operation, headers, now)) {
                        return Ok(Lookup::Serve(response));
                    }
                }
                Some((Freshness::StaleWhileRevalidate { revalidation }, meta)) if !ranged => {
                    if let Some(response) = cache.data(url).and_then(|body| serve(body, operation, headers, now)) {
                        let mut refresh = headers.clone();
                        add_validators(&mut refresh, &revalidation);
                        pending.request_headers = refresh;
                        pending.stored = Some(meta);
                        pending.operation = Operation::Get;
                        return Ok(Lookup::ServeStale(response, pending));
                    }
                }
                Some((Freshness::Stale { revalidation }, meta)) if !ranged => {
                    add_validators(headers, &revalidation);
                    pending.stored = Some(meta);
                }
                _ => {}
            },
        }
    }
    pending.request_headers = headers.clone();
    Ok(Lookup::Network(pending))
}

fn add_validators(headers: &mut HeaderMap, revalidation: &HeaderMap) {
    for name in [http::header::IF_NONE_MATCH, http::header::IF_MODIFIED_SINCE] {
        if let Some(value) = revalidation.get(&name) {
            headers.insert(name, value.clone());
        }
    }
}

impl Pending {
    /// The headers the request goes to the origin with.
    pub(crate) fn request_headers(&self) -> &HeaderMap {
        &self.request_headers
    }

    /// The URL the request goes to.
    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    /// Handles the origin's response: a 304 for a revalidation is answered from the cache, a
    /// storable response is stored as it streams, an unsafe method invalidates.
    pub(crate) fn after_network(self, mut response: BackendResponse) -> BackendResponse {
        let status = response.attributes.http_status_code.unwrap_or(0);
        let now = SystemTime::now();
        if let (304, Some(stored)) = (status, &self.stored) {
            if let Some(merged) = stored.revalidated(&self.request_headers, &response.headers, now) {
                // The body is opened (and checked) once, before the update replaces the file: the
                // open file keeps the version it read, and the reply gets the merged metadata.
                let body = self.cache.data(&self.url);
                self.cache.update_metadata(&merged);
                let served = body.and_then(|mut body| {
                    body.metadata = merged;
                    serve(body, &self.operation, &HeaderMap::new(), now)
                });
                if let Some(served) = served {
                    return served;
                }
            }
            return response;
        }
        let safe = matches!(self.operation.verb().to_ascii_uppercase().as_str(), "GET" | "HEAD" | "OPTIONS" | "TRACE");
        if !safe && (200..400).contains(&status) {
            self.invalidate(&response.headers);
        }
        let post_for_this_url =
            self.operation == Operation::Post && status == 200 && self.names_itself(&response.headers);
        if !self.store || !(self.operation == Operation::Get || post_for_this_url) {
            return response;
        }
        let reason = response.attributes.http_reason_phrase.clone().unwrap_or_default();
        let metadata = CacheMetaData::new(&self.url, &self.request_headers, status, &reason, &response.headers, now);
        if !metadata.is_storable() {
            return response;
        }
        if let Some(writer) = self.cache.prepare(&metadata) {
            let body = std::mem::replace(&mut response.body, Box::pin(futures::stream::empty()));
            response.body = Box::pin(Fill { body, writer: Some(writer) });
        }
        response
    }

    /// Whether the response's `Content-Location` is the request's URL: then a POST response
    /// is a representation of that URL, reusable for a GET (RFC 9110 9.3.3).
    fn names_itself(&self, headers: &HeaderMap) -> bool {
        let location = headers.get(http::header::CONTENT_LOCATION).and_then(|v| v.to_str().ok());
        location
            .and_then(|l| self.url.join(l).ok())
            .is_some_and(|l| netaccess_cache::cache_key(&l) == netaccess_cache::cache_key(&self.url))
    }

    fn invalidate(&self, headers: &HeaderMap) {
        self.cache.remove(&self.url);
        for name in [http::header::LOCATION, http::header::CONTENT_LOCATION] {
            let target = headers.get(&name).and_then(|v| v.to_str().ok()).and_then(|v| self.url.join(v).ok());
            if let Some(target) = target.filter(|t| t.origin() == self.url.origin()) {
                self.cache.remove(&target);
            }
        }
    }
}

/// A reply from a stored response: its status and headers (`Age` brought up to date), its body
/// read in 64 KiB pieces, or the slice a `Range` request asks for. `None` when the range cannot
/// be sliced from it.
fn serve(
    body: CachedBody,
    operation: &Operation,
    request_headers: &HeaderMap,
    now: SystemTime,
) -> Option<BackendResponse> {
    let CachedBody { metadata, len, mut reader, .. } = body;
    let mut headers = metadata.served_headers(now);
    let mut status = metadata.status;
    let mut reason = metadata.reason.clone();
    let mut length = len;
    if let Some(range) = request_headers.get(http::header::RANGE).and_then(|v| v.to_str().ok()) {
        let (first, last) = single_range(range, len).filter(|_| status == 200)?;
        std::io::copy(&mut (&mut reader).take(first), &mut std::io::sink()).ok()?;
        length = last - first + 1;
        reader = Box::new(reader.take(length));
        status = 206;
        reason = "Partial Content".into();
        headers
            .insert(http::header::CONTENT_RANGE, HeaderValue::from_str(&format!("bytes {first}-{last}/{len}")).ok()?);
        headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    let mut response = if *operation == Operation::Head {
        BackendResponse::empty()
    } else {
        BackendResponse::new(Box::pin(StoredBody { reader: Some(reader), url: metadata.url.clone() }), Some(length))
    };
    response.headers = headers;
    response.attributes.http_status_code = Some(status);
    response.attributes.http_reason_phrase = Some(reason);
    response.attributes.http_version = Some(http::Version::HTTP_11);
    response.attributes.source_is_from_cache = true;
    Some(response)
}

/// A stored body as a stream of chunks.
struct StoredBody {
    reader: Option<Box<dyn Read + Send>>,
    url: Url,
}

impl Stream for StoredBody {
    type Item = Result<Bytes, NetworkError>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(reader) = self.reader.as_mut() else { return Poll::Ready(None) };
        let mut buffer = vec![0u8; 64 * 1024];
        match reader.read(&mut buffer) {
            Ok(0) => {
                self.reader = None;
                Poll::Ready(None)
            }
            Ok(read) => {
                buffer.truncate(read);
                Poll::Ready(Some(Ok(Bytes::from(buffer))))
            }
            Err(error) => {
                self.reader = None;
                let message = format!("reading the cached body failed: {error}");
                Poll::Ready(Some(Err(NetworkError::new(
                    NetworkErrorKind::UnknownContentError,
                    self.url.as_str(),
                    message,
                ))))
            }
        }
    }
}

/// A body on its way to the reader that is also written into the cache; the entry is committed
/// when the body ends cleanly, and given up on an error or when the reply is dropped first.
struct Fill {
    body: BodyStream,
    writer: Option<Box<dyn CacheWriter>>,
}

impl Stream for Fill {
    type Item = Result<Bytes, NetworkError>;

    fn poll_next(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = std::task::ready!(self.body.as_mut().poll_next(context));
        match &item {
            Some(Ok(chunk)) => {
                if self.writer.as_mut().is_some_and(|writer| writer.write(chunk).is_err()) {
                    self.writer = None;
                }
            }
            Some(Err(_)) => self.writer = None,
            None => {
                if let Some(writer) = self.writer.take() {
                    if let Err(error) = writer.commit() {
                        tracing::debug!(%error, "a response could not be stored in the cache");
                    }
                }
            }
        }
        Poll::Ready(item)
    }
}
