//! Interceptors, Qt's `createRequest`: a token from a store on every request, canned answers
//! for tests, the time each request took, and a tower-http layer in the same chain.
//!
//! ```text
//! cargo run -p netaccess --features tower --example interceptors -- https://httpbin.org/anything
//! ```
//!
//! The URL gets a GET and a POST (an echo service shows the headers they carried); a request to
//! `/canned/motd` on the same host is answered by an interceptor and never leaves the process.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{HeaderName, HeaderValue};
use netaccess::service::LayerInterceptor;
use netaccess::{Body, Interceptor, NetworkAccessManager, Next, Operation, Reply, ReplyEvent, Request};
use tower_http::set_header::SetRequestHeaderLayer;

/// Where tokens come from: fetched once (slowly, as from an identity provider), then kept;
/// requests that arrive while the fetch runs wait for the same one.
#[derive(Default)]
struct TokenStore {
    token: tokio::sync::OnceCell<String>,
    fetches: AtomicUsize,
}

impl TokenStore {
    async fn token(&self) -> String {
        let fetch = || async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let number = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
            format!("token-{number}")
        };
        self.token.get_or_init(fetch).await.clone()
    }
}

/// Adds `Authorization: Bearer …` from the store; while it has none, the request waits for one.
struct BearerFromStore(Arc<TokenStore>);

impl Interceptor for BearerFromStore {
    fn create_request(&self, request: Request, operation: Operation, body: Body, next: Next<'_>) -> Reply {
        let with_token =
            |request: Request, token: &str| request.with_header("authorization", &format!("Bearer {token}"));
        if let Some(token) = self.0.token.get() {
            return next.send(with_token(request, token), operation, body);
        }
        let (store, shown, verb) = (self.0.clone(), request.clone(), operation.clone());
        next.send_when_ready(&shown, &verb, async move {
            let token = store.token().await;
            Ok((with_token(request, &token), operation, body))
        })
    }
}

/// Answers the paths it knows without the network, as a test double would.
struct CannedAnswers(HashMap<&'static str, &'static str>);

impl Interceptor for CannedAnswers {
    fn create_request(&self, request: Request, operation: Operation, body: Body, next: Next<'_>) -> Reply {
        let canned = request.url().and_then(|url| self.0.get(url.path()).copied());
        match canned {
            Some(text) => {
                let answer = http::Response::builder().header("content-type", "text/plain").body(Body::from(text));
                next.answer(request, operation, answer.expect("a valid response"))
            }
            None => next.send(request, operation, body),
        }
    }
}

/// Prints how long each request took, from the chain's start to its last event.
struct Timing;

impl Interceptor for Timing {
    fn create_request(&self, request: Request, operation: Operation, body: Body, next: Next<'_>) -> Reply {
        let started = Instant::now();
        let verb = operation.verb().to_owned();
        next.send_observed(request, operation, body, move |reply, event| {
            if matches!(event, ReplyEvent::Finished) {
                let status = reply.status().map_or_else(|| "-".to_owned(), |s| s.to_string());
                println!("timing: {verb} {} -> {status} in {} ms", reply.url_text(), started.elapsed().as_millis());
            }
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "https://httpbin.org/anything".to_owned());
    let store = Arc::new(TokenStore::default());
    let client_header = SetRequestHeaderLayer::overriding(
        HeaderName::from_static("x-client"),
        HeaderValue::from_static("netaccess-example"),
    );
    let manager = NetworkAccessManager::builder()
        .interceptor(Timing) // the outermost: it times everything below it
        .interceptor(CannedAnswers(HashMap::from([("/canned/motd", "served by an interceptor")])))
        .interceptor(BearerFromStore(store.clone()))
        .interceptor(LayerInterceptor::new(client_header))
        .build();

    let canned = netaccess::Url::parse(&url)?.join("/canned/motd")?;
    // Three in flight at once: the two to the network wait for the one token fetch.
    let mut get = manager.get(Request::new(&url));
    let mut post = manager.post(Request::new(&url), "hello from a POST");
    let mut motd = manager.get(Request::from_url(canned));
    let (get_body, post_body, motd_body) = tokio::try_join!(get.text(), post.text(), motd.text())?;
    for (name, reply, body) in [("GET", &get, get_body), ("POST", &post, post_body)] {
        println!("{name}: status {:?}", reply.status());
        for header in ["x-echo-authorization", "x-echo-x-client"] {
            if let Some(value) = reply.header(header) {
                println!("{name}: {header}: {value}");
            }
        }
        println!("{name}: {} bytes of body", body.len());
    }
    println!("canned: {motd_body}");
    println!("token fetches: {}", store.fetches.load(Ordering::SeqCst));
    Ok(())
}
