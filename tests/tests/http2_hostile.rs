//! HTTP/2 servers that go away, refuse, reset, flood or stall, each a byte-level h2c server
//! (`netaccess_tests::raw_h2`), driven through the manager with several requests in flight.

use std::time::Duration;

use futures::future::join_all;
use netaccess::{NetworkAccessManager, NetworkErrorKind, Reply, Request};
use netaccess_tests::raw_h2::{self, H2Action, H2Request, RawH2Server};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);

fn h2c(url: String) -> Request {
    let mut request = Request::new(url);
    request.attributes_mut().http2_direct = true;
    request
}

async fn finish(mut reply: Reply) -> Result<bytes::Bytes, NetworkErrorKind> {
    timeout(LIMIT, reply.bytes()).await.expect("the reply finishes").map_err(|e| e.kind())
}

async fn three_at_once(
    manager: &NetworkAccessManager,
    server: &RawH2Server,
) -> Vec<Result<bytes::Bytes, NetworkErrorKind>> {
    let replies: Vec<Reply> = (0..3).map(|i| manager.get(h2c(server.url(&format!("/{i}"))))).collect();
    join_all(replies.into_iter().map(finish)).await
}

#[tokio::test]
async fn streams_above_the_goaway_last_id_are_sent_again_on_a_new_connection() {
    // The first connection answers stream 1 once three streams are open, says only stream 1
    // was processed, and closes; the second answers everything.
    let server = RawH2Server::start(vec![], |request: H2Request| match (request.connection, request.nth) {
        (0, 2) => vec![
            H2Action::Write([raw_h2::ok(1, b"first"), raw_h2::goaway(1, raw_h2::NO_ERROR)].concat()),
            H2Action::Close,
        ],
        (0, _) => vec![],
        _ => vec![H2Action::Write(raw_h2::ok(request.stream, b"again"))],
    })
    .await;
    let manager = NetworkAccessManager::new();
    let bodies = three_at_once(&manager, &server).await;
    assert_eq!(bodies, [Ok("first".into()), Ok("again".into()), Ok("again".into())]);
    let seen = server.seen();
    assert_eq!(seen.iter().filter(|r| r.connection == 0).count(), 3);
    assert_eq!(seen.iter().filter(|r| r.connection == 1).count(), 2, "only the unprocessed two again");
}

#[tokio::test]
async fn streams_the_server_may_have_processed_fail_with_remote_host_closed() {
    let server = RawH2Server::start(vec![], |request: H2Request| match request.nth {
        2 => vec![H2Action::Write(raw_h2::goaway(5, raw_h2::NO_ERROR)), H2Action::Close],
        _ => vec![],
    })
    .await;
    let manager = NetworkAccessManager::new();
    let bodies = three_at_once(&manager, &server).await;
    assert_eq!(bodies, vec![Err(NetworkErrorKind::RemoteHostClosedError); 3]);
    assert_eq!(server.seen().len(), 3, "none sent twice");
}

#[tokio::test]
async fn a_refused_stream_is_sent_again() {
    let server = RawH2Server::start(vec![], |request: H2Request| match request.nth {
        0 => vec![H2Action::Write(raw_h2::reset(request.stream, raw_h2::REFUSED_STREAM))],
        _ => vec![H2Action::Write(raw_h2::ok(request.stream, b"welcome"))],
    })
    .await;
    let manager = NetworkAccessManager::new();
    assert_eq!(finish(manager.get(h2c(server.url("/")))).await, Ok("welcome".into()));
    assert_eq!(server.seen().len(), 2);
    assert_eq!(server.connections.load(std::sync::atomic::Ordering::SeqCst), 1, "on the same connection");
}

#[tokio::test]
async fn a_server_resetting_every_stream_fails_each_request_and_nothing_else() {
    let server = RawH2Server::start(vec![], |request: H2Request| {
        vec![H2Action::Write(raw_h2::reset(request.stream, raw_h2::CANCEL))]
    })
    .await;
    let manager = NetworkAccessManager::new();
    let replies: Vec<Reply> = (0..50).map(|i| manager.get(h2c(server.url(&format!("/{i}"))))).collect();
    let bodies = join_all(replies.into_iter().map(finish)).await;
    assert_eq!(bodies, vec![Err(NetworkErrorKind::RemoteHostClosedError); 50]);
    let healthy = RawH2Server::start(vec![], |r: H2Request| vec![H2Action::Write(raw_h2::ok(r.stream, b"fine"))]).await;
    assert_eq!(finish(manager.get(h2c(healthy.url("/")))).await, Ok("fine".into()), "the manager carries on");
}

