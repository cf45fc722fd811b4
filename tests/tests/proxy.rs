//! Proxies through the manager: HTTP forwarding and CONNECT, SOCKS5 with and without
//! authentication, proxy credentials, failover, and connections that never cross proxies.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use netaccess::{
    NetworkAccessManager, NetworkErrorKind, Proxy, ProxyAuthenticationChallenge, ProxyAuthenticationHandler,
    ProxyFactory, ProxyKind, ProxyQuery, Request, SystemProxyFactory, TlsConfig, Trust,
};
use netaccess_tests::pki::{Pki, Validity};
use netaccess_tests::{HttpServer, TestProxy};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

fn through(proxy: &str) -> NetworkAccessManager {
    NetworkAccessManager::builder().proxy(Proxy::from_url(proxy).unwrap()).build()
}

async fn get_text(manager: &NetworkAccessManager, url: String) -> Result<String, NetworkErrorKind> {
    let mut reply = manager.get(Request::new(url));
    let text = timeout(LIMIT, reply.text()).await.expect("no hang").map_err(|e| e.kind())?;
    reply.error_for_status_ref().map_err(|e| e.kind())?;
    Ok(text)
}

#[tokio::test]
async fn http_proxy_forwards_plain_http_in_absolute_form() {
    let server = HttpServer::start().await;
    let proxy = TestProxy::http(None).await;
    let manager = through(&proxy.url("http"));
    for _ in 0..3 {
        let mut reply = manager.get(Request::new(server.url("/hello")));
        assert_eq!(timeout(LIMIT, reply.text()).await.unwrap().unwrap(), "Hello, world!");
        assert_eq!(reply.attributes().proxy, Some(format!("http://{}", proxy.addr)));
    }
    assert_eq!(proxy.log.requests(), vec![format!("GET {}", server.url("/hello")); 3]);
    assert_eq!(proxy.log.connections.load(Ordering::SeqCst), 1, "kept alive to the proxy");
}

#[tokio::test]
async fn https_goes_through_connect_with_the_user_agent() {
    let pki = Pki::new("netaccess test CA");
    let server = HttpServer::start_tls(&pki.server(&["localhost"], Validity::Current)).await;
    let proxy = TestProxy::http(None).await;
    let manager = NetworkAccessManager::builder()
        .proxy(Proxy::from_url(&proxy.url("http")).unwrap())
        .tls(TlsConfig::default().with_trust(Trust::None).with_ca_certificate(pki.ca_der().to_vec()))
        .build();
    let mut reply = manager.get(Request::new(server.localhost_url("/hello")));
    assert_eq!(timeout(LIMIT, reply.text()).await.unwrap().unwrap(), "Hello, world!");
    assert!(reply.attributes().connection_encrypted, "TLS end to end through the tunnel");
    assert_eq!(proxy.log.requests(), [format!("CONNECT localhost:{}", server.addr.port())]);
}

#[tokio::test]
async fn socks5_resolves_here_and_socks5h_at_the_proxy() {
    let server = HttpServer::start().await;
    let proxy = TestProxy::socks5(None).await;
    let port = server.addr.port();
    assert_eq!(
        get_text(&through(&proxy.url("socks5h")), server.localhost_url("/hello")).await.unwrap(),
        "Hello, world!"
    );
    assert_eq!(
        get_text(&through(&proxy.url("socks5")), server.localhost_url("/hello")).await.unwrap(),
        "Hello, world!"
    );
    let requests = proxy.log.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].contains("localhost") && requests[0].contains(&port.to_string()), "{requests:?}");
    assert!(requests[1].contains("127.0.0.1") || requests[1].contains("::1"), "{requests:?}");
}

#[derive(Clone, Default)]
struct Answers {
    calls: Arc<AtomicUsize>,
    give: Option<(&'static str, &'static str)>,
}

impl ProxyAuthenticationHandler for Answers {
    fn credentials(&self, challenge: ProxyAuthenticationChallenge) -> BoxFuture<'static, Option<(String, String)>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let answer = if challenge.retry { None } else { self.give.map(|(u, p)| (u.to_owned(), p.to_owned())) };
        async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            answer
        }
        .boxed()
    }
}

#[tokio::test]
async fn socks5_credentials_from_the_url_or_the_handler() {
    let server = HttpServer::start().await;
    let proxy = TestProxy::socks5(Some(("sock", "s3cret"))).await;
    let with_url = format!("socks5h://sock:s3cret@{}", proxy.addr);
    assert_eq!(get_text(&through(&with_url), server.url("/hello")).await.unwrap(), "Hello, world!");

    let answers = Answers { give: Some(("sock", "s3cret")), ..Answers::default() };
    let manager = NetworkAccessManager::builder()
        .proxy(Proxy::from_url(&proxy.url("socks5h")).unwrap())
        .proxy_authentication_handler(answers.clone())
        .build();
    let replies: Vec<_> = (0..5).map(|_| get_text(&manager, server.url("/hello"))).collect();
    for result in futures::future::join_all(replies).await {
        assert_eq!(result.unwrap(), "Hello, world!");
    }
    assert_eq!(answers.calls.load(Ordering::SeqCst), 1, "parallel requests asked once");

    let wrong = format!("socks5h://sock:wrong@{}", proxy.addr);
    let refusing = Answers { give: None, ..Answers::default() };
    let manager = NetworkAccessManager::builder()
        .proxy(Proxy::from_url(&wrong).unwrap())
        .proxy_authentication_handler(refusing.clone())
        .build();
    assert_eq!(
        get_text(&manager, server.url("/hello")).await.unwrap_err(),
        NetworkErrorKind::ProxyAuthenticationRequiredError
    );
    assert_eq!(refusing.calls.load(Ordering::SeqCst), 1, "rejected URL credentials: the handler is asked");
}

