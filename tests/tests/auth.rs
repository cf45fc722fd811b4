//! Basic and Digest authentication through the manager: Qt's order of credentials, the cache,
//! re-prompts, one question for parallel requests, and credentials that stay at their origin.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt};
use futures::stream;
use netaccess::{
    AuthenticationChallenge, AuthenticationHandler, Body, Credentials, LoadControl, NetworkAccessManager,
    NetworkErrorKind, Request,
};
use netaccess_tests::auth_server::{DIGEST_REALM, PASSWORD, USER};
use netaccess_tests::HttpServer;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

/// Answers from a script: one answer per call (the last one repeats), and remembers the calls.
#[derive(Clone, Default)]
struct Scripted {
    answers: Arc<Vec<Option<(&'static str, &'static str)>>>,
    calls: Arc<Mutex<Vec<AuthenticationChallenge>>>,
    delay: Duration,
}

impl Scripted {
    fn new(answers: Vec<Option<(&'static str, &'static str)>>) -> Self {
        Self { answers: Arc::new(answers), ..Self::default() }
    }

    fn calls(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}

impl AuthenticationHandler for Scripted {
    fn credentials(&self, challenge: AuthenticationChallenge) -> BoxFuture<'static, Option<Credentials>> {
        let mut calls = self.calls.lock().unwrap();
        let answer = self.answers.get(calls.len()).or(self.answers.last()).copied().flatten();
        calls.push(challenge);
        let delay = self.delay;
        async move {
            tokio::time::sleep(delay).await;
            answer.map(|(user, password)| Credentials::new(user, password))
        }
        .boxed()
    }
}

fn manager_with(handler: &Scripted) -> NetworkAccessManager {
    NetworkAccessManager::builder().authentication_handler(handler.clone()).build()
}

async fn get(manager: &NetworkAccessManager, url: String) -> (Option<NetworkErrorKind>, Bytes, Option<u16>) {
    let mut reply = manager.get(Request::new(url));
    let body = timeout(LIMIT, reply.read_all()).await.expect("no hang");
    (reply.error().map(|e| e.kind()), body, reply.status())
}

fn requests(server: &HttpServer) -> usize {
    server.seen.requests.load(Ordering::SeqCst)
}

#[tokio::test]
async fn basic_asks_once_then_answers_at_once() {
    let server = HttpServer::start().await;
    let handler = Scripted::new(vec![Some((USER, PASSWORD))]);
    let manager = manager_with(&handler);
    assert_eq!(get(&manager, server.url("/basic/shop")).await.0, None);
    assert_eq!(handler.calls(), 1);
    let challenge = handler.calls.lock().unwrap()[0].clone();
    assert_eq!((challenge.realm.as_str(), challenge.scheme.as_str(), challenge.retry), ("shop", "Basic", false));
    assert_eq!(requests(&server), 2, "one 401, one retry");
    assert_eq!(get(&manager, server.url("/basic/shop?again")).await.0, None);
    assert_eq!(requests(&server), 3, "the next request carried credentials at once");
    assert_eq!(handler.calls(), 1);

    manager.clear_access_cache();
    assert_eq!(get(&manager, server.url("/basic/shop")).await.0, None);
    assert_eq!(handler.calls(), 2, "clear_access_cache forgot the credentials");
}

#[tokio::test]
async fn credentials_in_the_url_come_first_and_once() {
    let server = HttpServer::start().await;
    let handler = Scripted::new(vec![Some((USER, PASSWORD))]);
    let manager = manager_with(&handler);
    let port = server.addr.port();
    assert_eq!(get(&manager, format!("http://{USER}:{PASSWORD}@127.0.0.1:{port}/basic/r")).await.0, None);
    assert_eq!(handler.calls(), 0);

    let other = HttpServer::start().await;
    let wrong = format!("http://{USER}:wrong@127.0.0.1:{}/basic/r", other.addr.port());
    assert_eq!(get(&manager, wrong).await.0, None, "the URL's wrong password, then the handler's");
    assert_eq!(handler.calls(), 1);
}

#[tokio::test]
async fn a_rejection_asks_again_and_giving_up_keeps_the_401() {
    let server = HttpServer::start().await;
    let handler = Scripted::new(vec![Some((USER, "wrong")), Some((USER, PASSWORD))]);
    let manager = manager_with(&handler);
    assert_eq!(get(&manager, server.url("/basic/r")).await.0, None);
    let retries: Vec<bool> = handler.calls.lock().unwrap().iter().map(|c| c.retry).collect();
    assert_eq!(retries, [false, true], "asked again after the rejection");

    let giving_up = Scripted::new(vec![None]);
    let manager = manager_with(&giving_up);
    let mut reply = manager.get(Request::new(server.url("/basic/vault")));
    let body = timeout(LIMIT, reply.read_all()).await.unwrap();
    assert_eq!(body, "authentication required", "the 401 body stays readable");
    assert_eq!(reply.status(), Some(401));
    let error = reply.error().unwrap();
    assert_eq!(error.kind(), NetworkErrorKind::AuthenticationRequiredError);
    assert!(error.message().contains("Basic") && error.message().contains("vault"), "{error}");
    assert_eq!(giving_up.calls(), 1);
}

