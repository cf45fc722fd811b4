//! The http: backend through the manager, against a hyper server and byte-level servers on
//! loopback.

use std::time::Duration;

use bytes::Bytes;
use futures::stream;
use netaccess::{
    Body, KnownHeaders, NetworkAccessManager, NetworkErrorKind, Priority, RedirectPolicy, ReplyEvent, Request,
};
use netaccess_tests::{pattern, settled_value, sha256_hex, HttpServer, RawServer, Script};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn sequential_requests_reuse_one_connection() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::new();
    for _ in 0..10 {
        let mut reply = manager.get(Request::new(server.url("/hello")));
        assert_eq!(timeout(LIMIT, reply.bytes()).await.unwrap().unwrap(), "Hello, world!");
        assert_eq!(reply.status(), Some(200));
        assert_eq!(reply.reason().as_deref(), Some("OK"));
        assert_eq!(reply.headers().content_length(), Some(13));
    }
    assert_eq!(server.connections(), 1);
    assert_eq!(manager.http_backend().idle_connections(), 1);
    manager.clear_connection_cache();
    assert_eq!(manager.http_backend().idle_connections(), 0);
}

#[tokio::test]
async fn ten_requests_to_a_silent_host_open_exactly_six_connections() {
    let server = RawServer::start(Script::Silent).await;
    let manager = NetworkAccessManager::new();
    let replies: Vec<_> = (0..10).map(|_| manager.get(Request::new(server.url("/")))).collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while server.connections() < 6 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.connections(), 6);
    for reply in &replies {
        reply.abort();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.connections(), 6, "aborting queued requests opens nothing");
}

#[tokio::test]
async fn a_server_that_closes_at_once_fails_every_request_without_hanging() {
    let server = RawServer::start(Script::CloseAtOnce).await;
    let manager = NetworkAccessManager::new();
    let mut replies: Vec<_> = (0..10).map(|_| manager.get(Request::new(server.url("/")))).collect();
    for reply in &mut replies {
        let error = timeout(LIMIT, reply.finished()).await.expect("no hang").unwrap_err();
        assert!(
            matches!(error.kind(), NetworkErrorKind::RemoteHostClosedError | NetworkErrorKind::UnknownNetworkError),
            "{error}"
        );
    }
}

#[tokio::test]
async fn forty_uploads_to_a_closing_server_arrive_intact_or_not_at_all() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::new();
    let data = Bytes::from(pattern(512 * 1024));
    let expected = sha256_hex(&data);
    let mut replies: Vec<_> =
        (0..40).map(|_| manager.post(Request::new(server.url("/upload")), Body::from(data.clone()))).collect();
    for reply in &mut replies {
        let body = timeout(LIMIT, reply.bytes()).await.expect("no hang").expect("the upload succeeds");
        assert_eq!(body, expected.as_bytes(), "the server received the upload intact");
    }
    let uploads = server.seen.uploads.lock().unwrap().clone();
    assert_eq!(uploads.len(), 40);
    assert!(uploads.iter().all(|digest| *digest == expected), "every upload the server took is whole");
    assert_eq!(server.connections(), 40, "Connection: close is honoured: no connection is reused");
}

#[tokio::test]
async fn bodies_by_length_and_chunked_with_progress() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::new();
    for (path, total) in [("/bytes/3000000", 3_000_000i64), ("/chunked/3000000", -1)] {
        let mut reply = manager.get(Request::new(server.url(path)));
        let mut body = Vec::new();
        let mut progress = Vec::new();
        while let Some(event) = timeout(LIMIT, reply.next_event()).await.unwrap() {
            match event {
                ReplyEvent::ReadyRead(chunk) => body.extend_from_slice(&chunk),
                ReplyEvent::DownloadProgress { received, total } => progress.push((received, total)),
                _ => {}
            }
        }
        assert!(reply.error().is_none(), "{path}: {:?}", reply.error());
        assert!(body == pattern(3_000_000), "{path}: body intact");
        assert!(progress[..progress.len() - 1].iter().all(|(_, t)| *t == total), "{path}: totals {total}");
        assert_eq!(progress.last(), Some(&(3_000_000, 3_000_000)), "{path}: last progress is the total");
    }
}

