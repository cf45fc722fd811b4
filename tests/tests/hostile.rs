//! Hostile peers, driven through the real client: servers and proxies that flood, drip, lie or
//! answer garbage. For each, the reply ends with the right error within its limits, what
//! arrived stays readable, and memory stays bounded.

use std::io::Write;
use std::time::{Duration, Instant};

use netaccess::{NetworkAccessManager, NetworkError, NetworkErrorKind, Proxy, Request};
use netaccess_tests::{settled_value, HttpServer, RawServer, Script};
use sha2::{Digest, Sha256};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

fn with_timeout(url: String, transfer_timeout: Duration) -> Request {
    let mut request = Request::new(url);
    request.attributes_mut().transfer_timeout = Some(transfer_timeout);
    request
}

#[tokio::test]
async fn a_head_that_never_ends_is_refused_at_the_head_limit() {
    let server =
        RawServer::start(Script::Flood { head: b"HTTP/1.1 200 OK\r\nX-Filler: ".to_vec(), filler: vec![b'a'; 1024] })
            .await;
    let manager = NetworkAccessManager::new();
    let error = timeout(LIMIT, manager.get(Request::new(server.url("/"))).finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::ProtocolFailure, "{error}");
    assert!(error.to_string().contains(&server.url("/")), "names the URL: {error}");
    assert!(error.message().contains("65536"), "names the limit: {error}");
    assert!(server.bytes_written() < 16 * 1024 * 1024, "stopped reading: {} bytes", server.bytes_written());

    let many_fields =
        RawServer::start(Script::Flood { head: b"HTTP/1.1 200 OK\r\n".to_vec(), filler: b"X-Filler: a\r\n".to_vec() })
            .await;
    let error = timeout(LIMIT, manager.get(Request::new(many_fields.url("/"))).finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::ProtocolFailure, "{error}");
    // Fields are bounded by the head's size (a page may set 150 cookies), not by a count.
    assert!(error.message().contains("65536"), "names the limit: {error}");
}

#[tokio::test]
async fn a_dripping_head_meets_the_transfer_timeout() {
    let server = RawServer::start(Script::Drip {
        bytes: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
        interval: Duration::from_millis(100),
    })
    .await;
    let manager = NetworkAccessManager::new();
    let started = Instant::now();
    let mut reply = manager.get(with_timeout(server.url("/"), Duration::from_millis(600)));
    let error = timeout(LIMIT, reply.finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::TimeoutError, "{error}");
    assert!(started.elapsed() < Duration::from_secs(4), "took {:?}", started.elapsed());
    assert_eq!(reply.status(), None, "the head never completed");
}

#[tokio::test]
async fn a_stalled_body_times_out_and_keeps_what_arrived() {
    // The head arrives whole; the body stops after "abc" and the connection stays open.
    let mut bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n".to_vec();
    let head_len = bytes.len();
    bytes.extend_from_slice(b"abc");
    let server = RawServer::start(Script::Drip { bytes, interval: Duration::from_millis(1) }).await;
    let manager = NetworkAccessManager::new();
    // Long enough for the head and "abc" to drip in; the silence after them is the timeout.
    let dripping = Duration::from_millis(2 * (head_len as u64 + 3));
    let mut reply = manager.get(with_timeout(server.url("/"), dripping + Duration::from_millis(700)));
    let body = timeout(LIMIT, reply.read_all()).await.unwrap();
    assert_eq!(body, "abc", "what arrived stays readable");
    assert_eq!(reply.status(), Some(200));
    assert_eq!(reply.error().unwrap().kind(), NetworkErrorKind::TimeoutError);
}

#[tokio::test]
async fn an_endless_body_that_nobody_reads_is_held_back_by_the_socket() {
    let server =
        RawServer::start(Script::Flood { head: b"HTTP/1.1 200 OK\r\n\r\n".to_vec(), filler: vec![b'x'; 64 * 1024] })
            .await;
    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(Request::new(server.url("/")));
    let first = timeout(LIMIT, reply.chunk()).await.unwrap().expect("the body starts");
    assert!(!first.is_empty());
    // Nobody reads now: the client must stop taking bytes once its buffers are full.
    // Wait until the server has been stuck for three samples in a row (a busy machine can
    // starve a task for one sample); 10 s at most.
    settled_value(Duration::from_millis(100), 100, || server.bytes_written() as u64).await;
    let held = server.bytes_written();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.bytes_written(), held, "the server is blocked, not still sending");
    // The reply's read buffer, one read, and the two kernel socket buffers (loopback autotuning
    // takes them to a few MiB each).
    let bound = netaccess::DEFAULT_READ_BUFFER_SIZE as usize + (1 + 16) * 1024 * 1024;
    eprintln!("an unread endless body: the server got {held} bytes out before it blocked (bound {bound})");
    assert!(held < bound, "at most the read buffer, a read and the socket buffers are held: {held} bytes");
    reply.abort();
    assert_eq!(reply.error().unwrap().kind(), NetworkErrorKind::OperationCanceledError);
}