#[tokio::test]
async fn every_digest_algorithm_and_qop() {
    let server = HttpServer::start().await;
    for (algorithm, qop, userhash) in [
        ("MD5", "auth", false),
        ("MD5-sess", "auth", false),
        ("SHA-256", "auth", false),
        ("SHA-256-sess", "auth", false),
        ("SHA-256", "auth", true),
        ("MD5", "auth-int", false),
    ] {
        let handler = Scripted::new(vec![Some((USER, PASSWORD))]);
        let manager = manager_with(&handler);
        let path = format!("/digest/{algorithm}/{qop}{}", if userhash { "/userhash" } else { "" });
        let mut reply = manager.post(Request::new(server.url(&path)), "a body");
        let body = timeout(LIMIT, reply.read_all()).await.unwrap();
        assert_eq!((reply.error().map(|e| e.kind()), body.as_ref()), (None, &b"welcome alice"[..]), "{path}");
        let calls = handler.calls.lock().unwrap().clone();
        assert_eq!((calls.len(), calls[0].scheme.as_str(), calls[0].realm.as_str()), (1, "Digest", DIGEST_REALM));
        assert_eq!(
            get(&manager, server.url(&path)).await.0,
            None,
            "{path}: answered at once with the next nonce count"
        );
        assert_eq!(handler.calls(), 1);
    }
}

#[tokio::test]
async fn a_stale_nonce_is_retried_without_asking() {
    let server = HttpServer::start().await;
    let handler = Scripted::new(vec![Some((USER, PASSWORD))]);
    let manager = manager_with(&handler);
    assert_eq!(get(&manager, server.url("/digest/SHA-256/auth")).await.0, None);
    server.seen.nonce.fetch_add(1, Ordering::SeqCst);
    assert_eq!(get(&manager, server.url("/digest/SHA-256/auth")).await.0, None);
    assert_eq!(handler.calls(), 1, "stale=true answered with the same credentials");
}

#[tokio::test]
async fn parallel_requests_ask_the_handler_once() {
    let server = HttpServer::start().await;
    let mut handler = Scripted::new(vec![Some((USER, PASSWORD))]);
    handler.delay = Duration::from_millis(100);
    let manager = manager_with(&handler);
    let replies: Vec<_> = (0..10).map(|i| get(&manager, server.url(&format!("/basic/p?{i}")))).collect();
    for (error, body, _) in futures::future::join_all(replies).await {
        assert_eq!((error, body.as_ref()), (None, &b"welcome alice"[..]));
    }
    assert_eq!(handler.calls(), 1);
}

#[tokio::test]
async fn the_strongest_challenge_wins_and_unknown_schemes_ask_nobody() {
    let server = HttpServer::start().await;
    let handler = Scripted::new(vec![Some((USER, PASSWORD))]);
    let manager = manager_with(&handler);
    assert_eq!(get(&manager, server.url("/both")).await.0, None, "Digest SHA-256 over MD5 and Basic");
    assert_eq!(handler.calls.lock().unwrap()[0].scheme, "Digest");

    let nobody = Scripted::new(vec![Some((USER, PASSWORD))]);
    let (error, _, status) = get(&manager_with(&nobody), server.url("/negotiate")).await;
    assert_eq!((error, status), (Some(NetworkErrorKind::AuthenticationRequiredError), Some(401)));
    assert_eq!(nobody.calls(), 0);
}

#[tokio::test]
async fn manual_reuse_uses_and_keeps_nothing() {
    let server = HttpServer::start().await;
    let handler = Scripted::new(vec![Some((USER, PASSWORD))]);
    let manager = manager_with(&handler);
    let port = server.addr.port();
    for _ in 0..2 {
        let mut request = Request::new(format!("http://{USER}:{PASSWORD}@127.0.0.1:{port}/basic/m"));
        request.attributes_mut().authentication_reuse = LoadControl::Manual;
        let mut reply = manager.get(request);
        timeout(LIMIT, reply.finished()).await.unwrap().unwrap();
    }
    assert_eq!(handler.calls(), 2, "neither the URL's credentials nor a cache: the handler each time");
}

#[tokio::test]
async fn credentials_stay_at_their_origin() {
    let server = HttpServer::start().await;
    let other = HttpServer::start().await;
    let handler = Scripted::new(vec![Some((USER, PASSWORD))]);
    let manager = manager_with(&handler);
    assert_eq!(get(&manager, server.url("/basic/r")).await.0, None);
    let mut reply = manager.get(Request::new(other.url("/echo")));
    timeout(LIMIT, reply.finished()).await.unwrap().unwrap();
    assert!(reply.header("x-echo-authorization").is_none(), "another origin gets no credentials");
    let target = other.url("/echo");
    let mut redirected = manager.get(Request::new(server.url(&format!("/redirect/302?to={target}"))));
    timeout(LIMIT, redirected.finished()).await.unwrap().unwrap();
    assert!(redirected.header("x-echo-authorization").is_none(), "nor does a redirect carry them");
}

#[tokio::test]
async fn a_body_that_cannot_be_replayed_cannot_answer_a_challenge() {
    let server = HttpServer::start().await;
    let handler = Scripted::new(vec![Some((USER, PASSWORD))]);
    let manager = manager_with(&handler);
    let once = Body::from_stream(stream::iter([Ok(Bytes::from_static(b"x"))]), Some(1));
    let error =
        timeout(LIMIT, manager.post(Request::new(server.url("/basic/r")), once).finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::ContentReSendError);
}
