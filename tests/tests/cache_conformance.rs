//! The HTTP caching test suite (`tests/data/conformance/cache-tests`, RFC 9111) through the real
//! client with a [`DiskCache`], against [`CacheOrigin`], the suite's server protocol on loopback.
//!
//! The checks are the suite's own client checks (`test-engine/client/test.mjs`): response type
//! from `Server-Request-Count`, status, response headers present, absent and equal, the body,
//! then what the server saw (validators, request headers, method). A failed check on a setup
//! request makes the result "setup", not a failure, as in the suite. Tests run in parallel, each
//! with its own UUID and its real three-second pauses, so the suite takes about as long as its
//! longest test. Skipped, and counted: tests for CDNs only and tests the published browser runs
//! skip (`browser_skip`: shared-cache rules, client-made conditional requests, interim
//! responses), so the comparison with `results/` is over the same tests.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use netaccess::{Body, CacheLoadControl, DiskCache, NetworkAccessManager, Operation, RedirectPolicy, Request};
use netaccess_tests::cache_origin::http_date;
use netaccess_tests::CacheOrigin;
use serde_json::Value;

const REQUEST_LIMIT: Duration = Duration::from_secs(20);
const PAUSE: Duration = Duration::from_secs(3);

#[derive(Debug, Clone)]
enum Outcome {
    Pass,
    Assertion(String),
    Setup(String),
    Failure(String),
}

struct Received {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

impl Received {
    fn get(&self, name: &str) -> Option<String> {
        let values: Vec<String> =
            self.headers.get_all(name).iter().map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).collect();
        (!values.is_empty()).then(|| values.join(", "))
    }
}

fn check(setup: bool, condition: bool, message: impl FnOnce() -> String) -> Result<(), Outcome> {
    match (condition, setup) {
        (true, _) => Ok(()),
        (false, true) => Err(Outcome::Setup(message())),
        (false, false) => Err(Outcome::Assertion(message())),
    }
}

fn is_setup(config: &Value, member: &str) -> bool {
    config["setup"].as_bool() == Some(true)
        || config["setup_tests"].as_array().is_some_and(|list| list.iter().any(|m| m == member))
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

async fn fetch(
    manager: &NetworkAccessManager,
    origin: &CacheOrigin,
    uuid: &str,
    index: usize,
    config: &Value,
    previous: Option<&Received>,
) -> Result<Received, Outcome> {
    let mut url = origin.test_url(uuid);
    if let Some(file) = config["filename"].as_str() {
        url.push('/');
        url.push_str(file);
    }
    if let Some(query) = config["query_arg"].as_str() {
        url.push('?');
        url.push_str(query);
    }
    let mut request = Request::new(&url);
    for line in config["request_headers"].as_array().into_iter().flatten() {
        let name = line[0].as_str().unwrap_or_default();
        let mut value = value_text(&line[1]);
        if config["magic_ims"].as_bool() == Some(true) && name.eq_ignore_ascii_case("if-modified-since") {
            if let (Some(delta), Some(now)) =
                (line[1].as_i64(), previous.and_then(|p| p.get("server-now")).and_then(|n| n.parse().ok()))
            {
                value = http_date(now, delta, false);
            }
        }
        if let (Ok(name), Ok(value)) =
            (http::HeaderName::from_bytes(name.as_bytes()), http::HeaderValue::from_str(&value))
        {
            request.headers_mut().append(name, value);
        }
    }
    request.headers_mut().insert("test-id", http::HeaderValue::from_str(uuid).expect("uuid"));
    request.headers_mut().insert("req-num", http::HeaderValue::from(index + 1));
    if config["redirect"].as_str().is_some_and(|r| r != "follow") {
        request.attributes_mut().redirect_policy = Some(RedirectPolicy::Manual);
    }
    match config["cache"].as_str() {
        Some("no-store") => {
            request.attributes_mut().cache_load_control = CacheLoadControl::AlwaysNetwork;
            request.attributes_mut().cache_save_control = false;
        }
        Some("reload") => request.attributes_mut().cache_load_control = CacheLoadControl::AlwaysNetwork,
        // What fetch() sends for its "no-cache" mode.
        Some("no-cache") => {
            request.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("max-age=0"));
        }
        Some("force-cache") => request.attributes_mut().cache_load_control = CacheLoadControl::PreferCache,
        Some("only-if-cached") => request.attributes_mut().cache_load_control = CacheLoadControl::AlwaysCache,
        _ => {}
    }
    let verb = config["request_method"].as_str().unwrap_or("GET");
    let body = config["request_body"].as_str().map_or_else(Body::empty, |text| Body::from(text.to_owned()));
    let mut reply = manager.send(request, Operation::from_verb(verb), body);
    let body = tokio::time::timeout(REQUEST_LIMIT, reply.read_all())
        .await
        .map_err(|_| Outcome::Failure(format!("request {} did not finish in {REQUEST_LIMIT:?}", index + 1)))?;
    // A reply that failed before a response (the origin hung up) is checked as a response with
    // no status, no headers and no body: what a proxy would turn into a 504, a client reports
    // as the error. Every check that expects something of a response then fails.
    let Some(status) = reply.status() else {
        return Ok(Received { status: 0, headers: http::HeaderMap::new(), body: String::new() });
    };
    Ok(Received { status, headers: reply.headers(), body: String::from_utf8_lossy(&body).into_owned() })
}

