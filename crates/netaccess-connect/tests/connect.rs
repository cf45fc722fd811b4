//! The connector against listeners on loopback: the race, the order, the families, the
//! overrides and a replaced resolver.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use netaccess_connect::{Connector, IpFamily, Resolver, TransportConfig};
use netaccess_core::NetworkErrorKind;
use netaccess_tests::BlackHole;
use tokio::net::TcpListener;

const URL: &str = "http://service.test/";

/// A listener that accepts and holds every connection, counting them.
async fn listener() -> (SocketAddr, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(Mutex::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            *count.lock().unwrap() += 1;
            held.push(stream);
        }
    });
    (addr, accepted)
}

/// A port with nobody listening (bound once, then closed).
async fn refusing() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

fn connector(host: &str, port: u16, addresses: &[IpAddr], change: impl FnOnce(&mut TransportConfig)) -> Connector {
    let mut config = TransportConfig::default();
    config.resolve.insert(host, port, addresses.iter().map(|ip| SocketAddr::new(*ip, port)).collect());
    change(&mut config);
    Connector::new(config)
}

#[tokio::test]
async fn an_address_that_never_answers_costs_the_delay_not_the_connect_timeout() {
    let hole = BlackHole::new().await;
    let (good, accepted) = listener().await;
    // The hole and the server listen on different ports, which one override cannot say: a
    // resolver gives both, as a name with a dead IPv6 and a working IPv4 address would.
    let resolver = Table(vec![hole.addr, good]);
    let connector = Connector::new({
        let mut config = TransportConfig::default();
        config.resolver = Arc::new(resolver);
        config
    });
    let began = Instant::now();
    let connected = connector.connect(URL, "service.test", 80).await.expect("the second address answers");
    let took = began.elapsed();
    assert_eq!(connected.facts.remote_address, good);
    assert_eq!(connected.tried, vec![hole.addr, good], "the hole first, then the next after the delay");
    assert!(took >= Duration::from_millis(200), "the second attempt waits for the delay: {took:?}");
    assert!(took < Duration::from_secs(2), "well under the 30 s connect timeout: {took:?}");
    assert!(connected.resolved.is_some(), "a resolved name has a resolution moment");
    let seen = netaccess_tests::settled_value(Duration::from_millis(20), 100, || *accepted.lock().unwrap() as u64);
    assert_eq!(seen.await, Some(1), "the server saw the one connection");
}

#[tokio::test]
async fn a_refused_address_starts_the_next_attempt_at_once() {
    let refused = refusing().await;
    let (good, _) = listener().await;
    let mut config = TransportConfig::default();
    // A delay that would show if the next attempt waited for it.
    config.happy_eyeballs_delay = Duration::from_secs(10);
    config.resolver = Arc::new(Table(vec![refused, good]));
    let began = Instant::now();
    let connected = Connector::new(config).connect(URL, "service.test", 80).await.expect("connects");
    assert_eq!(connected.facts.remote_address, good);
    assert!(began.elapsed() < Duration::from_secs(2), "did not wait for the delay: {:?}", began.elapsed());
}

#[tokio::test]
async fn when_every_address_fails_the_error_names_the_url_and_the_last_address() {
    let (first, second) = (refusing().await, refusing().await);
    let mut config = TransportConfig::default();
    config.resolver = Arc::new(Table(vec![first, second]));
    let error = Connector::new(config).connect(URL, "service.test", 80).await.unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::ConnectionRefusedError);
    assert_eq!(error.url(), URL);
    assert!(error.message().contains(&second.to_string()), "{error}");
}

#[tokio::test]
async fn only_black_holes_fail_with_the_connect_timeout_named() {
    let hole = BlackHole::new().await;
    let connector = connector("service.test", hole.addr.port(), &[hole.addr.ip()], |config| {
        config.connect_timeout = Duration::from_millis(400);
    });
    let began = Instant::now();
    let error = connector.connect(URL, "service.test", hole.addr.port()).await.unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::TimeoutError);
    assert!(began.elapsed() < Duration::from_secs(3), "{:?}", began.elapsed());
    assert!(error.message().contains("400 ms"), "{error}");
}

