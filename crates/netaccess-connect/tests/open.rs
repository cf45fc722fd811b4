//! `Connector::open`: connections come ready (tunnelled, secured, negotiated) against real
//! servers on loopback: hyper over tokio-rustls with rcgen certificates, and the test proxies.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use netaccess_connect::{Connector, Destination, Negotiated, TlsOffer, TransportConfig, Via};
use netaccess_core::{IgnoredSslErrors, NetworkErrorKind, SslErrorDecision, SslErrorHandler, SslErrorKind};
use netaccess_proxy::{Proxy, ProxyAuthenticationChallenge, ProxyAuthenticationHandler};
use netaccess_tests::pki::self_signed;
use netaccess_tests::{HttpServer, Pki, TestProxy, Validity};
use netaccess_tls::{TlsConfig, Trust, ALPN_H2_HTTP1, ALPN_HTTP1};
use url::Url;

/// Trusts only `pki`'s CA, and `localhost` is 127.0.0.1 (the servers listen there).
fn config(pki: &Pki, port: u16) -> TransportConfig {
    let mut config = TransportConfig::default();
    config.tls = TlsConfig::default().with_trust(Trust::None).with_ca_certificate(pki.ca_der().to_vec());
    config.resolve.insert("localhost", port, vec![([127, 0, 0, 1], port).into()]);
    config
}

#[tokio::test]
async fn tls_comes_negotiated_by_the_alpn_offer() {
    let pki = Pki::new("netaccess connect CA");
    let server = HttpServer::start_h2(&pki.server(&["localhost"], Validity::Current), 10).await;
    let port = server.addr.port();
    let connector = Connector::new(config(&pki, port));
    let url = Url::parse(&server.localhost_url("/")).unwrap();
    for (offer, expected) in [(ALPN_H2_HTTP1, Negotiated::Http2), (ALPN_HTTP1, Negotiated::Http1)] {
        let destination = Destination::new(&url, "localhost", port).secured(TlsOffer::new(offer));
        let ready = connector.open(&destination).await.unwrap();
        assert_eq!(ready.protocol, expected);
        assert!(ready.tls.as_ref().is_some_and(|tls| tls.errors.is_empty() && !tls.chain.is_empty()));
        assert!(ready.facts.tls.is_some(), "the session is in the facts");
        assert_eq!(ready.facts.remote_address, server.addr);
        let (connected, secured) = (ready.milestones.connected.unwrap(), ready.milestones.secured.unwrap());
        assert!(connected <= secured);
        assert!(ready.poolable);
    }
    let plain = connector.open(&Destination::new(&url, "localhost", port)).await.unwrap();
    assert_eq!((plain.protocol, plain.tls.is_some(), plain.milestones.secured), (Negotiated::Nothing, false, None));
}

/// Gives the proxy's credentials after a pause, counting the calls.
#[derive(Clone, Default)]
struct Answers(Arc<AtomicUsize>);

impl ProxyAuthenticationHandler for Answers {
    fn credentials(&self, challenge: ProxyAuthenticationChallenge) -> BoxFuture<'static, Option<(String, String)>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        let answer = (!challenge.retry).then(|| ("carol".to_owned(), "pw".to_owned()));
        async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            answer
        }
        .boxed()
    }
}