#[tokio::test]
async fn gzip_is_decoded_unless_the_caller_set_accept_encoding() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(Request::new(server.url("/gzip/100000")));
    assert!(timeout(LIMIT, reply.bytes()).await.unwrap().unwrap() == pattern(100_000));
    assert!(reply.header("content-encoding").is_none());
    assert!(reply.headers().content_length().is_none());
    assert!(reply.attributes().original_content_length.is_some());

    let echo = manager.get(Request::new(server.url("/echo")));
    let mut echo = echo;
    timeout(LIMIT, echo.finished()).await.unwrap().unwrap();
    assert_eq!(echo.header("x-echo-accept-encoding").as_deref(), Some(netaccess_http::accept_encoding()));

    let raw = Request::new(server.url("/gzip/1000")).with_header("accept-encoding", "gzip");
    let mut reply = manager.get(raw);
    let body = timeout(LIMIT, reply.bytes()).await.unwrap().unwrap();
    assert_eq!(&body[..2], &[0x1f, 0x8b], "still gzip: the caller asked for it");
    assert_eq!(reply.header("content-encoding").as_deref(), Some("gzip"));
}

#[tokio::test]
async fn methods_bodies_and_default_headers() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::new();

    let mut post = manager.post(Request::new(server.url("/echo")), "payload");
    assert_eq!(timeout(LIMIT, post.bytes()).await.unwrap().unwrap(), "payload");
    assert_eq!(post.header("x-echo-method").as_deref(), Some("POST"));
    assert_eq!(post.header("x-echo-content-type").as_deref(), Some(netaccess_http::DEFAULT_POST_CONTENT_TYPE));
    assert!(post.header("x-echo-user-agent").unwrap().starts_with("netaccess/"));

    let typed = Request::new(server.url("/echo")).with_header("content-type", "application/json");
    let mut post = manager.post(typed, "{}");
    timeout(LIMIT, post.finished()).await.unwrap().unwrap();
    assert_eq!(post.header("x-echo-content-type").as_deref(), Some("application/json"));

    let streamed =
        Body::from_stream(stream::iter([Ok(Bytes::from_static(b"one ")), Ok(Bytes::from_static(b"two"))]), None);
    let mut put = manager.put(Request::new(server.url("/echo")), streamed);
    assert_eq!(timeout(LIMIT, put.bytes()).await.unwrap().unwrap(), "one two");
    assert_eq!(put.header("x-echo-transfer-encoding").as_deref(), Some("chunked"));

    let mut delete = manager.delete_resource(Request::new(server.url("/echo")));
    timeout(LIMIT, delete.finished()).await.unwrap().unwrap();
    assert_eq!(delete.header("x-echo-method").as_deref(), Some("DELETE"));

    let mut custom = manager.send_custom_request(Request::new(server.url("/echo")), "PROPFIND", "<x/>");
    assert_eq!(timeout(LIMIT, custom.bytes()).await.unwrap().unwrap(), "<x/>");
    assert_eq!(custom.header("x-echo-method").as_deref(), Some("PROPFIND"));

    let mut head = manager.head(Request::new(server.url("/bytes/5000")));
    assert!(timeout(LIMIT, head.bytes()).await.unwrap().unwrap().is_empty());
    assert_eq!(head.headers().content_length(), Some(5000));
    assert_eq!(server.connections(), 1, "all of it on one keep-alive connection");
}

#[tokio::test]
async fn error_statuses_keep_their_body() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::new();
    for (status, kind) in [
        (404, NetworkErrorKind::ContentNotFoundError),
        (500, NetworkErrorKind::InternalServerError),
        (503, NetworkErrorKind::ServiceUnavailableError),
        (410, NetworkErrorKind::ContentGoneError),
    ] {
        let mut reply = manager.get(Request::new(server.url(&format!("/status/{status}"))));
        let body = timeout(LIMIT, reply.read_all()).await.unwrap();
        assert_eq!(body, format!("status {status}"));
        assert_eq!(reply.status(), Some(status));
        assert_eq!(reply.error().unwrap().kind(), kind);
    }
}