fn check_response(uuid: &str, index: usize, config: &Value, response: &Received) -> Result<(), Outcome> {
    let number = index + 1;
    let served = response.get("server-request-count").and_then(|n| n.parse::<usize>().ok());
    if let Some(numbers) = response.get("request-numbers") {
        let list: Vec<&str> = numbers.split(' ').collect();
        let unique: std::collections::BTreeSet<&str> = list.iter().copied().collect();
        check(true, list.len() == unique.len(), || "retry".into())?;
    }
    let type_setup = is_setup(config, "expected_type");
    match config["expected_type"].as_str() {
        Some("cached") if !(response.status == 304 && served.is_none()) => {
            check(type_setup, served.is_some_and(|s| s < number), || {
                format!("Response {number} does not come from cache")
            })?;
        }
        Some("not_cached") => {
            check(type_setup, served == Some(number), || format!("Response {number} comes from cache"))?;
        }
        _ => {}
    }
    if let Some(expected) = config.get("expected_status") {
        if let Some(expected) = expected.as_u64() {
            check(is_setup(config, "expected_status"), u64::from(response.status) == expected, || {
                format!("Response {number} status is {}, not {expected}", response.status)
            })?;
        }
    } else if let Some(status) = config["response_status"][0].as_u64() {
        check(true, u64::from(response.status) == status, || {
            format!("Response {number} status is {}, not {status}", response.status)
        })?;
    } else if response.status == 999 {
        check(type_setup, false, || format!("Request {number} should have been conditional, but it was not."))?;
    } else {
        check(true, response.status == 200, || format!("Response {number} status is {}, not 200", response.status))?;
    }
    let present_setup = is_setup(config, "expected_response_headers");
    for header in config["expected_response_headers"].as_array().into_iter().flatten() {
        if let Some(name) = header.as_str() {
            check(present_setup, response.get(name).is_some(), || {
                format!("Response {number} {name} header not present.")
            })?;
            continue;
        }
        let name = header[0].as_str().unwrap_or_default();
        let value = response.get(name);
        if header.as_array().is_some_and(|h| h.len() > 2) {
            check(present_setup, value.is_some(), || format!("Response {number} {name} header not present."))?;
            let (condition, should) = match header[1].as_str() {
                Some("=") => {
                    let other = header[2].as_str().unwrap_or_default();
                    (value == response.get(other), format!("match {other}"))
                }
                _ => {
                    let bound = header[2].as_i64().unwrap_or(0);
                    (
                        value.as_deref().and_then(|v| v.trim().parse::<i64>().ok()).is_some_and(|v| v > bound),
                        format!("be bigger than {bound}"),
                    )
                }
            };
            check(present_setup, condition, || {
                format!("Response {number} header {name} is {value:?}, should {should}")
            })?;
        } else {
            let now = response.get("server-now").and_then(|n| n.parse().ok()).unwrap_or(0);
            let base = response.get("server-base-url").unwrap_or_default();
            let (_, expected, _) = netaccess_tests::cache_origin::fix_header(header, now, &base, config);
            check(present_setup, value.as_deref() == Some(expected.as_str()), || {
                format!("Response {number} header {name} is {value:?}, not {expected:?}")
            })?;
        }
    }
    let missing_setup = is_setup(config, "expected_response_headers_missing");
    for header in config["expected_response_headers_missing"].as_array().into_iter().flatten() {
        if let Some(name) = header.as_str() {
            check(missing_setup, response.get(name).is_none(), || {
                format!("Response {number} includes unexpected header {name}: {:?}", response.get(name))
            })?;
        } else if let (Some(name), Some(part)) = (header[0].as_str(), header[1].as_str()) {
            if let Some(value) = response.get(name) {
                check(missing_setup, !value.contains(part), || {
                    format!("Response {number} header {name} still has value {value:?}")
                })?;
            }
        }
    }
    let verb = config["request_method"].as_str().unwrap_or("GET");
    if config["check_body"].as_bool() == Some(false) {
        return Ok(());
    }
    if let Some(expected) = config.get("expected_response_text") {
        if let Some(expected) = expected.as_str() {
            check(is_setup(config, "expected_response_text"), response.body == expected, || {
                format!("Response body is {:?}, not {expected:?}", response.body)
            })?;
        }
    } else if let Some(expected) = config["response_body"].as_str() {
        check(true, response.body == expected, || format!("Response body is {:?}, not {expected:?}", response.body))?;
    } else if !matches!(response.status, 204 | 304) && verb != "HEAD" {
        check(true, response.body == uuid, || format!("Response body is {:?}, not {uuid:?}", response.body))?;
    }
    Ok(())
}

