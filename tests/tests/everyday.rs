//! The everyday API through the real client: the head as `http` types, the body as a stream
//! of results or an `AsyncRead`, forms, queries, JSON, and a manager's defaults for one API.

use std::time::Duration;

use futures::StreamExt;
use netaccess::{Body, NetworkAccessManager, NetworkErrorKind, Operation, ReplyEvent, Request, Url};
use netaccess_tests::{sha256_hex, HttpServer, RawServer, Script};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_head_comes_first_and_the_events_are_all_still_there() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(Request::new(server.url("/hello")));
    let head = timeout(LIMIT, reply.head()).await.unwrap().unwrap();
    assert_eq!(head.status, http::StatusCode::OK);
    assert_eq!(head.version, http::Version::HTTP_11);
    assert_eq!(head.headers["content-length"], "13");
    assert_eq!(reply.status_code(), Some(http::StatusCode::OK));
    let mut events = Vec::new();
    while let Some(event) = reply.next_event().await {
        events.push(event);
    }
    // The head's wait kept every event: a fresh connection's story first (Qt 6.3's
    // socketStartedConnecting and requestSent), then the head.
    assert!(
        matches!(
            events.as_slice(),
            [ReplyEvent::SocketStartedConnecting, ReplyEvent::RequestSent, ReplyEvent::MetaDataChanged, ..]
        ),
        "{events:?}"
    );
    assert!(events.iter().any(|e| matches!(e, ReplyEvent::ReadyRead(chunk) if chunk == "Hello, world!")));
    assert!(matches!(events.last(), Some(ReplyEvent::Finished)));

    let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = refused.local_addr().unwrap().port();
    drop(refused);
    let mut reply = manager.get(Request::new(format!("http://127.0.0.1:{port}/")));
    let error = timeout(LIMIT, reply.head()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::ConnectionRefusedError);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_off_body_ends_the_stream_with_an_error_not_a_plain_end() {
    let server =
        RawServer::start(Script::Replies(vec![vec![b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf".to_vec()]]))
            .await;
    let manager = NetworkAccessManager::new();
    let items: Vec<_> =
        timeout(LIMIT, manager.get(Request::new(server.url("/"))).into_stream().collect()).await.unwrap();
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap(), "half");
    assert_eq!(items[1].as_ref().unwrap_err().kind(), NetworkErrorKind::RemoteHostClosedError);

    let http = HttpServer::start().await;
    let items: Vec<_> =
        timeout(LIMIT, manager.get(Request::new(http.url("/status/404"))).into_stream().collect()).await.unwrap();
    assert_eq!(items.last().unwrap().as_ref().unwrap_err().kind(), NetworkErrorKind::ContentNotFoundError);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_copies_through_async_read() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::new();
    let size = 3 * 1024 * 1024 + 17;
    let mut reader = manager.get(Request::new(server.url(&format!("/bytes/{size}")))).into_async_read();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("download");
    let mut file = tokio::fs::File::create(&path).await.unwrap();
    let copied = timeout(LIMIT, tokio::io::copy(&mut reader, &mut file)).await.unwrap().unwrap();
    assert_eq!(copied, size as u64);
    let expected = netaccess_tests::pattern(size);
    assert_eq!(sha256_hex(&std::fs::read(&path).unwrap()), sha256_hex(&expected));

    let mut failing = manager.get(Request::new(server.url("/status/500"))).into_async_read();
    let error = tokio::io::copy(&mut failing, &mut tokio::io::sink()).await.unwrap_err();
    let cause = error.get_ref().and_then(|e| e.downcast_ref::<netaccess::NetworkError>()).expect("the reply's error");
    assert_eq!(cause.kind(), NetworkErrorKind::InternalServerError);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_queries_and_json_as_the_server_sees_them() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::new();
    let form = Body::from_form([("name", "Ada Lovelace"), ("lang", "en&fr")]);
    let mut reply = manager.post(Request::new(server.url("/echo")).with_query([("page", "2"), ("q", "a b")]), form);
    assert_eq!(timeout(LIMIT, reply.text()).await.unwrap().unwrap(), "name=Ada+Lovelace&lang=en%26fr");
    assert_eq!(reply.headers()["x-echo-content-type"], "application/x-www-form-urlencoded");
    assert_eq!(server.seen.targets().last().unwrap(), "/echo?page=2&q=a+b");

    // The request's own Content-Type wins over the body's.
    let mine = Request::new(server.url("/echo")).with_header("Content-Type", "text/x-mine");
    let mut reply = manager.post(mine, Body::from_form([("a", "1")]));
    timeout(LIMIT, reply.finished()).await.unwrap().unwrap();
    assert_eq!(reply.headers()["x-echo-content-type"], "text/x-mine");

    let document = serde_json::json!({"id": 7, "tags": ["qt", "rust"]});
    let mut reply = manager.post(Request::new(server.url("/echo")), Body::json(&document).unwrap());
    let echoed: serde_json::Value = timeout(LIMIT, reply.json()).await.unwrap().unwrap();
    assert_eq!(echoed, document);
    assert_eq!(reply.headers()["x-echo-content-type"], "application/json");

    let mut not_json = manager.get(Request::new(server.url("/hello")));
    let error = timeout(LIMIT, not_json.json::<serde_json::Value>()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::UnknownContentError);
    assert!(error.to_string().contains("not the JSON expected"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_for_one_api_resolves_relative_urls_and_sends_its_headers() {
    let server = HttpServer::start().await;
    let base = Url::parse(&server.url("/api/")).unwrap();
    let manager = NetworkAccessManager::builder()
        .base_url(base)
        .default_header(http::HeaderName::from_static("x-api-key"), http::HeaderValue::from_static("k-1"))
        .default_header(http::header::ACCEPT, http::HeaderValue::from_static("application/json"))
        .bearer_token("t0ken")
        .build();
    // `/api/` has no route: `../echo` climbs out of it, as a link would.
    let mut reply = manager.get(Request::new("../echo").with_query([("id", "1")]));
    timeout(LIMIT, reply.finished()).await.unwrap().unwrap();
    assert_eq!(server.seen.targets().last().unwrap(), "/echo?id=1");
    assert_eq!(reply.headers()["x-echo-x-api-key"], "k-1");
    assert_eq!(reply.headers()["x-echo-accept"], "application/json");
    assert_eq!(reply.headers()["x-echo-authorization"], "Bearer t0ken");

    // What the request sets wins.
    let mut reply = manager.get(Request::new("../echo").with_header("Accept", "text/plain"));
    timeout(LIMIT, reply.finished()).await.unwrap().unwrap();
    assert_eq!(reply.headers()["x-echo-accept"], "text/plain");

    let basic = NetworkAccessManager::builder().basic_auth("alice", "secret").build();
    let before = server.seen.requests().len();
    let mut reply = basic.send(Request::new(server.url("/basic/office")), Operation::Get, Body::empty());
    timeout(LIMIT, reply.finished()).await.unwrap().unwrap();
    assert_eq!(reply.status(), Some(200));
    assert_eq!(server.seen.requests().len() - before, 1, "sent at once: no challenge round");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_honours_the_charset_and_a_byte_order_mark() {
    let manager = NetworkAccessManager::new();
    let cases: [(&[u8], &[u8], &str); 3] = [
        (b"Content-Type: text/plain; charset=\"ISO-8859-1\"\r\n", b"caf\xe9", "caf\u{e9}"),
        (
            b"Content-Type: text/html;charset=windows-1251\r\n",
            b"\xcf\xf0\xe8\xe2\xe5\xf2",
            "\u{41f}\u{440}\u{438}\u{432}\u{435}\u{442}",
        ),
        // No charset: UTF-8, unless a byte order mark says otherwise.
        (b"Content-Type: text/plain\r\n", b"\xff\xfeh\x00i\x00", "hi"),
    ];
    for (header, body, expected) in cases {
        let mut answer = b"HTTP/1.1 200 OK\r\n".to_vec();
        answer.extend_from_slice(header);
        answer.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        answer.extend_from_slice(body);
        let server = RawServer::start(Script::Replies(vec![vec![answer]])).await;
        let text = timeout(LIMIT, manager.get(Request::new(server.url("/"))).text()).await.unwrap().unwrap();
        assert_eq!(text, expected, "{}", String::from_utf8_lossy(header));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_request_is_sent_as_it_is_and_methods_convert_both_ways() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::new();
    let request = http::Request::put(server.url("/echo")).header("x-api-key", "from-http").body("payload").unwrap();
    let mut reply = manager.send_http(request);
    let body = timeout(LIMIT, reply.bytes()).await.unwrap().unwrap();
    assert_eq!(body, "payload");
    assert_eq!(reply.headers()["x-echo-method"], "PUT");
    assert_eq!(reply.headers()["x-echo-x-api-key"], "from-http");
    assert_eq!(netaccess::Operation::from(http::Method::PATCH).verb(), "PATCH");
    assert_eq!(http::Method::try_from(&netaccess::Operation::Head).unwrap(), http::Method::HEAD);
}
