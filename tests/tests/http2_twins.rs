//! More HTTP/2 twins of the HTTP/1.1 test groups, through the manager against hyper's HTTP/2
//! server over TLS: issue order, authentication behind one challenge, the cache, retries, HSTS,
//! HAR and multipart. A server that allows one stream at a time plays the part of the single
//! HTTP/1.1 connection in the order tests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::{join_all, BoxFuture, FutureExt};
use netaccess::{
    AuthenticationChallenge, AuthenticationHandler, Credentials, DiskCache, HarRecorder, Multipart, MultipartKind,
    NetworkAccessManager, NetworkAccessManagerBuilder, Part, Reply, Request, RetryPolicy, TlsConfig, Trust,
};
use netaccess_tests::pki::{Pki, Validity};
use netaccess_tests::{sha256_hex, HttpServer};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);

async fn h2_server(max_streams: u32) -> (HttpServer, Pki) {
    let pki = Pki::new("netaccess h2 test CA");
    let server = HttpServer::start_h2(&pki.server(&["localhost"], Validity::Current), max_streams).await;
    (server, pki)
}

fn trusting(pki: &Pki) -> NetworkAccessManagerBuilder {
    NetworkAccessManager::builder()
        .tls(TlsConfig::default().with_trust(Trust::None).with_ca_certificate(pki.ca_der().to_vec()))
}

