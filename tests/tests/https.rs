//! https through the manager: trust, every certificate problem, the ways to ignore one, and
//! that an ignored problem never carries over to a request that did not ignore it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt};
use netaccess::{
    IgnoredSslErrors, NetworkAccessManager, NetworkErrorKind, ReplyEvent, Request, SslError, SslErrorDecision,
    SslErrorHandler, SslErrorKind, TlsConfig, Trust,
};
use netaccess_tests::pki::{self_signed, Pki, Validity};
use netaccess_tests::{tls_acceptor, HttpServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

fn manager_trusting(pki: &Pki) -> NetworkAccessManager {
    NetworkAccessManager::builder()
        .tls(TlsConfig::default().with_trust(Trust::None).with_ca_certificate(pki.ca_der().to_vec()))
        .build()
}

/// Runs a GET and returns the reply's events, body and error kind.
async fn get(manager: &NetworkAccessManager, request: Request) -> (Vec<ReplyEvent>, Bytes, Option<NetworkErrorKind>) {
    let mut reply = manager.get(request);
    let mut events = Vec::new();
    let mut body = Vec::new();
    while let Some(event) = timeout(LIMIT, reply.next_event()).await.expect("no hang") {
        if let ReplyEvent::ReadyRead(chunk) = &event {
            body.extend_from_slice(chunk);
        }
        events.push(event);
    }
    (events, Bytes::from(body), reply.error().map(|e| e.kind()))
}

fn reported(events: &[ReplyEvent]) -> Vec<SslErrorKind> {
    events
        .iter()
        .filter_map(|e| match e {
            ReplyEvent::SslErrors(errors) => Some(errors.iter().map(|e| e.kind).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect()
}

#[tokio::test]
async fn a_trusted_server_is_encrypted_and_its_connection_reused() {
    let pki = Pki::new("netaccess test CA");
    let server = HttpServer::start_tls(&pki.server(&["localhost", "127.0.0.1"], Validity::Current)).await;
    let manager = manager_trusting(&pki);
    for _ in 0..5 {
        let mut reply = manager.get(Request::new(server.localhost_url("/hello")));
        let mut events = Vec::new();
        while let Some(event) = timeout(LIMIT, reply.next_event()).await.unwrap() {
            assert!(!matches!(event, ReplyEvent::SslErrors(_)));
            events.push(event);
        }
        assert!(reply.error().is_none(), "{:?}", reply.error());
        let position = |wanted: fn(&ReplyEvent) -> bool| events.iter().position(wanted);
        let encrypted = position(|e| matches!(e, ReplyEvent::Encrypted)).expect("an Encrypted event per reply");
        let metadata = position(|e| matches!(e, ReplyEvent::MetaDataChanged)).expect("metadata");
        assert!(encrypted < metadata, "Encrypted comes before the metadata, on new and reused connections");
        let attributes = reply.attributes();
        assert!(attributes.connection_encrypted);
        assert_eq!(attributes.peer_certificates.len(), 1);
        assert!(attributes.ssl_errors.is_empty());
    }
    assert_eq!(server.connections(), 1, "one keep-alive TLS connection");
    let (_, body, error) = get(&manager, Request::new(server.url("/hello"))).await;
    assert_eq!((body.as_ref(), error), (&b"Hello, world!"[..], None), "by IP address too");
}

#[tokio::test]
async fn every_problem_fails_the_request_and_is_reported() {
    let pki = Pki::new("netaccess test CA");
    let manager = manager_trusting(&pki);
    let cases = [
        (pki.server(&["localhost"], Validity::Expired), SslErrorKind::CertificateExpired),
        (pki.server(&["localhost"], Validity::NotYetValid), SslErrorKind::CertificateNotYetValid),
        (pki.server(&["elsewhere.example"], Validity::Current), SslErrorKind::HostNameMismatch),
        (self_signed(&["localhost"]), SslErrorKind::SelfSignedCertificate),
        (
            Pki::new("unknown").server(&["localhost"], Validity::Current),
            SslErrorKind::UnableToGetLocalIssuerCertificate,
        ),
        (pki.server_via_intermediate(&["localhost"], false), SslErrorKind::UnableToGetLocalIssuerCertificate),
    ];
    for (identity, kind) in cases {
        let server = HttpServer::start_tls(&identity).await;
        let mut reply = manager.get(Request::new(server.localhost_url("/hello")));
        let mut events = Vec::new();
        while let Some(event) = timeout(LIMIT, reply.next_event()).await.unwrap() {
            events.push(event);
        }
        assert_eq!(reported(&events), [kind]);
        let error = reply.error().unwrap();
        assert_eq!(error.kind(), NetworkErrorKind::SslHandshakeFailedError, "{kind}");
        assert!(error.message().contains(kind.name()), "{error}");
        assert_eq!(server.seen.requests.load(Ordering::SeqCst), 0, "{kind}: not a byte of the request was sent");
    }
}

#[tokio::test]
async fn a_request_ignores_only_the_problems_it_names() {
    let pki = Pki::new("netaccess test CA");
    let manager = manager_trusting(&pki);
    let wrong_host = HttpServer::start_tls(&pki.server(&["elsewhere.example"], Validity::Current)).await;

    let mut named = Request::new(wrong_host.localhost_url("/hello"));
    named.attributes_mut().ignore_ssl_errors = IgnoredSslErrors::Listed(vec![SslErrorKind::HostNameMismatch]);
    let mut reply = manager.get(named.clone());
    assert_eq!(timeout(LIMIT, reply.bytes()).await.unwrap().unwrap(), "Hello, world!");
    assert_eq!(reply.attributes().ssl_errors.len(), 1, "the ignored problem is still reported");

    let mut other = Request::new(wrong_host.localhost_url("/hello"));
    other.attributes_mut().ignore_ssl_errors = IgnoredSslErrors::Listed(vec![SslErrorKind::CertificateExpired]);
    assert_eq!(get(&manager, other).await.2, Some(NetworkErrorKind::SslHandshakeFailedError));

    let both = HttpServer::start_tls(&pki.server(&["elsewhere.example"], Validity::Expired)).await;
    let mut partly = Request::new(both.localhost_url("/hello"));
    partly.attributes_mut().ignore_ssl_errors = IgnoredSslErrors::Listed(vec![SslErrorKind::HostNameMismatch]);
    assert_eq!(get(&manager, partly).await.2, Some(NetworkErrorKind::SslHandshakeFailedError));

    let mut all = Request::new(both.localhost_url("/hello"));
    all.attributes_mut().ignore_ssl_errors = IgnoredSslErrors::All;
    assert_eq!(get(&manager, all).await.2, None);
}

#[tokio::test]
async fn an_ignored_problem_never_reaches_a_request_that_did_not_ignore_it() {
    let pki = Pki::new("netaccess test CA");
    let manager = manager_trusting(&pki);
    let server = HttpServer::start_tls(&pki.server(&["elsewhere.example"], Validity::Current)).await;
    let mut lenient = Request::new(server.localhost_url("/hello"));
    lenient.attributes_mut().ignore_ssl_errors = IgnoredSslErrors::Listed(vec![SslErrorKind::HostNameMismatch]);
    assert_eq!(get(&manager, lenient.clone()).await.2, None);
    assert_eq!(get(&manager, lenient.clone()).await.2, None);
    assert_eq!(server.handshakes(), 1, "requests that accept the same problem share the connection");

    let (events, _, error) = get(&manager, Request::new(server.localhost_url("/hello"))).await;
    assert_eq!(error, Some(NetworkErrorKind::SslHandshakeFailedError), "a strict request gets no lenient connection");
    assert_eq!(reported(&events), [SslErrorKind::HostNameMismatch], "it made its own handshake, and refused it");
}

/// What the handler was asked: the URL, the problems, the chain's length.
type Asked = Arc<std::sync::Mutex<Vec<(String, Vec<SslErrorKind>, usize)>>>;

struct CountingHandler {
    calls: Arc<AtomicUsize>,
    decision: SslErrorDecision,
    seen: Asked,
}

impl SslErrorHandler for CountingHandler {
    fn decide(&self, url: &url::Url, errors: &[SslError], chain: &[Bytes]) -> BoxFuture<'static, SslErrorDecision> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.seen.lock().unwrap().push((url.to_string(), errors.iter().map(|e| e.kind).collect(), chain.len()));
        let decision = self.decision.clone();
        async move { decision }.boxed()
    }
}

#[tokio::test]
async fn the_handler_decides_and_is_asked_for_every_connection() {
    let pki = Pki::new("netaccess test CA");
    let server = HttpServer::start_tls(&self_signed(&["localhost"])).await;
    for (decision, expected) in [
        (SslErrorDecision::IgnoreAll, None),
        (SslErrorDecision::Ignore(vec![SslErrorKind::SelfSignedCertificate]), None),
        (
            SslErrorDecision::Ignore(vec![SslErrorKind::HostNameMismatch]),
            Some(NetworkErrorKind::SslHandshakeFailedError),
        ),
        (SslErrorDecision::Refuse, Some(NetworkErrorKind::SslHandshakeFailedError)),
    ] {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen: Asked = Arc::default();
        let handler = CountingHandler { calls: calls.clone(), decision: decision.clone(), seen: seen.clone() };
        let manager = NetworkAccessManager::builder()
            .tls(TlsConfig::default().with_trust(Trust::None).with_ca_certificate(pki.ca_der().to_vec()))
            .ssl_error_handler(handler)
            .build();
        let url = server.localhost_url("/hello");
        assert_eq!(get(&manager, Request::new(&url)).await.2, expected, "{decision:?}");
        assert_eq!(get(&manager, Request::new(&url)).await.2, expected, "{decision:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 2, "{decision:?}: asked for each new connection, none pooled");
        let (seen_url, kinds, chain) = seen.lock().unwrap()[0].clone();
        assert_eq!(
            (seen_url.as_str(), kinds.as_slice(), chain),
            (url.as_str(), &[SslErrorKind::SelfSignedCertificate][..], 1)
        );
    }
}

#[tokio::test]
async fn https_never_redirects_to_http() {
    let pki = Pki::new("netaccess test CA");
    let secure = HttpServer::start_tls(&pki.server(&["localhost"], Validity::Current)).await;
    let plain = HttpServer::start().await;
    let manager = manager_trusting(&pki);
    let target = plain.url("/hello");
    let (_, _, error) = get(&manager, Request::new(secure.localhost_url(&format!("/redirect/302?to={target}")))).await;
    assert_eq!(error, Some(NetworkErrorKind::InsecureRedirectError));
    assert_eq!(plain.connections(), 0);
}

#[tokio::test]
async fn client_certificates_reach_the_server() {
    let pki = Pki::new("netaccess test CA");
    let server =
        HttpServer::start_tls_with_client_auth(&pki.server(&["localhost"], Validity::Current), pki.ca_der()).await;
    let dir = tempfile::tempdir().unwrap();
    let client = pki.client("netaccess client");
    std::fs::write(dir.path().join("client.pem"), &client.chain_pem).unwrap();
    std::fs::write(dir.path().join("client.key"), &client.key_pem).unwrap();
    std::fs::write(dir.path().join("ca.pem"), pki.ca_pem()).unwrap();
    let tls = TlsConfig::default()
        .with_trust(Trust::None)
        .with_ca_file(dir.path().join("ca.pem"))
        .with_client_certificate(dir.path().join("client.pem"), dir.path().join("client.key"));
    let manager = NetworkAccessManager::builder().tls(tls).build();
    let (_, body, error) = get(&manager, Request::new(server.localhost_url("/hello"))).await;
    assert_eq!((body.as_ref(), error), (&b"Hello, world!"[..], None));

    let (_, _, error) = get(&manager_trusting(&pki), Request::new(server.localhost_url("/hello"))).await;
    assert!(error.is_some(), "without a client certificate the server refuses");
}

/// Starts a TLS server that answers every request with `answer` and then drops the TCP socket
/// under the TLS session, without close_notify.
async fn server_closing_without_close_notify(pki: &Pki, answer: &'static [u8]) -> std::net::SocketAddr {
    let acceptor = tls_acceptor(&pki.server(&["localhost"], Validity::Current), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let Ok(mut tls) = acceptor.accept(stream).await else { continue };
            let mut seen = Vec::new();
            let mut buffer = [0u8; 1024];
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match tls.read(&mut buffer).await {
                    Ok(n) if n > 0 => seen.extend_from_slice(&buffer[..n]),
                    _ => break,
                }
            }
            if tls.write_all(answer).await.is_ok() && tls.flush().await.is_ok() {
                let (tcp, _session) = tls.into_inner();
                drop(tcp);
            }
        }
    });
    addr
}

#[tokio::test]
async fn a_close_without_close_notify_is_a_truncation_for_a_body_read_to_the_end() {
    let pki = Pki::new("truncation CA");
    let manager = manager_trusting(&pki);

    let addr = server_closing_without_close_notify(&pki, b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npartial").await;
    let url = format!("https://localhost:{}/", addr.port());
    let (_, body, error) = get(&manager, Request::new(url)).await;
    assert_eq!(body, "partial", "what arrived stays readable");
    assert_eq!(error, Some(NetworkErrorKind::RemoteHostClosedError), "an attacker's FIN must not end the body");

    // With its length announced and complete, the body is whole whatever the close looks like.
    let addr = server_closing_without_close_notify(&pki, b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ncomplete").await;
    let url = format!("https://localhost:{}/", addr.port());
    let (_, body, error) = get(&manager, Request::new(url)).await;
    assert_eq!((body, error), (Bytes::from_static(b"complete"), None));
}

#[tokio::test]
async fn credentials_never_follow_a_redirect_to_https_on_another_port() {
    let pki = Pki::new("redirect CA");
    let plain = HttpServer::start().await;
    let secure = HttpServer::start_tls(&pki.server(&["localhost"], Validity::Current)).await;
    let manager = manager_trusting(&pki);
    let target = secure.localhost_url("/echo");
    let request = Request::new(plain.localhost_url(&format!("/redirect/302?to={target}")))
        .with_header("authorization", "Basic c2VjcmV0")
        .with_header("cookie", "session=1");
    let mut reply = manager.get(request);
    timeout(LIMIT, reply.finished()).await.unwrap().unwrap();
    assert_eq!(reply.url().unwrap().as_str(), target, "the redirect was followed");
    assert!(reply.header("x-echo-authorization").is_none(), "Authorization crossed to another origin");
    assert!(reply.header("x-echo-cookie").is_none(), "Cookie crossed to another origin");
}
