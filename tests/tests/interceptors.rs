//! Interceptors (Qt's `createRequest`) and the manager as a tower service, through the real
//! client against a server that records what it saw, several requests in flight.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{join_all, BoxFuture, FutureExt};
use http::header::{HeaderName, HeaderValue};
use http_body_util::BodyExt;
use netaccess::service::LayerInterceptor;
use netaccess::{
    AuthenticationChallenge, AuthenticationHandler, Body, Credentials, Interceptor, ManagerEvent, NetworkAccessManager,
    NetworkErrorKind, Next, Operation, Reply, ReplyEvent, Request,
};
use netaccess_tests::auth_server::{PASSWORD, USER};
use netaccess_tests::HttpServer;
use tokio::time::timeout;
use tower::ServiceExt;

const LIMIT: Duration = Duration::from_secs(20);

/// Adds `x-trace: NAME` and counts its calls, in a log shared by the interceptors of a test.
struct Tag {
    name: &'static str,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Interceptor for Tag {
    fn create_request(&self, mut request: Request, operation: Operation, body: Body, next: Next<'_>) -> Reply {
        self.calls.lock().unwrap().push(format!("{} {}", self.name, request.url_text()));
        request.headers_mut().append("x-trace", HeaderValue::from_static(self.name));
        next.send(request, operation, body)
    }
}

fn tag(name: &'static str, calls: &Arc<Mutex<Vec<String>>>) -> Tag {
    Tag { name, calls: calls.clone() }
}

/// The `x-trace` values the server read on each request to `target`, in its order.
fn traces_seen(server: &HttpServer, target: &str) -> Vec<Vec<String>> {
    let requests = server.seen.requests();
    requests
        .iter()
        .filter(|r| r.target == target)
        .map(|r| r.headers.get_all("x-trace").iter().map(|v| v.to_str().unwrap().to_owned()).collect())
        .collect()
}

#[tokio::test]
async fn a_header_added_reaches_the_server_on_get_and_post() {
    let server = HttpServer::start().await;
    let calls = Arc::new(Mutex::new(Vec::new()));
    let manager = NetworkAccessManager::builder().interceptor(tag("added", &calls)).build();
    let url = server.url("/echo");
    let mut replies = vec![
        manager.get(Request::new(&url)),
        manager.post(Request::new(&url), "first"),
        manager.get(Request::new(&url)),
        manager.post(Request::new(&url), "second"),
    ];
    let bodies = timeout(LIMIT, join_all(replies.iter_mut().map(Reply::text))).await.unwrap();
    let bodies: Vec<String> = bodies.into_iter().map(Result::unwrap).collect();
    assert_eq!(bodies, ["", "first", "", "second"]);
    for reply in &replies {
        assert_eq!(reply.header("x-echo-x-trace").as_deref(), Some("added"));
    }
    assert_eq!(traces_seen(&server, "/echo"), vec![vec!["added".to_owned()]; 4], "the server read it four times");
    let methods: Vec<String> = server.seen.requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods.iter().filter(|m| *m == "POST").count(), 2);
    assert_eq!(calls.lock().unwrap().len(), 4, "one call per request");
}

/// Answers `/canned/...` itself: 200 with a body, or 404 for `/canned/missing`.
struct Canned;

impl Interceptor for Canned {
    fn create_request(&self, request: Request, operation: Operation, body: Body, next: Next<'_>) -> Reply {
        let path = request.url().map(|url| url.path().to_owned()).unwrap_or_default();
        if !path.starts_with("/canned/") {
            return next.send(request, operation, body);
        }
        let (status, text) = if path == "/canned/missing" { (404, "no such thing") } else { (200, "canned answer") };
        let answer = http::Response::builder()
            .status(status)
            .header("content-type", "text/plain")
            .header("x-canned", "yes")
            .body(Body::from(text))
            .unwrap();
        next.answer(request, operation, answer)
    }
}

