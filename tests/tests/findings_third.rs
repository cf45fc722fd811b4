//! The third round of black-box findings, through the real client against servers that record
//! what they saw, several requests in flight where the finding is about more than one.

use std::time::Duration;

use futures::future::{join_all, BoxFuture, FutureExt};
use netaccess::{
    AuthenticationChallenge, AuthenticationHandler, Credentials, NetworkAccessManager, NetworkErrorKind, Request,
    TlsConfig, Trust,
};
use netaccess_tests::auth_server::{PASSWORD, USER};
use netaccess_tests::{HttpServer, Pki, RawServer, Script, Validity};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

/// Gives alice's credentials once per challenge, and counts how often it was asked.
#[derive(Default)]
struct Alice(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl AuthenticationHandler for Alice {
    fn credentials(&self, challenge: AuthenticationChallenge) -> BoxFuture<'static, Option<Credentials>> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let answer = (!challenge.retry).then(|| Credentials::new(USER, PASSWORD));
        async move { answer }.boxed()
    }
}

#[tokio::test]
async fn credentials_stay_in_the_protection_space_they_were_asked_for() {
    let server = HttpServer::start().await;
    let asked = Alice::default();
    let count = asked.0.clone();
    let manager = NetworkAccessManager::builder().authentication_handler(asked).build();
    // The URL's credentials answer the 401 at /basic/r/dir/a.
    let first = server.url("/basic/r/dir/a").replace("://", &format!("://{USER}:{PASSWORD}@"));
    let mut reply = manager.get(Request::new(first));
    assert_eq!(timeout(LIMIT, reply.text()).await.unwrap().unwrap(), format!("welcome {USER}"));

    // Then, in flight together: two paths inside the space, two outside it.
    let targets = ["/basic/r/dir/b", "/basic/r/dir/sub/c", "/basic/r/other", "/hello"];
    let mut replies: Vec<_> = targets.iter().map(|t| manager.get(Request::new(server.url(t)))).collect();
    let bodies = timeout(LIMIT, join_all(replies.iter_mut().map(|r| r.bytes()))).await.unwrap();
    for (target, body) in targets.iter().zip(&bodies) {
        let body = body.as_ref().unwrap_or_else(|e| panic!("{target}: {e}"));
        let expected = if *target == "/hello" { "Hello, world!".to_owned() } else { format!("welcome {USER}") };
        assert_eq!(body, expected.as_bytes(), "{target}");
    }
    let seen = server.seen.requests();
    let sent_to = |target: &str| -> Vec<bool> {
        seen.iter().filter(|r| r.target == target).map(|r| r.authorization.is_some()).collect()
    };
    // Inside the directory that was challenged: credentials at once, one request each.
    assert_eq!(sent_to("/basic/r/dir/b"), [true]);
    assert_eq!(sent_to("/basic/r/dir/sub/c"), [true]);
    // Outside it: nothing until the server asks (RFC 7617 §2.2, Qt's path-prefix lookup); the
    // 401 of /basic/r/other is then answered from the cache for its realm (Qt's order: the
    // URL's, the cache's, then the handler, which nobody needed to ask).
    assert_eq!(sent_to("/basic/r/other"), [false, true]);
    assert_eq!(sent_to("/hello"), [false]);
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn status_codes_600_to_999_are_delivered_as_server_errors() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::new();
    let targets = ["/status/600", "/status/999", "/hello"];
    let mut replies: Vec<_> = targets.iter().map(|t| manager.get(Request::new(server.url(t)))).collect();
    let bodies = timeout(LIMIT, join_all(replies.iter_mut().map(|r| r.bytes()))).await.unwrap();
    for ((target, reply), body) in targets.iter().zip(&replies).zip(bodies) {
        let body = body.unwrap_or_else(|e| panic!("{target}: the body is readable: {e}"));
        if *target == "/hello" {
            assert!(reply.error().is_none());
            continue;
        }
        let code = &target["/status/".len()..];
        assert_eq!(body, format!("status {code}").as_bytes(), "{target}");
        assert_eq!(reply.status(), Some(code.parse().unwrap()));
        let error = reply.error().expect("an error status");
        // Qt maps every unknown code above 500 to UnknownServerError.
        assert_eq!(error.kind(), NetworkErrorKind::UnknownServerError, "{target}: {error}");
        assert_eq!(error.http_status(), Some(code.parse().unwrap()));
    }
}

