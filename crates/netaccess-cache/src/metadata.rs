//! [`CacheMetaData`]: what the cache keeps about a stored response, and the RFC 9111 decisions
//! made from it.
//!
//! # Design
//!
//! The freshness and validation rules come from `http-cache-semantics` (a private cache: `private`
//! responses are stored, `s-maxage` is ignored); the stored headers are ours, kept with every
//! value (the library's own copy keeps one value per name, which would lose a second
//! `Set-Cookie`). Hop-by-hop headers, and those the response's `Connection` names, are never
//! stored. Only GET responses are stored, keyed by their URL without password and fragment
//! (Qt's key); a HEAD request may be answered from a stored GET response. 206 and 304 responses
//! are not stored (the 304 refreshes an entry instead).

use std::time::{Duration, SystemTime};

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Uri};
use http_cache_semantics::{BeforeRequest, CacheOptions, CachePolicy};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

/// Headers never stored: those that describe one connection, and the proxy's authentication
/// (RFC 9111 3.1).
pub const NOT_STORED: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authentication-info",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
];

/// Statuses a cache may reuse only with explicit freshness (RFC 9111 3: any final status the
/// cache understands); the semantics library knows fewer, so these are judged as a 200 is.
fn needs_explicit_freshness(status: u16) -> bool {
    (200..600).contains(&status)
        && !matches!(
            status,
            200 | 203 | 204 | 206 | 300 | 301 | 302 | 303 | 304 | 307 | 308 | 404 | 405 | 410 | 414 | 501
        )
}

/// Whether this cache knows the status's semantics (for `must-understand`): the registered
/// final codes of RFC 9110 and common extensions.
fn is_understood(status: u16) -> bool {
    matches!(status, 200..=206 | 300..=305 | 307 | 308 | 400..=418 | 421..=426 | 428 | 429 | 431 | 451 | 500..=505 | 511)
}