#[tokio::test]
async fn a_request_answered_by_an_interceptor_never_reaches_the_server() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::builder().interceptor(Canned).build();
    let mut finished = manager.events();
    let targets = ["/canned/a", "/hello", "/canned/missing", "/canned/b"];
    let mut replies: Vec<Reply> = targets.iter().map(|t| manager.get(Request::new(server.url(t)))).collect();
    let mut events: Vec<Vec<String>> = Vec::new();
    for reply in &mut replies {
        let mut kinds = Vec::new();
        while let Some(event) = timeout(LIMIT, reply.next_event()).await.unwrap() {
            kinds.push(match event {
                ReplyEvent::ReadyRead(chunk) => format!("ReadyRead {}", chunk.len()),
                ReplyEvent::DownloadProgress { received, total } => format!("Progress {received}/{total}"),
                ReplyEvent::Error(error) => format!("Error {:?}", error.kind()),
                other => format!("{other:?}"),
            });
        }
        events.push(kinds);
    }
    assert_eq!(server.seen.targets(), ["/hello"], "only the request nobody answered reached the server");
    assert_eq!(events[0], ["MetaDataChanged", "ReadyRead 13", "Progress 13/13", "Finished"]);
    assert_eq!(replies[0].status(), Some(200));
    assert_eq!(replies[0].header("x-canned").as_deref(), Some("yes"));
    assert_eq!(replies[0].header("content-type").as_deref(), Some("text/plain"));
    assert_eq!(replies[0].bytes_received(), 13);
    assert_eq!(replies[1].status(), Some(200));
    // A canned 404 fails as a server's would, its body delivered first.
    assert_eq!(
        events[2],
        ["MetaDataChanged", "ReadyRead 13", "Progress 13/13", "Error ContentNotFoundError", "Finished"]
    );
    assert_eq!(replies[2].error().unwrap().http_status(), Some(404));
    // The manager reports every reply's end, the canned ones too.
    let mut ends = Vec::new();
    for _ in 0..targets.len() {
        match timeout(LIMIT, finished.recv()).await.unwrap().unwrap() {
            ManagerEvent::Finished { url, .. } => ends.push(url),
            other => panic!("unexpected {other:?}"),
        }
    }
    ends.sort();
    let mut expected: Vec<String> = targets.iter().map(|t| server.url(t)).collect();
    expected.sort();
    assert_eq!(ends, expected);
}

#[tokio::test]
async fn two_interceptors_run_in_the_order_added_and_see_the_reply_in_reverse() {
    let server = HttpServer::start().await;
    let calls = Arc::new(Mutex::new(Vec::new()));
    let ends = Arc::new(Mutex::new(Vec::new()));
    struct Watch(&'static str, Arc<Mutex<Vec<&'static str>>>);
    impl Interceptor for Watch {
        fn create_request(&self, request: Request, operation: Operation, body: Body, next: Next<'_>) -> Reply {
            let (name, ends) = (self.0, self.1.clone());
            next.send_observed(request, operation, body, move |_, event| {
                if matches!(event, ReplyEvent::Finished) {
                    ends.lock().unwrap().push(name);
                }
            })
        }
    }
    let manager = NetworkAccessManager::builder()
        .interceptor(Watch("outer", ends.clone()))
        .interceptor(tag("first", &calls))
        .interceptor(tag("second", &calls))
        .interceptor(Watch("inner", ends.clone()))
        .build();
    let urls = [server.url("/echo"), server.url("/hello"), server.url("/echo")];
    let mut replies: Vec<Reply> = urls.iter().map(|u| manager.get(Request::new(u))).collect();
    let bodies = timeout(LIMIT, join_all(replies.iter_mut().map(Reply::bytes))).await.unwrap();
    assert!(bodies.iter().all(Result::is_ok));
    assert_eq!(traces_seen(&server, "/echo"), vec![vec!["first".to_owned(), "second".to_owned()]; 2]);
    assert_eq!(traces_seen(&server, "/hello"), vec![vec!["first".to_owned(), "second".to_owned()]]);
    let calls = calls.lock().unwrap().clone();
    for url in &urls {
        let order: Vec<&String> = calls.iter().filter(|c| c.ends_with(url.as_str())).collect();
        assert!(order.len() % 2 == 0 && order.chunks(2).all(|pair| pair[0].starts_with("first ")));
    }
    // Each reply ends first inside, then outside: the relay passes the inner `Finished` on.
    let ends = ends.lock().unwrap().clone();
    assert_eq!(ends.len(), 6);
    assert_eq!(ends.iter().filter(|e| **e == "inner").count(), 3);
    assert_eq!(ends.last(), Some(&"outer"));
    assert_eq!(ends.first(), Some(&"inner"));
    // The relayed replies report what the network's did.
    assert_eq!(replies[1].status(), Some(200));
    let timings = replies[1].attributes().timings.expect("the relayed reply keeps the network reply's attributes");
    assert!(timings.total.is_some(), "with the total, known once the body is in");
}

