//! Retries through the manager against a server that fails on purpose: transient statuses and
//! refused connections are sent again for idempotent requests, a replayable POST only when the
//! policy says so, a request's own policy wins over the manager's, and no body of a failed
//! attempt ever reaches the caller.

use std::time::Duration;

use netaccess::{Body, NetworkAccessManager, NetworkErrorKind, ReplyEvent, Request, RetryPolicy};
use netaccess_tests::HttpServer;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);

fn quick(max_retries: u32) -> RetryPolicy {
    let mut policy = RetryPolicy::new(max_retries);
    policy.fixed_delay = Some(Duration::from_millis(20));
    policy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_status_is_retried_and_only_the_last_answer_is_seen() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::builder().retry_policy(quick(3)).build();
    let mut reply = manager.get(Request::new(server.url("/flaky/seen/2")));
    let mut bodies = Vec::new();
    let mut heads = 0;
    while let Some(event) = timeout(LIMIT, reply.next_event()).await.unwrap() {
        match event {
            ReplyEvent::MetaDataChanged => heads += 1,
            ReplyEvent::ReadyRead(chunk) => bodies.push(chunk),
            _ => {}
        }
    }
    assert_eq!(heads, 1, "the 503s were never shown");
    assert_eq!(bodies.concat(), b"recovered after 3 requests");
    assert_eq!(reply.status(), Some(200));
    assert_eq!(reply.attributes().retries, 2);
    assert_eq!(server.seen.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_is_retried_only_when_the_policy_allows_non_idempotent_requests() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::builder().retry_policy(quick(3)).build();
    let mut reply = manager.post(Request::new(server.url("/flaky/post/1")), Body::from_bytes("order=1"));
    timeout(LIMIT, reply.finished()).await.unwrap().unwrap_err();
    assert_eq!((reply.status(), reply.attributes().retries), (Some(503), 0), "a POST may have been processed");

    let mut request = Request::new(server.url("/flaky/post-ok/1"));
    let mut policy = quick(3);
    policy.non_idempotent = true;
    request.attributes_mut().retry = Some(policy);
    let mut reply = manager.post(request, Body::from_bytes("order=1"));
    timeout(LIMIT, reply.finished()).await.unwrap().unwrap();
    assert_eq!((reply.status(), reply.attributes().retries), (Some(200), 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_retries_fails_at_once_and_a_refused_connection_counts_its_retries() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::builder().retry_policy(quick(3)).build();
    let mut request = Request::new(server.url("/flaky/none/1"));
    request.attributes_mut().retry = Some(RetryPolicy::default());
    let mut reply = manager.get(request);
    let error = timeout(LIMIT, reply.finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::ServiceUnavailableError);
    assert_eq!(reply.attributes().retries, 0);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    let mut reply = manager.get(Request::new(url));
    let error = timeout(LIMIT, reply.finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::ConnectionRefusedError);
    assert_eq!(reply.attributes().retries, 3, "the count is kept on a failed reply");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_longer_than_the_cap_is_not_waited_for() {
    let server = HttpServer::start().await;
    server.script("/busy", 503, vec![("retry-after".into(), b"3600".to_vec())]);
    let manager = NetworkAccessManager::builder().retry_policy(quick(3)).build();
    let mut reply = manager.get(Request::new(server.url("/busy")));
    let started = std::time::Instant::now();
    timeout(LIMIT, reply.finished()).await.unwrap().unwrap_err();
    assert_eq!(reply.attributes().retries, 0);
    assert!(started.elapsed() < Duration::from_secs(10), "an hour's wait is not taken");
}
