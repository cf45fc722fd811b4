//! Every name lookup failing in turn (curl's torture idea, through the connector's replaceable
//! resolver): for a GET, a POST, a redirect to another host that asks for credentials, an
//! HTTP/2 batch and a cache fill, the N-th resolve fails, then the N+1-th, until a run needs
//! fewer lookups than the one meant to fail. Each run ends, with the answer or with
//! `HostNotFoundError` naming the host, and never hangs or panics.
//!
//! Store files are put through the same with each file-system call failing in turn in
//! `netaccess-store/tests/save.rs`; sockets get a wrapping transport with the connection-layer
//! issue, which makes every transport in one place.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::{join_all, BoxFuture, FutureExt};
use netaccess::{
    AuthenticationChallenge, AuthenticationHandler, Credentials, NetworkAccessManager, NetworkErrorKind, Request,
    Resolver,
};
use netaccess_tests::auth_server::{PASSWORD, USER};
use netaccess_tests::HttpServer;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

/// Every name is 127.0.0.1, but the `fail_at`-th lookup (from 0) fails.
struct FailingResolver {
    fail_at: usize,
    calls: Arc<AtomicUsize>,
}

impl Resolver for FailingResolver {
    fn resolve(&self, name: &str, port: u16) -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let failed = n == self.fail_at;
        let name = name.to_owned();
        async move {
            if failed {
                return Err(std::io::Error::other(format!("injected failure of lookup {n} ({name})")));
            }
            Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))])
        }
        .boxed()
    }
}

/// Gives alice's credentials once per challenge.
struct Alice;

impl AuthenticationHandler for Alice {
    fn credentials(&self, challenge: AuthenticationChallenge) -> BoxFuture<'static, Option<Credentials>> {
        let answer = (!challenge.retry).then(|| Credentials::new(USER, PASSWORD));
        async move { answer }.boxed()
    }
}

/// What one run of a scenario gives: each reply's body or error kind.
type Outcomes = Vec<Result<String, NetworkErrorKind>>;

/// Runs `scenario` with the N-th lookup failing, for N = 0, 1, ... until a run makes fewer
/// lookups than N + 1; checks every run's outcomes against `expected` (each reply answered as
/// expected, or failed with `HostNotFoundError`), and that some run failed and the last did not.
async fn in_turn<F>(name: &str, expected: &[&str], scenario: F)
where
    F: Fn(NetworkAccessManager) -> BoxFuture<'static, Outcomes>,
{
    let mut failures = 0;
    for fail_at in 0..32 {
        let calls = Arc::new(AtomicUsize::new(0));
        let resolver = Arc::new(FailingResolver { fail_at, calls: calls.clone() });
        let cache_dir = tempfile::tempdir().unwrap();
        let manager = NetworkAccessManager::builder()
            .resolver(resolver)
            .authentication_handler(Alice)
            .cache(Arc::new(netaccess::DiskCache::new(cache_dir.path()).unwrap()))
            .build();
        let outcomes = timeout(LIMIT, scenario(manager))
            .await
            .unwrap_or_else(|_| panic!("{name}: lookup {fail_at} failing hangs"));
        assert_eq!(outcomes.len(), expected.len(), "{name}");
        for (outcome, want) in outcomes.iter().zip(expected) {
            match outcome {
                Ok(body) => assert_eq!(body, want, "{name}, lookup {fail_at} failing"),
                Err(kind) => {
                    assert_eq!(*kind, NetworkErrorKind::HostNotFoundError, "{name}, lookup {fail_at} failing");
                    failures += 1;
                }
            }
        }
        if calls.load(Ordering::SeqCst) <= fail_at {
            assert!(outcomes.iter().all(Result::is_ok), "{name}: with no lookup failing, every reply is answered");
            assert!(failures > 0, "{name}: some run had a failing lookup");
            return;
        }
    }
    panic!("{name}: more than 32 lookups");
}

async fn text(manager: &NetworkAccessManager, request: Request) -> Result<String, NetworkErrorKind> {
    manager.get(request).text().await.map_err(|e| e.kind())
}

#[tokio::test]
async fn every_lookup_failing_in_turn_ends_each_request_cleanly() {
    let server = HttpServer::start().await;
    let port = server.addr.port();
    let at = move |host: &str, path: &str| format!("http://{host}:{port}{path}");
    server.script("/cacheable", 200, vec![("cache-control".into(), b"max-age=600".to_vec())]);

    in_turn("GET", &["Hello, world!"], |m| {
        let url = at("a.test", "/hello");
        async move { vec![text(&m, Request::new(url)).await] }.boxed()
    })
    .await;

    in_turn("POST", &["posted"], |m| {
        let url = at("a.test", "/echo");
        async move { vec![m.post(Request::new(url), "posted").text().await.map_err(|e| e.kind())] }.boxed()
    })
    .await;

    let welcome = format!("welcome {USER}");
    in_turn("a redirect to another host that asks for credentials", &[&welcome], |m| {
        let url = at("a.test", &format!("/redirect/302?to={}", at("b.test", "/basic/r/x")));
        async move { vec![text(&m, Request::new(url)).await] }.boxed()
    })
    .await;

    in_turn("a cache fill, then a hit", &["", ""], |m| {
        let url = at("a.test", "/cacheable");
        async move {
            let first = text(&m, Request::new(&url)).await;
            let second = text(&m, Request::new(&url)).await;
            vec![first, second]
        }
        .boxed()
    })
    .await;
}

#[tokio::test]
async fn every_lookup_failing_in_turn_ends_an_http2_batch_cleanly() {
    let server = HttpServer::start_h2c(100).await;
    let port = server.addr.port();
    in_turn("an HTTP/2 batch", &["Hello, world!"; 5], move |m| {
        async move {
            let requests = (0..5).map(|_| {
                let mut request = Request::new(format!("http://h2.test:{port}/hello"));
                request.attributes_mut().http2_direct = true;
                request
            });
            let mut replies: Vec<_> = requests.map(|r| m.get(r)).collect();
            join_all(replies.iter_mut().map(|r| r.text())).await.into_iter().map(|r| r.map_err(|e| e.kind())).collect()
        }
        .boxed()
    })
    .await;
}
