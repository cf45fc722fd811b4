//! The disk cache through the manager: replies from the cache and their attribute, Qt's load
//! controls, the save control, cookies, invalidation, ranges, and failed downloads.

use std::sync::Arc;
use std::time::Duration;

use netaccess::{
    CacheLoadControl, DiskCache, NetworkAccessManager, NetworkCache, NetworkErrorKind, Operation, Request,
};
use netaccess_tests::{CacheOrigin, RawServer, Script};
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(20);

struct Setup {
    origin: CacheOrigin,
    cache: DiskCache,
    manager: NetworkAccessManager,
    _directory: tempfile::TempDir,
}

async fn setup() -> Setup {
    let directory = tempfile::tempdir().unwrap();
    let cache = DiskCache::new(directory.path()).unwrap();
    let manager = NetworkAccessManager::builder().cache(Arc::new(cache.clone())).build();
    Setup { origin: CacheOrigin::start().await, cache, manager, _directory: directory }
}

/// What one request got: status, body, whether it came from the cache, the reply.
struct Got {
    status: Option<u16>,
    body: String,
    from_cache: bool,
    error: Option<netaccess::NetworkError>,
    reply: netaccess::Reply,
}

async fn send(
    setup: &Setup,
    uuid: &str,
    number: usize,
    operation: Operation,
    adjust: impl FnOnce(&mut Request),
) -> Got {
    let mut request = Request::new(setup.origin.test_url(uuid));
    request.headers_mut().insert("req-num", http::HeaderValue::from(number));
    adjust(&mut request);
    let mut reply = setup.manager.send(request, operation, netaccess::Body::empty());
    let body = tokio::time::timeout(LIMIT, reply.read_all()).await.expect("the reply finishes");
    Got {
        status: reply.status(),
        body: String::from_utf8_lossy(&body).into_owned(),
        from_cache: reply.attributes().source_is_from_cache,
        error: reply.error(),
        reply,
    }
}

async fn get(setup: &Setup, uuid: &str, number: usize) -> Got {
    send(setup, uuid, number, Operation::Get, |_| {}).await
}

fn fresh(body: &str) -> Value {
    json!({"response_headers": [["Cache-Control", "max-age=3600"]], "response_body": body})
}

#[tokio::test]
async fn a_fresh_response_is_served_from_the_cache_whole() {
    let setup = setup().await;
    setup.origin.configure("fresh", vec![fresh("hello from the origin"), fresh("never sent")]);
    let first = get(&setup, "fresh", 1).await;
    assert_eq!((first.status, first.from_cache, first.body.as_str()), (Some(200), false, "hello from the origin"));
    let mut second = get(&setup, "fresh", 2).await;
    assert_eq!((second.status, second.from_cache, second.body.as_str()), (Some(200), true, "hello from the origin"));
    assert_eq!(setup.origin.seen("fresh").len(), 1, "the second request never reached the origin");
    assert_eq!(second.reply.header("server-request-count").as_deref(), Some("1"));
    assert!(second.reply.header("age").is_some(), "a reply from the cache says its age");
    assert_eq!(second.reply.bytes_received(), 21);
    assert!(second.reply.next_event().await.is_none(), "the reply ended");
}

#[tokio::test]
async fn a_stale_response_is_revalidated_and_a_304_serves_the_stored_body() {
    let setup = setup().await;
    let stale = json!({"response_headers": [["Cache-Control", "max-age=0"], ["ETag", "\"v1\""], ["X-Version", "1"]], "response_body": "version one"});
    let not_modified = json!({"expected_type": "etag_validated", "response_headers": [["X-Version", "1-revalidated"]]});
    setup.origin.configure("stale", vec![stale, not_modified]);
    assert!(!get(&setup, "stale", 1).await.from_cache);
    let second = get(&setup, "stale", 2).await;
    assert_eq!((second.status, second.from_cache, second.body.as_str()), (Some(200), true, "version one"));
    assert_eq!(second.reply.header("x-version").as_deref(), Some("1-revalidated"), "the 304's headers were merged");
    let seen = setup.origin.seen("stale");
    assert_eq!(seen[1].headers.get("if-none-match").map(String::as_str), Some("\"v1\""));
    let stored = setup.cache.metadata(&url::Url::parse(&setup.origin.test_url("stale")).unwrap()).unwrap();
    assert_eq!(stored.headers.get("x-version").unwrap(), "1-revalidated", "and stored");
}