/// Replaces every POST body with a form.
struct FormInstead;

impl Interceptor for FormInstead {
    fn create_request(&self, request: Request, operation: Operation, body: Body, next: Next<'_>) -> Reply {
        let body = if operation == Operation::Post { Body::from_form([("replaced", "yes")]) } else { body };
        next.send(request, operation, body)
    }
}

#[tokio::test]
async fn a_replaced_body_is_what_the_server_reads() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::builder().interceptor(FormInstead).build();
    let url = server.url("/echo");
    let mut replies: Vec<Reply> =
        (0..3).map(|i| manager.post(Request::new(&url), format!("original body {i}"))).collect();
    let bodies = timeout(LIMIT, join_all(replies.iter_mut().map(Reply::text))).await.unwrap();
    for (reply, body) in replies.iter().zip(bodies) {
        assert_eq!(body.unwrap(), "replaced=yes");
        // The type the new body implies is applied at the chain's end.
        assert_eq!(reply.header("x-echo-content-type").as_deref(), Some("application/x-www-form-urlencoded"));
        assert_eq!(reply.header("x-echo-content-length").as_deref(), Some("12"));
    }
    assert_eq!(server.seen.requests().len(), 3);
}

#[tokio::test]
async fn local_schemes_go_through_the_chain() {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let manager = NetworkAccessManager::builder().interceptor(tag("local", &calls)).build();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("note.txt");
    std::fs::write(&file, "from a file").unwrap();
    let file_url = url::Url::from_file_path(&file).unwrap();
    let mut data = manager.get(Request::new("data:,from%20data"));
    let mut local = manager.get(Request::from_url(file_url.clone()));
    let (data_text, file_text) = timeout(LIMIT, futures::future::join(data.text(), local.text())).await.unwrap();
    assert_eq!(data_text.unwrap(), "from data");
    assert_eq!(file_text.unwrap(), "from a file");
    let mut calls = calls.lock().unwrap().clone();
    calls.sort();
    let mut expected = [format!("local {file_url}"), "local data:,from%20data".to_owned()];
    expected.sort();
    assert_eq!(calls, expected);
    assert_eq!(data.request().headers()["x-trace"], "local");
}

/// Gives alice's credentials once per challenge.
struct Alice;

impl AuthenticationHandler for Alice {
    fn credentials(&self, challenge: AuthenticationChallenge) -> BoxFuture<'static, Option<Credentials>> {
        let answer = (!challenge.retry).then(|| Credentials::new(USER, PASSWORD));
        async move { answer }.boxed()
    }
}

#[tokio::test]
async fn one_call_per_request_behind_an_authentication_round_and_a_redirect() {
    let server = HttpServer::start().await;
    let calls = Arc::new(Mutex::new(Vec::new()));
    let manager =
        NetworkAccessManager::builder().authentication_handler(Alice).interceptor(tag("once", &calls)).build();
    let targets = ["/basic/r/one", "/basic/r/two", "/redirect/302?to=/hello"];
    let mut replies: Vec<Reply> = targets.iter().map(|t| manager.get(Request::new(server.url(t)))).collect();
    let bodies = timeout(LIMIT, join_all(replies.iter_mut().map(Reply::text))).await.unwrap();
    let bodies: Vec<String> = bodies.into_iter().map(Result::unwrap).collect();
    assert_eq!(bodies, [format!("welcome {USER}"), format!("welcome {USER}"), "Hello, world!".to_owned()]);
    assert_eq!(calls.lock().unwrap().len(), 3, "once per request: {:?}", calls.lock().unwrap());
    let seen = server.seen.targets();
    // The rounds happened inside the replies: a 401 and its answer, the redirect and its target.
    assert!(seen.iter().filter(|t| t.starts_with("/basic/r/")).count() >= 3, "{seen:?}");
    assert!(seen.contains(&"/hello".to_owned()), "{seen:?}");
    // Every hop carried the interceptor's header: it changed the request, not one hop.
    for request in server.seen.requests() {
        assert_eq!(request.headers.get("x-trace").map(|v| v.to_str().unwrap()), Some("once"), "{}", request.target);
    }
}