fn gzip_of_zeros(len: usize) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..len / zeros.len() {
        encoder.write_all(&zeros).unwrap();
    }
    encoder.finish().unwrap()
}

#[tokio::test]
async fn a_gzip_bomb_is_refused_unless_the_guard_is_off() {
    let bomb = gzip_of_zeros(64 * 1024 * 1024);
    let mut response =
        format!("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", bomb.len()).into_bytes();
    response.extend_from_slice(&bomb);
    let server = RawServer::start(Script::Replies(vec![vec![response]])).await;

    // Qt's threshold, 10 MiB: the ratio rule is the same at the default's 512 MiB.
    let guarded = NetworkAccessManager::builder().decompression_threshold(Some(10 * 1024 * 1024)).build();
    let mut reply = guarded.get(Request::new(server.url("/bomb")));
    let mut delivered = 0usize;
    while let Some(chunk) = timeout(LIMIT, reply.chunk()).await.unwrap() {
        delivered += chunk.len();
    }
    let error = reply.error().expect("the bomb is refused");
    assert_eq!(error.kind(), NetworkErrorKind::ProtocolFailure, "{error}");
    assert!(error.message().contains("bomb"), "{error}");
    assert!(delivered < 32 * 1024 * 1024, "stopped near the threshold: {delivered} bytes delivered");

    let unguarded = NetworkAccessManager::builder().decompression_threshold(None).build();
    let mut reply = unguarded.get(Request::new(server.url("/bomb")));
    let mut largest = 0;
    let mut total = 0;
    while let Some(chunk) = timeout(LIMIT, reply.chunk()).await.unwrap() {
        largest = largest.max(chunk.len());
        total += chunk.len();
    }
    assert!(reply.error().is_none(), "{:?}", reply.error());
    assert_eq!(total, 64 * 1024 * 1024);
    assert!(largest <= 1032 * 4096, "decoded in bounded pieces, largest {largest} bytes");
}

#[tokio::test]
async fn a_proxy_that_answers_garbage_fails_the_request_clearly() {
    let http_proxy =
        RawServer::start(Script::Replies(vec![vec![b"SSH-2.0-OpenSSH_9.6\r\nnot http at all\r\n\r\n".to_vec()]])).await;
    let manager =
        NetworkAccessManager::builder().proxy(Proxy::from_url(&format!("http://{}", http_proxy.addr)).unwrap()).build();
    // Forwarding: the proxy's answer stands for the server's, so garbage is a protocol failure.
    let url = "http://example.invalid/";
    let error = timeout(LIMIT, manager.get(Request::new(url)).finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::ProtocolFailure, "{error}");
    assert!(error.to_string().contains(url), "{error}");
    // CONNECT: the proxy itself failed.
    let url = "https://example.invalid/";
    let error = timeout(LIMIT, manager.get(Request::new(url)).finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::UnknownProxyError, "{error}");
    assert!(error.to_string().contains(url) && error.message().contains("proxy"), "{error}");

    let socks = RawServer::start(Script::Greeting(b"\x47\x41\x52\x42\x41\x47\x45\r\n".to_vec())).await;
    let manager =
        NetworkAccessManager::builder().proxy(Proxy::from_url(&format!("socks5h://{}", socks.addr)).unwrap()).build();
    let error =
        timeout(LIMIT, manager.get(Request::new("http://example.invalid/")).finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::UnknownProxyError, "{error}");
    assert!(error.message().contains("nonsense"), "{error}");
}