#[tokio::test]
async fn the_load_controls_choose_between_cache_and_network() {
    let setup = setup().await;
    let stale = json!({"response_headers": [["Cache-Control", "max-age=0"]], "response_body": "stored"});
    setup.origin.configure("controls", vec![stale.clone(), stale.clone(), stale]);
    let always_cache = |r: &mut Request| r.attributes_mut().cache_load_control = CacheLoadControl::AlwaysCache;
    let miss = send(&setup, "controls", 1, Operation::Get, always_cache).await;
    assert_eq!(miss.error.map(|e| e.kind()), Some(NetworkErrorKind::ContentNotFoundError), "AlwaysCache: a miss fails");
    assert!(setup.origin.seen("controls").is_empty(), "and asks no one");

    let network = send(&setup, "controls", 1, Operation::Get, |r| {
        r.attributes_mut().cache_load_control = CacheLoadControl::AlwaysNetwork;
    })
    .await;
    assert!(!network.from_cache);
    let seen = setup.origin.seen("controls");
    assert_eq!(seen[0].headers.get("cache-control").map(String::as_str), Some("no-cache"), "AlwaysNetwork says so");

    let prefer_cache = send(&setup, "controls", 2, Operation::Get, |r| {
        r.attributes_mut().cache_load_control = CacheLoadControl::PreferCache;
    })
    .await;
    assert_eq!(
        (prefer_cache.from_cache, prefer_cache.body.as_str()),
        (true, "stored"),
        "PreferCache takes a stale entry"
    );
    let hit = send(&setup, "controls", 2, Operation::Get, always_cache).await;
    assert_eq!((hit.from_cache, hit.body.as_str()), (true, "stored"));
    let prefer_network = get(&setup, "controls", 2).await;
    assert!(!prefer_network.from_cache, "PreferNetwork does not serve a stale entry without validators");
    assert_eq!(setup.origin.seen("controls").len(), 2);

    let without_cache = NetworkAccessManager::new();
    let mut request = Request::new(setup.origin.test_url("controls"));
    request.attributes_mut().cache_load_control = CacheLoadControl::AlwaysCache;
    let error = without_cache.get(request).finished().await.unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::ContentNotFoundError, "AlwaysCache without a cache is a miss");
}

#[tokio::test]
async fn the_save_control_off_stores_nothing() {
    let setup = setup().await;
    setup.origin.configure("unsaved", vec![fresh("a"), fresh("b")]);
    let first = send(&setup, "unsaved", 1, Operation::Get, |r| r.attributes_mut().cache_save_control = false).await;
    assert_eq!(first.body, "a");
    let second = get(&setup, "unsaved", 2).await;
    assert_eq!((second.from_cache, second.body.as_str()), (false, "b"));
}

#[tokio::test]
async fn a_reply_from_the_cache_keeps_set_cookie_but_never_feeds_the_jar_again() {
    let setup = setup().await;
    let with_cookie = json!({"response_headers": [["Cache-Control", "max-age=3600"], ["Set-Cookie", "flavour=oat"]], "response_body": "x"});
    setup.origin.configure("cookie", vec![with_cookie.clone(), with_cookie]);
    let target = url::Url::parse(&setup.origin.test_url("cookie")).unwrap();
    get(&setup, "cookie", 1).await;
    assert_eq!(setup.manager.cookie_jar().cookies_for_url(&target).len(), 1);
    setup.manager.set_cookie_jar(Arc::new(netaccess::DefaultCookieJar::new()));
    let second = get(&setup, "cookie", 2).await;
    assert!(second.from_cache);
    assert_eq!(second.reply.header("set-cookie").as_deref(), Some("flavour=oat"), "stored with the entry");
    assert!(setup.manager.cookie_jar().cookies_for_url(&target).is_empty(), "the jar is not fed from the cache");
}

