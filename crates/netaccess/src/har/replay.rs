//! [`HarReplay`]: a backend that answers requests from a HAR file.
//!
//! # Design
//!
//! A request matches an entry with the same method (any case) and URL (compared parsed, so
//! `HTTP://Example.com:80/a` is `http://example.com/a`; a password in either is ignored, as a
//! record hides it) and, when the entry has a `postData.text`, the same body; a value the record
//! redacted (a query parameter, a form field, a JSON member) matches any value. The first unused
//! matching entry answers and is used up, so a session replays in order; a request with none
//! fails with `ContentNotFoundError`, naming the method and URL. The response is the entry's
//! status, headers and `content` (base64 decoded when its `encoding` says so); the body was
//! recorded decoded, so `Content-Encoding` and `Content-Length` are dropped and the length is
//! the body's. An entry whose response body was left out of the record (over the recorder's body
//! limit, or bodies not recorded) fails the request with `UnknownContentError` naming why, never
//! an empty body in its place. Headers whose values were redacted are left out. A redirect entry answers with
//! its `Location`, and the manager follows it to the next entry, as it did when recording.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt};
use futures::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue};
use netaccess_core::{Backend, BackendRequest, BackendResponse, NetworkError, NetworkErrorKind, ReplyAttributes};
use serde_json::Value;
use url::Url;

/// The largest request body read to match an entry's `postData`.
const MAX_MATCHED_BODY: usize = 16 * 1024 * 1024;

/// One recorded exchange, ready to answer.
#[derive(Debug)]
struct Recorded {
    method: String,
    url: Url,
    body: Option<Bytes>,
    status: u16,
    reason: String,
    headers: HeaderMap,
    content: Bytes,
    /// Why the response body is not in the record, when it is not.
    content_missing: Option<String>,
    used: bool,
}

/// A backend that answers http and https requests from a HAR 1.2 record (see the module's
/// design); register it with
/// [`NetworkAccessManagerBuilder::har_replay`](crate::NetworkAccessManagerBuilder::har_replay).
///
/// ```
/// let har = r#"{"log": {"version": "1.2", "creator": {"name": "hand", "version": "1"}, "entries": [{
///     "startedDateTime": "2026-12-01T10:00:00.000Z", "time": 1, "cache": {},
///     "timings": {"send": 0, "wait": 1, "receive": 0},
///     "request": {"method": "GET", "url": "http://example.com/", "httpVersion": "HTTP/1.1",
///                 "cookies": [], "headers": [], "queryString": [], "headersSize": -1, "bodySize": 0},
///     "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "cookies": [],
///                  "headers": [{"name": "Content-Type", "value": "text/plain"}], "redirectURL": "",
///                  "content": {"size": 5, "mimeType": "text/plain", "text": "hello"},
///                  "headersSize": -1, "bodySize": 5}}]}}"#;
/// let replay = netaccess::HarReplay::from_json(har).unwrap();
/// assert_eq!(replay.remaining(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct HarReplay {
    entries: Arc<Mutex<Vec<Recorded>>>,
}

impl HarReplay {
    /// Reads a HAR record.
    ///
    /// # Errors
    /// The text is not JSON, or not HAR: no `log.entries`, or an entry without a method, a
    /// URL or a status.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let document: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let entries = document["log"]["entries"].as_array().ok_or("not HAR: no log.entries")?;
        let entries =
            entries.iter().enumerate().map(|(i, entry)| recorded(entry).map_err(|e| format!("entry {i}: {e}")));
        Ok(Self { entries: Arc::new(Mutex::new(entries.collect::<Result<_, _>>()?)) })
    }

    /// Reads a HAR file.
    ///
    /// # Errors
    /// The file cannot be read, or is not HAR (see [`from_json`](Self::from_json)).
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self, String> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// How many entries have not answered yet.
    pub fn remaining(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).iter().filter(|e| !e.used).count()
    }

    fn answer(&self, method: &str, url: &Url, body: Option<&[u8]>) -> Option<Result<BackendResponse, NetworkError>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.iter_mut().find(|entry| {
            !entry.used
                && entry.method.eq_ignore_ascii_case(method)
                && super::redact::url_matches(&entry.url, url)
                && entry
                    .body
                    .as_deref()
                    .is_none_or(|recorded| body.is_some_and(|sent| super::redact::body_matches(recorded, sent)))
        })?;
        entry.used = true;
        if let Some(why) = &entry.content_missing {
            return Some(Err(NetworkError::new(
                NetworkErrorKind::UnknownContentError,
                url.as_str(),
                format!(
                    "the HAR record has no body for {method} {url} ({why}); record again with a higher body \
                     limit (the command's --har-body-limit, HarOptions::body_limit)"
                ),
            )));
        }
        let mut attributes = ReplyAttributes::default();
        attributes.http_status_code = Some(entry.status);
        attributes.http_reason_phrase = Some(entry.reason.clone());
        attributes.http_version = Some(http::Version::HTTP_11);
        attributes.connection_encrypted = url.scheme() == "https";
        let content = entry.content.clone();
        let length = content.len() as u64;
        let chunks = (!content.is_empty()).then_some(Ok(content));
        let mut response = BackendResponse::new(futures::stream::iter(chunks).boxed(), Some(length));
        response.headers = entry.headers.clone();
        response.attributes = attributes;
        Some(Ok(response))
    }
}

