//! The manager as a tower service, and tower layers as interceptors (feature `tower`).
//!
//! [`NetworkAccessManager`] implements `tower::Service<http::Request<B>>` for any body `B` that
//! becomes a [`Body`]: it answers with an `http::Response<ReplyBody>`, whose body is an
//! [`http_body::Body`] streaming the reply, and fails with the [`NetworkError`] of a reply that
//! ended without a head. So the manager works wherever a tower HTTP client is expected.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use http_body_util::BodyExt;
//! use tower::ServiceExt;
//!
//! let manager = netaccess::NetworkAccessManager::new();
//! let request = http::Request::get("data:,hello").body(()).unwrap();
//! let response = manager.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "hello");
//! # });
//! ```
//!
//! [`LayerInterceptor`] is the other way round: a tower `Layer` (tower-http's headers,
//! tracing, timeouts; one of your own) as an [`Interceptor`], wrapping the rest of the chain,
//! which it sees as a service ([`NextService`]).
//!
//! ```
//! use http::header::{HeaderName, HeaderValue};
//! use netaccess::service::LayerInterceptor;
//! use tower_http::set_header::SetRequestHeaderLayer;
//!
//! let layer = SetRequestHeaderLayer::overriding(HeaderName::from_static("x-client"), HeaderValue::from_static("tower"));
//! let manager = netaccess::NetworkAccessManager::builder().interceptor(LayerInterceptor::new(layer)).build();
//! # drop(manager);
//! ```
//!
//! # Design
//!
//! The request's netaccess parts that `http::Request` has no field for (its attributes, the
//! names as written, a URL that is not an `http::Uri`'s) travel in its extensions through the
//! layers and are taken back at the other end; a layer that changes the URI, the method or the
//! headers changes the request. A request whose URL cannot be an `http::Uri` (`data:`, `file:`
//! ones), or whose verb cannot be an `http::Method`, goes past the layer to the rest of the
//! chain unchanged.
//!
//! The layer wraps one [`NextService`], made at the first request and cloned for each (tower's
//! way: a layer's shared state, a concurrency limit say, is shared by every request). The
//! service holds the manager weakly, so the interceptor stored in the manager makes no cycle.
//! Its answer is relayed as a reply that waits: when its body is still the [`ReplyBody`] the
//! chain made, the reply under it is relayed with every event, and the status and headers the
//! layer left; when a layer replaced the body, the response becomes an answer without the
//! network, keeping the [`ReplyAttributes`](crate::ReplyAttributes) that [`NextService`] put in
//! its extensions. A layer's error is the reply's: a [`NetworkError`] as it is, any other as an
//! `UnknownNetworkError` naming it.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use netaccess_core::{Body, NetworkError, NetworkErrorKind, Operation, ReplyEvent, Request};

use crate::intercept::{OwnedNext, Relayed};
use crate::{Interceptor, NetworkAccessManager, Next, Reply};

/// The future of a [`NetworkAccessManager`] or [`NextService`] call.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Result<http::Response<ReplyBody>, NetworkError>> + Send>>;

impl<B: Into<Body>> tower_service::Service<http::Request<B>> for NetworkAccessManager {
    type Response = http::Response<ReplyBody>;
    type Error = NetworkError;
    type Future = ResponseFuture;

    /// Always ready: requests wait in the manager's queue, not here.
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), NetworkError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> ResponseFuture {
        Box::pin(response_of(self.send_http(request)))
    }
}

/// Waits for `reply`'s head and makes the `http::Response` of it: status, version, headers,
/// the reply's attributes in the extensions, and the reply as the body.
async fn response_of(mut reply: Reply) -> Result<http::Response<ReplyBody>, NetworkError> {
    let head = reply.head().await?;
    let attributes = reply.attributes();
    let mut response = http::Response::new(ReplyBody { reply, done: false });
    *response.status_mut() = head.status;
    *response.version_mut() = head.version;
    *response.headers_mut() = head.headers;
    response.extensions_mut().insert(attributes);
    Ok(response)
}

/// A reply's body as an [`http_body::Body`]: its chunks as data frames; a failure ends it with
/// the reply's error, except an HTTP error status (the response says it, and its body is the
/// server's).
#[derive(Debug)]
pub struct ReplyBody {
    reply: Reply,
    done: bool,
}

impl ReplyBody {
    /// The reply, for its events and attributes.
    pub fn reply(&self) -> &Reply {
        &self.reply
    }

    /// The reply itself (what was not read of the body is still in it).
    pub fn into_reply(self) -> Reply {
        self.reply
    }
}

impl http_body::Body for ReplyBody {
    type Data = Bytes;
    type Error = NetworkError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, NetworkError>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            match futures::ready!(Pin::new(&mut this.reply).poll_next(cx)) {
                Some(ReplyEvent::ReadyRead(chunk)) => return Poll::Ready(Some(Ok(http_body::Frame::data(chunk)))),
                Some(_) => {}
                None => {
                    this.done = true;
                    let error = this.reply.error().filter(|error| error.http_status().is_none());
                    return Poll::Ready(error.map(Err));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

/// The rest of an interceptor chain as a tower service: what a [`LayerInterceptor`]'s layer
/// wraps. Cheap to clone; it holds the manager weakly (a call after the manager was dropped
/// fails with `OperationCanceledError`).
#[derive(Clone)]
pub struct NextService {
    rest: OwnedNext,
}

impl std::fmt::Debug for NextService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NextService").finish_non_exhaustive()
    }
}

impl tower_service::Service<http::Request<Body>> for NextService {
    type Response = http::Response<ReplyBody>;
    type Error = NetworkError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), NetworkError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> ResponseFuture {
        let (request, operation, body) = from_http(request);
        match self.rest.send(request, operation, body) {
            Ok(reply) => Box::pin(response_of(reply)),
            Err(error) => Box::pin(async move { Err(error) }),
        }
    }
}

