//! ftp: through the manager, against libunftp on loopback.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use netaccess::{
    AuthenticationChallenge, AuthenticationHandler, Body, Credentials, KnownHeaders, NetworkAccessManager,
    NetworkErrorKind, ReplyEvent, Request,
};
use netaccess_tests::{pattern, AfterDrop, DroppingFtpServer, FtpServer};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn anonymous_download_with_size_progress_and_metadata() {
    let server = FtpServer::start(None).await;
    std::fs::write(server.root().join("data.bin"), pattern(1_000_000)).unwrap();
    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(Request::new(server.url("", "/data.bin")));
    let mut body = Vec::new();
    let mut last = None;
    while let Some(event) = timeout(LIMIT, reply.next_event()).await.unwrap() {
        match event {
            ReplyEvent::ReadyRead(chunk) => body.extend_from_slice(&chunk),
            ReplyEvent::DownloadProgress { received, total } => last = Some((received, total)),
            _ => {}
        }
    }
    assert!(reply.error().is_none(), "{:?}", reply.error());
    assert!(body == pattern(1_000_000));
    assert_eq!(last, Some((1_000_000, 1_000_000)), "the total came from SIZE");
    assert_eq!(reply.headers().content_length(), Some(1_000_000));
    assert!(reply.headers().last_modified().is_some(), "MDTM became Last-Modified");

    let mut head = manager.head(Request::new(server.url("", "/data.bin")));
    assert!(timeout(LIMIT, head.bytes()).await.unwrap().unwrap().is_empty());
    assert_eq!(head.headers().content_length(), Some(1_000_000));
}

#[tokio::test]
async fn uploads_of_several_sizes_arrive_intact() {
    let server = FtpServer::start(Some(("alice", "secret"))).await;
    let manager = NetworkAccessManager::new();
    for (index, size) in [0usize, 1, 65_536, 3_000_001].into_iter().enumerate() {
        let data = pattern(size);
        let url = server.url("alice:secret@", &format!("/upload-{index}.bin"));
        let mut put = manager.put(Request::new(&url), Body::from(data.clone()));
        timeout(LIMIT, put.finished()).await.unwrap().unwrap();
        assert!(std::fs::read(server.root().join(format!("upload-{index}.bin"))).unwrap() == data, "{size} bytes");
        let back = timeout(LIMIT, manager.get(Request::new(&url)).bytes()).await.unwrap().unwrap();
        assert!(back == data, "{size} bytes read back");
    }
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("from-disk.bin");
    std::fs::write(&source, pattern(500_000)).unwrap();
    let url = server.url("alice:secret@", "/from-disk.bin");
    let mut put = manager.put(Request::new(url), Body::from_file(&source).await.unwrap());
    let mut progress = None;
    while let Some(event) = timeout(LIMIT, put.next_event()).await.unwrap() {
        if let ReplyEvent::UploadProgress { sent, total } = event {
            progress = Some((sent, total));
        }
    }
    assert!(put.error().is_none(), "{:?}", put.error());
    assert_eq!(progress, Some((500_000, 500_000)));
}

#[tokio::test]
async fn errors_follow_qt() {
    let server = FtpServer::start(None).await;
    std::fs::create_dir(server.root().join("folder")).unwrap();
    let manager = NetworkAccessManager::new();
    let cases = [
        (server.url("", "/missing.txt"), NetworkErrorKind::ContentNotFoundError),
        (server.url("", "/folder"), NetworkErrorKind::ContentOperationNotPermittedError),
        (server.url("", "/"), NetworkErrorKind::ContentOperationNotPermittedError),
        ("ftp://127.0.0.1:1/x".to_owned(), NetworkErrorKind::ConnectionRefusedError),
    ];
    for (url, kind) in cases {
        let error = timeout(LIMIT, manager.get(Request::new(&url)).finished()).await.unwrap().unwrap_err();
        assert_eq!(error.kind(), kind, "{url}: {error}");
    }
    let missing = timeout(LIMIT, manager.get(Request::new(server.url("", "/missing.txt"))).finished())
        .await
        .unwrap()
        .unwrap_err();
    assert!(missing.message().contains("550"), "the server's reply is in the message: {missing}");

    std::fs::write(server.root().join("after.txt"), "still works").unwrap();
    let body = timeout(LIMIT, manager.get(Request::new(server.url("", "/after.txt"))).bytes()).await.unwrap().unwrap();
    assert_eq!(body, "still works", "a download after errors on the same manager");
}