/// Holds every request until a token is given, then sends it with the token.
struct WaitForToken {
    token: Arc<tokio::sync::watch::Sender<Option<String>>>,
}

impl Interceptor for WaitForToken {
    fn create_request(&self, request: Request, operation: Operation, body: Body, next: Next<'_>) -> Reply {
        let mut tokens = self.token.subscribe();
        let (shown, verb) = (request.clone(), operation.clone());
        next.send_when_ready(&shown, &verb, async move {
            let token = tokens.wait_for(Option::is_some).await.expect("the store lives").clone().unwrap();
            Ok((request.with_header("authorization", &format!("Bearer {token}")), operation, body))
        })
    }
}

#[tokio::test]
async fn a_request_may_wait_for_a_token_and_an_abort_while_waiting_sends_nothing() {
    let server = HttpServer::start().await;
    let token = Arc::new(tokio::sync::watch::Sender::new(None));
    let manager = NetworkAccessManager::builder().interceptor(WaitForToken { token: token.clone() }).build();
    let mut replies: Vec<Reply> = (0..3).map(|_| manager.get(Request::new(server.url("/echo")))).collect();
    let aborted = manager.get(Request::new(server.url("/hello")));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(server.seen.targets().is_empty(), "nothing goes before the token");
    assert!(replies.iter().all(Reply::is_running));
    aborted.abort();
    token.send_replace(Some("t0ken".to_owned()));
    let bodies = timeout(LIMIT, join_all(replies.iter_mut().map(Reply::bytes))).await.unwrap();
    assert!(bodies.iter().all(Result::is_ok));
    for reply in &replies {
        assert_eq!(reply.header("x-echo-authorization").as_deref(), Some("Bearer t0ken"));
    }
    assert_eq!(aborted.error().unwrap().kind(), NetworkErrorKind::OperationCanceledError);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.seen.targets(), ["/echo", "/echo", "/echo"], "the aborted request never went");
}

#[tokio::test]
async fn a_failure_while_waiting_fails_the_reply() {
    struct NoToken;
    impl Interceptor for NoToken {
        fn create_request(&self, request: Request, operation: Operation, _: Body, next: Next<'_>) -> Reply {
            let url = request.url_text().to_owned();
            next.send_when_ready(&request, &operation, async move {
                Err(netaccess::NetworkError::new(
                    NetworkErrorKind::AuthenticationRequiredError,
                    url,
                    "the token service refused",
                ))
            })
        }
    }
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::builder().interceptor(NoToken).build();
    let mut reply = manager.get(Request::new(server.url("/hello")));
    let error = timeout(LIMIT, reply.finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::AuthenticationRequiredError);
    assert!(error.to_string().contains("the token service refused"), "{error}");
    assert!(server.seen.targets().is_empty());
}

#[tokio::test]
async fn the_manager_is_a_tower_service() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::new();
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("http://127.0.0.1:{port}/")
    };
    let calls = [
        http::Request::get(server.url("/hello")).body(Body::empty()).unwrap(),
        http::Request::post(server.url("/echo")).header("x-trace", "tower").body(Body::from("sent")).unwrap(),
        http::Request::get(server.url("/status/404")).body(Body::empty()).unwrap(),
    ];
    let responses =
        timeout(LIMIT, join_all(calls.into_iter().map(|call| manager.clone().oneshot(call)))).await.unwrap();
    let mut read = Vec::new();
    for response in responses {
        let response = response.unwrap();
        let status = response.status();
        let echoed = response.headers().get("x-echo-x-trace").cloned();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        read.push((status.as_u16(), echoed, body));
    }
    assert_eq!(read[0], (200, None, "Hello, world!".into()));
    assert_eq!(read[1], (200, Some(HeaderValue::from_static("tower")), "sent".into()));
    // An error status is a response, with its body, as from any tower HTTP client.
    assert_eq!(read[2], (404, None, "status 404".into()));
    // Request attributes ride in the extensions: here, redirects are the caller's to follow.
    let mut manual = netaccess::RequestAttributes::default();
    manual.redirect_policy = Some(netaccess::RedirectPolicy::Manual);
    let redirect = http::Request::get(server.url("/redirect/302?to=/hello")).extension(manual).body(()).unwrap();
    let response = timeout(LIMIT, manager.clone().oneshot(redirect)).await.unwrap().unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], "/hello");
    let failed = timeout(LIMIT, manager.clone().oneshot(http::Request::get(&refused).body(()).unwrap())).await.unwrap();
    assert_eq!(failed.unwrap_err().kind(), NetworkErrorKind::ConnectionRefusedError);
    let mut seen = server.seen.targets();
    seen.sort();
    assert_eq!(seen, ["/echo", "/hello", "/redirect/302?to=/hello", "/status/404"]);
}