/// A tower [`Layer`](tower_layer::Layer) as an [`Interceptor`]: every request whose URL is an
/// `http::Uri` goes through the layer's service, which wraps the rest of the chain (see the
/// [module docs](self)).
pub struct LayerInterceptor<L: tower_layer::Layer<NextService>> {
    layer: L,
    service: OnceLock<L::Service>,
}

impl<L: tower_layer::Layer<NextService>> std::fmt::Debug for LayerInterceptor<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerInterceptor").field("layer", &std::any::type_name::<L>()).finish()
    }
}

impl<L: tower_layer::Layer<NextService>> LayerInterceptor<L> {
    /// The interceptor applying `layer`.
    pub fn new(layer: L) -> Self {
        Self { layer, service: OnceLock::new() }
    }
}

impl<L, S, B> Interceptor for LayerInterceptor<L>
where
    L: tower_layer::Layer<NextService, Service = S> + Send + Sync + 'static,
    S: tower_service::Service<http::Request<Body>, Response = http::Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn create_request(&self, request: Request, operation: Operation, body: Body, next: Next<'_>) -> Reply {
        let uri = request.url().and_then(|url| url.as_str().parse::<http::Uri>().ok());
        let method = http::Method::from_bytes(operation.verb().as_bytes()).ok();
        let (Some(uri), Some(method)) = (uri, method) else {
            return next.send(request, operation, body);
        };
        let rest = OwnedNext::of(&next);
        let mut service = self.service.get_or_init(|| self.layer.layer(NextService { rest: rest.clone() })).clone();
        let (shown, verb) = (request.clone(), operation.clone());
        let answered = shown.clone();
        let url = request.url_text().to_owned();
        let http_request = to_http(request, method, body, uri);
        next.relay(
            &shown,
            &verb,
            Box::pin(async move {
                futures::future::poll_fn(|cx| service.poll_ready(cx)).await.map_err(|e| layer_error(&url, e))?;
                let response = service.call(http_request).await.map_err(|e| layer_error(&url, e))?;
                let (head, body) = response.into_parts();
                let mut slot = Some(body);
                if let Some(chain) = (&mut slot as &mut dyn Any).downcast_mut::<Option<ReplyBody>>() {
                    if let Some(chain) = chain.take() {
                        return Ok(Relayed { head: Some(head), ..Relayed::new(chain.into_reply()) });
                    }
                }
                // The layer made a body of its own: an answer without the network, with the
                // facts of the reply under it, if the extensions still carry them.
                let body = slot.map_or_else(Body::empty, Body::from_http_body);
                let answer = http::Response::from_parts(head, body);
                Ok(Relayed::new(rest.answer(answered, operation, answer)?))
            }),
        )
    }
}

/// A layer's error as the reply's.
fn layer_error(url: &str, error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> NetworkError {
    let error = error.into();
    match error.downcast::<NetworkError>() {
        Ok(error) => *error,
        Err(other) => {
            NetworkError::new(NetworkErrorKind::UnknownNetworkError, url, format!("a tower layer failed: {other}"))
        }
    }
}

/// What a request has that an `http::Request` has no field for, carried in its extensions.
#[derive(Clone)]
struct Carried {
    request: Arc<Request>,
    uri: http::Uri,
}

/// The request as an `http::Request` for a layer.
fn to_http(request: Request, method: http::Method, body: Body, uri: http::Uri) -> http::Request<Body> {
    let mut http_request = http::Request::new(body);
    *http_request.method_mut() = method;
    *http_request.uri_mut() = uri.clone();
    *http_request.headers_mut() = request.headers().clone();
    http_request.extensions_mut().insert(Carried { request: Arc::new(request), uri });
    http_request
}

/// A layer's `http::Request` as the request, operation and body it stands for.
fn from_http(http_request: http::Request<Body>) -> (Request, Operation, Body) {
    let (mut parts, body) = http_request.into_parts();
    let Some(carried) = parts.extensions.remove::<Carried>() else {
        // A request a layer made from nothing: read as `send_http` reads one.
        let made = netaccess_core::request::HttpRequestParts::from(http::Request::from_parts(parts, body));
        return (made.request, made.operation, made.body);
    };
    let operation = Operation::from(parts.method);
    let mut request = Arc::unwrap_or_clone(carried.request);
    if parts.uri != carried.uri {
        // The layer sent it elsewhere: its attributes stay.
        let attributes = request.attributes().clone();
        request = Request::new(parts.uri.to_string()).with_attributes(attributes);
    }
    *request.headers_mut() = parts.headers;
    (request, operation, body)
}