fn check_server(origin: &CacheOrigin, uuid: &str, requests: &[Value], responses: &[Received]) -> Result<(), Outcome> {
    let seen = origin.seen(uuid);
    let mut at = 0;
    for (index, config) in requests.iter().enumerate() {
        let number = index + 1;
        let type_setup = is_setup(config, "expected_type");
        let mut validators = Vec::new();
        match config["expected_type"].as_str() {
            Some("cached") => continue,
            Some("not_cached") => {
                let request_num = seen.get(at).map(|s| s.request_num);
                check(type_setup, request_num == Some(number), || {
                    format!("Response {number} comes from cache ({request_num:?} on server)")
                })?;
            }
            Some("etag_validated") => validators.push("if-none-match"),
            Some("lm_validated") => validators.push("if-modified-since"),
            _ => {}
        }
        let server = seen.get(at);
        at += 1;
        for header in validators {
            check(type_setup, server.is_some(), || format!("request {number} wasn't sent to server"))?;
            check(type_setup, server.is_some_and(|s| s.headers.contains_key(header)), || {
                format!("request {number} doesn't have {header} header")
            })?;
        }
        let Some(server) = server else { continue };
        for header in config["expected_request_headers"].as_array().into_iter().flatten() {
            let setup = is_setup(config, "expected_request_headers");
            if let Some(name) = header.as_str() {
                check(setup, server.headers.contains_key(&name.to_ascii_lowercase()), || {
                    format!("Request {number} {name} header not present.")
                })?;
            } else {
                let name = header[0].as_str().unwrap_or_default().to_ascii_lowercase();
                let expected = value_text(&header[1]);
                let got = server.headers.get(&name);
                check(setup, got == Some(&expected), || {
                    format!("Request {number} header {name} is {got:?}, not {expected:?}")
                })?;
            }
        }
        for header in config["expected_request_headers_missing"].as_array().into_iter().flatten() {
            let setup = is_setup(config, "expected_request_headers_missing");
            if let Some(name) = header.as_str() {
                check(setup, !server.headers.contains_key(&name.to_ascii_lowercase()), || {
                    format!("Request {number} {name} header present.")
                })?;
            } else {
                let name = header[0].as_str().unwrap_or_default().to_ascii_lowercase();
                let unexpected = value_text(&header[1]);
                check(setup, server.headers.get(&name) != Some(&unexpected), || {
                    format!("Request {number} header {name} is {unexpected:?}")
                })?;
            }
        }
        if let Some(response) = responses.get(index) {
            for (name, value) in &server.response_headers {
                if name.eq_ignore_ascii_case("date") {
                    continue;
                }
                let received = response.get(name);
                check(true, received.as_deref() == Some(value.as_str()), || {
                    format!("Response {number} header {name} is {received:?}, not {value:?}")
                })?;
            }
        }
        if let Some(method) = config["expected_method"].as_str() {
            check(is_setup(config, "expected_method"), server.method == method, || {
                format!("Request {number} had method {}, not {method}", server.method)
            })?;
        }
    }
    Ok(())
}

async fn run_test(manager: &NetworkAccessManager, origin: &CacheOrigin, test: &Value) -> Outcome {
    let uuid = token();
    let requests: Vec<Value> = test["requests"].as_array().cloned().unwrap_or_default();
    origin.configure(&uuid, requests.clone());
    let mut responses: Vec<Received> = Vec::new();
    for (index, config) in requests.iter().enumerate() {
        let response = match fetch(manager, origin, &uuid, index, config, responses.last()).await {
            Ok(response) => response,
            Err(outcome) => return outcome,
        };
        let checked = check_response(&uuid, index, config, &response);
        responses.push(response);
        if let Err(outcome) = checked {
            return outcome;
        }
        if config["pause_after"].as_bool() == Some(true) {
            tokio::time::sleep(PAUSE).await;
        }
    }
    match check_server(origin, &uuid, &requests, &responses) {
        Ok(()) => Outcome::Pass,
        Err(outcome) => outcome,
    }
}

