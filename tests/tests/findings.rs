//! The black-box findings of the first wave, each through the real client against a server that
//! records what it saw (byte-level where the bytes are what no real server sends).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use netaccess::{
    AuthenticationChallenge, AuthenticationHandler, Credentials, NetworkAccessManager, NetworkErrorKind, Proxy, Request,
};
use netaccess_tests::{HttpServer, RawServer, Script};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

fn replies(answers: &[&[u8]]) -> Script {
    Script::Replies(vec![answers.iter().map(|a| a.to_vec()).collect()])
}

#[tokio::test]
async fn a_data_url_with_parameters_but_no_type_is_text_plain() {
    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(Request::new("data:charset=iso-8859-1,abc"));
    assert_eq!(reply.text().await.unwrap(), "abc");
    assert_eq!(reply.headers()["content-type"], "text/plain;charset=iso-8859-1");
}

#[tokio::test]
async fn an_empty_body_is_empty_whatever_its_content_encoding() {
    let cases: [&[u8]; 3] = [
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\nContent-Encoding: gzip\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nConnection: close\r\n\r\n",
    ];
    for case in cases {
        let server = RawServer::start(replies(&[case])).await;
        let manager = NetworkAccessManager::new();
        let mut reply = manager.get(Request::new(server.url("/")));
        let body = timeout(LIMIT, reply.bytes()).await.expect("no hang");
        let case = String::from_utf8_lossy(case);
        assert_eq!(body.unwrap_or_else(|e| panic!("{case}: {e}")).len(), 0, "{case}");
    }
}

#[tokio::test]
async fn faulty_transfer_encodings_are_refused_and_the_connection_dropped() {
    let cases: [&[u8]; 2] = [
        b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello",
    ];
    for case in cases {
        let server = RawServer::start(replies(&[case])).await;
        let manager = NetworkAccessManager::new();
        let error = timeout(LIMIT, manager.get(Request::new(server.url("/"))).finished())
            .await
            .expect("no hang")
            .expect_err("refused");
        assert_eq!(error.kind(), NetworkErrorKind::ProtocolFailure, "{error}");
        assert!(error.message().contains("Transfer-Encoding"), "{error}");
        assert_eq!(manager.http_backend().idle_connections(), 0, "never reused");
    }
}

#[tokio::test]
async fn an_unknown_content_encoding_is_delivered_undecoded_with_its_header() {
    let server = RawServer::start(replies(&[
        b"HTTP/1.1 200 OK\r\nContent-Encoding: x-unheard-of\r\nContent-Length: 3\r\n\r\nabc",
    ]))
    .await;
    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(Request::new(server.url("/")));
    assert_eq!(timeout(LIMIT, reply.text()).await.expect("no hang").expect("delivered"), "abc");
    assert_eq!(reply.headers()["content-encoding"], "x-unheard-of");
    assert_eq!(reply.headers()["content-length"], "3");
}

#[tokio::test]
async fn header_names_go_out_as_the_caller_wrote_them_and_ours_canonical() {
    let server = RawServer::start(replies(&[b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])).await;
    let manager = NetworkAccessManager::new();
    let request = Request::new(server.url("/")).with_header("X-Api-Key", "1").with_header("x-lower", "2");
    timeout(LIMIT, manager.post(request, "body").finished()).await.expect("no hang").expect("sent");
    let head = server.heads().pop().expect("a request");
    for line in [
        "Host: ",
        "User-Agent: ",
        "Accept-Encoding: ",
        "Content-Type: ",
        "Content-Length: 4",
        "X-Api-Key: 1",
        "x-lower: 2",
    ] {
        assert!(head.contains(&format!("\r\n{line}")), "{line:?} in {head:?}");
    }
    assert!(!head.contains("user-agent") && !head.contains("host:"), "{head:?}");
}

#[tokio::test]
async fn connect_carries_the_request_user_agent_and_nothing_else_of_its_headers() {
    let proxy = RawServer::start(replies(&[b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"])).await;
    let manager = NetworkAccessManager::builder().proxy(Proxy::from_url(&proxy.url("")).unwrap()).build();
    let request =
        Request::new("https://example.invalid/").with_header("User-Agent", "agent/7").with_header("X-Secret", "s");
    timeout(LIMIT, manager.get(request).finished()).await.expect("no hang").expect_err("the proxy refused");
    let head = proxy.heads().pop().expect("a CONNECT");
    assert!(head.starts_with("CONNECT example.invalid:443 HTTP/1.1\r\n"), "{head:?}");
    assert!(head.contains("\r\nUser-Agent: agent/7\r\n"), "{head:?}");
    assert!(!head.to_ascii_lowercase().contains("x-secret"), "{head:?}");
}

/// Gives alice's password once per challenge, as the command's `-u` does.
struct Alice(Arc<AtomicUsize>);

impl AuthenticationHandler for Alice {
    fn credentials(&self, challenge: AuthenticationChallenge) -> BoxFuture<'static, Option<Credentials>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        let answer = (!challenge.retry).then(|| Credentials::new("alice", "secret"));
        async move { answer }.boxed()
    }
}

#[tokio::test]
async fn the_url_credentials_go_first_and_the_handler_answers_when_they_are_refused() {
    let server = HttpServer::start().await;
    let asked = Arc::new(AtomicUsize::new(0));
    let manager = NetworkAccessManager::builder().authentication_handler(Alice(asked.clone())).build();
    let url = format!("http://bob:wrong@{}/basic/office", server.addr);
    let mut reply = manager.get(Request::new(url));
    assert_eq!(timeout(LIMIT, reply.text()).await.expect("no hang").expect("answered"), "welcome alice");
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    let sent: Vec<Option<String>> = server.seen.requests().into_iter().map(|r| r.authorization).collect();
    let basic = |pair: &str| {
        use base64::Engine;
        Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)))
    };
    assert_eq!(sent, [None, basic("bob:wrong"), basic("alice:secret")]);
}