#[tokio::test]
async fn a_redirect_loop_ends_at_the_limit() {
    let mut answers = Vec::new();
    for _ in 0..60 {
        answers.push(b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n".to_vec());
    }
    let server = RawServer::start(Script::Replies(vec![answers])).await;
    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(Request::new(server.url("/")));
    let error = timeout(LIMIT, reply.finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::TooManyRedirectsError, "{error}");
    assert_eq!(reply.redirects().len(), 50, "Qt's default limit");
    assert_eq!(server.connections(), 1, "every hop reused the one connection");
}

#[tokio::test]
async fn bytes_past_the_end_of_a_response_never_answer_the_next_request() {
    // The first answer carries a second, unasked-for response behind it in the same write.
    let smuggling =
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled";
    let honest = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh";
    let server = RawServer::start(Script::Replies(vec![vec![smuggling.to_vec(), honest.to_vec()]])).await;
    let manager = NetworkAccessManager::new();
    let first = timeout(LIMIT, manager.get(Request::new(server.url("/one"))).bytes()).await.unwrap().unwrap();
    assert_eq!(first, "ok");
    // Let the extra bytes land in the client's buffer or socket before the next request.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = timeout(LIMIT, manager.get(Request::new(server.url("/two"))).bytes()).await.unwrap().unwrap();
    assert_eq!(second, "ok", "answered on a fresh connection, never by the leftover bytes");
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn a_truncated_chunked_body_keeps_what_arrived() {
    let server = RawServer::start(Script::Replies(vec![vec![
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n wor".to_vec(),
    ]]))
    .await;
    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(Request::new(server.url("/")));
    let body = timeout(LIMIT, reply.read_all()).await.unwrap();
    assert_eq!(body, "hello wor", "what arrived stays readable");
    assert_eq!(reply.error().unwrap().kind(), NetworkErrorKind::RemoteHostClosedError);
    assert_eq!(manager.http_backend().idle_connections(), 0);
}

#[tokio::test]
async fn a_reset_in_the_middle_of_a_body_keeps_what_arrived() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut head = [0u8; 1024];
        let _ = tokio::io::AsyncReadExt::read(&mut stream, &mut head).await;
        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial";
        tokio::io::AsyncWriteExt::write_all(&mut stream, answer).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        // SO_LINGER 0: closing sends a reset, not a FIN. (Deprecated because a non-zero linger
        // blocks the thread on drop; zero does not.)
        #[allow(deprecated)]
        stream.set_linger(Some(Duration::ZERO)).unwrap();
        drop(stream);
    });
    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(Request::new(format!("http://{addr}/")));
    let body = timeout(LIMIT, reply.read_all()).await.unwrap();
    assert_eq!(body, "partial", "what arrived stays readable");
    let error = reply.error().expect("a reset fails the reply");
    assert_eq!(error.kind(), NetworkErrorKind::RemoteHostClosedError, "{error}");
}

/// The error a `scheme` request to a peer that accepts and never says a word ends with, under
/// 300 ms connect and TLS handshake timeouts, and how long it took.
async fn error_from_a_silent_peer(scheme: &str, path: &str) -> (NetworkError, Duration) {
    let server = RawServer::start(Script::Silent).await;
    let manager = NetworkAccessManager::builder()
        .connect_timeout(Duration::from_millis(300))
        .tls_handshake_timeout(Duration::from_millis(300))
        .build();
    let started = Instant::now();
    let url = server.url(path).replacen("http://", &format!("{scheme}://"), 1);
    let error = timeout(LIMIT, manager.get(Request::new(url)).finished()).await.unwrap().unwrap_err();
    (error, started.elapsed())
}

#[tokio::test]
async fn a_tls_peer_that_accepts_and_says_nothing_meets_the_tls_handshake_timeout() {
    let (error, took) = error_from_a_silent_peer("https", "/").await;
    assert_eq!(error.kind(), NetworkErrorKind::TimeoutError, "{error}");
    assert!(error.message().contains("TLS handshake timeout"), "names the limit that fired: {error}");
    assert!(took < Duration::from_secs(5), "ended by the TLS handshake timeout: {took:?}");
}

#[tokio::test]
async fn an_ftp_server_that_accepts_and_never_greets_meets_the_connect_timeout() {
    let (error, took) = error_from_a_silent_peer("ftp", "/file").await;
    assert_eq!(error.kind(), NetworkErrorKind::TimeoutError, "{error}");
    assert!(took < Duration::from_secs(5), "ended by the connect timeout: {took:?}");
}