async fn text(mut reply: Reply) -> String {
    let body = timeout(LIMIT, reply.read_all()).await.expect("the reply finishes");
    assert!(reply.error().is_none(), "{:?}", reply.error());
    assert!(reply.attributes().http2_was_used, "over HTTP/2");
    String::from_utf8_lossy(&body).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_requests_reach_a_one_stream_server_in_issue_order() {
    let (server, pki) = h2_server(1).await;
    let manager = trusting(&pki).build();
    let replies: Vec<Reply> =
        (0..300).map(|i| manager.get(Request::new(server.localhost_url(&format!("/hello?n={i}"))))).collect();
    join_all(replies.into_iter().map(text)).await;
    let expected: Vec<String> = (0..300).map(|i| format!("/hello?n={i}")).collect();
    assert_eq!(server.seen.targets(), expected);
    assert_eq!(server.connections(), 1);
}

struct Alice(Arc<AtomicUsize>);

impl AuthenticationHandler for Alice {
    fn credentials(&self, _challenge: AuthenticationChallenge) -> BoxFuture<'static, Option<Credentials>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        async { Some(Credentials::new("alice", "secret")) }.boxed()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_queued_behind_an_answered_401_carry_the_answer_over_h2() {
    for path in ["/basic/office", "/digest/MD5/auth"] {
        let (server, pki) = h2_server(1).await;
        let asked = Arc::new(AtomicUsize::new(0));
        let manager = trusting(&pki).authentication_handler(Alice(asked.clone())).build();
        let queued = 4;
        let replies: Vec<Reply> =
            (0..=queued).map(|i| manager.get(Request::new(server.localhost_url(&format!("{path}?n={i}"))))).collect();
        for body in join_all(replies.into_iter().map(text)).await {
            assert_eq!(body, "welcome alice", "{path}");
        }
        let seen = server.seen.requests();
        assert_eq!(seen.len(), queued + 2, "{path}: N URLs behind one challenge make N + 1 requests");
        assert_eq!(seen.iter().filter(|r| r.authorization.is_none()).count(), 1, "{path}");
        assert_eq!(asked.load(Ordering::SeqCst), 1, "{path}: the handler was asked once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_requests_on_many_streams_ask_the_handler_once() {
    let (server, pki) = h2_server(100).await;
    let asked = Arc::new(AtomicUsize::new(0));
    let manager = trusting(&pki).authentication_handler(Alice(asked.clone())).build();
    let replies: Vec<Reply> =
        (0..10).map(|i| manager.get(Request::new(server.localhost_url(&format!("/basic/many?n={i}"))))).collect();
    for body in join_all(replies.into_iter().map(text)).await {
        assert_eq!(body, "welcome alice");
    }
    assert_eq!(asked.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_h2_response_is_served_from_the_cache() {
    let (server, pki) = h2_server(100).await;
    let directory = tempfile::tempdir().unwrap();
    let cache = DiskCache::new(directory.path()).unwrap();
    let manager = trusting(&pki).cache(Arc::new(cache)).build();
    server.script("/cached", 200, vec![("cache-control".into(), b"max-age=600".to_vec())]);
    let first = manager.get(Request::new(server.localhost_url("/cached")));
    text(first).await;
    let mut second = manager.get(Request::new(server.localhost_url("/cached")));
    timeout(LIMIT, second.finished()).await.expect("in time").expect("from the cache");
    assert!(second.attributes().source_is_from_cache);
    assert_eq!(server.seen.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_status_over_h2_is_retried() {
    let (server, pki) = h2_server(100).await;
    let mut policy = RetryPolicy::new(3);
    policy.fixed_delay = Some(Duration::from_millis(20));
    let manager = trusting(&pki).retry_policy(policy).build();
    let mut reply = manager.get(Request::new(server.localhost_url("/flaky/h2/2")));
    let body = timeout(LIMIT, reply.bytes()).await.expect("in time").expect("recovered");
    assert_eq!(body, "recovered after 3 requests");
    assert_eq!(reply.attributes().retries, 2);
    assert!(reply.attributes().http2_was_used);
    assert_eq!(server.seen.requests().len(), 3);
    assert_eq!(server.connections(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_learnt_over_h2_sends_http_urls_to_it() {
    let (server, pki) = h2_server(100).await;
    let manager = trusting(&pki).strict_transport_security_enabled(true).build();
    server.script("/sts", 200, vec![("strict-transport-security".into(), b"max-age=600".to_vec())]);
    text(manager.get(Request::new(server.localhost_url("/sts")))).await;
    assert_eq!(manager.strict_transport_security_hosts().len(), 1);
    let port = server.addr.port();
    let replies: Vec<Reply> =
        (0..10).map(|_| manager.get(Request::new(format!("http://localhost:{port}/hello")))).collect();
    for body in join_all(replies.into_iter().map(text)).await {
        assert_eq!(body, "Hello, world!");
    }
    assert_eq!(server.connections(), 1, "upgraded to the same HTTP/2 connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn har_records_h2_hops_as_http2() {
    let (server, pki) = h2_server(100).await;
    let recorder = Arc::new(HarRecorder::new());
    let manager = trusting(&pki).har_recorder(recorder.clone()).build();
    let target = server.localhost_url("/hello");
    let replies = vec![
        manager.get(Request::new(server.localhost_url(&format!("/redirect/302?to={target}")))),
        manager.get(Request::new(server.localhost_url("/bytes/5000"))),
    ];
    join_all(replies.into_iter().map(text)).await;
    let har = recorder.to_json();
    let entries = har["log"]["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 3, "a redirect and two bodies");
    for entry in entries {
        assert_eq!(entry["response"]["httpVersion"], "HTTP/2", "{entry}");
        assert_eq!(entry["request"]["httpVersion"], "HTTP/2", "{entry}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_form_arrives_part_by_part_over_h2() {
    let (server, pki) = h2_server(100).await;
    let manager = trusting(&pki).build();
    let mut form = Multipart::new(MultipartKind::FormData);
    form.append(Part::form_field("title", "over h2"));
    let data = netaccess_tests::pattern(200_000);
    form.append(Part::from_bytes(data.clone()).with_form_data("data", Some("data.bin")));
    let answer = text(manager.post(Request::new(server.localhost_url("/multipart")), form)).await;
    let parts: serde_json::Value = serde_json::from_str(&answer).expect("JSON");
    assert_eq!(parts[0]["name"], "title");
    assert_eq!(parts[1]["file_name"], "data.bin");
    assert_eq!(parts[1]["sha256"], sha256_hex(&data));
}
