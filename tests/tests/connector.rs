//! The one connector through the manager, as a user meets it: an address that never answers
//! costs the happy-eyeballs delay (http and ftp), the reply tells where its time went and which
//! connection it used, and a deadline ends a request wherever it is.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use netaccess::{NetworkAccessManager, NetworkErrorKind, ReplyEvent, Request, Timings, TlsConfig, Trust};
use netaccess_tests::pki::{Pki, Validity};
use netaccess_tests::{BlackHole, FtpServer, HttpServer, RawServer, Script};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

/// `host:port` resolves to the hole first, then to `good`.
fn racing(host: &str, port: u16, hole: &BlackHole, good: SocketAddr) -> NetworkAccessManager {
    NetworkAccessManager::builder().resolve_addresses(host, port, [hole.addr, good]).build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_through_a_first_address_that_never_answers_is_answered_well_under_a_second() {
    let hole = BlackHole::new().await;
    let server = HttpServer::start().await;
    let manager = racing("service.test", 80, &hole, server.addr);
    let began = Instant::now();
    let mut reply = manager.get(Request::new("http://service.test/hello"));
    let head = timeout(LIMIT, reply.head()).await.expect("no hang").expect("the second address answers");
    let took = began.elapsed();
    assert_eq!(head.status, http::StatusCode::OK);
    // Before the race, the hole held the request for the whole 30 s connect timeout.
    assert!(took < Duration::from_secs(1), "the first byte came after {took:?}");
    let facts = reply.attributes().connection.expect("an http reply has connection facts");
    assert_eq!(facts.attempts, vec![hole.addr, server.addr], "the hole first, then the server");
    assert_eq!(facts.remote_address, server.addr);
    assert_eq!(server.seen.targets(), vec!["/hello".to_owned()], "the server saw the request once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ftp_through_a_first_address_that_never_answers_is_answered_well_under_a_second() {
    let hole = BlackHole::new().await;
    let server = FtpServer::start(None).await;
    std::fs::write(server.root().join("file.txt"), b"over ftp").unwrap();
    let good = SocketAddr::from(([127, 0, 0, 1], server.port));
    let manager = racing("files.test", 21, &hole, good);
    let began = Instant::now();
    let mut reply = manager.get(Request::new("ftp://files.test/file.txt"));
    let body = timeout(LIMIT, reply.bytes()).await.expect("no hang").expect("the second address answers");
    assert_eq!(body, "over ftp");
    assert!(began.elapsed() < Duration::from_secs(2), "took {:?}", began.elapsed());
    let facts = reply.attributes().connection.expect("ftp reports its control connection");
    assert_eq!(facts.attempts, vec![hole.addr, good]);
    assert_eq!(facts.remote_address, good);

    // The next request reuses the control connection, and says so.
    let mut again = manager.get(Request::new("ftp://files.test/file.txt"));
    assert_eq!(timeout(LIMIT, again.bytes()).await.unwrap().unwrap(), "over ftp");
    let facts = again.attributes().connection.unwrap();
    assert!(facts.reused, "{facts:?}");
    let timings = again.attributes().timings.unwrap();
    assert_eq!((timings.dns, timings.connect), (None, None), "a reused connection has no opening phases");
}

/// Every phase that happened, in the order phases happen, ends by the total.
fn assert_in_order(timings: &Timings) {
    let phases = [timings.dns, timings.connect, timings.tls, timings.sent, timings.first_byte, timings.total];
    let present: Vec<Duration> = phases.into_iter().flatten().collect();
    assert!(present.windows(2).all(|pair| pair[0] <= pair[1]), "phases out of order: {timings:?}");
    assert!(timings.total.is_some(), "a finished reply has its total: {timings:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_timings_keep_their_order_and_a_reused_connection_reports_no_opening() {
    let pki = Pki::new("netaccess test CA");
    let server = HttpServer::start_tls(&pki.server(&["localhost"], Validity::Current)).await;
    let tls = TlsConfig::default().with_trust(Trust::None).with_ca_certificate(pki.ca_der().to_vec());
    let manager = NetworkAccessManager::builder().tls(tls).build();

    let mut first = manager.get(Request::new(server.localhost_url("/hello")));
    let mut events = Vec::new();
    while let Some(event) = timeout(LIMIT, first.next_event()).await.unwrap() {
        events.push(event);
    }
    assert!(first.error().is_none(), "{:?}", first.error());
    let connecting = events.iter().position(|e| matches!(e, ReplyEvent::SocketStartedConnecting));
    let sent = events.iter().position(|e| matches!(e, ReplyEvent::RequestSent));
    let head = events.iter().position(|e| matches!(e, ReplyEvent::MetaDataChanged));
    assert!(connecting < sent && sent < head && connecting.is_some(), "{events:?}");
    let attributes = first.attributes();
    let timings = attributes.timings.unwrap();
    assert!(timings.dns.is_some(), "localhost was resolved: {timings:?}");
    assert!(timings.connect.is_some() && timings.tls.is_some(), "{timings:?}");
    assert_in_order(&timings);
    let facts = attributes.connection.unwrap();
    assert!(!facts.reused);
    assert_eq!(facts.remote_address.port(), server.addr.port());
    assert_eq!(facts.local_address.ip(), facts.remote_address.ip(), "both ends on loopback");
    let session = facts.tls.expect("an https connection has a TLS session");
    assert!(session.version.starts_with("TLS"), "{session:?}");
    assert!(!session.cipher.is_empty(), "{session:?}");
    assert_eq!(session.alpn.as_deref(), Some("http/1.1"));
    assert_eq!(attributes.http_version, Some(http::Version::HTTP_11));

    let mut second = manager.get(Request::new(server.localhost_url("/hello")));
    let mut events = Vec::new();
    while let Some(event) = timeout(LIMIT, second.next_event()).await.unwrap() {
        events.push(event);
    }
    assert!(!events.iter().any(|e| matches!(e, ReplyEvent::SocketStartedConnecting)), "{events:?}");
    let attributes = second.attributes();
    let again = attributes.connection.unwrap();
    assert!(again.reused);
    assert_eq!(again.id, facts.id, "the same connection");
    assert!(again.attempts.is_empty());
    assert!(again.tls.is_some(), "a reused connection still tells its TLS session");
    let timings = attributes.timings.unwrap();
    assert_eq!((timings.dns, timings.connect, timings.tls), (None, None, None), "{timings:?}");
    assert!(timings.sent.is_some() && timings.first_byte.is_some());
    assert_in_order(&timings);
    assert_eq!(server.connections(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_ends_a_request_that_is_answered_too_slowly() {
    let server =
        RawServer::start(Script::Drip { bytes: b"HTTP/1.1 200 OK\r\n".to_vec(), interval: Duration::from_millis(50) })
            .await;
    let manager = NetworkAccessManager::new();
    let mut request = Request::new(server.url("/"));
    request.attributes_mut().deadline = Some(Duration::from_millis(400));
    let began = Instant::now();
    // The drip keeps the transfer timeout (inactivity) from ever firing; only the deadline can.
    let error = timeout(LIMIT, manager.get(request).finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::TimeoutError, "{error}");
    assert!(error.message().contains("deadline of 400 ms"), "names the limit that fired: {error}");
    assert!(began.elapsed() < Duration::from_secs(3), "{:?}", began.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_managers_deadline_counts_time_in_the_queue_too() {
    let silent = RawServer::start(Script::Silent).await;
    let manager =
        NetworkAccessManager::builder().max_connections_per_host(1).deadline(Duration::from_millis(500)).build();
    let mut holding = Request::new(silent.url("/first"));
    holding.attributes_mut().deadline = Some(Duration::ZERO);
    let first = manager.get(holding);
    let began = Instant::now();
    let mut queued = manager.get(Request::new(silent.url("/second")));
    let error = timeout(LIMIT, queued.finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::TimeoutError, "{error}");
    assert!(error.message().contains("deadline of 500 ms"), "{error}");
    assert!(began.elapsed() < Duration::from_secs(3), "{:?}", began.elapsed());
    assert!(!first.is_finished(), "a request with no limit (zero) still waits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_meets_the_response_head_timeout() {
    let silent = RawServer::start(Script::Silent).await;
    let manager = NetworkAccessManager::builder().response_head_timeout(Duration::from_millis(300)).build();
    let began = Instant::now();
    let error = timeout(LIMIT, manager.get(Request::new(silent.url("/"))).finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::TimeoutError, "{error}");
    assert!(error.message().contains("response head timeout"), "names the limit that fired: {error}");
    assert!(began.elapsed() < Duration::from_secs(3), "{:?}", began.elapsed());
}