#[tokio::test]
async fn redirects_follow_qt_rules() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::new();

    let mut chain = manager.get(Request::new(server.url("/chain/3")));
    let mut redirected = Vec::new();
    while let Some(event) = timeout(LIMIT, chain.next_event()).await.unwrap() {
        if let ReplyEvent::Redirected(url) = event {
            redirected.push(url.to_string());
        }
    }
    assert!(chain.error().is_none());
    assert_eq!(redirected, [server.url("/chain/2"), server.url("/chain/1"), server.url("/chain/0")]);
    assert_eq!(chain.url().unwrap().as_str(), server.url("/chain/0"));
    assert_eq!(chain.redirects().len(), 3);
    assert!(chain.header("location").is_none(), "only the final hop's headers remain");

    let mut limited = Request::new(server.url("/chain/3"));
    limited.attributes_mut().max_redirects = Some(2);
    let error = timeout(LIMIT, manager.get(limited).finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::TooManyRedirectsError);

    let mut post = manager.post(Request::new(server.url("/redirect/303?to=/echo")), "form");
    assert_eq!(timeout(LIMIT, post.bytes()).await.unwrap().unwrap(), "", "303 turns POST into a bodiless GET");
    assert_eq!(post.header("x-echo-method").as_deref(), Some("GET"));

    let mut post = manager.post(Request::new(server.url("/redirect/307?to=/echo")), "kept");
    assert_eq!(timeout(LIMIT, post.bytes()).await.unwrap().unwrap(), "kept", "307 keeps method and body");
    assert_eq!(post.header("x-echo-method").as_deref(), Some("POST"));

    let once = Body::from_stream(stream::iter([Ok(Bytes::from_static(b"x"))]), Some(1));
    let error = timeout(LIMIT, manager.post(Request::new(server.url("/redirect/308?to=/echo")), once).finished())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::ContentReSendError);

    let mut manual = Request::new(server.url("/redirect/302?to=/hello"));
    manual.attributes_mut().redirect_policy = Some(RedirectPolicy::Manual);
    let mut reply = manager.get(manual);
    timeout(LIMIT, reply.finished()).await.unwrap().unwrap();
    assert_eq!(reply.status(), Some(302));
    assert_eq!(reply.attributes().redirection_target.as_deref(), Some("/hello"));

    let error = timeout(LIMIT, manager.get(Request::new(server.url("/redirect/302?to=ftp://x/"))).finished())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::ProtocolUnknownError);
}

#[tokio::test]
async fn credentials_and_cookies_never_follow_a_redirect_to_another_origin() {
    let origin = HttpServer::start().await;
    let other = HttpServer::start().await;
    let manager = NetworkAccessManager::new();
    let target = other.url("/echo");
    let request = Request::new(origin.url(&format!("/redirect/302?to={target}")))
        .with_header("authorization", "Basic c2VjcmV0")
        .with_header("cookie", "session=1")
        .with_header("x-other", "kept");
    let mut reply = manager.get(request);
    timeout(LIMIT, reply.finished()).await.unwrap().unwrap();
    assert_eq!(reply.url().unwrap().as_str(), target);
    assert!(reply.header("x-echo-authorization").is_none());
    assert!(reply.header("x-echo-cookie").is_none());

    let same = Request::new(origin.url("/redirect/302?to=/echo")).with_header("authorization", "Basic c2VjcmV0");
    let mut reply = manager.get(same);
    timeout(LIMIT, reply.finished()).await.unwrap().unwrap();
    assert_eq!(reply.header("x-echo-authorization").as_deref(), Some("Basic c2VjcmV0"), "same origin keeps it");
}

#[tokio::test]
async fn transfer_timeout_counts_from_the_connection_not_the_queue() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::builder().max_connections_per_host(1).build();
    let mut slow = manager.get(Request::new(server.url("/slow/700")));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut queued = Request::new(server.url("/hello"));
    queued.attributes_mut().transfer_timeout = Some(Duration::from_millis(400));
    let mut queued = manager.get(queued);
    assert_eq!(timeout(LIMIT, slow.bytes()).await.unwrap().unwrap(), "slow");
    assert_eq!(timeout(LIMIT, queued.bytes()).await.unwrap().unwrap(), "Hello, world!", "700 ms queued is no timeout");

    let mut impatient = Request::new(server.url("/slow/2000"));
    impatient.attributes_mut().transfer_timeout = Some(Duration::from_millis(200));
    let error = timeout(LIMIT, manager.get(impatient).finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::TimeoutError);
}