#[tokio::test]
async fn tower_http_layers_work_as_interceptors() {
    use tower_http::set_header::{SetRequestHeaderLayer, SetResponseHeaderLayer};
    let server = HttpServer::start().await;
    let request_header =
        SetRequestHeaderLayer::overriding(HeaderName::from_static("x-client"), HeaderValue::from_static("tower-http"));
    let response_header =
        SetResponseHeaderLayer::overriding(HeaderName::from_static("x-seen-by"), HeaderValue::from_static("layer"));
    let counted = Arc::new(AtomicUsize::new(0));
    struct Count(Arc<AtomicUsize>);
    impl Interceptor for Count {
        fn create_request(&self, request: Request, operation: Operation, body: Body, next: Next<'_>) -> Reply {
            self.0.fetch_add(1, Ordering::SeqCst);
            next.send(request, operation, body)
        }
    }
    let manager = NetworkAccessManager::builder()
        .interceptor(LayerInterceptor::new(request_header))
        .interceptor(LayerInterceptor::new(response_header))
        .interceptor(Count(counted.clone()))
        .build();
    let mut replies = vec![
        manager.get(Request::new(server.url("/echo"))),
        manager.post(Request::new(server.url("/echo")), "through layers"),
        manager.get(Request::new(server.url("/redirect/302?to=/echo"))),
        manager.get(Request::new("data:,past%20the%20layers")),
    ];
    let mut events = Vec::new();
    let mut bodies = Vec::new();
    for reply in &mut replies {
        let (mut kinds, mut body) = (Vec::new(), Vec::new());
        while let Some(event) = timeout(LIMIT, reply.next_event()).await.unwrap() {
            kinds.push(std::mem::discriminant(&event));
            match event {
                ReplyEvent::Error(error) => panic!("{}: {error}", reply.url_text()),
                ReplyEvent::ReadyRead(chunk) => body.extend_from_slice(&chunk),
                _ => {}
            }
        }
        events.push(kinds);
        bodies.push(String::from_utf8(body).unwrap());
    }
    assert_eq!(bodies, ["", "through layers", "", "past the layers"]);
    let seen = server.seen.requests();
    assert_eq!(seen.len(), 4, "{seen:?}");
    for request in &seen {
        assert_eq!(
            request.headers.get("x-client").map(|v| v.to_str().unwrap()),
            Some("tower-http"),
            "{}",
            request.target
        );
    }
    for reply in &replies[..3] {
        assert_eq!(reply.header("x-seen-by").as_deref(), Some("layer"), "{}", reply.url_text());
        assert_eq!(reply.header("x-echo-x-client").as_deref(), Some("tower-http"));
        assert_eq!(reply.status(), Some(200));
    }
    // The redirect happened inside the relayed reply: its event and its URL come through.
    assert!(events[2].contains(&std::mem::discriminant(&ReplyEvent::Redirected(url::Url::parse("http://x/").unwrap()))));
    assert_eq!(replies[2].url().unwrap().path(), "/echo");
    // A `data:` URL is no `http::Uri`: it passes the layers untouched and still reaches the rest.
    assert!(replies[3].header("x-seen-by").is_none());
    assert_eq!(counted.load(Ordering::SeqCst), 4);
}

#[test]
fn the_blocking_manager_goes_through_the_chain() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(HttpServer::start());
    let calls = Arc::new(Mutex::new(Vec::new()));
    let builder = NetworkAccessManager::builder().interceptor(tag("blocking", &calls));
    let manager = netaccess::blocking::NetworkAccessManager::from_builder(builder).unwrap();
    let mut reply = manager.get(Request::new(server.url("/echo")));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut reply, &mut text).unwrap();
    assert_eq!(traces_seen(&server, "/echo"), [vec!["blocking".to_owned()]]);
    assert_eq!(calls.lock().unwrap().len(), 1);
}