/// The headers as the semantics library should read them: directive names in lower case
/// (`NO-CACHE` is `no-cache`), dates parsed strictly as HTTP dates (an invalid `Expires` is in
/// the past, RFC 9111 5.3; an invalid `Date` or `Last-Modified` is absent) and rewritten in the
/// one form the library parses, and `Age` as the number its first value is (else absent).
fn for_policy(headers: &HeaderMap) -> HeaderMap {
    let mut view = headers.clone();
    let directives: Vec<String> = headers
        .get_all(http::header::CACHE_CONTROL)
        .iter()
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split(',')
                .map(|d| match d.split_once('=') {
                    Some((name, value)) => format!("{}={}", name.trim().to_ascii_lowercase(), value.trim()),
                    None => d.trim().to_ascii_lowercase(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    view.remove(http::header::CACHE_CONTROL);
    for value in directives {
        if let Ok(value) = HeaderValue::from_str(&value) {
            view.append(http::header::CACHE_CONTROL, value);
        }
    }
    for name in [http::header::EXPIRES, http::header::DATE, http::header::LAST_MODIFIED] {
        let Some(raw) = headers.get(&name) else { continue };
        let parsed = raw.to_str().ok().and_then(crate::dates::parse_http_date);
        match (parsed, name == http::header::EXPIRES) {
            (Some(time), _) => {
                view.insert(&name, HeaderValue::from_str(&httpdate::fmt_http_date(time)).unwrap_or(raw.clone()));
            }
            (None, true) => {
                view.insert(&name, HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"));
            }
            (None, false) => {
                view.remove(&name);
            }
        }
    }
    if let Some(age) = headers.get(http::header::AGE) {
        // The first value, without parameters; anything but digits (a fraction) is ignored.
        let text = String::from_utf8_lossy(age.as_bytes());
        let first = text.split(',').next().unwrap_or_default().split(';').next().unwrap_or_default().trim();
        let digits = if !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()) { first } else { "" };
        match digits.parse::<u64>() {
            Ok(seconds) => view.insert(http::header::AGE, HeaderValue::from(seconds)),
            Err(_) => view.remove(http::header::AGE),
        };
    }
    view
}

/// The `Cache-Control` directives, one per item, in lower case.
fn directives(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(http::header::CACHE_CONTROL)
        .iter()
        .flat_map(|v| {
            String::from_utf8_lossy(v.as_bytes()).split(',').map(|d| d.trim().to_ascii_lowercase()).collect::<Vec<_>>()
        })
        .filter(|d| !d.is_empty())
        .collect()
}

/// The seconds a directive like `max-age=60` gives, when present and valid.
fn directive_seconds(headers: &HeaderMap, name: &str) -> Option<u64> {
    directives(headers).iter().find_map(|d| d.strip_prefix(name)?.strip_prefix('=')?.trim_matches('"').parse().ok())
}

/// The request headers as `Vary` compares them (RFC 9111 4.1): the lines of one name joined,
/// the list items trimmed; the `Accept` family in lower case, and in sorted order when no item
/// carries a weight (all weigh 1, RFC 9110 12.4.2, so the order says nothing); credentials as
/// their SHA-256.
fn for_vary(headers: &HeaderMap) -> HeaderMap {
    let mut view = HeaderMap::with_capacity(headers.len());
    for name in headers.keys() {
        let mut items: Vec<String> = headers
            .get_all(name)
            .iter()
            .flat_map(|v| {
                String::from_utf8_lossy(v.as_bytes()).split(',').map(|i| i.trim().to_owned()).collect::<Vec<_>>()
            })
            .filter(|i| !i.is_empty())
            .collect();
        if name.as_str().starts_with("accept") {
            items.iter_mut().for_each(|i| *i = i.to_ascii_lowercase().replace(' ', ""));
            if !items.iter().any(|i| i.contains(";q=")) {
                items.sort();
            }
        }
        let mut joined = items.join(", ");
        if SECRET.contains(&name.as_str()) {
            // Kept only as a digest: equal values still match, and no credential reaches the disk.
            joined = Sha256::digest(joined.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        }
        if let Ok(value) = HeaderValue::from_str(&joined) {
            view.insert(name.clone(), value);
        }
    }
    view
}

/// Request headers that carry credentials: the stored request (for `Vary`) keeps their digest.
const SECRET: &[&str] = &["authorization", "proxy-authorization", "cookie"];

fn has_explicit_freshness(headers: &HeaderMap) -> bool {
    headers.contains_key(http::header::EXPIRES)
        || headers.get_all(http::header::CACHE_CONTROL).iter().filter_map(|v| v.to_str().ok()).any(|v| {
            v.split(',').any(|d| {
                let d = d.trim();
                d.starts_with("max-age") || d == "public"
            })
        })
}

fn policy_for(
    url: &Url,
    request_headers: &HeaderMap,
    status: u16,
    response_headers: &HeaderMap,
    at: SystemTime,
) -> CachePolicy {
    let mut view = for_policy(response_headers);
    let explicit = has_explicit_freshness(&view);
    let judged_as = if needs_explicit_freshness(status) && explicit { 200 } else { status };
    if directives(&view).iter().any(|d| d == "must-understand") && is_understood(status) {
        // RFC 9111 5.2.2.3: a cache that understands the status ignores no-store.
        let kept: Vec<String> = directives(&view).into_iter().filter(|d| d != "no-store").collect();
        view.remove(http::header::CACHE_CONTROL);
        if let Ok(value) = HeaderValue::from_str(&kept.join(", ")) {
            view.insert(http::header::CACHE_CONTROL, value);
        }
    }
    let request_view = for_vary(&for_policy(request_headers));
    let request = Exchange { uri: http_uri(url), method: Method::GET, headers: &request_view };
    let head = Head { status: StatusCode::from_u16(judged_as).unwrap_or(StatusCode::OK), headers: &view };
    CachePolicy::new_options(&request, &head, at, options())
}

/// The URL a response is stored under: without password and fragment (Qt's key).
///
/// ```
/// use url::Url;
/// let url = Url::parse("http://user:secret@example.com/a?b#c").unwrap();
/// assert_eq!(netaccess_cache::cache_key(&url).as_str(), "http://user@example.com/a?b");
/// ```
pub fn cache_key(url: &Url) -> Url {
    let mut key = url.clone();
    key.set_fragment(None);
    let _ = key.set_password(None);
    key
}

/// What the cache knows about one stored response (Qt's `QNetworkCacheMetaData`).
///
/// ```
/// use http::HeaderMap;
/// use netaccess_cache::CacheMetaData;
/// use std::time::SystemTime;
/// let url = url::Url::parse("http://example.com/").unwrap();
/// let mut headers = HeaderMap::new();
/// headers.insert("cache-control", "max-age=60".parse().unwrap());
/// let meta = CacheMetaData::new(&url, &HeaderMap::new(), 200, "OK", &headers, SystemTime::now());
/// assert!(meta.is_storable());
/// assert!(meta.time_to_live(SystemTime::now()).as_secs() > 50);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheMetaData {
    /// The URL the response is stored under (see [`cache_key`]).
    pub url: Url,
    /// The stored status code.
    pub status: u16,
    /// The stored reason phrase.
    pub reason: String,
    /// The stored response headers, hop-by-hop headers removed.
    #[serde(with = "http_serde::header_map")]
    pub headers: HeaderMap,
    /// Whether the entry may be written to disk (Qt's `saveToDisk`; the request's save control).
    pub save_to_disk: bool,
    /// When the response arrived.
    pub response_time: SystemTime,
    policy: CachePolicy,
}

/// What a stored response can do for a new request.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum Freshness {
    /// Serve it without asking the origin.
    Fresh,
    /// Ask the origin first, with these headers (the request's plus validators).
    Stale {
        /// The request headers to send, `If-None-Match` / `If-Modified-Since` added when the
        /// stored response has validators.
        revalidation: HeaderMap,
    },
    /// Serve it now, and revalidate in the background: it is stale, but within its
    /// `stale-while-revalidate` window (RFC 5861).
    StaleWhileRevalidate {
        /// The request headers for the background revalidation.
        revalidation: HeaderMap,
    },
    /// The stored response is for another request (another method, or a `Vary` header
    /// differs).
    Mismatch,
}

fn options() -> CacheOptions {
    CacheOptions { shared: false, ..CacheOptions::default() }
}

fn http_uri(url: &Url) -> Uri {
    cache_key(url).as_str().parse().unwrap_or_default()
}

struct Exchange<'a> {
    uri: Uri,
    method: Method,
    headers: &'a HeaderMap,
}

impl http_cache_semantics::RequestLike for Exchange<'_> {
    fn uri(&self) -> Uri {
        self.uri.clone()
    }
    fn is_same_uri(&self, other: &Uri) -> bool {
        &self.uri == other
    }
    fn method(&self) -> &Method {
        &self.method
    }
    fn headers(&self) -> &HeaderMap {
        self.headers
    }
}