#[tokio::test]
async fn queued_requests_are_served_by_priority() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::builder().max_connections_per_host(1).build();
    let mut blocker = manager.get(Request::new(server.url("/slow/300")));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut order = Vec::new();
    let mut replies = Vec::new();
    for (name, priority) in [("low", Priority::Low), ("normal", Priority::Normal), ("high", Priority::High)] {
        let mut request = Request::new(server.url(&format!("/echo?{name}")));
        request.attributes_mut().priority = priority;
        replies.push((name, manager.get(request)));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut events = manager.events();
    timeout(LIMIT, blocker.finished()).await.unwrap().unwrap();
    let all = futures::future::join_all(replies.iter_mut().map(|(_, reply)| reply.finished()));
    for result in timeout(LIMIT, all).await.unwrap() {
        result.unwrap();
    }
    while let Ok(event) = events.try_recv() {
        if let netaccess::ManagerEvent::Finished { url, .. } = event {
            if let Some((_, name)) = url.split_once('?') {
                order.push(name.to_owned());
            }
        }
    }
    assert_eq!(order, ["high", "normal", "low"]);
}

#[tokio::test]
async fn connection_refused_and_truncated_bodies() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let manager = NetworkAccessManager::new();
    let error = timeout(LIMIT, manager.get(Request::new(format!("http://127.0.0.1:{port}/"))).finished())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::ConnectionRefusedError);
    assert!(error.message().contains(&port.to_string()), "{error}");

    let truncated = RawServer::start(Script::Replies(vec![vec![
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this".to_vec(),
    ]]))
    .await;
    let mut reply = manager.get(Request::new(truncated.url("/")));
    let body = timeout(LIMIT, reply.read_all()).await.unwrap();
    assert_eq!(body, "only this", "what arrived stays readable");
    assert_eq!(reply.error().unwrap().kind(), NetworkErrorKind::RemoteHostClosedError);
}

#[tokio::test]
async fn a_stale_pooled_connection_is_retried_once_on_a_fresh_one() {
    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec();
    // The first connection answers one request, then reads the next and closes unanswered.
    let server =
        RawServer::start(Script::Replies(vec![vec![ok.clone(), Vec::new()], vec![ok.clone(), ok.clone(), ok.clone()]]))
            .await;
    let manager = NetworkAccessManager::new();
    for _ in 0..2 {
        assert_eq!(timeout(LIMIT, manager.get(Request::new(server.url("/"))).bytes()).await.unwrap().unwrap(), "ok");
    }
    assert_eq!(server.connections(), 2, "the second request moved to a fresh connection");

    let second = RawServer::start(Script::Replies(vec![vec![ok, Vec::new()]])).await;
    assert_eq!(timeout(LIMIT, manager.get(Request::new(second.url("/"))).bytes()).await.unwrap().unwrap(), "ok");
    let once = Body::from_stream(stream::iter([Ok(Bytes::from_static(b"x"))]), Some(1));
    let error =
        timeout(LIMIT, manager.post(Request::new(second.url("/")), once).finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::ContentReSendError);
}

#[tokio::test]
async fn broken_framing_is_a_protocol_failure_and_the_connection_is_dropped() {
    let server = RawServer::start(Script::Replies(vec![vec![
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!".to_vec(),
    ]]))
    .await;
    let manager = NetworkAccessManager::new();
    let error = timeout(LIMIT, manager.get(Request::new(server.url("/"))).finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::ProtocolFailure);
    assert!(error.message().contains("Content-Length"), "{error}");
    assert_eq!(manager.http_backend().idle_connections(), 0);
}