#[tokio::test]
async fn two_concurrent_downloads() {
    let server = FtpServer::start(None).await;
    std::fs::write(server.root().join("a.bin"), pattern(2_000_000)).unwrap();
    std::fs::write(server.root().join("b.bin"), pattern(1_500_000)).unwrap();
    let manager = NetworkAccessManager::new();
    let mut a = manager.get(Request::new(server.url("", "/a.bin")));
    let mut b = manager.get(Request::new(server.url("", "/b.bin")));
    let (a, b) = tokio::join!(a.bytes(), b.bytes());
    assert!(a.unwrap() == pattern(2_000_000));
    assert!(b.unwrap() == pattern(1_500_000));
}

struct Login(Arc<AtomicUsize>, &'static str);

impl AuthenticationHandler for Login {
    fn credentials(&self, challenge: AuthenticationChallenge) -> BoxFuture<'static, Option<Credentials>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        assert_eq!(challenge.scheme, "FTP");
        let answer = (!challenge.retry || self.1 == "secret").then(|| Credentials::new("alice", self.1));
        async move { answer }.boxed()
    }
}

#[tokio::test]
async fn a_refused_login_asks_the_handler() {
    let server = FtpServer::start(Some(("alice", "secret"))).await;
    std::fs::write(server.root().join("private.txt"), "for alice").unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let manager = NetworkAccessManager::builder().authentication_handler(Login(calls.clone(), "secret")).build();
    let body =
        timeout(LIMIT, manager.get(Request::new(server.url("", "/private.txt"))).bytes()).await.unwrap().unwrap();
    assert_eq!(body, "for alice");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "anonymous was refused, then the handler answered");

    let wrong = Arc::new(AtomicUsize::new(0));
    let manager = NetworkAccessManager::builder().authentication_handler(Login(wrong.clone(), "wrong")).build();
    let error = timeout(LIMIT, manager.get(Request::new(server.url("", "/private.txt"))).finished())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::AuthenticationRequiredError);
    assert_eq!(wrong.load(Ordering::SeqCst), 2, "asked again after the refusal, then it gave up");
    let none = NetworkAccessManager::new();
    let error =
        timeout(LIMIT, none.get(Request::new(server.url("", "/private.txt"))).finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::AuthenticationRequiredError);
}

/// Gives proxy credentials and counts how often it was asked.
#[derive(Clone, Default)]
struct ProxyAnswers(Arc<AtomicUsize>);

impl netaccess::ProxyAuthenticationHandler for ProxyAnswers {
    fn credentials(
        &self,
        challenge: netaccess::ProxyAuthenticationChallenge,
    ) -> BoxFuture<'static, Option<(String, String)>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        let answer = (!challenge.retry).then(|| ("sock".to_owned(), "s3cret".to_owned()));
        async move {
            // Slow, as a person is: the other requests in flight must wait for this answer.
            tokio::time::sleep(Duration::from_millis(50)).await;
            answer
        }
        .boxed()
    }
}

/// FTP's control and data connections take their SOCKS5 tunnels from the connector every scheme
/// shares, so an authenticating SOCKS5 proxy asks the manager's proxy-authentication handler
/// as it does for http, once for several requests in flight (curl can only take the
/// credentials from the proxy's URL: `--socks5-hostname user:pw@host`).
#[tokio::test]
async fn an_authenticating_socks5_proxy_asks_the_handler_once_for_every_connection() {
    let server = FtpServer::start(None).await;
    std::fs::write(server.root().join("a.bin"), pattern(50_000)).unwrap();
    std::fs::write(server.root().join("b.bin"), pattern(70_000)).unwrap();
    let proxy = netaccess_tests::TestProxy::socks5(Some(("sock", "s3cret"))).await;
    let answers = ProxyAnswers::default();
    let manager = NetworkAccessManager::builder()
        .proxy(netaccess::Proxy::from_url(&proxy.url("socks5h")).unwrap())
        .proxy_authentication_handler(answers.clone())
        .build();
    let replies = ["/a.bin", "/b.bin", "/a.bin"].map(|path| {
        let mut reply = manager.get(Request::new(server.url("", path)));
        async move { reply.bytes().await }
    });
    let bodies = timeout(LIMIT, futures::future::join_all(replies)).await.unwrap();
    let sizes: Vec<usize> = bodies.into_iter().map(|b| b.unwrap().len()).collect();
    assert_eq!(sizes, [50_000, 70_000, 50_000]);
    assert_eq!(answers.0.load(Ordering::SeqCst), 1, "three requests in flight asked once");
    let targets = proxy.log.requests();
    assert!(targets.len() >= 6, "each control and data connection was tunnelled: {targets:?}");

    let without_handler =
        NetworkAccessManager::builder().proxy(netaccess::Proxy::from_url(&proxy.url("socks5h")).unwrap()).build();
    let error = timeout(LIMIT, without_handler.get(Request::new(server.url("", "/a.bin"))).finished())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::ProxyAuthenticationRequiredError, "{error}");
}