#[tokio::test]
async fn an_hpack_bomb_is_refused_by_the_header_list_limit() {
    // 4 KB in the dynamic table, referenced 12,000 times: 12 KB on the wire, 48 MB decoded.
    let server =
        RawH2Server::start(vec![], |r: H2Request| vec![H2Action::Write(raw_h2::hpack_bomb(r.stream, 4000, 12_000))])
            .await;
    let manager = NetworkAccessManager::new();
    let outcome = finish(manager.get(h2c(server.url("/")))).await;
    assert_eq!(outcome, Err(NetworkErrorKind::ProtocolFailure));
}

#[tokio::test]
async fn a_continuation_flood_ends_in_an_error_not_a_hang() {
    for block in [&b""[..], &b"\x00\x01a\x01b"[..]] {
        let server = RawH2Server::start(vec![], move |r: H2Request| {
            vec![
                H2Action::Write(raw_h2::open_headers(r.stream)),
                H2Action::Repeat(raw_h2::continuation(r.stream, block), 200_000),
            ]
        })
        .await;
        let manager = NetworkAccessManager::new();
        let outcome = finish(manager.get(h2c(server.url("/")))).await;
        assert!(outcome.is_err(), "CONTINUATION frames of {} bytes: {outcome:?}", block.len());
    }
}

#[tokio::test]
async fn ping_and_settings_floods_are_survived() {
    for (name, flood) in [("PING", raw_h2::ping()), ("SETTINGS", raw_h2::empty_settings())] {
        let server = RawH2Server::start(vec![], move |r: H2Request| {
            vec![H2Action::Repeat(flood.clone(), 10_000), H2Action::Write(raw_h2::ok(r.stream, b"still here"))]
        })
        .await;
        let manager = NetworkAccessManager::new();
        let outcome = finish(manager.get(h2c(server.url("/")))).await;
        assert_eq!(outcome, Ok("still here".into()), "a {name} flood");
    }
}

#[tokio::test]
async fn an_upload_to_a_server_that_never_opens_its_window_times_out() {
    let server = RawH2Server::start(vec![(raw_h2::INITIAL_WINDOW_SIZE, 0)], |_| vec![]).await;
    let manager = NetworkAccessManager::builder().transfer_timeout(Duration::from_millis(500)).build();
    let reply = manager.post(h2c(server.url("/upload")), vec![7u8; 100_000]);
    assert_eq!(finish(reply).await, Err(NetworkErrorKind::TimeoutError));
}

