//! HTTP/2 through the manager, against hyper's HTTP/2 server on loopback (TLS with ALPN, and
//! h2c by prior knowledge): negotiation, one multiplexed connection per host, the server's
//! stream limit, the queue's priorities, and the HTTP/1.1 test groups that apply, as twins:
//! uploads, redirects, cookies, authentication, decompression, abort, proxies.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::{join_all, BoxFuture, FutureExt};
use netaccess::{
    IgnoredSslErrors, NetworkAccessManager, NetworkAccessManagerBuilder, NetworkErrorKind, Priority, Reply, ReplyEvent,
    Request, SslError, SslErrorDecision, SslErrorHandler, SslErrorKind, TlsConfig, Trust,
};
use netaccess_tests::pki::{self_signed, Pki, Validity};
use netaccess_tests::{pattern, HttpServer, TestProxy};
use sha2::{Digest, Sha256};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);

struct H2 {
    server: HttpServer,
    pki: Pki,
}

async fn h2_server(max_streams: u32) -> H2 {
    let pki = Pki::new("netaccess h2 test CA");
    let server = HttpServer::start_h2(&pki.server(&["localhost", "127.0.0.1"], Validity::Current), max_streams).await;
    H2 { server, pki }
}

fn trusting(pki: &Pki) -> NetworkAccessManagerBuilder {
    NetworkAccessManager::builder()
        .tls(TlsConfig::default().with_trust(Trust::None).with_ca_certificate(pki.ca_der().to_vec()))
}

/// Reads a reply to its end: its body, or its error.
async fn finish(mut reply: Reply) -> (Reply, Result<bytes::Bytes, netaccess::NetworkError>) {
    let body = timeout(LIMIT, reply.bytes()).await.expect("the reply finishes");
    (reply, body)
}

fn versions(server: &HttpServer) -> Vec<String> {
    server.seen.requests().into_iter().map(|r| r.version).collect()
}

#[tokio::test]
async fn https_speaks_h2_when_offered_and_fifty_requests_share_one_connection() {
    let H2 { server, pki } = h2_server(100).await;
    let manager = trusting(&pki).build();
    let replies: Vec<Reply> = (0..50)
        .map(|i| {
            let path = if i % 5 == 0 { format!("/slow/100?{i}") } else { format!("/bytes/{}", 1000 + i) };
            manager.get(Request::new(server.localhost_url(&path)))
        })
        .collect();
    for (i, (reply, body)) in join_all(replies.into_iter().map(finish)).await.into_iter().enumerate() {
        let body = body.unwrap_or_else(|e| panic!("reply {i}: {e}"));
        let expected = if i % 5 == 0 { bytes::Bytes::from_static(b"slow") } else { pattern(1000 + i).into() };
        assert_eq!(body, expected, "reply {i}'s body");
        let attributes = reply.attributes();
        assert!(attributes.http2_was_used, "reply {i} used HTTP/2");
        assert_eq!(attributes.http_version, Some(http::Version::HTTP_2));
        assert_eq!(reply.status(), Some(200));
        assert_eq!(reply.reason().as_deref(), Some("OK"), "the status's canonical reason");
        let tls = attributes.connection.as_ref().and_then(|c| c.tls.clone()).expect("TLS facts");
        assert_eq!(tls.alpn.as_deref(), Some("h2"));
    }
    assert_eq!(server.connections(), 1, "one connection for every request");
    assert_eq!(versions(&server), vec!["HTTP/2.0"; 50]);
    let most = server.seen.max_in_flight.load(Ordering::SeqCst);
    assert!(most >= 10, "the ten slow requests were answered at once, beyond HTTP/1.1's six: {most}");
}

#[tokio::test]
async fn a_server_without_h2_gets_http11_on_up_to_six_connections() {
    let pki = Pki::new("netaccess h2 test CA");
    let server = HttpServer::start_tls(&pki.server(&["localhost"], Validity::Current)).await;
    let manager = trusting(&pki).build();
    let replies: Vec<Reply> = (0..20).map(|_| manager.get(Request::new(server.localhost_url("/slow/50")))).collect();
    for (reply, body) in join_all(replies.into_iter().map(finish)).await {
        assert_eq!(body.expect("a body"), "slow");
        assert!(!reply.attributes().http2_was_used);
        assert_eq!(reply.attributes().http_version, Some(http::Version::HTTP_11));
    }
    let connections = server.connections();
    assert!((2..=6).contains(&connections), "HTTP/1.1's six per host once the first said so: {connections}");
    assert_eq!(versions(&server), vec!["HTTP/1.1"; 20]);
}