#[tokio::test]
async fn a_successful_unsafe_request_invalidates_the_stored_response() {
    let setup = setup().await;
    let changed = json!({"response_body": "changed"});
    setup.origin.configure("unsafe", vec![fresh("before"), changed, fresh("after")]);
    get(&setup, "unsafe", 1).await;
    let post = send(&setup, "unsafe", 2, Operation::Post, |_| {}).await;
    assert_eq!(post.body, "changed");
    let third = get(&setup, "unsafe", 3).await;
    assert_eq!((third.from_cache, third.body.as_str()), (false, "after"), "the POST removed the entry");
}

#[tokio::test]
async fn a_range_request_is_sliced_from_a_fresh_complete_response() {
    let setup = setup().await;
    setup.origin.configure("range", vec![fresh("0123456789")]);
    get(&setup, "range", 1).await;
    let slice = send(&setup, "range", 2, Operation::Get, |r| {
        r.headers_mut().insert(http::header::RANGE, http::HeaderValue::from_static("bytes=2-5"));
    })
    .await;
    assert_eq!((slice.status, slice.from_cache, slice.body.as_str()), (Some(206), true, "2345"));
    assert_eq!(slice.reply.header("content-range").as_deref(), Some("bytes 2-5/10"));
    assert_eq!(setup.origin.seen("range").len(), 1);
}

#[tokio::test]
async fn a_failed_download_leaves_nothing_in_the_cache() {
    let head = b"HTTP/1.1 200 OK\r\nCache-Control: max-age=3600\r\nContent-Length: 1000\r\n\r\n".to_vec();
    let truncated = [head, vec![b'x'; 500]].concat();
    let server = RawServer::start(Script::Replies(vec![vec![truncated]])).await;
    let directory = tempfile::tempdir().unwrap();
    let cache = DiskCache::new(directory.path()).unwrap();
    let manager = NetworkAccessManager::builder().cache(Arc::new(cache.clone())).build();
    let mut reply = manager.get(Request::new(server.url("/cut")));
    let body = tokio::time::timeout(LIMIT, reply.read_all()).await.unwrap();
    assert_eq!(body.len(), 500);
    assert_eq!(reply.error().map(|e| e.kind()), Some(NetworkErrorKind::RemoteHostClosedError));
    assert!(cache.data(&url::Url::parse(&server.url("/cut")).unwrap()).is_none());
    assert_eq!(std::fs::read_dir(directory.path().join("prepared")).unwrap().count(), 0, "no temporary file is left");
}

fn files_under(directory: &std::path::Path) -> Vec<Vec<u8>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(directory).unwrap().flatten() {
        if entry.path().is_dir() {
            found.extend(files_under(&entry.path()));
        } else {
            found.push(std::fs::read(entry.path()).unwrap());
        }
    }
    found
}

#[tokio::test]
async fn credentials_never_reach_the_disk_and_vary_on_them_still_works() {
    let setup = setup().await;
    let varies = json!({"response_headers": [["Cache-Control", "max-age=3600"], ["Vary", "Cookie, Authorization"]], "response_body": "private"});
    setup.origin.configure("secret", vec![varies.clone(), varies.clone(), varies]);
    let credentials = |cookie: &'static str| {
        move |r: &mut Request| {
            r.headers_mut().insert(http::header::COOKIE, http::HeaderValue::from_static(cookie));
            r.headers_mut()
                .insert(http::header::AUTHORIZATION, http::HeaderValue::from_static("Basic dG9wOnNlY3JldHBhc3M="));
        }
    };
    assert!(!send(&setup, "secret", 1, Operation::Get, credentials("session=topsecret")).await.from_cache);
    assert!(
        send(&setup, "secret", 2, Operation::Get, credentials("session=topsecret")).await.from_cache,
        "same cookie"
    );
    assert!(
        !send(&setup, "secret", 3, Operation::Get, credentials("session=other")).await.from_cache,
        "another cookie"
    );
    let files = files_under(setup.cache.directory());
    assert!(!files.is_empty());
    for file in files {
        let text = String::from_utf8_lossy(&file);
        for secret in ["topsecret", "session=other", "dG9wOnNlY3JldHBhc3M="] {
            assert!(!text.contains(secret), "{secret} was written to the cache");
        }
    }
}
