//! An origin server speaking the server side of the HTTP caching test suite
//! (`tests/data/conformance/cache-tests`): each test registers its list of requests under a UUID;
//! `/test/<uuid>` answers request number `Req-Num` as the list prescribes, counts the requests
//! it sees and keeps what it saw for the client's later checks.
//!
//! The behaviour follows the suite's own server (`test-engine/server/handle-test.mjs`): the
//! `Server-Request-Count`, `Client-Request-Count`, `Server-Now` (milliseconds) and
//! `Server-Base-Url` headers; integer date header values as seconds relative to now; magic
//! locations; a 304 for a validated request whose validator matches the previous response, else
//! the status 999; a `disconnect` drops the connection; the body is `response_body` or the UUID.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;

/// What the origin saw of one request.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    /// The `Req-Num` the client sent.
    pub request_num: usize,
    /// The method.
    pub method: String,
    /// The request headers, names in lower case, repeated values joined with ", ".
    pub headers: HashMap<String, String>,
    /// The response headers the client is expected to see (name, value).
    pub response_headers: Vec<(String, String)>,
}

#[derive(Default)]
struct State {
    configs: HashMap<String, Vec<Value>>,
    seen: HashMap<String, Vec<SeenRequest>>,
    /// The header lines sent for each request number, after the magic values were resolved.
    sent: HashMap<(String, usize), Vec<(String, String)>>,
}

/// The running origin; it stops when dropped.
pub struct CacheOrigin {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CacheOrigin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Milliseconds since the epoch.
pub fn now_millis() -> u64 {
    u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()).unwrap_or(u64::MAX)
}

/// An HTTP date `delta_seconds` from `now_millis`, in IMF-fixdate or RFC 850 form.
pub fn http_date(now_millis: u64, delta_seconds: i64, rfc850: bool) -> String {
    let seconds = i64::try_from(now_millis / 1000).unwrap_or(i64::MAX).saturating_add(delta_seconds).max(0);
    let time = UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).unwrap_or(0));
    let text = httpdate::fmt_http_date(time);
    if !rfc850 {
        return text;
    }
    // "Sun, 06 Nov 1994 08:49:37 GMT" -> "Sunday, 06-Nov-94 08:49:37 GMT"
    let days = [
        ("Mon", "Monday"),
        ("Tue", "Tuesday"),
        ("Wed", "Wednesday"),
        ("Thu", "Thursday"),
        ("Fri", "Friday"),
        ("Sat", "Saturday"),
        ("Sun", "Sunday"),
    ];
    let parts: Vec<&str> = text.split(' ').collect();
    let day = days.iter().find(|(short, _)| parts[0].starts_with(short)).map_or("Sunday", |(_, long)| long);
    format!("{day}, {}-{}-{} {} GMT", parts[1], parts[2], &parts[3][2..], parts[4])
}

/// The names whose integer values are dates relative to now.
pub const DATE_HEADERS: &[&str] = &["date", "expires", "last-modified", "if-modified-since", "if-unmodified-since"];

/// Resolves a configured header line: integer dates relative to `now`, magic locations
/// relative to `base`. Returns (name, value, whether the client checks it).
pub fn fix_header(line: &Value, now: u64, base: &str, config: &Value) -> (String, String, bool) {
    let name = line[0].as_str().unwrap_or_default().to_owned();
    let lower = name.to_ascii_lowercase();
    let checked = line.get(2).and_then(Value::as_bool).unwrap_or(true);
    let mut value = match &line[1] {
        Value::String(text) => text.clone(),
        Value::Number(number) if DATE_HEADERS.contains(&lower.as_str()) => {
            let rfc850 = config["rfc850date"].as_array().is_some_and(|names| names.iter().any(|n| n == lower.as_str()));
            http_date(now, number.as_i64().unwrap_or(0), rfc850)
        }
        other => other.to_string(),
    };
    if matches!(lower.as_str(), "location" | "content-location") && config["magic_locations"].as_bool() == Some(true) {
        value = if value.is_empty() { base.to_owned() } else { format!("{base}/{value}") };
    }
    (name, value, checked)
}

impl CacheOrigin {
    /// Starts the origin on 127.0.0.1 with a free port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| handle(request, state.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, state, task }
    }

    /// Registers a test's requests under `uuid`.
    pub fn configure(&self, uuid: &str, requests: Vec<Value>) {
        self.state.lock().expect("lock").configs.insert(uuid.to_owned(), requests);
    }

    /// What the origin saw for `uuid`, in order.
    pub fn seen(&self, uuid: &str) -> Vec<SeenRequest> {
        self.state.lock().expect("lock").seen.get(uuid).cloned().unwrap_or_default()
    }

    /// The base URL of a test.
    pub fn test_url(&self, uuid: &str) -> String {
        format!("http://{}/test/{uuid}", self.addr)
    }
}

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

fn plain(status: u16, text: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(text)).boxed());
    *response.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
    response
}