#[tokio::test]
async fn a_gzip_bomb_over_h2_is_refused_by_the_same_guard() {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..64 {
        encoder.write_all(&[0u8; 1024 * 1024]).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    let server =
        RawH2Server::start(vec![], move |r: H2Request| vec![H2Action::Write(raw_h2::ok_gzip(r.stream, &bomb))]).await;
    // Qt's threshold, 10 MiB: the ratio rule is the same at the default's 512 MiB.
    let manager = NetworkAccessManager::builder().decompression_threshold(Some(10 * 1024 * 1024)).build();
    let mut reply = manager.get(h2c(server.url("/bomb")));
    let mut delivered = 0usize;
    while let Some(chunk) = timeout(LIMIT, reply.chunk()).await.expect("no hang") {
        delivered += chunk.len();
    }
    let error = reply.error().expect("the bomb is refused");
    assert_eq!(error.kind(), NetworkErrorKind::ProtocolFailure, "{error}");
    assert!(error.message().contains("bomb"), "{error}");
    assert!(delivered < 32 * 1024 * 1024, "stopped near the threshold: {delivered} bytes delivered");
}

#[tokio::test]
async fn a_connection_the_server_closed_while_idle_is_replaced_without_an_error() {
    // Each connection closes 300 ms after its first request, without GOAWAY, as a server's idle
    // timeout does.
    let server = RawH2Server::start(vec![], |r: H2Request| match r.nth {
        0 => vec![H2Action::Write(raw_h2::ok(r.stream, b"hello")), H2Action::CloseAfter(Duration::from_millis(300))],
        _ => vec![H2Action::Write(raw_h2::ok(r.stream, b"hello"))],
    })
    .await;
    let manager = NetworkAccessManager::new();
    assert_eq!(finish(manager.get(h2c(server.url("/")))).await, Ok("hello".into()));
    assert_eq!(finish(manager.get(h2c(server.url("/")))).await, Ok("hello".into()), "on the open connection");
    assert_eq!(server.connections.load(std::sync::atomic::Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(finish(manager.get(h2c(server.url("/")))).await, Ok("hello".into()), "after the close");
    assert_eq!(server.connections.load(std::sync::atomic::Ordering::SeqCst), 2);
    let seen: Vec<(usize, usize)> = server.seen().iter().map(|r| (r.connection, r.nth)).collect();
    assert_eq!(seen, [(0, 0), (0, 1), (1, 0)]);
}

#[tokio::test]
async fn clearing_the_connection_cache_lets_the_next_request_open_a_new_h2_connection() {
    let server = RawH2Server::start(vec![], |r: H2Request| vec![H2Action::Write(raw_h2::ok(r.stream, b"hi"))]).await;
    let manager = NetworkAccessManager::new();
    assert_eq!(finish(manager.get(h2c(server.url("/")))).await, Ok("hi".into()));
    assert_eq!(finish(manager.get(h2c(server.url("/")))).await, Ok("hi".into()));
    assert_eq!(server.connections.load(std::sync::atomic::Ordering::SeqCst), 1, "shared");
    manager.clear_connection_cache();
    assert_eq!(finish(manager.get(h2c(server.url("/")))).await, Ok("hi".into()));
    assert_eq!(server.connections.load(std::sync::atomic::Ordering::SeqCst), 2, "a new one after clearing");
}

#[tokio::test]
async fn after_a_goaway_new_requests_go_to_a_new_connection() {
    let server = RawH2Server::start(vec![], |r: H2Request| match (r.connection, r.nth) {
        (0, 0) => {
            vec![H2Action::Write([raw_h2::ok(r.stream, b"one"), raw_h2::goaway(r.stream, raw_h2::NO_ERROR)].concat())]
        }
        _ => vec![H2Action::Write(raw_h2::ok(r.stream, b"two"))],
    })
    .await;
    let manager = NetworkAccessManager::new();
    assert_eq!(finish(manager.get(h2c(server.url("/")))).await, Ok("one".into()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let bodies = three_at_once(&manager, &server).await;
    assert_eq!(bodies, vec![Ok("two".into()); 3]);
    assert_eq!(server.connections.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(server.seen().len(), 4, "each request processed once");
}

#[tokio::test]
async fn an_abort_resets_the_stream_with_cancel() {
    let server =
        RawH2Server::start(vec![], |r: H2Request| vec![H2Action::Write(raw_h2::ok_unfinished(r.stream, b"the start"))])
            .await;
    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(h2c(server.url("/")));
    let first = timeout(LIMIT, reply.chunk()).await.expect("no hang");
    assert_eq!(first.as_deref(), Some(&b"the start"[..]));
    reply.abort();
    let ended = timeout(LIMIT, reply.finished()).await.expect("ends").map_err(|e| e.kind());
    assert_eq!(ended, Err(NetworkErrorKind::OperationCanceledError));
    assert_eq!(server.resets_once_seen(LIMIT).await, [(1, raw_h2::CANCEL)]);
}

#[tokio::test]
async fn a_body_that_stops_coming_ends_with_the_transfer_timeout_and_a_reset() {
    let server =
        RawH2Server::start(vec![], |r: H2Request| vec![H2Action::Write(raw_h2::ok_unfinished(r.stream, b"some"))])
            .await;
    let manager = NetworkAccessManager::builder().transfer_timeout(Duration::from_millis(300)).build();
    let mut reply = manager.get(h2c(server.url("/")));
    let ended = timeout(LIMIT, reply.bytes()).await.expect("ends").map_err(|e| e.kind());
    assert_eq!(ended, Err(NetworkErrorKind::TimeoutError));
    assert_eq!(server.resets_once_seen(LIMIT).await, [(1, raw_h2::CANCEL)]);
}

#[tokio::test]
async fn a_dropped_manager_closes_its_http2_connection() {
    let server = RawH2Server::start(vec![], |r: H2Request| vec![H2Action::Write(raw_h2::ok(r.stream, b"bye"))]).await;
    let manager = NetworkAccessManager::new();
    assert_eq!(finish(manager.get(h2c(server.url("/")))).await, Ok("bye".into()));
    assert_eq!(server.closed.load(std::sync::atomic::Ordering::SeqCst), 0, "kept for the next request");
    drop(manager);
    timeout(LIMIT, async {
        while server.closed.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the connection closed with its manager");
}
