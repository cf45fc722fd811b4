//! A HAR 1.2 record of every transfer ([`HarRecorder`]), and a backend that answers from one
//! ([`HarReplay`]).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use netaccess::{HarRecorder, NetworkAccessManager, Request};
//!
//! let recorder = Arc::new(HarRecorder::new());
//! let manager = NetworkAccessManager::builder().har_recorder(recorder.clone()).build();
//! // ... requests to http or https URLs ...
//! let har = recorder.to_json();
//! assert_eq!(har["log"]["version"], "1.2");
//! # });
//! ```
//!
//! # Design
//!
//! One entry per hop of http and https requests: a redirect, an authentication round and a
//! retry are entries of their own, as browsers write them. The driver hands each hop's facts
//! over when its body is in (a redirect's when it was drained); the request headers are the
//! ones that left, with the `Cookie` and `Authorization` decided at send time (the lines the
//! HTTP layer adds while encoding, `Host`, `User-Agent`, `Accept-Encoding`, framing, are not
//! among them unless the caller set them). A hop that failed (before its response head, or
//! while its body came) has no entry: the record holds exchanges that happened.
//!
//! `timings` are made of the hop's milestones as consecutive phases from the hop's start:
//! `blocked` (0 on a pooled connection, where `send` holds the wait for it: netaccess does
//! not time that wait apart; -1 otherwise), `dns`, `connect` (which holds `ssl`, as HAR 1.2 asks, for HAR 1.1 readers),
//! `send`, `wait` (to the first response byte) and `receive` (to the body's end); a phase that
//! did not happen is -1. So `time`, the sum of the phases but `ssl`, is the hop's wall time.
//!
//! Bodies are kept up to [`HarOptions::body_limit`] (1 MiB by default) each: UTF-8 as text,
//! anything else base64; a larger body is left out, its `size` kept and a `comment` saying why,
//! and the recorder counts it ([`HarRecorder::bodies_left_out`]) so a command can warn once. A
//! replay refuses such an entry with an error naming the limit rather than answering an empty
//! body. The response body is the one the reader got, after decompression, as browsers record it.
//!
//! Secrets never reach the record unless [`HarOptions::keep_secrets`]; what becomes
//! [`REDACTED`]:
//! - the values of the headers `Authorization`, `Proxy-Authorization`, `Cookie`, `Set-Cookie`
//!   and `X-Api-Key`, and of every header whose name contains `token`, `secret`, `password`,
//!   `passwd`, `api-key`, `api_key` or `apikey` (without case);
//! - query parameters of such names, in `queryString` and in the `url`;
//! - the fields of such names of a form body (`application/x-www-form-urlencoded`, in `text` and
//!   `params`) and the members of such names of a JSON body, at any depth;
//! - cookie values and URL passwords;
//! - and any name added with [`HarOptions::redact`].
//!
//! Response bodies are recorded as they came. A redacted value matches any value on replay, so a
//! redacted record still replays.

mod redact;
mod replay;

use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use netaccess_core::facts::Milestones;
use netaccess_core::ReplyAttributes;
use serde_json::{json, Value};
use url::Url;

pub use replay::HarReplay;

/// What replaces a secret in a record.
pub const REDACTED: &str = "[redacted by netaccess]";

/// The names whose values are secrets, compared without case.
const SECRET_NAMES: [&str; 5] = ["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"];

/// Parts of a name that make its value a secret, compared without case.
const SECRET_NAME_PARTS: [&str; 7] = ["token", "secret", "password", "passwd", "api-key", "api_key", "apikey"];

/// Whether a header, query parameter or form field of this name carries a secret (see the
/// [module docs](self)); `extra` are the names a user added.
pub fn is_secret_name(name: &str, extra: &[String]) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_NAMES.contains(&lower.as_str())
        || SECRET_NAME_PARTS.iter().any(|part| lower.contains(part))
        || extra.iter().any(|e| e.eq_ignore_ascii_case(name))
}

/// How a [`HarRecorder`] records.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarOptions {
    /// Whether request and response bodies are recorded at all (default: yes).
    pub record_bodies: bool,
    /// The largest body recorded, in bytes (default 1 MiB); a larger one is left out.
    pub body_limit: usize,
    /// Whether secrets are written as they were (default: no, they are [`REDACTED`]).
    pub keep_secrets: bool,
    /// More header, query parameter and form field names whose values are redacted, beside the
    /// built-in ones (see the [module docs](self)); compared without case.
    pub redact: Vec<String>,
}