#[tokio::test]
async fn a_head_of_many_fields_is_bounded_by_its_size_not_its_count() {
    // 150 cookies, 300 fields, as a page that sets many cookies sends; and one of 70 KiB.
    let cookies: String = (0..150).map(|i| format!("Set-Cookie: c{i}={i}; Path=/\r\n")).collect();
    let others: String = (0..150).map(|i| format!("X-Field-{i}: {i}\r\n")).collect();
    let many = format!("HTTP/1.1 200 OK\r\n{cookies}{others}Content-Length: 2\r\n\r\nok").into_bytes();
    let huge =
        format!("HTTP/1.1 200 OK\r\nX-Big: {}\r\nContent-Length: 2\r\n\r\nok", "a".repeat(70 * 1024)).into_bytes();
    let server = RawServer::start(Script::Replies(vec![vec![many], vec![huge]])).await;
    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(Request::new(server.url("/many")));
    assert_eq!(timeout(LIMIT, reply.bytes()).await.unwrap().unwrap(), "ok");
    assert_eq!(reply.headers().get_all("set-cookie").iter().count(), 150);
    assert_eq!(reply.headers().get("x-field-149").unwrap(), "149");
    // Every one of them reached the jar, which keeps its own per-host limit (as browsers do).
    let jar = manager.cookie_jar();
    let kept = jar.cookies_for_url(&url::Url::parse(&server.url("/")).unwrap());
    assert_eq!(kept.len(), netaccess_cookie::MAX_COOKIES_PER_DOMAIN);
    assert!(kept.iter().any(|c| c.name == "c149"), "the newest are kept");

    let error = timeout(LIMIT, manager.get(Request::new(server.url("/huge"))).finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::ProtocolFailure, "{error}");
    assert!(error.message().contains("65536"), "the size limit is named: {error}");
}

#[tokio::test]
async fn an_error_status_keeps_its_body_readable_and_its_error_separate() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::new();
    let mut missing = manager.get(Request::new(server.url("/status/404")));
    let mut fine = manager.get(Request::new(server.url("/json")));
    let (text, json) =
        timeout(LIMIT, async { (missing.text().await, fine.json::<serde_json::Value>().await) }).await.unwrap();
    // Qt's readAll() and reqwest's text() read an error reply's body.
    assert_eq!(text.unwrap(), "status 404");
    assert_eq!(json.unwrap()["name"], "netaccess");
    let error = missing.error_for_status_ref().map(|_| ()).unwrap_err();
    assert_eq!((error.kind(), error.http_status()), (NetworkErrorKind::ContentNotFoundError, Some(404)));
    assert!(fine.error_for_status().is_ok());
    // A failure that is not the status still fails the body readers.
    let mut refused = manager.get(Request::new("http://127.0.0.1:1/"));
    let error = timeout(LIMIT, refused.bytes()).await.unwrap().unwrap_err();
    assert_eq!(error.http_status(), None, "{error}");
}

#[tokio::test]
async fn a_bad_header_is_an_error_not_a_panic() {
    let request = Request::new("http://example.com/");
    assert!(request.clone().try_with_header("X-Ok", "value").is_ok());
    assert!(request.clone().try_with_header("X-Split", "a\r\nInjected: 1").is_err());
    assert!(request.clone().try_with_header("bad name", "x").is_err());
    let panicked = std::panic::catch_unwind(|| Request::new("http://example.com/").with_header("bad name", "x"));
    assert!(panicked.is_err(), "the panicking variant is documented as such");
}

#[tokio::test]
async fn a_self_signed_ca_marked_certificate_named_as_trusted_is_trusted_from_memory() {
    let identity = netaccess_tests::pki::self_signed_ca_marked(&["localhost"]);
    let server = HttpServer::start_tls(&identity).await;
    let tls = TlsConfig::default().with_trust(Trust::None).with_ca_pem(identity.chain_pem.clone());
    let manager = NetworkAccessManager::builder().tls(tls).build();
    let mut good = manager.get(Request::new(server.localhost_url("/hello")));
    let mut other_name = manager.get(Request::new(server.url("/hello")));
    let (good_body, other) = timeout(LIMIT, async { (good.text().await, other_name.finished().await) }).await.unwrap();
    assert_eq!(good_body.unwrap(), "Hello, world!");
    // Its names still count: 127.0.0.1 is not among them.
    let error = other.unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::SslHandshakeFailedError);
    assert!(error.message().contains("HostNameMismatch"), "{error}");
}