/// Three connections opened at once through an HTTP proxy that wants credentials: each is
/// tunnelled with `CONNECT`, the handler is asked once (the others wait for its answer), and
/// TLS runs end to end through the tunnel (curl: `--proxy-user`; it cannot ask).
#[tokio::test]
async fn tunnels_authenticate_once_and_carry_tls_end_to_end() {
    let pki = Pki::new("netaccess connect CA");
    let server = HttpServer::start_h2(&pki.server(&["localhost"], Validity::Current), 10).await;
    let port = server.addr.port();
    let proxy_server = TestProxy::http(Some(("carol", "pw"))).await;
    let proxy = Proxy::from_url(&proxy_server.url("http")).unwrap();
    let answers = Answers::default();
    let mut config = config(&pki, port);
    config.proxy_authentication_handler = Some(Arc::new(answers.clone()));
    let connector = Connector::new(config);
    let url = Url::parse(&server.localhost_url("/")).unwrap();
    let agent = http::HeaderValue::from_static("open-test/1");
    let destination = Destination::new(&url, "localhost", port)
        .via(Via::Tunnel(&proxy))
        .user_agent(Some(&agent))
        .secured(TlsOffer::new(ALPN_H2_HTTP1));
    let opened = futures::future::join_all((0..3).map(|_| connector.open(&destination))).await;
    for ready in opened {
        let ready = ready.unwrap();
        assert_eq!(ready.protocol, Negotiated::Http2, "ALPN through the tunnel");
        assert_eq!(ready.facts.remote_address, proxy_server.addr, "the facts are the first hop's");
    }
    assert_eq!(answers.0.load(Ordering::SeqCst), 1, "asked once for three tunnels");
    let seen = proxy_server.log.requests();
    assert!(seen.iter().filter(|r| r.contains(&format!("localhost:{port}"))).count() >= 3, "{seen:?}");

    let direct_proxy_error = Connector::new(TransportConfig::default())
        .open(&Destination::new(&url, "localhost", port).via(Via::Tunnel(&proxy)))
        .await
        .unwrap_err();
    assert_eq!(direct_proxy_error.kind(), NetworkErrorKind::ProxyAuthenticationRequiredError);
    assert_eq!(direct_proxy_error.url(), url.as_str(), "the error names the URL");
}

/// Accepts every problem and counts the questions.
#[derive(Clone, Default)]
struct AcceptAll(Arc<AtomicUsize>);

impl SslErrorHandler for AcceptAll {
    fn decide(
        &self,
        _: &Url,
        _: &[netaccess_core::SslError],
        _: &[bytes::Bytes],
    ) -> BoxFuture<'static, SslErrorDecision> {
        self.0.fetch_add(1, Ordering::SeqCst);
        async { SslErrorDecision::IgnoreAll }.boxed()
    }
}

#[tokio::test]
async fn certificate_problems_are_refused_accepted_by_the_request_or_by_the_handler() {
    let pki = Pki::new("netaccess connect CA");
    let server = HttpServer::start_tls(&self_signed(&["localhost"])).await;
    let port = server.addr.port();
    let url = Url::parse(&server.localhost_url("/")).unwrap();
    let offer = TlsOffer::new(ALPN_HTTP1);

    let strict = Connector::new(config(&pki, port));
    let refused = strict.open(&Destination::new(&url, "localhost", port).secured(offer)).await.unwrap_err();
    assert_eq!(refused.kind(), NetworkErrorKind::SslHandshakeFailedError);
    assert!(refused.message().contains("SelfSignedCertificate") || refused.message().contains("self"), "{refused}");

    let listed = IgnoredSslErrors::Listed(vec![SslErrorKind::SelfSignedCertificate]);
    let accepted = strict.open(&Destination::new(&url, "localhost", port).secured(offer.ignoring(&listed))).await;
    let accepted = accepted.unwrap();
    assert!(accepted.poolable, "accepted in advance: the pool key carries the list");
    assert_eq!(
        accepted.tls.unwrap().errors.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [SslErrorKind::SelfSignedCertificate]
    );

    let handler = AcceptAll::default();
    let mut config = config(&pki, port);
    config.ssl_error_handler = Some(Arc::new(handler.clone()));
    let asking = Connector::new(config);
    let decided = asking.open(&Destination::new(&url, "localhost", port).secured(offer)).await.unwrap();
    assert!(!decided.poolable, "accepted by the handler: the next request is asked again");
    assert_eq!(handler.0.load(Ordering::SeqCst), 1);
}