async fn handle(request: Request<Incoming>, state: Arc<Mutex<State>>) -> Result<Response<Body>, std::io::Error> {
    let path = request.uri().path().to_owned();
    let Some(uuid) = path.strip_prefix("/test/").map(|rest| rest.split('/').next().unwrap_or_default().to_owned())
    else {
        return Ok(plain(404, format!("no test at {path}")));
    };
    let client_num =
        request.headers().get("req-num").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    let config = {
        let state = state.lock().expect("lock");
        let Some(requests) = state.configs.get(&uuid) else { return Ok(plain(409, format!("no config for {uuid}"))) };
        let number = client_num.unwrap_or(state.seen.get(&uuid).map_or(0, Vec::len) + 1);
        match requests.get(number.wrapping_sub(1)) {
            Some(config) => config.clone(),
            None => return Ok(plain(409, format!("no config for request {number} of {uuid}"))),
        }
    };
    if let Some(pause) = config["response_pause"].as_f64() {
        tokio::time::sleep(Duration::from_secs_f64(pause)).await;
    }
    let number = client_num.unwrap_or(0);
    let now = now_millis();
    let base = request.uri().to_string();
    let mut status = config["response_status"].as_array().map_or((200, "OK".to_owned()), |s| {
        (
            s[0].as_u64().and_then(|n| u16::try_from(n).ok()).unwrap_or(200),
            s.get(1).and_then(Value::as_str).unwrap_or("").to_owned(),
        )
    });
    let mut state_guard = state.lock().expect("lock");
    if config["expected_type"].as_str().is_some_and(|t| t.ends_with("validated")) {
        // The previous request's header lines as sent; when the cache answered it, as configured.
        let previous = state_guard.sent.get(&(uuid.clone(), number.saturating_sub(1))).cloned().unwrap_or_else(|| {
            let configured = state_guard.configs.get(&uuid).and_then(|c| c.get(number.wrapping_sub(2))).cloned();
            configured.map_or_else(Vec::new, |previous| {
                let lines = previous["response_headers"].as_array().cloned().unwrap_or_default();
                lines
                    .iter()
                    .map(|line| {
                        let (name, value, _) = fix_header(line, now, &base, &previous);
                        (name, value)
                    })
                    .collect()
            })
        });
        let previous_value =
            |name: &str| previous.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
        let sent = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let lm = previous_value("last-modified").filter(|lm| sent("if-modified-since").as_ref() == Some(lm));
        let etag = previous_value("etag").filter(|tag| sent("if-none-match").as_ref() == Some(tag));
        status = if lm.is_some() || etag.is_some() {
            (304, "Not Modified".into())
        } else {
            (999, "304 Not Generated".into())
        };
    }
    let seen_count = state_guard.seen.get(&uuid).map_or(0, Vec::len) + 1;
    let mut lines: Vec<(String, String)> = vec![
        ("Server-Base-Url".into(), base.clone()),
        ("Server-Request-Count".into(), seen_count.to_string()),
        ("Client-Request-Count".into(), client_num.map_or("NaN".into(), |n| n.to_string())),
        ("Server-Now".into(), now.to_string()),
    ];
    let mut checked: Vec<(String, String)> = Vec::new();
    for line in config["response_headers"].as_array().into_iter().flatten() {
        let (name, value, check) = fix_header(line, now, &base, &config);
        lines.push((name.clone(), value.clone()));
        if check {
            match checked.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                Some((_, joined)) => {
                    joined.push_str(", ");
                    joined.push_str(&value);
                }
                None => checked.push((name, value)),
            }
        }
    }
    if !lines.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type")) {
        lines.push(("Content-Type".into(), "text/plain".into()));
    }
    let mut request_headers: HashMap<String, String> = HashMap::new();
    for (name, value) in request.headers() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        request_headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let seen = state_guard.seen.entry(uuid.clone()).or_default();
    seen.push(SeenRequest {
        request_num: number,
        method: request.method().to_string(),
        headers: request_headers,
        response_headers: checked,
    });
    let numbers: Vec<String> = seen.iter().map(|s| s.request_num.to_string()).collect();
    lines.push(("Request-Numbers".into(), numbers.join(" ")));
    state_guard.sent.insert((uuid.clone(), number), lines.clone());
    drop(state_guard);

    if config["disconnect"].as_bool() == Some(true) {
        return Err(std::io::Error::other("the test asks for a disconnect"));
    }
    let body = if matches!(status.0, 204 | 304) {
        String::new()
    } else {
        config["response_body"].as_str().map_or(uuid.clone(), str::to_owned)
    };
    // A configured Content-Length wins: the body is cut or padded to it, so the framing holds.
    let length = lines
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok());
    let body = match length {
        Some(length) if !matches!(status.0, 204 | 304) => {
            let mut bytes = body.into_bytes();
            bytes.resize(length, b' ');
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => body,
    };
    let mut response = plain(200, body);
    *response.status_mut() = hyper::StatusCode::from_u16(status.0).unwrap_or(hyper::StatusCode::OK);
    for (name, value) in lines {
        if let (Ok(name), Ok(value)) =
            (name.parse::<hyper::header::HeaderName>(), hyper::header::HeaderValue::from_str(&value))
        {
            response.headers_mut().append(name, value);
        }
    }
    Ok(response)
}
