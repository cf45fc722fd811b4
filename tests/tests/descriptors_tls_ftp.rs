//! Thousands of failing https and ftp requests leave no file descriptor behind: refused
//! certificates, handshakes cut short, missing ftp files, refused ftp logins, dropped data
//! connections. Alone in its test binary: other tests in the same process would open
//! descriptors of their own.

use std::time::Duration;

use netaccess::{NetworkAccessManager, NetworkErrorKind, Request};
use netaccess_tests::{
    open_descriptors, settled_descriptors, AfterDrop, DroppingFtpServer, FtpServer, HttpServer, Pki, RawServer, Script,
    Validity,
};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);
const ROUNDS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_tls_and_ftp_requests_leave_no_descriptor_behind() {
    let pki = Pki::new("descriptor test CA");
    let untrusted = HttpServer::start_tls(&pki.server(&["localhost"], Validity::Current)).await;
    let not_tls = RawServer::start(Script::Greeting(b"HTTP/1.1 200 OK\r\n\r\n".to_vec())).await;
    let ftp = FtpServer::start(Some(("user", "secret"))).await;
    let dropping = DroppingFtpServer::start(100_000, 3_000, AfterDrop::Aborted).await;
    let refused_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let manager = NetworkAccessManager::new();

    let cases: Vec<(String, NetworkErrorKind)> = vec![
        (untrusted.localhost_url("/hello"), NetworkErrorKind::SslHandshakeFailedError),
        (not_tls.url("/").replacen("http://", "https://", 1), NetworkErrorKind::SslHandshakeFailedError),
        (ftp.url("user:secret@", "/missing.bin"), NetworkErrorKind::ContentNotFoundError),
        (ftp.url("user:wrong@", "/missing.bin"), NetworkErrorKind::AuthenticationRequiredError),
        (dropping.url("/file.bin"), NetworkErrorKind::RemoteHostClosedError),
        (format!("ftp://127.0.0.1:{refused_port}/x"), NetworkErrorKind::ConnectionRefusedError),
    ];
    // One round first, so the runtime, the TLS roots and the pools hold what they keep.
    for (url, expected) in &cases {
        let mut reply = manager.get(Request::new(url.clone()));
        timeout(LIMIT, reply.read_all()).await.expect("no hang");
        assert_eq!(reply.error().map(|e| e.kind()), Some(*expected), "{url}: {:?}", reply.error());
    }
    let before = open_descriptors();
    for _ in 0..ROUNDS {
        for (url, expected) in &cases {
            let mut reply = manager.get(Request::new(url.clone()));
            timeout(LIMIT, reply.read_all()).await.expect("no hang");
            assert_eq!(reply.error().map(|e| e.kind()), Some(*expected), "{url}");
        }
    }
    let after = settled_descriptors(before).await;
    assert!(after <= before, "{} failing requests: {before} descriptors before, {after} after", ROUNDS * cases.len());
}