impl Default for HarOptions {
    fn default() -> Self {
        Self { record_bodies: true, body_limit: DEFAULT_BODY_LIMIT, keep_secrets: false, redact: Vec::new() }
    }
}

/// The default [`HarOptions::body_limit`]: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Records every http and https hop a manager makes as HAR 1.2 entries (see the
/// [module docs](self)); give it to
/// [`NetworkAccessManagerBuilder::har_recorder`](crate::NetworkAccessManagerBuilder::har_recorder).
#[derive(Debug, Default)]
pub struct HarRecorder {
    options: HarOptions,
    entries: Mutex<Vec<(SystemTime, Value)>>,
    left_out: std::sync::atomic::AtomicUsize,
    warned: std::sync::atomic::AtomicBool,
}

impl HarRecorder {
    /// A recorder with the default [`HarOptions`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A recorder with these options.
    pub fn with_options(options: HarOptions) -> Self {
        Self { options, ..Self::default() }
    }

    /// How many bodies were larger than [`HarOptions::body_limit`] and left out of the record
    /// (a replay of their entries fails, naming the limit).
    pub fn bodies_left_out(&self) -> usize {
        self.left_out.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The options it records with.
    pub fn options(&self) -> &HarOptions {
        &self.options
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole record, `{"log": ...}`, entries in the order they started.
    pub fn to_json(&self) -> Value {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner()).clone();
        entries.sort_by_key(|(started, _)| *started);
        json!({
            "log": {
                "version": "1.2",
                "creator": { "name": "netaccess", "version": crate::VERSION },
                "entries": entries.into_iter().map(|(_, entry)| entry).collect::<Vec<_>>(),
            }
        })
    }

    /// Writes the record to `path` crash-safely (a temporary file renamed over the old one).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        let text = serde_json::to_vec_pretty(&self.to_json()).map_err(std::io::Error::other)?;
        netaccess_store::save(path.as_ref(), &text)
    }

    fn add(&self, started: SystemTime, entry: Value, bodies_left_out: usize) {
        if bodies_left_out > 0 {
            self.left_out.fetch_add(bodies_left_out, std::sync::atomic::Ordering::Relaxed);
            if !self.warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
                tracing::warn!(
                    limit = self.options.body_limit,
                    "a body larger than the HAR body limit was left out of the record (a replay of it fails); \
                     HarOptions::body_limit (the command's --har-body-limit) raises the limit"
                );
            }
        }
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).push((started, entry));
    }
}

/// How the comment of a body over the limit begins (a replay looks for it).
const LEFT_OUT: &str = "left out";

/// A body being kept for the record, up to the limit.
#[derive(Debug)]
struct Kept {
    bytes: BytesMut,
    size: u64,
    limit: usize,
    on: bool,
}

impl Kept {
    fn new(options: &HarOptions) -> Self {
        Self { bytes: BytesMut::new(), size: 0, limit: options.body_limit, on: options.record_bodies }
    }

    /// Whether the body was over the limit, so not recorded.
    fn left_out(&self) -> bool {
        self.on && self.size > self.limit as u64
    }

    fn push(&mut self, chunk: &[u8]) {
        self.size += chunk.len() as u64;
        if self.on && self.size <= self.limit as u64 {
            self.bytes.extend_from_slice(chunk);
        }
    }

    /// `text`, and `encoding` when it is base64, or a `comment` why it is not there.
    fn describe(&self, into: &mut serde_json::Map<String, Value>) {
        if !self.on {
            into.insert("comment".into(), "bodies are not recorded".into());
        } else if self.size > self.limit as u64 {
            into.insert(
                "comment".into(),
                format!("{LEFT_OUT}: {} bytes, above the limit of {}", self.size, self.limit).into(),
            );
        } else if let Ok(text) = std::str::from_utf8(&self.bytes) {
            into.insert("text".into(), text.into());
        } else {
            into.insert("text".into(), base64::engine::general_purpose::STANDARD.encode(&self.bytes).into());
            into.insert("encoding".into(), "base64".into());
        }
    }
}

/// One hop waiting for its body's end before it becomes an entry.
pub(crate) struct PendingEntry {
    started: SystemTime,
    started_at: Instant,
    head_at: Instant,
    milestones: Milestones,
    request: Value,
    response: Value,
    server: Option<(String, String)>,
    body: Kept,
}