struct Head<'a> {
    status: StatusCode,
    headers: &'a HeaderMap,
}

impl http_cache_semantics::ResponseLike for Head<'_> {
    fn status(&self) -> StatusCode {
        self.status
    }
    fn headers(&self) -> &HeaderMap {
        self.headers
    }
}

/// The response headers without hop-by-hop headers and without those `Connection` names.
pub fn storable_headers(headers: &HeaderMap) -> HeaderMap {
    let named: Vec<String> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    let mut stored = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let lower = name.as_str();
        if !NOT_STORED.contains(&lower) && !named.iter().any(|n| n == lower) {
            stored.append(name.clone(), value.clone());
        }
    }
    stored
}

impl CacheMetaData {
    /// The metadata of a GET response from `url`, requested with `request_headers`.
    pub fn new(
        url: &Url,
        request_headers: &HeaderMap,
        status: u16,
        reason: &str,
        response_headers: &HeaderMap,
        response_time: SystemTime,
    ) -> Self {
        let headers = storable_headers(response_headers);
        let policy = policy_for(url, request_headers, status, response_headers, response_time);
        Self {
            url: cache_key(url),
            status,
            reason: reason.to_owned(),
            headers,
            save_to_disk: true,
            response_time,
            policy,
        }
    }

    /// Whether RFC 9111 lets a private cache store this response (and it is not a 206 or 304).
    pub fn is_storable(&self) -> bool {
        !matches!(self.status, 206 | 304) && StatusCode::from_u16(self.status).is_ok() && self.policy.is_storable()
    }

    /// How much longer the response stays fresh (zero once stale).
    pub fn time_to_live(&self, now: SystemTime) -> Duration {
        self.policy.time_to_live(now)
    }

    /// How old the response is now, counting its `Age` when it arrived.
    pub fn age(&self, now: SystemTime) -> Duration {
        self.policy.age(now)
    }

    /// When the response stops being fresh (Qt's `expirationDate`).
    pub fn expiration_date(&self) -> SystemTime {
        self.response_time + self.policy.time_to_live(self.response_time)
    }

    /// Whether the stored response forbids serving it stale (`must-revalidate`, `no-cache`).
    pub fn must_revalidate(&self) -> bool {
        self.headers.get_all(http::header::CACHE_CONTROL).iter().filter_map(|v| v.to_str().ok()).any(|v| {
            v.split(',')
                .map(|d| d.trim().to_ascii_lowercase())
                .any(|d| d == "must-revalidate" || d.starts_with("no-cache"))
        })
    }