#[tokio::test]
async fn offline_manager_refuses_http() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::builder().network_accessible(false).build();
    let error = timeout(LIMIT, manager.get(Request::new(server.url("/hello"))).finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::UnknownNetworkError);
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn expect_continue_sends_the_body_after_the_go_ahead() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::new();
    let request = Request::new(server.url("/echo")).with_header("expect", "100-continue");
    let started = tokio::time::Instant::now();
    let mut reply = manager.post(request, Body::from(pattern(200_000)));
    let body = timeout(LIMIT, reply.bytes()).await.unwrap().unwrap();
    assert!(body == pattern(200_000));
    assert!(
        started.elapsed() < netaccess_http::EXPECT_CONTINUE_WAIT,
        "hyper's 100 Continue let the body go without waiting out the timer"
    );

    // A server that answers before the go-ahead gets no body, and its connection is not reused.
    let silent_about_it =
        RawServer::start(Script::Replies(vec![vec![b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone".to_vec()]]))
            .await;
    let request = Request::new(silent_about_it.url("/")).with_header("expect", "100-continue");
    let mut reply = manager.post(request, "body");
    assert_eq!(timeout(LIMIT, reply.bytes()).await.unwrap().unwrap(), "done");
    assert_eq!(manager.http_backend().idle_connections(), 1, "only the hyper connection is kept");
}

struct AllowSameHostOnly;

impl netaccess::RedirectHandler for AllowSameHostOnly {
    fn allow(&self, from: &url::Url, to: &url::Url) -> futures::future::BoxFuture<'static, bool> {
        let same = from.port() == to.port();
        Box::pin(async move { same })
    }
}

#[tokio::test]
async fn user_verified_redirects_ask_the_handler() {
    let server = HttpServer::start().await;
    let other = HttpServer::start().await;
    let manager = NetworkAccessManager::builder()
        .redirect_policy(RedirectPolicy::UserVerified)
        .redirect_handler(AllowSameHostOnly)
        .build();
    let mut allowed = manager.get(Request::new(server.url("/chain/1")));
    assert_eq!(timeout(LIMIT, allowed.bytes()).await.unwrap().unwrap(), "end of chain");
    let target = other.url("/hello");
    let mut refused = manager.get(Request::new(server.url(&format!("/redirect/302?to={target}"))));
    timeout(LIMIT, refused.finished()).await.unwrap().unwrap();
    assert_eq!(refused.status(), Some(302), "a refused redirect leaves the 3xx as the reply");
    assert_eq!(refused.attributes().redirection_target.as_deref(), Some(target.as_str()));
    assert_eq!(other.connections(), 0);

    let without_handler = NetworkAccessManager::builder().redirect_policy(RedirectPolicy::UserVerified).build();
    let mut reply = without_handler.get(Request::new(server.url("/chain/1")));
    timeout(LIMIT, reply.finished()).await.unwrap().unwrap();
    assert_eq!(reply.status(), Some(302), "without a handler nothing is followed");
}

/// Waits until `reply` has taken no new body bytes for three samples of 50 ms.
async fn settled_bytes_received(reply: &netaccess::Reply) -> u64 {
    let received = || reply.bytes_received();
    settled_value(Duration::from_millis(50), 200, received).await.unwrap_or_else(received)
}

#[tokio::test]
async fn the_read_buffer_holds_an_unread_body_back_until_it_is_raised() {
    const BODY: u64 = 3 * 1024 * 1024;
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(Request::new(server.url(&format!("/bytes/{BODY}"))));
    assert_eq!(reply.read_buffer_size(), netaccess::DEFAULT_READ_BUFFER_SIZE);
    reply.set_read_buffer_size(64 * 1024);
    // Taken from the socket: what waits in the reply (64 KiB, or one read when larger) and the
    // read that waits for room (a read is at most 1 MiB).
    let held = settled_bytes_received(&reply).await;
    assert!(held > 0, "the body started before it was held back");
    assert!(held <= 64 * 1024 + 2 * 1024 * 1024, "held {held} of {BODY} bytes");
    assert!(reply.is_running(), "waiting for the reader is not an error");

    reply.set_read_buffer_size(0);
    let taken = settled_bytes_received(&reply).await;
    assert_eq!(taken, BODY, "without the byte bound the whole body (3 MiB in reads of 64 KiB or more, under the 64-event queue) is taken without a reader");
    let body = timeout(LIMIT, reply.bytes()).await.unwrap().unwrap();
    assert_eq!(body, pattern(BODY as usize), "nothing lost while it waited");
}

#[tokio::test]
async fn replies_read_in_the_order_they_were_sent_all_finish() {
    // Each body is larger than the read buffer and the socket buffers together, so each reply
    // holds its connection until it is read.
    const BODY: usize = 24 * 1024 * 1024;
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::builder().max_connections_per_host(2).build();
    let mut replies: Vec<_> =
        (0..5).map(|_| manager.get(Request::new(server.url(&format!("/bytes/{BODY}"))))).collect();
    for reply in &mut replies {
        let body = timeout(LIMIT, reply.bytes()).await.unwrap().unwrap();
        assert_eq!(body.len(), BODY);
    }
}