#[tokio::test]
async fn http_proxy_authentication_for_forwarding_and_connect() {
    let pki = Pki::new("netaccess test CA");
    let plain = HttpServer::start().await;
    let secure = HttpServer::start_tls(&pki.server(&["localhost"], Validity::Current)).await;
    let proxy = TestProxy::http(Some(("carol", "pw"))).await;
    let answers = Answers { give: Some(("carol", "pw")), ..Answers::default() };
    let manager = NetworkAccessManager::builder()
        .proxy(Proxy::from_url(&proxy.url("http")).unwrap())
        .proxy_authentication_handler(answers.clone())
        .tls(TlsConfig::default().with_trust(Trust::None).with_ca_certificate(pki.ca_der().to_vec()))
        .build();
    assert_eq!(get_text(&manager, plain.url("/hello")).await.unwrap(), "Hello, world!");
    assert_eq!(get_text(&manager, plain.url("/hello?again")).await.unwrap(), "Hello, world!");
    assert_eq!(proxy.log.refusals.load(Ordering::SeqCst), 1, "the second request carried credentials at once");
    assert_eq!(get_text(&manager, secure.localhost_url("/hello")).await.unwrap(), "Hello, world!");
    assert_eq!(answers.calls.load(Ordering::SeqCst), 1, "one question for both ways through the proxy");
    let mut reply = manager.get(Request::new(secure.localhost_url("/echo")));
    timeout(LIMIT, reply.finished()).await.unwrap().unwrap();
    assert_eq!(reply.header("x-echo-method").as_deref(), Some("GET"));
    assert!(reply.header("x-echo-proxy-authorization").is_none(), "proxy credentials reach only the proxy");

    let no_handler = through(&proxy.url("http"));
    assert_eq!(
        get_text(&no_handler, plain.url("/hello")).await.unwrap_err(),
        NetworkErrorKind::ProxyAuthenticationRequiredError
    );
    assert_eq!(
        get_text(&no_handler, secure.localhost_url("/hello")).await.unwrap_err(),
        NetworkErrorKind::ProxyAuthenticationRequiredError
    );
    let mut reply = no_handler.get(Request::new(plain.url("/hello")));
    assert_eq!(
        timeout(LIMIT, reply.read_all()).await.unwrap(),
        "proxy credentials needed",
        "the 407 body stays readable"
    );
}

struct Listed(Vec<Proxy>);

impl ProxyFactory for Listed {
    fn query_proxy(&self, _query: &ProxyQuery) -> Vec<Proxy> {
        self.0.clone()
    }
}

#[tokio::test]
async fn the_next_proxy_is_tried_and_none_usable_is_an_error() {
    let server = HttpServer::start().await;
    let good = TestProxy::http(None).await;
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dead = Proxy::new(ProxyKind::Http, "127.0.0.1", dead_port);
    let manager = NetworkAccessManager::builder()
        .proxy_factory(Arc::new(Listed(vec![dead.clone(), Proxy::from_url(&good.url("http")).unwrap()])))
        .build();
    assert_eq!(get_text(&manager, server.url("/hello")).await.unwrap(), "Hello, world!");
    assert_eq!(good.log.requests().len(), 1);

    manager.set_proxy_factory(Arc::new(Listed(vec![dead])));
    assert_eq!(
        get_text(&manager, server.url("/hello")).await.unwrap_err(),
        NetworkErrorKind::ProxyConnectionRefusedError
    );

    let caching_only = Proxy::new(ProxyKind::HttpCaching, "127.0.0.1", good.addr.port());
    manager.set_proxy(Some(caching_only));
    assert_eq!(
        get_text(&manager, "https://localhost:1/".to_owned()).await.unwrap_err(),
        NetworkErrorKind::ProxyNotFoundError
    );
}

#[tokio::test]
async fn a_connection_never_serves_another_proxy() {
    let server = HttpServer::start().await;
    let first = TestProxy::http(None).await;
    let second = TestProxy::socks5(None).await;
    let manager = through(&first.url("http"));
    assert_eq!(get_text(&manager, server.url("/hello")).await.unwrap(), "Hello, world!");
    manager.set_proxy(Some(Proxy::from_url(&second.url("socks5")).unwrap()));
    assert_eq!(get_text(&manager, server.url("/hello")).await.unwrap(), "Hello, world!");
    manager.set_proxy(Some(Proxy::none()));
    assert_eq!(get_text(&manager, server.url("/hello")).await.unwrap(), "Hello, world!");
    assert_eq!((first.log.requests().len(), second.log.requests().len()), (1, 1));
    assert_eq!(server.connections(), 3, "direct, via HTTP proxy, via SOCKS5: three connections");
}

#[tokio::test]
async fn socks5_errors_map_to_qt() {
    let proxy = TestProxy::socks5(None).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let error = get_text(&through(&proxy.url("socks5")), format!("http://{closed}/")).await.unwrap_err();
    assert!(matches!(error, NetworkErrorKind::ConnectionRefusedError), "{error:?}");
}

#[tokio::test]
async fn the_environment_decides_by_default() {
    let server = HttpServer::start().await;
    let proxy = TestProxy::http(None).await;
    let vars = [("http_proxy", proxy.url("http")), ("no_proxy", "localhost".to_owned())];
    let manager = NetworkAccessManager::builder().proxy_factory(Arc::new(SystemProxyFactory::from_vars(vars))).build();
    assert_eq!(get_text(&manager, server.url("/hello")).await.unwrap(), "Hello, world!");
    assert_eq!(get_text(&manager, server.localhost_url("/hello")).await.unwrap(), "Hello, world!");
    assert_eq!(proxy.log.requests(), [format!("GET {}", server.url("/hello"))], "localhost is in no_proxy");
}