/// What the driver knows of a hop when its response head is in.
pub(crate) struct HopFacts<'a> {
    pub(crate) started: (SystemTime, Instant),
    pub(crate) method: &'a str,
    pub(crate) url: &'a Url,
    pub(crate) request_headers: &'a HeaderMap,
    pub(crate) request_body: Option<Bytes>,
    pub(crate) request_body_size: Option<u64>,
    pub(crate) response_headers: &'a HeaderMap,
    pub(crate) attributes: &'a ReplyAttributes,
    pub(crate) milestones: &'a Milestones,
}

impl PendingEntry {
    pub(crate) fn new(recorder: &HarRecorder, hop: &HopFacts<'_>) -> Self {
        let options = &recorder.options;
        let redactor = redact::Redactor { keep: options.keep_secrets, extra: &options.redact };
        let version = version_text(hop.attributes.http_version);
        let sent_cookies = hop
            .request_headers
            .get_all("cookie")
            .iter()
            .flat_map(|v| v.to_str().ok().into_iter().flat_map(|v| v.split(';')));
        let mut request = json!({
            "method": hop.method,
            "url": redactor.url(hop.url),
            "httpVersion": version,
            "cookies": redactor.cookies(sent_cookies),
            "headers": redactor.headers(hop.request_headers),
            "queryString": redactor.query(hop.url),
            "headersSize": -1,
            "bodySize": hop.request_body_size.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX)),
        });
        if let Some(body) = &hop.request_body {
            let mut kept = Kept::new(options);
            kept.push(body);
            let mut post = serde_json::Map::new();
            let mime = hop.request_headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
            post.insert("mimeType".into(), mime.into());
            kept.describe(&mut post);
            // HAR's postData has no encoding: a binary body is described, not written.
            if post.remove("encoding").is_some() {
                post.remove("text");
                post.insert("comment".into(), "a binary body, not recorded (postData has no encoding)".into());
            }
            redactor.post_data(&mut post);
            request["postData"] = Value::Object(post);
        }
        let set_cookies = hop.response_headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok());
        let status = hop.attributes.http_status_code.unwrap_or(0);
        let response = json!({
            "status": status,
            "statusText": hop.attributes.http_reason_phrase.clone().unwrap_or_default(),
            "httpVersion": version,
            "cookies": redactor.cookies(set_cookies.filter_map(|c| c.split(';').next())),
            "headers": redactor.headers(hop.response_headers),
            "redirectURL": hop.response_headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or(""),
            "headersSize": -1,
            "bodySize": -1,
        });
        let server = hop
            .attributes
            .connection
            .as_ref()
            .map(|facts| (facts.remote_address.ip().to_string(), facts.id.to_string()));
        Self {
            started: hop.started.0,
            started_at: hop.started.1,
            head_at: Instant::now(),
            milestones: *hop.milestones,
            request,
            response,
            server,
            body: Kept::new(options),
        }
    }

    /// A chunk of the response body, as the reader gets it.
    pub(crate) fn body_chunk(&mut self, chunk: &[u8]) {
        self.body.push(chunk);
    }

    /// The body is in: the entry goes into `recorder`.
    pub(crate) fn finish(mut self, recorder: &HarRecorder) {
        let ended = Instant::now();
        let mime = self.response["headers"]
            .as_array()
            .and_then(|h| h.iter().find(|h| h["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case("content-type"))))
            .and_then(|h| h["value"].as_str())
            .unwrap_or("")
            .to_owned();
        let mut content = serde_json::Map::new();
        content.insert("size".into(), self.body.size.into());
        content.insert("mimeType".into(), mime.into());
        self.body.describe(&mut content);
        self.response["content"] = Value::Object(content);
        self.response["bodySize"] = self.body.size.into();
        let timings = timings(self.started_at, &self.milestones, self.head_at, ended);
        let time: f64 = ["blocked", "dns", "connect", "send", "wait", "receive"]
            .iter()
            .filter_map(|phase| timings[*phase].as_f64().filter(|t| *t >= 0.0))
            .sum();
        let mut entry = json!({
            "startedDateTime": iso8601(self.started),
            "time": round(time),
            "request": self.request,
            "response": self.response,
            "cache": {},
            "timings": timings,
        });
        if let Some((ip, connection)) = self.server.take() {
            entry["serverIPAddress"] = ip.into();
            entry["connection"] = connection.into();
        }
        recorder.add(self.started, entry, usize::from(self.body.left_out()));
    }
}

fn round(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

fn millis(from: Instant, to: Instant) -> f64 {
    round(to.saturating_duration_since(from).as_secs_f64() * 1000.0)
}

/// The hop's phases, consecutive from its start (see the module's design).
fn timings(start: Instant, milestones: &Milestones, head_at: Instant, ended: Instant) -> Value {
    /// The time from `at` to `moment`, moving `at` there; -1 when it did not happen.
    fn phase(at: &mut Instant, moment: Option<Instant>) -> f64 {
        match moment {
            Some(moment) if moment >= *at => {
                let took = millis(*at, moment);
                *at = moment;
                took
            }
            _ => -1.0,
        }
    }
    let mut at = start;
    let dns = phase(&mut at, milestones.resolved);
    let before_connect = at;
    let connect = phase(&mut at, milestones.secured.or(milestones.connected));
    let ssl = match (milestones.secured, milestones.connected) {
        (Some(secured), Some(tcp)) if connect >= 0.0 && secured >= tcp && tcp >= before_connect => millis(tcp, secured),
        _ => -1.0,
    };
    // No connection milestones: a pooled connection, whose wait `send` holds.
    let blocked = if dns < 0.0 && connect < 0.0 { 0.0 } else { -1.0 };
    let send = phase(&mut at, milestones.sent).max(0.0);
    let first_byte = milestones.first_byte.filter(|m| *m >= at).unwrap_or(head_at.max(at));
    let wait = phase(&mut at, Some(first_byte)).max(0.0);
    let end = ended.max(at);
    let receive = phase(&mut at, Some(end)).max(0.0);
    json!({
        "blocked": blocked, "dns": dns, "connect": connect, "ssl": ssl,
        "send": send, "wait": wait, "receive": receive,
    })
}

fn version_text(version: Option<http::Version>) -> &'static str {
    match version {
        Some(http::Version::HTTP_09) => "HTTP/0.9",
        Some(http::Version::HTTP_10) => "HTTP/1.0",
        Some(http::Version::HTTP_2) => "HTTP/2",
        Some(http::Version::HTTP_3) => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

/// `2026-12-01T18:23:52.123Z`.
fn iso8601(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since.as_secs();
    let (year, month, day) = netaccess_cookie::date::civil_from_days((seconds / 86_400) as i64);
    let rest = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn phases_follow_each_other_and_add_up_to_the_hop() {
        let start = Instant::now();
        let at = |ms: u64| Some(start + Duration::from_millis(ms));
        let mut milestones = Milestones::default();
        (milestones.resolved, milestones.connected, milestones.secured) = (at(2), at(5), at(9));
        (milestones.sent, milestones.first_byte) = (at(10), at(30));
        let t = timings(start, &milestones, start + Duration::from_millis(31), start + Duration::from_millis(50));
        assert_eq!((t["dns"].as_f64(), t["connect"].as_f64(), t["ssl"].as_f64()), (Some(2.0), Some(7.0), Some(4.0)));
        assert_eq!(
            (t["send"].as_f64(), t["wait"].as_f64(), t["receive"].as_f64()),
            (Some(1.0), Some(20.0), Some(20.0))
        );
        assert_eq!(t["blocked"].as_f64(), Some(-1.0));

        let mut pooled = Milestones::default();
        (pooled.sent, pooled.first_byte) = (at(4), at(6));
        let t = timings(start, &pooled, start + Duration::from_millis(6), start + Duration::from_millis(8));
        assert_eq!((t["dns"].as_f64(), t["connect"].as_f64(), t["ssl"].as_f64()), (Some(-1.0), Some(-1.0), Some(-1.0)));
        assert_eq!((t["blocked"].as_f64(), t["send"].as_f64(), t["wait"].as_f64()), (Some(0.0), Some(4.0), Some(2.0)));
    }

    #[test]
    fn secrets_become_the_marker() {
        let mut map = HeaderMap::new();
        map.insert("authorization", "Basic c2VjcmV0".parse().unwrap());
        map.insert("accept", "*/*".parse().unwrap());
        let redacting = redact::Redactor { keep: false, extra: &[] };
        let written = serde_json::to_string(&redacting.headers(&map)).unwrap();
        assert!(!written.contains("c2VjcmV0") && written.contains(REDACTED) && written.contains("*/*"), "{written}");
        let keeping = redact::Redactor { keep: true, extra: &[] };
        assert!(serde_json::to_string(&keeping.headers(&map)).unwrap().contains("c2VjcmV0"));
        let url = Url::parse("http://user:hunter2@example.com/").unwrap();
        assert!(!redacting.url(&url).contains("hunter2"));
        assert_eq!(redacting.cookies(["a=1", " b=2"].into_iter())[1]["value"], REDACTED);
        assert_eq!(iso8601(UNIX_EPOCH + Duration::from_millis(951_868_800_123)), "2000-03-01T00:00:00.123Z");
    }
}
