//! Thousands of failing requests leave no file descriptor behind. Alone in its test binary:
//! other tests running in the same process would open descriptors of their own.

use std::time::Duration;

use netaccess::{NetworkAccessManager, NetworkErrorKind, Proxy, Request};
use netaccess_tests::{open_descriptors, settled_descriptors, RawServer, Script};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);
const ROUNDS: usize = 400;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_requests_leave_no_descriptor_behind() {
    let refused_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let closing = RawServer::start(Script::CloseAtOnce).await;
    let truncated =
        RawServer::start(Script::Replies(vec![vec![b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort".to_vec()]]))
            .await;
    let broken = RawServer::start(Script::Replies(vec![vec![
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!".to_vec(),
    ]]))
    .await;
    let chunked_garbage = RawServer::start(Script::Replies(vec![vec![
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n".to_vec(),
    ]]))
    .await;
    let lying_proxy = RawServer::start(Script::Greeting(b"garbage".to_vec())).await;
    let direct = NetworkAccessManager::new();
    let proxied = NetworkAccessManager::builder()
        .proxy(Proxy::from_url(&format!("socks5h://{}", lying_proxy.addr)).unwrap())
        .build();

    let cases: Vec<(&NetworkAccessManager, String, NetworkErrorKind)> = vec![
        (&direct, format!("http://127.0.0.1:{refused_port}/"), NetworkErrorKind::ConnectionRefusedError),
        (&direct, closing.url("/"), NetworkErrorKind::RemoteHostClosedError),
        (&direct, truncated.url("/"), NetworkErrorKind::RemoteHostClosedError),
        (&direct, broken.url("/"), NetworkErrorKind::ProtocolFailure),
        (&direct, chunked_garbage.url("/"), NetworkErrorKind::ProtocolFailure),
        (&proxied, "http://example.invalid/".to_owned(), NetworkErrorKind::UnknownProxyError),
    ];
    // One round first, so the runtime and the managers have every descriptor they keep.
    for (manager, url, _) in &cases {
        let _ = timeout(LIMIT, manager.get(Request::new(url.clone())).read_all()).await.unwrap();
    }
    let before = open_descriptors();
    for _ in 0..ROUNDS {
        for (manager, url, expected) in &cases {
            let mut reply = manager.get(Request::new(url.clone()));
            timeout(LIMIT, reply.read_all()).await.expect("no hang");
            assert_eq!(reply.error().map(|e| e.kind()), Some(*expected), "{url}");
        }
    }
    let after = settled_descriptors(before).await;
    assert!(after <= before, "{} failing requests: {before} descriptors before, {after} after", ROUNDS * cases.len());
    assert_eq!(direct.http_backend().idle_connections(), 0, "nothing in doubt went back to the pool");
}