#[tokio::test]
async fn a_client_certificate_and_a_ca_can_come_from_memory() {
    let pki = Pki::new("netaccess test CA");
    let server =
        HttpServer::start_tls_with_client_auth(&pki.server(&["localhost"], Validity::Current), pki.ca_der()).await;
    let client = pki.client("netaccess client");
    let tls = TlsConfig::default()
        .with_trust(Trust::None)
        .with_ca_pem(pki.ca_pem())
        .with_client_certificate_pem(client.chain_pem.clone(), client.key_pem.clone());
    let manager = NetworkAccessManager::builder().tls(tls).build();
    let mut reply = manager.get(Request::new(server.localhost_url("/hello")));
    assert_eq!(timeout(LIMIT, reply.text()).await.unwrap().unwrap(), "Hello, world!");

    let broken = TlsConfig::default().with_ca_pem("not a certificate");
    let manager = NetworkAccessManager::builder().tls(broken).build();
    let error = timeout(LIMIT, manager.get(Request::new(server.localhost_url("/hello"))).finished())
        .await
        .unwrap()
        .unwrap_err();
    assert!(error.message().contains("no certificate in the CA PEM"), "{error}");
}

#[tokio::test]
async fn a_malformed_url_names_its_cause() {
    let manager = NetworkAccessManager::new();
    for (url, cause) in [
        ("http://example.com:99999/", "port 99999 is out of range"),
        ("http://[::1/", "unclosed IPv6 literal"),
        ("example.com/x", "has no scheme"),
    ] {
        let error = timeout(LIMIT, manager.get(Request::new(url)).finished()).await.unwrap().unwrap_err();
        assert_eq!(error.kind(), NetworkErrorKind::ProtocolUnknownError, "{url}");
        assert!(error.message().contains(cause), "{url}: {error}");
    }
}

#[test]
fn the_facade_re_exports_the_crates_its_api_speaks() {
    let value: netaccess::http::HeaderValue = netaccess::http::HeaderValue::from_static("x");
    let bytes: netaccess::bytes::Bytes = netaccess::bytes::Bytes::from_static(b"x");
    let url: netaccess::url::Url = netaccess::url::Url::parse("http://example.com/").unwrap();
    let request = netaccess::Request::from_url(url.clone()).try_with_header("X-A", value.to_str().unwrap()).unwrap();
    assert_eq!((request.url(), bytes.len()), (Some(&url), 1));
}

#[tokio::test]
async fn every_ftp_connection_takes_the_control_connections_resolution_through_socks5() {
    let server = netaccess_tests::FtpServer::start(None).await;
    for name in ["a.bin", "b.bin"] {
        std::fs::write(server.root().join(name), netaccess_tests::pattern(200_000)).unwrap();
    }
    let proxy = netaccess_tests::TestProxy::socks5(None).await;
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], server.port));
    // socks5://: names resolved here, with the overrides (`ftp.test` is known to nobody else).
    let local = NetworkAccessManager::builder()
        .proxy(netaccess::Proxy::from_url(&proxy.url("socks5")).unwrap())
        .resolve("ftp.test", server.port, loopback)
        .build();
    let urls = ["a.bin", "b.bin"].map(|name| format!("ftp://ftp.test:{}/{name}", server.port));
    let mut replies: Vec<_> = urls.iter().map(|url| local.get(Request::new(url))).collect();
    for (url, body) in urls.iter().zip(timeout(LIMIT, join_all(replies.iter_mut().map(|r| r.bytes()))).await.unwrap()) {
        assert_eq!(body.unwrap_or_else(|e| panic!("{url}: {e}")), netaccess_tests::pattern(200_000), "{url}");
    }
    let targets = proxy.log.requests();
    assert!(targets.len() >= 4, "two control and two data connections: {targets:?}");
    assert!(
        targets.iter().all(|t| t.starts_with("127.0.0.1:")),
        "every connection to the overridden address: {targets:?}"
    );

    // socks5h://: the name goes to the proxy, for the data connections too.
    let before = proxy.log.requests().len();
    let remote =
        NetworkAccessManager::builder().proxy(netaccess::Proxy::from_url(&proxy.url("socks5h")).unwrap()).build();
    let url = format!("ftp://localhost:{}/a.bin", server.port);
    let body = timeout(LIMIT, remote.get(Request::new(&url)).bytes()).await.unwrap().unwrap();
    assert_eq!(body, netaccess_tests::pattern(200_000));
    let targets = proxy.log.requests()[before..].to_vec();
    assert!(targets.len() >= 2, "{targets:?}");
    assert!(targets.iter().all(|t| t.starts_with("localhost:")), "names for the proxy to resolve: {targets:?}");
}