#[tokio::test]
async fn both_connections_go_through_a_socks5_proxy() {
    let server = FtpServer::start(None).await;
    std::fs::write(server.root().join("via.bin"), pattern(300_000)).unwrap();
    let proxy = netaccess_tests::TestProxy::socks5(None).await;
    let manager =
        NetworkAccessManager::builder().proxy(netaccess::Proxy::from_url(&proxy.url("socks5")).unwrap()).build();
    let body = timeout(LIMIT, manager.get(Request::new(server.url("", "/via.bin"))).bytes()).await.unwrap().unwrap();
    assert!(body == pattern(300_000));
    let mut put = manager.put(Request::new(server.url("", "/via-up.bin")), Body::from("through socks"));
    timeout(LIMIT, put.finished()).await.unwrap().unwrap();
    assert_eq!(std::fs::read_to_string(server.root().join("via-up.bin")).unwrap(), "through socks");
    let targets = proxy.log.requests();
    assert!(targets.len() >= 3, "the control connection and each data connection: {targets:?}");
    assert!(targets.iter().all(|t| t.starts_with("127.0.0.1:")), "{targets:?}");

    let http_only =
        NetworkAccessManager::builder().proxy(netaccess::Proxy::from_url("http://127.0.0.1:1").unwrap()).build();
    let error =
        timeout(LIMIT, http_only.get(Request::new(server.url("", "/via.bin"))).finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::ProxyNotFoundError, "an HTTP proxy cannot carry ftp");
}

#[tokio::test]
async fn explicit_ftps_protects_both_connections() {
    use netaccess_tests::pki::{Pki, Validity};
    let pki = Pki::new("netaccess ftps CA");
    let server =
        FtpServer::start_ftps(Some(("alice", "secret")), &pki.server(&["localhost", "127.0.0.1"], Validity::Current))
            .await;
    std::fs::write(server.root().join("secret.bin"), pattern(400_000)).unwrap();
    let manager = NetworkAccessManager::builder()
        .tls(
            netaccess::TlsConfig::default()
                .with_trust(netaccess::Trust::None)
                .with_ca_certificate(pki.ca_der().to_vec()),
        )
        .build();
    let url = format!("ftps://alice:secret@127.0.0.1:{}/secret.bin", server.port);
    let body = timeout(LIMIT, manager.get(Request::new(&url)).bytes()).await.unwrap().unwrap();
    assert!(body == pattern(400_000));
    let upload = format!("ftps://alice:secret@127.0.0.1:{}/up.bin", server.port);
    timeout(LIMIT, manager.put(Request::new(upload), Body::from("over TLS")).finished()).await.unwrap().unwrap();
    assert_eq!(std::fs::read_to_string(server.root().join("up.bin")).unwrap(), "over TLS");

    let untrusting =
        NetworkAccessManager::builder().tls(netaccess::TlsConfig::default().with_trust(netaccess::Trust::None)).build();
    let error = timeout(LIMIT, untrusting.get(Request::new(&url)).finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::SslHandshakeFailedError, "{error}");
}

#[tokio::test]
async fn an_aborted_download_leaves_the_manager_usable() {
    let server = FtpServer::start(None).await;
    std::fs::write(server.root().join("big.bin"), pattern(20_000_000)).unwrap();
    std::fs::write(server.root().join("small.txt"), "next").unwrap();
    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(Request::new(server.url("", "/big.bin")));
    assert!(timeout(LIMIT, reply.chunk()).await.unwrap().is_some());
    reply.abort();
    assert_eq!(reply.error().unwrap().kind(), NetworkErrorKind::OperationCanceledError);
    drop(reply);
    let body = timeout(LIMIT, manager.get(Request::new(server.url("", "/small.txt"))).bytes()).await.unwrap().unwrap();
    assert_eq!(body, "next");
}

#[tokio::test]
async fn a_dropped_data_connection_fails_the_download_and_keeps_what_arrived() {
    for after in [AfterDrop::Aborted, AfterDrop::ClaimsComplete] {
        let server = DroppingFtpServer::start(100_000, 3_000, after).await;
        let manager = NetworkAccessManager::new();
        let mut reply = manager.get(Request::new(server.url("/file.bin")));
        let body = timeout(LIMIT, reply.read_all()).await.unwrap();
        assert_eq!(body.len(), 3_000, "{after:?}: what arrived stays readable");
        let error = reply.error().unwrap_or_else(|| panic!("{after:?}: a truncated download must fail"));
        assert_eq!(error.kind(), NetworkErrorKind::RemoteHostClosedError, "{after:?}: {error}");
    }
}
