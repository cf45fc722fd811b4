//! Every reason a connection is closed shows in the debug log, through the real client: the
//! call's reasons (`CloseReason`) and the pool's own. An own binary: the capturing subscriber
//! is this thread's, and every test runs on one thread with its servers.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netaccess::{Body, NetworkAccessManager, Operation, Proxy, ReplyEvent, Request};
use netaccess_tests::{RawServer, Script};
use tracing::field::{Field, Visit};
use tracing::span;

/// A subscriber that keeps every event's fields as one line.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

struct Line<'a>(&'a mut String);

impl Visit for Line<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = String::new();
        event.record(&mut Line(&mut line));
        self.0.lock().unwrap().push(line);
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

impl Capture {
    fn take(&self) -> String {
        std::mem::take(&mut *self.0.lock().unwrap()).join("\n")
    }
}

fn replies(answers: &[&[u8]]) -> Script {
    Script::Replies(vec![answers.iter().map(|a| a.to_vec()).collect()])
}

/// Fetches `request` from a server answering `answer` once, and returns the log it left.
async fn log_of(capture: &Capture, answer: &[u8], request: impl FnOnce(&RawServer) -> Request) -> String {
    let server = RawServer::start(replies(&[answer])).await;
    let manager = NetworkAccessManager::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), manager.get(request(&server)).read_all()).await;
    capture.take()
}

/// The reason expected in the log, the server's answer, and the request.
type Case = (&'static str, &'static [u8], fn(&RawServer) -> Request);

fn plain(server: &RawServer) -> Request {
    Request::new(server.url("/"))
}

#[tokio::test(flavor = "current_thread")]
async fn every_close_reason_shows_in_the_debug_log() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let cases: [Case; 7] = [
        ("the server asked to close", b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi", plain),
        ("the request asked to close", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", |server| {
            Request::new(server.url("/")).with_header("Connection", "close")
        }),
        ("HTTP/1.0 without keep-alive", b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", plain),
        ("the body was delimited by the close", b"HTTP/1.1 200 OK\r\n\r\nuntil the close", plain),
        (
            "the framing was ambiguous",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
            plain,
        ),
        ("unsolicited bytes followed the response", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiEXTRA", plain),
        ("the exchange failed", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n", plain),
    ];
    for (reason, answer, request) in cases {
        let log = log_of(&capture, answer, request).await;
        assert!(log.contains(&format!("reason={reason}")), "{reason:?} is not in the log:\n{log}");
    }

    // The body not sent: the server refused before 100 Continue.
    let server = RawServer::start(replies(&[b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"])).await;
    let manager = NetworkAccessManager::new();
    let request = Request::new(server.url("/upload")).with_header("Expect", "100-continue");
    let mut reply = manager.send(request, Operation::Put, Body::from_bytes(vec![b'x'; 100_000]));
    let _ = tokio::time::timeout(Duration::from_secs(10), reply.read_all()).await;
    let log = capture.take();
    assert!(log.contains("reason=the request body was not sent completely"), "{log}");

    // A reply dropped in the middle of its body (the server holds the connection open,
    // waiting for a second request).
    let server =
        RawServer::start(replies(&[b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npart", b"never sent"])).await;
    let mut reply = manager.get(Request::new(server.url("/")));
    while let Some(event) = tokio::time::timeout(Duration::from_secs(10), reply.next_event()).await.unwrap() {
        if matches!(event, ReplyEvent::ReadyRead(_)) {
            break;
        }
    }
    drop(reply);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let log = capture.take();
    assert!(log.contains("reason=the response was not read to its end"), "{log}");

    // A CONNECT that succeeded: the connection became a tunnel (the TLS after it fails here).
    let proxy = RawServer::start(replies(&[b"HTTP/1.1 200 Connection established\r\n\r\n"])).await;
    let manager = NetworkAccessManager::builder().proxy(Proxy::from_url(&proxy.url("")).unwrap()).build();
    let _ =
        tokio::time::timeout(Duration::from_secs(10), manager.get(Request::new("https://example.test/")).read_all())
            .await;
    let log = capture.take();
    assert!(log.contains("Close(Tunnel)"), "{log}");
}

#[tokio::test(flavor = "current_thread")]
async fn the_pools_own_reasons_show_in_the_debug_log() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let ok: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";

    // Idle past the timeout.
    let server = RawServer::start(replies(&[ok, ok])).await;
    let manager = NetworkAccessManager::builder().idle_connection_timeout(Duration::from_millis(50)).build();
    manager.get(Request::new(server.url("/"))).read_all().await;
    tokio::time::sleep(Duration::from_millis(120)).await;
    manager.get(Request::new(server.url("/"))).read_all().await;
    let log = capture.take();
    assert!(log.contains("reason=idle longer than the idle timeout"), "{log}");

    // Closed by the peer while idle: the server answers once, then closes.
    let server = RawServer::start(replies(&[ok])).await;
    let manager = NetworkAccessManager::new();
    manager.get(Request::new(server.url("/"))).read_all().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = manager.get(Request::new(server.url("/"))).read_all().await;
    let log = capture.take();
    assert!(log.contains("reason=the peer closed it while it was idle"), "{log}");

    // Cleared.
    let server = RawServer::start(replies(&[ok])).await;
    manager.get(Request::new(server.url("/"))).read_all().await;
    manager.clear_connection_cache();
    let log = capture.take();
    assert!(log.contains("reason=the connection cache was cleared"), "{log}");
}