#[tokio::test]
async fn the_connect_timeout_is_one_budget_for_every_address() {
    // Two silent addresses, 1 s: the attempts run until the whole second is spent, not half
    // of it each (the last attempt, started after the delay, gave up after 750 ms before).
    let (first, second) = (BlackHole::new().await, BlackHole::new().await);
    let mut config = TransportConfig::default();
    config.connect_timeout = Duration::from_secs(1);
    config.resolver = Arc::new(Table(vec![first.addr, second.addr]));
    let began = Instant::now();
    let error = Connector::new(config).connect(URL, "service.test", 80).await.unwrap_err();
    let took = began.elapsed();
    assert_eq!(error.kind(), NetworkErrorKind::TimeoutError, "{error}");
    assert!(error.message().contains("1000 ms (the connect timeout)"), "{error}");
    assert!(took >= Duration::from_millis(950) && took < Duration::from_secs(3), "{took:?}");

    // A slow last address connects within the budget: it starts answering after 1.5 s, so the
    // attempt started at 250 ms connects at its SYN's second retransmission (3.25 s) of 4 s;
    // a share of the budget (2 s) would have given up at 2.25 s.
    let hole = BlackHole::new().await;
    let slow = BlackHole::new().await.answer_after(Duration::from_millis(1500));
    let mut config = TransportConfig::default();
    config.connect_timeout = Duration::from_secs(4);
    config.resolver = Arc::new(Table(vec![hole.addr, slow]));
    let began = Instant::now();
    let connected = Connector::new(config).connect(URL, "service.test", 80).await.expect("the slow address answers");
    assert_eq!(connected.facts.remote_address, slow);
    assert!(began.elapsed() > Duration::from_secs(2), "{:?}", began.elapsed());
}

#[tokio::test]
async fn overrides_are_used_in_their_order_and_have_no_resolution_moment() {
    let (good, _) = listener().await;
    let connector = connector("Service.Test", good.port(), &[good.ip()], |_| {});
    let connected = connector.connect(URL, "service.test", good.port()).await.expect("connects");
    assert_eq!(connected.facts.remote_address, good);
    assert_eq!(connected.resolved, None, "nothing was resolved");
    assert_eq!(connected.facts.local_address.ip(), good.ip());
}

#[tokio::test]
async fn the_family_filter_leaves_out_the_other_family() {
    let (good, _) = listener().await;
    let v6: IpAddr = "::1".parse().unwrap();
    let only_v6 = connector("service.test", good.port(), &[good.ip()], |c| c.ip_family = IpFamily::V6Only);
    let error = only_v6.connect(URL, "service.test", good.port()).await.unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::HostNotFoundError);
    assert!(error.message().contains("family"), "{error}");
    let only_v4 = connector("service.test", good.port(), &[v6, good.ip()], |c| c.ip_family = IpFamily::V4Only);
    let connected = only_v4.connect(URL, "service.test", good.port()).await.expect("the IPv4 address");
    assert_eq!(connected.tried, vec![good]);
}

#[tokio::test]
async fn a_replaced_resolver_is_asked_for_names_but_never_for_address_literals() {
    let (good, _) = listener().await;
    let table = Arc::new(Asked::default());
    let mut config = TransportConfig::default();
    config.resolver = table.clone();
    let connector = Connector::new(config);
    let by_name = connector.connect(URL, "named.test", good.port()).await.expect("connects");
    assert_eq!(by_name.facts.remote_address.port(), good.port());
    connector.connect(URL, "127.0.0.1", good.port()).await.expect("connects");
    assert_eq!(*table.names.lock().unwrap(), vec!["named.test".to_owned()]);
}

/// Answers every name with the same list.
struct Table(Vec<SocketAddr>);

impl Resolver for Table {
    fn resolve(&self, _name: &str, _port: u16) -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>> {
        let list = self.0.clone();
        Box::pin(async move { Ok(list) })
    }
}

/// Answers every name with loopback, noting the names asked.
#[derive(Default)]
struct Asked {
    names: Mutex<Vec<String>>,
}

impl Resolver for Asked {
    fn resolve(&self, name: &str, port: u16) -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>> {
        self.names.lock().unwrap().push(name.to_owned());
        Box::pin(async move { Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))]) })
    }
}