#[tokio::test]
async fn http2_allowed_off_offers_http11_only() {
    let H2 { server, pki } = h2_server(100).await;
    let manager = trusting(&pki).build();
    let mut request = Request::new(server.localhost_url("/hello"));
    request.attributes_mut().http2_allowed = false;
    let (reply, body) = finish(manager.get(request)).await;
    assert_eq!(body.expect("a body"), "Hello, world!");
    assert!(!reply.attributes().http2_was_used);
    let (reply, _) = finish(manager.get(Request::new(server.localhost_url("/hello")))).await;
    assert!(reply.attributes().http2_was_used, "allowed by default");
    assert_eq!(versions(&server), ["HTTP/1.1", "HTTP/2.0"]);
    assert_eq!(server.connections(), 2, "an HTTP/1.1 connection never carries a request that allows h2");
}

#[tokio::test]
async fn h2c_by_prior_knowledge_only_when_asked() {
    let server = HttpServer::start_h2c(100).await;
    let manager = NetworkAccessManager::new();
    let direct = |path: &str| {
        let mut request = Request::new(server.url(path));
        request.attributes_mut().http2_direct = true;
        request
    };
    let replies: Vec<Reply> = (0..10).map(|i| manager.get(direct(&format!("/bytes/{i}")))).collect();
    for (reply, body) in join_all(replies.into_iter().map(finish)).await {
        assert!(body.is_ok());
        assert!(reply.attributes().http2_was_used);
        assert!(!reply.attributes().connection_encrypted);
    }
    let (reply, _) = finish(manager.get(Request::new(server.url("/hello")))).await;
    assert!(!reply.attributes().http2_was_used, "plain http is HTTP/1.1 unless asked");
    let mut seen = versions(&server);
    assert_eq!(seen.pop().as_deref(), Some("HTTP/1.1"));
    assert_eq!(seen, vec!["HTTP/2.0"; 10]);
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn the_servers_stream_limit_holds_and_the_queue_orders_who_gets_the_next_stream() {
    let H2 { server, pki } = h2_server(2).await;
    let manager = trusting(&pki).build();
    // Settle the connection and its settings first.
    let (_, warm) = finish(manager.get(Request::new(server.localhost_url("/hello")))).await;
    warm.expect("warm-up");
    let mut replies = vec![
        manager.get(Request::new(server.localhost_url("/slow/300?a"))),
        manager.get(Request::new(server.localhost_url("/slow/300?b"))),
    ];
    timeout(LIMIT, async {
        while server.seen.requests().len() < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("both slow requests reached the server");
    for i in 0..5 {
        replies.push(manager.get(Request::new(server.localhost_url(&format!("/slow/20?normal={i}")))));
    }
    let mut low = Request::new(server.localhost_url("/slow/20?low"));
    low.attributes_mut().priority = Priority::Low;
    replies.insert(2, manager.get(low));
    let mut urgent = Request::new(server.localhost_url("/slow/20?high"));
    urgent.attributes_mut().priority = Priority::High;
    replies.push(manager.get(urgent));
    for (_, body) in join_all(replies.into_iter().map(finish)).await {
        body.expect("a body");
    }
    assert_eq!(server.connections(), 1);
    assert_eq!(server.seen.max_in_flight.load(Ordering::SeqCst), 2, "never more streams than the server allows");
    let targets = server.seen.targets();
    assert_eq!(
        targets[3..],
        [
            "/slow/20?high",
            "/slow/20?normal=0",
            "/slow/20?normal=1",
            "/slow/20?normal=2",
            "/slow/20?normal=3",
            "/slow/20?normal=4",
            "/slow/20?low"
        ],
        "{targets:?}"
    );
}

#[tokio::test]
async fn requests_issued_together_wait_for_the_first_connection_instead_of_opening_more() {
    let H2 { server, pki } = h2_server(100).await;
    let manager = trusting(&pki).build();
    let replies: Vec<Reply> = (0..30).map(|_| manager.get(Request::new(server.localhost_url("/hello")))).collect();
    for (_, body) in join_all(replies.into_iter().map(finish)).await {
        assert_eq!(body.expect("a body"), "Hello, world!");
    }
    assert_eq!((server.connections(), server.handshakes()), (1, 1));
}

#[tokio::test]
async fn uploads_of_known_and_unknown_length_arrive_whole() {
    let H2 { server, pki } = h2_server(100).await;
    let manager = trusting(&pki).build();
    let data = pattern(3 * 1024 * 1024 + 7);
    let digest = format!("{:x}", Sha256::digest(&data));
    let mut replies = Vec::new();
    for _ in 0..3 {
        replies.push(manager.post(Request::new(server.localhost_url("/upload")), data.clone()));
    }
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> =
        data.chunks(100_000).map(|c| Ok(bytes::Bytes::copy_from_slice(c))).collect();
    let streamed = netaccess::Body::from_stream(futures::stream::iter(chunks), None);
    replies.push(manager.post(Request::new(server.localhost_url("/upload")), streamed));
    for (reply, body) in join_all(replies.into_iter().map(finish)).await {
        body.expect("the upload's answer");
        assert!(reply.attributes().http2_was_used);
        assert_eq!(reply.status(), Some(200));
    }
    assert_eq!(*server.seen.uploads.lock().unwrap(), vec![digest; 4]);
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn upload_progress_and_events_come_as_over_http11() {
    let H2 { server, pki } = h2_server(100).await;
    let manager = trusting(&pki).build();
    let mut reply = manager.post(Request::new(server.localhost_url("/upload")), pattern(1 << 20));
    let mut events = Vec::new();
    while let Some(event) = timeout(LIMIT, reply.next_event()).await.expect("no hang") {
        events.push(event);
    }
    assert!(reply.error().is_none(), "{:?}", reply.error());
    let last_upload = events.iter().rev().find_map(|e| match e {
        ReplyEvent::UploadProgress { sent, total } => Some((*sent, *total)),
        _ => None,
    });
    assert_eq!(last_upload, Some((1 << 20, 1 << 20)));
    let position = |wanted: fn(&ReplyEvent) -> bool| events.iter().position(wanted);
    let encrypted = position(|e| matches!(e, ReplyEvent::Encrypted)).expect("Encrypted");
    let metadata = position(|e| matches!(e, ReplyEvent::MetaDataChanged)).expect("MetaDataChanged");
    let finished = position(|e| matches!(e, ReplyEvent::Finished)).expect("Finished");
    assert!(encrypted < metadata && metadata < finished);
}

#[tokio::test]
async fn gzip_is_decoded_and_redirects_and_cookies_work_over_h2() {
    let H2 { server, pki } = h2_server(100).await;
    let manager = trusting(&pki).build();
    let (reply, body) = finish(manager.get(Request::new(server.localhost_url("/gzip/300000")))).await;
    assert_eq!(body.expect("a body"), pattern(300_000));
    assert!(reply.attributes().original_content_length.is_some(), "decoded");
    assert!(reply.header("content-encoding").is_none());

    let target = server.localhost_url("/hello");
    let (reply, body) =
        finish(manager.get(Request::new(server.localhost_url(&format!("/redirect/302?to={target}"))))).await;
    assert_eq!(body.expect("a body"), "Hello, world!");
    assert_eq!(reply.redirects().len(), 1);
    assert!(reply.attributes().http2_was_used);

    let set = "/status/200";
    server.script(set, 200, vec![("set-cookie".into(), b"flavour=oat; Path=/".to_vec())]);
    finish(manager.get(Request::new(server.localhost_url(set)))).await.1.expect("cookie set");
    finish(manager.get(Request::new(server.localhost_url("/hello?with-cookie")))).await.1.expect("cookie sent");
    let cookie = server.seen.requests().last().and_then(|r| r.cookie.clone());
    assert_eq!(cookie.as_deref(), Some("flavour=oat"));
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn basic_authentication_is_answered_over_h2() {
    let H2 { server, pki } = h2_server(100).await;
    let manager = trusting(&pki).build();
    let url = server.localhost_url("/basic/h2-realm").replace("https://", "https://alice:secret@");
    let (reply, body) = finish(manager.get(Request::new(url))).await;
    body.expect("welcomed");
    assert_eq!(reply.status(), Some(200));
    assert!(reply.attributes().http2_was_used);
    let authorizations: Vec<Option<String>> = server.seen.requests().into_iter().map(|r| r.authorization).collect();
    assert_eq!(authorizations.len(), 2, "a challenge, then the answer");
    assert!(authorizations[1].as_deref().is_some_and(|a| a.starts_with("Basic ")));
}

#[tokio::test]
async fn an_aborted_download_resets_its_stream_and_the_connection_carries_on() {
    let H2 { server, pki } = h2_server(100).await;
    let manager = trusting(&pki).build();
    let mut big = manager.get(Request::new(server.localhost_url("/bytes/50000000")));
    let first = timeout(LIMIT, big.chunk()).await.expect("no hang");
    assert!(first.is_some_and(|c| !c.is_empty()));
    big.abort();
    assert_eq!(
        timeout(LIMIT, big.finished()).await.expect("ends").map_err(|e| e.kind()),
        Err(NetworkErrorKind::OperationCanceledError)
    );
    let (reply, body) = finish(manager.get(Request::new(server.localhost_url("/hello")))).await;
    assert_eq!(body.expect("a body"), "Hello, world!");
    assert!(reply.attributes().connection.expect("facts").reused, "the same connection");
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn a_reader_that_stops_reading_holds_only_its_own_stream() {
    let H2 { server, pki } = h2_server(100).await;
    let manager = trusting(&pki).build();
    // Not read: its stream stops at its window, the connection's other streams go on.
    let stalled = manager.get(Request::new(server.localhost_url("/bytes/20000000")));
    // The body starts, then stops where back-pressure holds it: the reply's read buffer, the
    // event queue and the stream's window (1 MiB each at most), never the 20 MB.
    let buffered = netaccess_tests::settled_value(Duration::from_millis(50), 200, || stalled.bytes_received())
        .await
        .expect("the stalled stream stops taking bytes");
    assert!(buffered > 0, "the body started");
    assert!(buffered <= 3 * 1024 * 1024, "back-pressure holds the body: {buffered} bytes taken");
    let (_, body) = finish(manager.get(Request::new(server.localhost_url("/bytes/3000000")))).await;
    assert_eq!(body.expect("a body").len(), 3_000_000);
    let (_, body) = finish(stalled).await;
    assert_eq!(body.expect("the stalled body, read at last"), pattern(20_000_000));
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn h2_goes_through_a_connect_tunnel_and_socks5() {
    let H2 { server, pki } = h2_server(100).await;
    let proxy = TestProxy::http(None).await;
    let socks = TestProxy::socks5(None).await;
    for proxy_url in [proxy.url("http"), socks.url("socks5h")] {
        let manager = trusting(&pki).proxy(netaccess::Proxy::from_url(&proxy_url).expect("proxy URL")).build();
        let replies: Vec<Reply> = (0..5).map(|_| manager.get(Request::new(server.localhost_url("/hello")))).collect();
        for (reply, body) in join_all(replies.into_iter().map(finish)).await {
            assert_eq!(body.expect("a body"), "Hello, world!");
            assert!(reply.attributes().http2_was_used, "through {proxy_url}");
            assert!(reply.attributes().proxy.is_some());
        }
    }
    assert_eq!(server.connections(), 2, "one tunnel each");
}

#[tokio::test]
async fn a_transfer_timeout_bounds_a_stream_that_never_answers() {
    let H2 { server, pki } = h2_server(100).await;
    let manager = trusting(&pki).transfer_timeout(Duration::from_millis(300)).build();
    let (_, body) = finish(manager.get(Request::new(server.localhost_url("/slow/5000")))).await;
    assert_eq!(body.map_err(|e| e.kind()), Err(NetworkErrorKind::TimeoutError));
    let (_, body) = finish(manager.get(Request::new(server.localhost_url("/hello")))).await;
    assert_eq!(body.expect("the connection carries on"), "Hello, world!");
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn requests_accepting_the_same_problem_share_the_h2_connection_and_strict_ones_do_not() {
    let pki = Pki::new("netaccess h2 test CA");
    let server = HttpServer::start_h2(&pki.server(&["elsewhere.example"], Validity::Current), 100).await;
    let manager = trusting(&pki).build();
    let lenient = || {
        let mut request = Request::new(server.localhost_url("/hello"));
        request.attributes_mut().ignore_ssl_errors = IgnoredSslErrors::Listed(vec![SslErrorKind::HostNameMismatch]);
        request
    };
    let replies: Vec<Reply> = (0..5).map(|_| manager.get(lenient())).collect();
    for (reply, body) in join_all(replies.into_iter().map(finish)).await {
        assert_eq!(body.expect("accepted"), "Hello, world!");
        assert!(reply.attributes().http2_was_used);
    }
    assert_eq!(server.handshakes(), 1, "requests that accept the same problem share the connection");
    let (_, strict) = finish(manager.get(Request::new(server.localhost_url("/hello")))).await;
    assert_eq!(strict.map_err(|e| e.kind()), Err(NetworkErrorKind::SslHandshakeFailedError));
    assert_eq!(server.handshakes(), 1, "the strict request's own handshake was refused");
}

struct CountingHandler(Arc<AtomicUsize>);

impl SslErrorHandler for CountingHandler {
    fn decide(&self, _: &url::Url, _: &[SslError], _: &[bytes::Bytes]) -> BoxFuture<'static, SslErrorDecision> {
        self.0.fetch_add(1, Ordering::SeqCst);
        async { SslErrorDecision::IgnoreAll }.boxed()
    }
}

#[tokio::test]
async fn a_connection_a_handler_accepted_serves_one_request_over_h2_too() {
    let server = HttpServer::start_h2(&self_signed(&["localhost"]), 100).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let manager = NetworkAccessManager::builder()
        .tls(TlsConfig::default().with_trust(Trust::None))
        .ssl_error_handler(CountingHandler(calls.clone()))
        .build();
    for _ in 0..2 {
        let (reply, body) = finish(manager.get(Request::new(server.localhost_url("/hello")))).await;
        assert_eq!(body.expect("accepted by the handler"), "Hello, world!");
        assert!(reply.attributes().http2_was_used);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2, "asked for each connection");
    assert_eq!(server.handshakes(), 2, "none shared");
}

#[tokio::test]
async fn replies_read_one_after_another_never_starve_each_other_of_the_connections_window() {
    let H2 { server, pki } = h2_server(100).await;
    let manager = trusting(&pki).build();
    // Issued together, read one at a time: while one is read, the other 59 fill their
    // read buffers and stream windows and are not read. Their unread data must not use up the
    // connection's window, or the one being read could not finish.
    let replies: Vec<Reply> = (0..60)
        .map(|i| manager.get(Request::new(server.localhost_url(&format!("/bytes/{}", 3_000_000 + i)))))
        .collect();
    // Read last first: a server that sends in request order fills the others first.
    for (i, reply) in replies.into_iter().enumerate().rev() {
        let (_, body) = finish(reply).await;
        assert_eq!(body.expect("a body").len(), 3_000_000 + i, "reply {i}");
    }
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn an_upload_whose_source_fails_ends_at_once_with_the_sources_error() {
    let H2 { server, pki } = h2_server(100).await;
    let manager = trusting(&pki).build();
    let pieces: Vec<Result<bytes::Bytes, std::io::Error>> =
        vec![Ok(bytes::Bytes::from_static(b"the first part")), Err(std::io::Error::other("the disk went away"))];
    let body = netaccess::Body::from_stream(futures::stream::iter(pieces), Some(1000));
    let (_, outcome) = finish(manager.post(Request::new(server.localhost_url("/upload")), body)).await;
    let error = outcome.expect_err("the upload failed");
    assert!(error.message().contains("the disk went away"), "{error}");
    let (_, body) = finish(manager.get(Request::new(server.localhost_url("/hello")))).await;
    assert_eq!(body.expect("the connection carries on"), "Hello, world!");
    assert_eq!(server.connections(), 1);
}