fn recorded(entry: &Value) -> Result<Recorded, String> {
    let request = &entry["request"];
    let response = &entry["response"];
    let method = request["method"].as_str().ok_or("no request.method")?.to_owned();
    let url = request["url"].as_str().ok_or("no request.url")?;
    let url = Url::parse(url).map_err(|e| format!("request.url {url:?}: {e}"))?;
    let status = response["status"].as_u64().and_then(|s| u16::try_from(s).ok()).ok_or("no response.status")?;
    let body = request["postData"]["text"].as_str().map(|text| Bytes::copy_from_slice(text.as_bytes()));
    let mut headers = HeaderMap::new();
    for header in response["headers"].as_array().into_iter().flatten() {
        let (Some(name), Some(value)) = (header["name"].as_str(), header["value"].as_str()) else { continue };
        let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else { continue };
        if value == super::REDACTED
            || matches!(name.as_str(), "content-encoding" | "content-length" | "transfer-encoding")
        {
            continue;
        }
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.append(name, value);
        }
    }
    let content = &response["content"];
    let size = content["size"].as_i64().unwrap_or(0);
    let content_missing = (content["text"].is_null() && size > 0).then(|| match content["comment"].as_str() {
        Some(comment) => format!("{size} bytes, {comment}"),
        None => format!("{size} bytes, not in the record"),
    });
    let text = content["text"].as_str().unwrap_or("");
    let content = if content["encoding"].as_str() == Some("base64") {
        let decoded =
            base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(|e| format!("content: {e}"))?;
        Bytes::from(decoded)
    } else {
        Bytes::copy_from_slice(text.as_bytes())
    };
    let reason = response["statusText"].as_str().unwrap_or("").to_owned();
    Ok(Recorded { method, url, body, status, reason, headers, content, content_missing, used: false })
}

impl Backend for HarReplay {
    fn send(&self, request: BackendRequest) -> BoxFuture<'static, Result<BackendResponse, NetworkError>> {
        // The body is read only when some entry would compare it.
        let wants_body = {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.iter().any(|e| !e.used && e.body.is_some())
        };
        let method = request.operation.verb().to_owned();
        let url = request.url.clone();
        let body = request.body;
        let entries = self.clone();
        async move {
            let body = if wants_body { Some(read_body(body, &url).await?) } else { None };
            entries.answer(&method, &url, body.as_deref()).unwrap_or_else(|| {
                Err(NetworkError::new(
                    NetworkErrorKind::ContentNotFoundError,
                    url.as_str(),
                    format!("the HAR record has no unused entry for {method} {url}"),
                ))
            })
        }
        .boxed()
    }
}

/// The request body, for comparing with a recorded one (bounded).
async fn read_body(body: netaccess_core::Body, url: &Url) -> Result<Bytes, NetworkError> {
    let mut stream = body.into_stream();
    let mut bytes = bytes::BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            NetworkError::new(NetworkErrorKind::ContentReSendError, url.as_str(), format!("the request body: {e}"))
        })?;
        if bytes.len() + chunk.len() > MAX_MATCHED_BODY {
            return Err(NetworkError::new(
                NetworkErrorKind::ContentNotFoundError,
                url.as_str(),
                format!("the request body is larger than the {MAX_MATCHED_BODY} bytes a HAR replay compares"),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes.freeze())
}
