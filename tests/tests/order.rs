//! The request's way through the manager: issue order kept per host, priority overtaking, and
//! the decisions made at send time (credentials after a 401, cookies after a `Set-Cookie`),
//! with many requests in flight against a server that records what it saw.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::{join_all, BoxFuture, FutureExt};
use netaccess::{
    AuthenticationChallenge, AuthenticationHandler, Credentials, NetworkAccessManager, Priority, Proxy, Reply, Request,
    TlsConfig, Trust,
};
use netaccess_tests::http_server::SeenRequest;
use netaccess_tests::pki::{Pki, Validity};
use netaccess_tests::{HttpServer, TestProxy};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(60);

fn one_connection() -> netaccess::NetworkAccessManagerBuilder {
    NetworkAccessManager::builder().max_connections_per_host(1)
}

async fn finish_all(replies: Vec<Reply>) -> Vec<String> {
    let bodies = join_all(replies.into_iter().map(|mut reply| async move { reply.text().await.expect("reply") }));
    timeout(LIMIT, bodies).await.expect("no hang")
}

/// Issues `count` GETs to `/hello?n=i` at once and checks the server read them in that order.
async fn issue_order_is_kept(manager: &NetworkAccessManager, server: &HttpServer, url_of: impl Fn(&str) -> String) {
    let count = 1000;
    let before = server.seen.targets().len();
    let replies: Vec<Reply> = (0..count).map(|i| manager.get(Request::new(url_of(&format!("/hello?n={i}"))))).collect();
    let bodies = finish_all(replies).await;
    assert!(bodies.iter().all(|b| b == "Hello, world!"));
    let seen: Vec<String> = server.seen.targets().split_off(before);
    let expected: Vec<String> = (0..count).map(|i| format!("/hello?n={i}")).collect();
    let first_swap = seen.iter().zip(&expected).position(|(a, b)| a != b);
    assert_eq!(
        first_swap,
        None,
        "the server saw another order, first at {first_swap:?}: {:?}",
        &seen[..10.min(seen.len())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_requests_over_one_connection_arrive_in_issue_order_every_time() {
    let server = HttpServer::start().await;
    let manager = one_connection().build();
    for _ in 0..3 {
        issue_order_is_kept(&manager, &server, |path| server.url(path)).await;
    }
    assert_eq!(server.connections(), 1, "one kept-alive connection served them all");
}

/// The race a queue alone does not settle: which of a few requests issued together takes the
/// free connection first. Many small rounds, as a command line with three URLs makes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_rounds_of_requests_issued_together_leave_in_issue_order() {
    let server = HttpServer::start().await;
    let manager = one_connection().build();
    let rounds = 300;
    for round in 0..rounds {
        let replies: Vec<Reply> = ["a", "b", "c"]
            .iter()
            .map(|p| manager.get(Request::new(server.url(&format!("/hello?{round}{p}")))))
            .collect();
        finish_all(replies).await;
    }
    let seen = server.seen.targets();
    let expected: Vec<String> =
        (0..rounds).flat_map(|round| ["a", "b", "c"].map(|p| format!("/hello?{round}{p}"))).collect();
    let swapped = seen.iter().zip(&expected).filter(|(a, b)| a != b).count();
    assert_eq!(swapped, 0, "{swapped} requests left out of order, e.g. {:?}", &seen[..9]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_order_is_kept_through_a_proxy_and_over_tls() {
    let server = HttpServer::start().await;
    let proxy = TestProxy::http(None).await;
    let manager = one_connection().proxy(Proxy::from_url(&proxy.url("http")).unwrap()).build();
    issue_order_is_kept(&manager, &server, |path| server.url(path)).await;

    let pki = Pki::new("netaccess order CA");
    let secure = HttpServer::start_tls(&pki.server(&["localhost"], Validity::Current)).await;
    let manager = one_connection()
        .tls(TlsConfig::default().with_trust(Trust::None).with_ca_certificate(pki.ca_der().to_vec()))
        .build();
    issue_order_is_kept(&manager, &secure, |path| secure.localhost_url(path)).await;
    assert_eq!(secure.handshakes(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_high_priority_request_issued_last_goes_before_the_waiting_normal_ones() {
    let server = HttpServer::start().await;
    let manager = one_connection().build();
    // The first holds the only connection while the others queue behind it. Requests issued
    // together start by priority (as Qt's queue sends them): the blocker must have started.
    let mut replies = vec![manager.get(Request::new(server.url("/slow/300")))];
    timeout(LIMIT, async {
        while server.seen.targets().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the first request reached the server");
    for i in 0..5 {
        replies.push(manager.get(Request::new(server.url(&format!("/hello?normal={i}")))));
    }
    let mut urgent = Request::new(server.url("/hello?high"));
    urgent.attributes_mut().priority = Priority::High;
    replies.push(manager.get(urgent));
    let mut low = Request::new(server.url("/hello?low"));
    low.attributes_mut().priority = Priority::Low;
    replies.insert(1, manager.get(low));
    finish_all(replies).await;
    assert_eq!(
        server.seen.targets(),
        [
            "/slow/300",
            "/hello?high",
            "/hello?normal=0",
            "/hello?normal=1",
            "/hello?normal=2",
            "/hello?normal=3",
            "/hello?normal=4",
            "/hello?low"
        ]
    );
}

/// Gives alice's password, counting how often it was asked.
struct Alice(Arc<AtomicUsize>);

impl AuthenticationHandler for Alice {
    fn credentials(&self, _challenge: AuthenticationChallenge) -> BoxFuture<'static, Option<Credentials>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        async { Some(Credentials::new("alice", "secret")) }.boxed()
    }
}

/// Issues `queued + 1` GETs to `path?n=i` over one connection with alice's handler, checks each
/// was welcomed, and gives what the server saw and how often the handler was asked.
async fn welcomed_behind_one_challenge(path: &str, queued: usize) -> (Vec<SeenRequest>, usize) {
    let server = HttpServer::start().await;
    let asked = Arc::new(AtomicUsize::new(0));
    let manager = one_connection().authentication_handler(Alice(asked.clone())).build();
    let replies: Vec<Reply> =
        (0..=queued).map(|i| manager.get(Request::new(server.url(&format!("{path}?n={i}"))))).collect();
    let bodies = finish_all(replies).await;
    assert!(bodies.iter().all(|b| b == "welcome alice"), "{bodies:?}");
    (server.seen.requests(), asked.load(Ordering::SeqCst))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_queued_behind_an_answered_basic_401_carry_the_answer() {
    let queued = 4;
    let (seen, asked) = welcomed_behind_one_challenge("/basic/office", queued).await;
    assert_eq!(seen.len(), queued + 2, "N URLs behind one challenge make N + 1 requests in all: {seen:#?}");
    assert_eq!(seen.iter().filter(|r| r.authorization.is_none()).count(), 1, "only the first met the challenge");
    assert_eq!(asked, 1, "the handler was asked once");
}

/// The `nc` parameter of a Digest `Authorization`.
fn nonce_count(authorization: &str) -> u32 {
    let value = authorization.split(',').find_map(|p| p.trim().strip_prefix("nc=")).expect("nc");
    u32::from_str_radix(value.trim_matches('"'), 16).expect("hex nc")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_queued_behind_a_digest_401_answer_it_with_the_next_nonce_counts() {
    let queued = 4;
    let (seen, _) = welcomed_behind_one_challenge("/digest/MD5/auth", queued).await;
    assert_eq!(seen.len(), queued + 2, "{seen:#?}");
    assert!(seen[0].authorization.is_none());
    let counts: Vec<u32> =
        seen[1..].iter().map(|r| nonce_count(r.authorization.as_deref().expect("answered"))).collect();
    assert_eq!(counts, (1..=queued as u32 + 1).collect::<Vec<_>>(), "one challenge, counted in the order of the wire");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_queued_behind_a_set_cookie_carries_the_cookie() {
    let server = HttpServer::start().await;
    server.script("/login", 200, vec![("set-cookie".to_owned(), b"session=42; Path=/".to_vec())]);
    server.script("/logout", 200, vec![("set-cookie".to_owned(), b"session=; Max-Age=0; Path=/".to_vec())]);
    let manager = one_connection().build();
    let replies = vec![
        manager.get(Request::new(server.url("/cookies?before"))),
        manager.get(Request::new(server.url("/login"))),
        manager.get(Request::new(server.url("/cookies?after-login"))),
        manager.get(Request::new(server.url("/cookies?again"))),
        manager.get(Request::new(server.url("/logout"))),
        manager.get(Request::new(server.url("/cookies?after-logout"))),
    ];
    let bodies = finish_all(replies).await;
    assert_eq!(bodies, ["", "", "session=42", "session=42", "", ""]);
    let cookies: Vec<Option<String>> = server.seen.requests().into_iter().map(|r| r.cookie).collect();
    assert_eq!(
        cookies,
        [None, None, Some("session=42".to_owned()), Some("session=42".to_owned()), Some("session=42".to_owned()), None]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_fail_or_are_dropped_before_going_out_hold_nobody_up() {
    let server = HttpServer::start().await;
    let manager = one_connection().build();
    let busy = manager.get(Request::new(server.url("/slow/300")));
    let refused = manager.send_custom_request(Request::new(server.url("/hello?bad")), "BAD VERB", "");
    let dropped = manager.get(Request::new(server.url("/hello?dropped")));
    let last = manager.get(Request::new(server.url("/hello?last")));
    drop(dropped);
    let bodies = finish_all(vec![busy, last]).await;
    assert_eq!(bodies, ["slow", "Hello, world!"]);
    let mut refused = refused;
    let error = timeout(LIMIT, refused.finished()).await.expect("no hang").expect_err("not a method");
    assert_eq!(error.kind(), netaccess::NetworkErrorKind::ProtocolInvalidOperationError);
    assert_eq!(server.seen.targets(), ["/slow/300", "/hello?last"]);
}

/// Issued together, before any has run: they start by priority, then in issue order, as Qt's
/// queue sends them. On one thread, so "together" is exact: no task runs until the test waits
/// (on several, a worker may start the first request while the others are being issued).
#[tokio::test(flavor = "current_thread")]
async fn requests_issued_together_start_by_priority_then_issue_order() {
    let server = HttpServer::start().await;
    let manager = one_connection().build();
    let ranked = [
        ("low", Priority::Low),
        ("a", Priority::Normal),
        ("high", Priority::High),
        ("b", Priority::Normal),
        ("c", Priority::Normal),
    ];
    let replies: Vec<Reply> = ranked
        .iter()
        .map(|(name, priority)| {
            let mut request = Request::new(server.url(&format!("/hello?{name}")));
            request.attributes_mut().priority = *priority;
            manager.get(request)
        })
        .collect();
    finish_all(replies).await;
    assert_eq!(server.seen.targets(), ["/hello?high", "/hello?a", "/hello?b", "/hello?c", "/hello?low"]);
}

/// Five thousand requests issued at once to one host: each waits as a small record until one
/// of the six connections can take it, all are served, and nothing opens a seventh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_requests_issued_at_once_share_six_connections() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::new();
    let count = 5000;
    let replies: Vec<Reply> =
        (0..count).map(|i| manager.get(Request::new(server.url(&format!("/hello?n={i}"))))).collect();
    let bodies = finish_all(replies).await;
    assert_eq!(bodies.len(), count);
    assert!(bodies.iter().all(|b| b == "Hello, world!"));
    assert_eq!(server.seen.targets().len(), count);
    assert!(server.connections() <= 6, "{} connections for one host", server.connections());
}

/// Replies dropped while they wait to start leave nothing behind: the requests never reach
/// the server, and the host's next request starts at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_dropped_while_waiting_to_start_leave_the_line() {
    let server = HttpServer::start().await;
    let manager = one_connection().build();
    let mut blocker = manager.get(Request::new(server.url("/slow/300")));
    let waiting: Vec<Reply> =
        (0..1000).map(|i| manager.get(Request::new(server.url(&format!("/hello?dropped={i}"))))).collect();
    drop(waiting);
    timeout(LIMIT, blocker.finished()).await.unwrap().unwrap();
    let mut after = manager.get(Request::new(server.url("/hello?after")));
    assert_eq!(timeout(Duration::from_secs(10), after.text()).await.expect("not held up").unwrap(), "Hello, world!");
    assert_eq!(server.seen.targets(), ["/slow/300", "/hello?after"]);
}