    /// What the stored response can do for a new `method` request with `request_headers`.
    pub fn freshness(&self, method: &str, request_headers: &HeaderMap, now: SystemTime) -> Freshness {
        let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
        if method != Method::GET && method != Method::HEAD {
            return Freshness::Mismatch;
        }
        // A HEAD request is judged as the GET it would be: the stored GET answers both.
        let mut request_view = for_vary(&for_policy(request_headers));
        let directives = directives(&self.headers);
        let reload = self::directives(&request_view) == ["max-age=0"];
        if reload && directives.iter().any(|d| d == "immutable") && !self.policy.is_stale(now) {
            // RFC 8246: a fresh immutable response is not revalidated on a reload (max-age=0).
            request_view.remove(http::header::CACHE_CONTROL);
        }
        let request = Exchange { uri: http_uri(&self.url), method: Method::GET, headers: &request_view };
        match self.policy.before_request(&request, now) {
            BeforeRequest::Fresh(_) => Freshness::Fresh,
            BeforeRequest::Stale { request, matches: true } => {
                let lifetime = self.policy.time_to_live(self.response_time) + self.policy.age(self.response_time);
                let staleness = self.policy.age(now).saturating_sub(lifetime);
                let window = directive_seconds(&self.headers, "stale-while-revalidate").map(Duration::from_secs);
                let asks_origin =
                    self::directives(&request_view).iter().any(|d| d.starts_with("no-cache") || d == "max-age=0");
                match window {
                    Some(window) if staleness <= window && !asks_origin && !self.must_revalidate() => {
                        Freshness::StaleWhileRevalidate { revalidation: request.headers }
                    }
                    _ => Freshness::Stale { revalidation: request.headers },
                }
            }
            BeforeRequest::Stale { .. } => Freshness::Mismatch,
        }
    }

    /// Whether the stored response's `Vary` headers match this request's.
    pub fn matches_request(&self, request_headers: &HeaderMap) -> bool {
        !matches!(self.freshness("GET", request_headers, self.response_time), Freshness::Mismatch)
    }

    /// The headers to serve: the stored ones with `Age` set to the time the response has spent
    /// in caches (RFC 9111 5.1).
    pub fn served_headers(&self, now: SystemTime) -> HeaderMap {
        let mut headers = self.headers.clone();
        headers.insert(http::header::AGE, HeaderValue::from(self.age(now).as_secs()));
        headers
    }

    /// The metadata after a 304 answered a revalidation: the 304's headers replace the stored
    /// ones of the same name (not those describing the body), status and body stay. `None` when
    /// the 304's validators select another response (RFC 9111 4.3.4): a strong `ETag` that is
    /// not the stored one, or a `Last-Modified` that differs. A 304 without validators answers
    /// the validators this cache sent, which came from the one response it stores for the URL.
    pub fn revalidated(&self, request_headers: &HeaderMap, not_modified: &HeaderMap, now: SystemTime) -> Option<Self> {
        let text = |headers: &HeaderMap, name: http::header::HeaderName| {
            headers.get(name).and_then(|v| v.to_str().ok()).map(|v| v.trim().to_owned())
        };
        let weak = |tag: &str| tag.trim_start_matches("W/").to_owned();
        let (old_tag, new_tag) = (text(&self.headers, http::header::ETAG), text(not_modified, http::header::ETAG));
        let selected = match (&old_tag, &new_tag) {
            (Some(old), Some(new)) => weak(old) == weak(new),
            (None, Some(_)) => false,
            (_, None) => match (
                text(&self.headers, http::header::LAST_MODIFIED),
                text(not_modified, http::header::LAST_MODIFIED),
            ) {
                (Some(old), Some(new)) => old == new,
                _ => true,
            },
        };
        if !selected {
            return None;
        }
        let mut headers = self.headers.clone();
        let fresh = storable_headers(not_modified);
        let body_headers = ["content-length", "content-encoding", "transfer-encoding", "content-range"];
        for name in fresh.keys() {
            if body_headers.contains(&name.as_str()) {
                continue;
            }
            headers.remove(name);
            for value in fresh.get_all(name) {
                headers.append(HeaderName::clone(name), value.clone());
            }
        }
        let policy = policy_for(&self.url, request_headers, self.status, &headers, now);
        Some(Self { headers, response_time: now, policy, ..self.clone() })
    }
}
