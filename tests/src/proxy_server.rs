//! Proxies for the tests: a SOCKS5 server (fast-socks5's server side) and an HTTP proxy on hyper
//! (forwarding absolute-form requests, tunnelling CONNECT), each optionally asking for a user
//! name and password, each recording what went through it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use fast_socks5::server::{run_tcp_proxy, DnsResolveHelper as _, Socks5ServerProtocol};
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

/// What a proxy saw: its connections, and each request or tunnel target.
#[derive(Debug, Default)]
pub struct ProxyLog {
    /// Client connections accepted.
    pub connections: AtomicUsize,
    /// `CONNECT host:port`, `GET http://...`, or the SOCKS5 target, in order.
    pub requests: Mutex<Vec<String>>,
    /// Requests refused for missing or wrong credentials.
    pub refusals: AtomicUsize,
}

impl ProxyLog {
    /// The requests seen so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }
}

/// A proxy running on loopback; it stops when dropped.
pub struct TestProxy {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it saw.
    pub log: Arc<ProxyLog>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Credentials = Option<(&'static str, &'static str)>;

impl TestProxy {
    /// A SOCKS5 proxy; with `credentials`, it requires them (RFC 1929).
    pub async fn socks5(credentials: Credentials) -> Self {
        Self::start(move |socket, log| serve_socks(socket, credentials, log)).await
    }

    /// An HTTP proxy; with `credentials`, it requires them (Basic, 407).
    pub async fn http(credentials: Credentials) -> Self {
        Self::start(move |socket, log| async move {
            let service = hyper::service::service_fn(move |request| proxy(request, credentials, log.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(socket), service)
                .with_upgrades()
                .await;
        })
        .await
    }

    /// Listens on loopback and hands each connection, counted in the log, to `serve`.
    async fn start<F, Fut>(serve: F) -> Self
    where
        F: Fn(TcpStream, Arc<ProxyLog>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(ProxyLog::default());
        let task_log = log.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                task_log.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(socket, task_log.clone()));
            }
        });
        Self { addr, log, task }
    }

    /// The proxy as a URL with `scheme` (`http`, `socks5`, `socks5h`).
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.addr)
    }
}

async fn serve_socks(socket: TcpStream, credentials: Credentials, log: Arc<ProxyLog>) {
    let result: Result<(), Box<dyn std::error::Error + Send + Sync>> = async {
        let protocol = match credentials {
            None => Socks5ServerProtocol::accept_no_auth(socket).await?,
            Some((user, password)) => {
                let refusals = &log.refusals;
                let (protocol, accepted) = Socks5ServerProtocol::accept_password_auth(socket, |u, p| {
                    let ok = u == user && p == password;
                    if !ok {
                        refusals.fetch_add(1, Ordering::SeqCst);
                    }
                    ok
                })
                .await?;
                let _ = accepted;
                protocol
            }
        };
        let (protocol, _command, target) = protocol.read_command().await?;
        log.requests.lock().expect("lock").push(target.to_string());
        let (protocol, _command, target) = (protocol, _command, target).resolve_dns().await?;
        run_tcp_proxy(protocol, &target, Duration::from_secs(10), false).await?;
        Ok(())
    }
    .await;
    let _ = result;
}

type ProxyBody = BoxBody<Bytes, hyper::Error>;

fn status(code: StatusCode) -> Response<ProxyBody> {
    let mut response = Response::new(Empty::new().map_err(|never| match never {}).boxed());
    *response.status_mut() = code;
    response
}

async fn proxy(
    request: Request<Incoming>,
    credentials: Credentials,
    log: Arc<ProxyLog>,
) -> Result<Response<ProxyBody>, hyper::Error> {
    if let Some((user, password)) = credentials {
        let expected =
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")));
        if request.headers().get("proxy-authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
            log.refusals.fetch_add(1, Ordering::SeqCst);
            let mut response = Response::new(
                Full::new(Bytes::from_static(b"proxy credentials needed")).map_err(|never| match never {}).boxed(),
            );
            *response.status_mut() = StatusCode::PROXY_AUTHENTICATION_REQUIRED;
            response.headers_mut().insert("proxy-authenticate", "Basic realm=\"test proxy\"".parse().expect("value"));
            return Ok(response);
        }
    }
    if request.method() == Method::CONNECT {
        let authority = request.uri().authority().map(ToString::to_string).unwrap_or_default();
        log.requests.lock().expect("lock").push(format!("CONNECT {authority}"));
        let Ok(mut upstream) = TcpStream::connect(&authority).await else { return Ok(status(StatusCode::BAD_GATEWAY)) };
        tokio::spawn(async move {
            if let Ok(upgraded) = hyper::upgrade::on(request).await {
                let _ = tokio::io::copy_bidirectional(&mut TokioIo::new(upgraded), &mut upstream).await;
            }
        });
        return Ok(status(StatusCode::OK));
    }
    log.requests.lock().expect("lock").push(format!("{} {}", request.method(), request.uri()));
    let Some(authority) = request.uri().authority().map(ToString::to_string) else {
        return Ok(status(StatusCode::BAD_REQUEST));
    };
    let Ok(upstream) = TcpStream::connect(&authority).await else { return Ok(status(StatusCode::BAD_GATEWAY)) };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(upstream)).await?;
    tokio::spawn(connection);
    let (mut parts, body) = request.into_parts();
    parts.uri = parts.uri.path_and_query().map_or("/", |pq| pq.as_str()).parse().expect("origin form");
    parts.headers.remove("proxy-authorization");
    let response = sender.send_request(Request::from_parts(parts, body)).await?;
    Ok(response.map(BodyExt::boxed))
}