#[tokio::test]
async fn a_proxy_that_accepts_and_never_answers_meets_the_connect_timeout() {
    let silent = RawServer::start(Script::Silent).await;
    for (proxy, target) in [
        (format!("socks5h://{}", silent.addr), "http://example.invalid/"),
        (format!("http://{}", silent.addr), "https://example.invalid/"),
    ] {
        let manager = NetworkAccessManager::builder()
            .proxy(Proxy::from_url(&proxy).unwrap())
            .connect_timeout(Duration::from_millis(300))
            .build();
        let started = Instant::now();
        let error = timeout(LIMIT, manager.get(Request::new(target)).finished()).await.unwrap().unwrap_err();
        assert_eq!(error.kind(), NetworkErrorKind::ProxyTimeoutError, "{proxy}: {error}");
        assert!(started.elapsed() < Duration::from_secs(5), "{proxy}: {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn an_ftp_server_that_greets_and_falls_silent_meets_the_transfer_timeout() {
    // Found by the ftp_replies fuzz target: the login waited for ever.
    let server = RawServer::start(Script::Greeting(b"220 hello\r\n".to_vec())).await;
    let manager = NetworkAccessManager::new();
    let started = Instant::now();
    let url = server.url("/file").replacen("http://", "ftp://", 1);
    let error = timeout(LIMIT, manager.get(with_timeout(url, Duration::from_millis(300))).finished())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::TimeoutError, "{error}");
    assert!(started.elapsed() < Duration::from_secs(5), "ended by the transfer timeout: {:?}", started.elapsed());
}

/// A 64 MiB log that gzip packs far beyond 40:1: Qt's 10 MiB threshold refused it (the finding:
/// exit 6 and a partial file); the default delivers it whole, in bounded pieces.
#[tokio::test]
async fn a_real_download_that_compresses_well_is_delivered_whole_by_default() {
    let mut log = Vec::with_capacity(64 * 1024 * 1024);
    let mut line = 0u64;
    while log.len() < 64 * 1024 * 1024 {
        // A counter every 64 lines, as a log's timestamps move: text, not only zeros.
        log.extend_from_slice(
            format!("2026-12-07T18:00:{:02} INFO GET /health 200 0.1ms\n", line / 64 % 60).as_bytes(),
        );
        line += 1;
    }
    let compressed = {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&log).unwrap();
        encoder.finish().unwrap()
    };
    let ratio = log.len() / compressed.len();
    assert!(ratio > 40, "the body must be one Qt's ratio rule refuses: {ratio}:1");
    let mut response =
        format!("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", compressed.len())
            .into_bytes();
    response.extend_from_slice(&compressed);
    let server = RawServer::start(Script::Replies(vec![vec![response]])).await;

    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(Request::new(server.url("/app.log")));
    let mut digest = Sha256::new();
    let (mut total, mut largest) = (0usize, 0usize);
    while let Some(chunk) = timeout(LIMIT, reply.chunk()).await.unwrap() {
        digest.update(&chunk);
        total += chunk.len();
        largest = largest.max(chunk.len());
    }
    assert!(reply.error().is_none(), "{:?}", reply.error());
    assert_eq!((total, digest.finalize().to_vec()), (log.len(), Sha256::digest(&log).to_vec()), "delivered whole");
    assert!(largest <= 1032 * 4096, "decoded in bounded pieces, largest {largest} bytes");

    // The same body under Qt's threshold: refused, as before.
    let qt = NetworkAccessManager::builder().decompression_threshold(Some(10 * 1024 * 1024)).build();
    let error = qt.get(Request::new(server.url("/app.log"))).finished().await.unwrap_err();
    assert!(error.message().contains("bomb") && error.message().contains("--no-compressed"), "{error}");
}

/// Gigabytes of zeros are still a bomb by default: refused before 1 GiB is delivered. And
/// max_body_size caps any body, announced or not.
#[tokio::test]
async fn a_bomb_of_gigabytes_is_refused_before_one_gib_and_max_body_size_caps_a_body() {
    let bomb = gzip_of_zeros(2 * 1024 * 1024 * 1024);
    let mut response =
        format!("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", bomb.len()).into_bytes();
    response.extend_from_slice(&bomb);
    let server = RawServer::start(Script::Replies(vec![vec![response]])).await;
    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(Request::new(server.url("/zeros")));
    let mut delivered = 0u64;
    while let Some(chunk) = timeout(LIMIT, reply.chunk()).await.unwrap() {
        delivered += chunk.len() as u64;
    }
    let error = reply.error().expect("the bomb is refused");
    assert_eq!(error.kind(), NetworkErrorKind::ProtocolFailure, "{error}");
    assert!(delivered >= 500 * 1024 * 1024, "not long before the default threshold (512 MiB): {delivered}");
    assert!(delivered < 1024 * 1024 * 1024, "refused before 1 GiB: {delivered} bytes delivered");

    let plain = HttpServer::start().await;
    let capped = NetworkAccessManager::builder().max_body_size(Some(1000)).build();
    let error = capped.get(Request::new(plain.url("/bytes/5000"))).finished().await.unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::UnknownContentError, "{error}");
    assert!(error.message().contains("1000 bytes"), "{error}");
    let body = capped.get(Request::new(plain.url("/chunked/1000"))).bytes().await.unwrap();
    assert_eq!(body.len(), 1000, "a body at the limit is delivered");
    let mut reply = capped.get(Request::new(plain.url("/chunked/50000")));
    let mut delivered = 0;
    while let Some(chunk) = timeout(LIMIT, reply.chunk()).await.unwrap() {
        delivered += chunk.len();
    }
    assert!(delivered <= 1000, "no byte past the limit: {delivered}");
    assert_eq!(reply.error().map(|e| e.kind()), Some(NetworkErrorKind::UnknownContentError));
}