/// A fresh identifier in the UUID's form and length (36 characters: some tests set a
/// `Content-Length` that counts on it).
fn token() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let seed = u64::from(std::process::id()) << 32 | n;
    let hex = format!("{seed:032x}");
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

fn applies(test: &Value) -> bool {
    test["cdn_only"].as_bool() != Some(true) && test["browser_skip"].as_bool() != Some(true)
}

fn kind(test: &Value) -> &str {
    test["kind"].as_str().unwrap_or("required")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_test_suite_through_a_disk_cache() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/conformance/cache-tests");
    let suites: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(root.join("cache-tests.json")).expect("suite"))
            .expect("suite json");
    let tests: Vec<Value> = suites.iter().flat_map(|s| s["tests"].as_array().cloned().unwrap_or_default()).collect();
    let only = std::env::var("CACHE_TEST").ok();
    let (run, skipped): (Vec<Value>, Vec<Value>) =
        tests.into_iter().filter(|t| only.as_deref().is_none_or(|id| t["id"] == id)).partition(applies);
    println!(
        "cache-tests: {} tests, {} run, {} skipped (CDN-only or skipped by the browser runs)",
        run.len() + skipped.len(),
        run.len(),
        skipped.len()
    );

    let origin = Arc::new(CacheOrigin::start().await);
    let directory = tempfile::tempdir().expect("tempdir");
    let cache = DiskCache::new(directory.path()).expect("cache");
    // Decoding stays on, as a user has it: the suite sends made-up Content-Encodings to see
    // them stored, and a coding the client cannot decode is delivered (and stored) as it came.
    let manager = NetworkAccessManager::builder().cache(Arc::new(cache)).max_connections_per_host(64).build();
    let started = std::time::Instant::now();
    let outcomes = futures::future::join_all(run.iter().map(|test| {
        let (manager, origin) = (manager.clone(), origin.clone());
        async move { (test.clone(), run_test(&manager, &origin, test).await) }
    }))
    .await;
    println!("cache-tests: ran in {:.1} s", started.elapsed().as_secs_f64());

    let mut tally: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    let mut unexpected = Vec::new();
    for (test, outcome) in &outcomes {
        let id = test["id"].as_str().unwrap_or_default();
        let kind = kind(test);
        let counts = tally
            .entry(match kind {
                "optimal" => "optimal",
                "check" => "check",
                _ => "required",
            })
            .or_default();
        match outcome {
            Outcome::Pass => counts[0] += 1,
            Outcome::Setup(message) => {
                counts[2] += 1;
                println!("  setup   {kind:8} {id}: {message}");
            }
            Outcome::Assertion(message) | Outcome::Failure(message) => {
                counts[1] += 1;
                println!("  failed  {kind:8} {id}: {message}");
                if kind == "required" {
                    unexpected.push(id.to_owned());
                }
            }
        }
    }
    for (kind, [passed, failed, setup]) in &tally {
        println!("cache-tests {kind}: {passed} passed, {failed} failed, {setup} setup failures");
    }
    for browser in ["chrome", "firefox", "safari"] {
        let results: Value = serde_json::from_str(
            &std::fs::read_to_string(root.join(format!("results/{browser}.json"))).expect("results"),
        )
        .expect("results json");
        let mut line = format!("  {browser}:");
        for wanted in ["required", "optimal", "check"] {
            let of_kind: Vec<&Value> = run.iter().filter(|t| kind(t) == wanted).collect();
            let passed =
                of_kind.iter().filter(|t| results[t["id"].as_str().unwrap_or_default()] == Value::Bool(true)).count();
            line.push_str(&format!(" {wanted} {passed}/{}", of_kind.len()));
        }
        println!("{line}");
    }
    assert!(unexpected.is_empty(), "required cache tests failed: {unexpected:?}");
    if only.is_none() {
        // Pinned, so a suite that stops loading or a setup that starts failing cannot pass: the
        // copied suite's 300 tests that apply to a private browser cache, 137 of them required,
        // every required one run to its end (no setup failure).
        assert_eq!(run.len(), 300, "tests run");
        let [passed, failed, setup] = tally.get("required").copied().unwrap_or_default();
        assert_eq!((passed, failed, setup), (137, 0, 0), "required: passed, failed, setup failures");
    }
    let [passed, failed, setup] = tally.get("optimal").copied().unwrap_or_default();
    assert!(
        passed * 10 >= (passed + failed + setup) * 9,
        "only {passed} of {} optimal cache tests passed",
        passed + failed + setup
    );
}
