//! An HTTP/1.1 origin server on loopback, built on hyper, with the routes the tests need, and
//! counters of the connections and requests it saw.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::stream;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

use rustls::pki_types::CertificateDer;
use tokio_rustls::TlsAcceptor;

use crate::pattern;
use crate::pki::Identity;

/// A TLS acceptor presenting `identity`, requiring a client certificate issued by `client_ca`
/// when one is given; for byte-level TLS servers of a test's own.
pub fn tls_acceptor(identity: &Identity, client_ca: Option<CertificateDer<'static>>) -> TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("protocol versions");
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca).expect("client CA");
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(identity.chain.clone(), identity.key()).expect("server certificate");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsAcceptor::from(Arc::new(config))
}

/// How a server speaks HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Speaks {
    /// HTTP/1.1 only (over TLS, ALPN offers only `http/1.1`).
    Http1,
    /// HTTP/2 and HTTP/1.1: over TLS ALPN offers `h2` first; in clear, h2c by prior knowledge
    /// beside HTTP/1.1. Streams at once per connection: the value.
    Http2 { max_streams: u32 },
}

type Body = BoxBody<Bytes, Infallible>;

/// A canned response: the status and the header lines (name, raw value).
pub type Scripted = (u16, Vec<(String, Vec<u8>)>);

/// What the server saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Connections accepted.
    pub connections: AtomicUsize,
    /// Requests answered.
    pub requests: AtomicUsize,
    /// TLS handshakes completed.
    pub handshakes: AtomicUsize,
    /// The current Digest nonce number; bumping it makes earlier nonces stale.
    pub nonce: AtomicUsize,
    /// Canned responses by path and query.
    pub scripts: Mutex<std::collections::HashMap<String, Scripted>>,
    /// The SHA-256 (hex) of every upload body received whole by `/upload`.
    pub uploads: Mutex<Vec<String>>,
    /// Every request, in the order the server read them.
    pub log: Mutex<Vec<SeenRequest>>,
    /// How many requests each `/flaky/KEY/N` key has had.
    pub flaky: Mutex<std::collections::HashMap<String, usize>>,
    /// Requests being answered now (until their handler returns the head).
    pub in_flight: AtomicUsize,
    /// The most requests answered at once.
    pub max_in_flight: AtomicUsize,
}

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    /// The method.
    pub method: String,
    /// The path and query.
    pub target: String,
    /// The `Authorization` value, if any.
    pub authorization: Option<String>,
    /// The `Cookie` value, if any.
    pub cookie: Option<String>,
    /// The protocol: `HTTP/1.1` or `HTTP/2.0`.
    pub version: String,
    /// Every header field.
    pub headers: hyper::HeaderMap,
}

impl Seen {
    /// The targets of every request so far, in the order the server read them.
    pub fn targets(&self) -> Vec<String> {
        self.log.lock().expect("lock").iter().map(|r| r.target.clone()).collect()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.log.lock().expect("lock").clone()
    }
}

/// A running server; it stops when dropped.
pub struct HttpServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it saw.
    pub seen: Arc<Seen>,
    task: tokio::task::JoinHandle<()>,
    scheme: &'static str,
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HttpServer {
    /// Starts a server on 127.0.0.1 with a free port.
    pub async fn start() -> Self {
        Self::start_with(None, Speaks::Http1).await
    }

    /// Starts an HTTPS server presenting `identity`.
    pub async fn start_tls(identity: &Identity) -> Self {
        Self::start_with(Some(tls_acceptor(identity, None)), Speaks::Http1).await
    }

    /// Starts an HTTPS server presenting `identity` that offers HTTP/2 by ALPN (then HTTP/1.1),
    /// allowing `max_streams` streams at once per connection.
    pub async fn start_h2(identity: &Identity, max_streams: u32) -> Self {
        let mut config = (**tls_acceptor(identity, None).config()).clone();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Self::start_with(Some(TlsAcceptor::from(Arc::new(config))), Speaks::Http2 { max_streams }).await
    }

    /// Starts a plain-http server that speaks HTTP/1.1 and h2c by prior knowledge.
    pub async fn start_h2c(max_streams: u32) -> Self {
        Self::start_with(None, Speaks::Http2 { max_streams }).await
    }

    /// Starts an HTTPS server presenting `identity` that requires a client certificate issued by
    /// `client_ca`.
    pub async fn start_tls_with_client_auth(identity: &Identity, client_ca: CertificateDer<'static>) -> Self {
        Self::start_with(Some(tls_acceptor(identity, Some(client_ca))), Speaks::Http1).await
    }

    async fn start_with(tls: Option<TlsAcceptor>, speaks: Speaks) -> Self {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let seen = Arc::new(Seen::default());
        let task_seen = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                task_seen.connections.fetch_add(1, Ordering::SeqCst);
                let seen = task_seen.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let counters = seen.clone();
                    let service = hyper::service::service_fn(move |request| route(request, addr, scheme, seen.clone()));
                    match tls {
                        None => serve(stream, service, speaks).await,
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                counters.handshakes.fetch_add(1, Ordering::SeqCst);
                                serve(stream, service, speaks).await;
                            }
                        }
                    }
                });
            }
        });
        Self { addr, seen, task, scheme }
    }

    /// The URL of `path` on this server (by IP address).
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    /// The URL of `path` on this server by the name `localhost`.
    pub fn localhost_url(&self, path: &str) -> String {
        format!("{}://localhost:{}{path}", self.scheme, self.addr.port())
    }

    /// Answers `path_and_query` with `status` and these header lines (an empty body), whatever
    /// the routes say.
    pub fn script(&self, path_and_query: &str, status: u16, headers: Vec<(String, Vec<u8>)>) {
        self.seen.scripts.lock().expect("lock").insert(path_and_query.to_owned(), (status, headers));
    }

    /// TLS handshakes completed so far.
    pub fn handshakes(&self) -> usize {
        self.seen.handshakes.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.seen.connections.load(Ordering::SeqCst)
    }
}

/// Serves one connection as `speaks` says.
async fn serve<IO, S>(stream: IO, service: S, speaks: Speaks)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<Request<Incoming>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    match speaks {
        Speaks::Http1 => {
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        }
        Speaks::Http2 { max_streams } => {
            let mut builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            builder.http2().max_concurrent_streams(max_streams);
            let _ = builder.serve_connection(TokioIo::new(stream), service).await;
        }
    }
}

fn full(body: impl Into<Bytes>) -> Body {
    Full::new(body.into()).boxed()
}

fn response(status: u16, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(full(body));
    *response.status_mut() = StatusCode::from_u16(status).expect("valid status");
    response
}

fn query<'a>(request: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    request.uri().query()?.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

async fn route(
    request: Request<Incoming>,
    addr: SocketAddr,
    scheme: &'static str,
    seen: Arc<Seen>,
) -> Result<Response<Body>, Infallible> {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    let header = |name: &str| request.headers().get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    seen.log.lock().expect("lock").push(SeenRequest {
        method: request.method().as_str().to_owned(),
        target: request.uri().path_and_query().map_or_else(|| request.uri().to_string(), |pq| pq.as_str().to_owned()),
        authorization: header("authorization"),
        cookie: header("cookie"),
        version: format!("{:?}", request.version()),
        headers: request.headers().clone(),
    });
    let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    seen.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let reply = answer(request, addr, scheme, &seen).await;
    seen.in_flight.fetch_sub(1, Ordering::SeqCst);
    reply
}

async fn answer(
    request: Request<Incoming>,
    addr: SocketAddr,
    scheme: &'static str,
    seen: &Arc<Seen>,
) -> Result<Response<Body>, Infallible> {
    let scripted =
        request.uri().path_and_query().and_then(|pq| seen.scripts.lock().expect("lock").get(pq.as_str()).cloned());
    if let Some((status, lines)) = scripted {
        let mut reply = response(status, "");
        for (name, value) in lines {
            if let (Ok(name), Ok(value)) =
                (name.parse::<hyper::header::HeaderName>(), hyper::header::HeaderValue::from_bytes(&value))
            {
                reply.headers_mut().append(name, value);
            }
        }
        return Ok(reply);
    }
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let number = |i: usize| segments.get(i).and_then(|s| s.parse::<usize>().ok()).unwrap_or(0);
    let reply = match segments[0] {
        "hello" => response(200, "Hello, world!"),
        "json" => {
            let mut reply = response(200, r#"{"name":"netaccess","schemes":["http","https","ftp","file","data"]}"#);
            reply.headers_mut().insert("content-type", "application/json".parse().expect("value"));
            reply
        }
        "bytes" => response(200, pattern(number(1))),
        "chunked" => {
            let data = Bytes::from(pattern(number(1)));
            let pieces: Vec<Result<Frame<Bytes>, Infallible>> =
                data.chunks(16 * 1024).map(|c| Ok(Frame::data(Bytes::copy_from_slice(c)))).collect();
            Response::new(BodyExt::boxed(StreamBody::new(stream::iter(pieces))))
        }
        "gzip" => {
            use std::io::Write;
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(&pattern(number(1))).expect("gzip");
            let mut reply = response(200, encoder.finish().expect("gzip"));
            reply.headers_mut().insert("content-encoding", "gzip".parse().expect("value"));
            reply
        }
        "echo" => echo(request).await,
        "basic" | "digest" | "both" | "negotiate" => {
            let (parts, body) = request.into_parts();
            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let authorization = parts.headers.get("authorization").and_then(|v| v.to_str().ok());
            let uri = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
            match crate::auth_server::check(&segments, parts.method.as_str(), uri, authorization, &body, seen) {
                Ok(welcome) => response(200, welcome),
                Err(challenges) => {
                    let mut reply = response(401, "authentication required");
                    for challenge in challenges {
                        reply.headers_mut().append("www-authenticate", challenge.parse().expect("challenge"));
                    }
                    reply
                }
            }
        }
        "cookie-parser-result" | "cookies" => {
            let cookie = request.headers().get("cookie").map(|v| v.as_bytes().to_vec()).unwrap_or_default();
            response(200, cookie)
        }
        "upload" => {
            let body = request.into_body().collect().await.map(|b| b.to_bytes());
            match body {
                Ok(body) => {
                    let digest = hex(&Sha256::digest(&body));
                    seen.uploads.lock().expect("lock").push(digest.clone());
                    let mut reply = response(200, digest);
                    reply.headers_mut().insert("connection", "close".parse().expect("value"));
                    reply
                }
                Err(_) => response(400, "incomplete upload"),
            }
        }
        "multipart" => multipart(request).await,
        "status" => response(u16::try_from(number(1)).unwrap_or(500), format!("status {}", number(1))),
        "redirect" => {
            let to = query(&request, "to").unwrap_or("/hello").replace("%3A", ":").replace("%2F", "/");
            // Read the request's body first, as servers do for a small upload: answering while
            // the client still writes would make its upload fail with a broken pipe, at random.
            let _ = request.into_body().collect().await;
            let mut reply = response(u16::try_from(number(1)).unwrap_or(302), "moved");
            reply.headers_mut().insert("location", to.parse().expect("location"));
            reply
        }
        "chain" => {
            let left = number(1);
            if left == 0 {
                response(200, "end of chain")
            } else {
                let mut reply = response(302, "");
                let next = format!("{scheme}://{addr}/chain/{}", left - 1);
                reply.headers_mut().insert("location", next.parse().expect("location"));
                reply
            }
        }
        "slow" => {
            tokio::time::sleep(Duration::from_millis(number(1) as u64)).await;
            response(200, "slow")
        }
        "ranged" => ranged(&request, number(1)),
        "misranged" => {
            // `/misranged`: whatever range is asked, 206 with the first 100 bytes of a 5000-byte
            // resource (a server that answers a range it was not asked for).
            let mut reply = response(206, pattern(100));
            reply.headers_mut().insert("content-range", "bytes 0-99/5000".parse().expect("value"));
            reply
        }
        "versioned" => {
            // `/versioned/V/NAME`: 256 KiB of the line "version V", sent in 16 KiB pieces; V
            // milliseconds before the head, so the versions finish in an order of the test's.
            tokio::time::sleep(Duration::from_millis(number(1) as u64)).await;
            let line = format!("version {}\n", segments.get(1).copied().unwrap_or_default());
            let data = Bytes::from(line.repeat(256 * 1024 / line.len()));
            let pieces: Vec<Result<Frame<Bytes>, Infallible>> =
                data.chunks(16 * 1024).map(|c| Ok(Frame::data(Bytes::copy_from_slice(c)))).collect();
            Response::new(BodyExt::boxed(StreamBody::new(stream::iter(pieces))))
        }
        "flaky" => {
            // `/flaky/KEY/N`: 503 with `Retry-After: 0` for the first N requests of KEY, then 200.
            let key = segments.get(1).copied().unwrap_or_default().to_owned();
            let count = {
                let mut flaky = seen.flaky.lock().expect("lock");
                let count = flaky.entry(key).or_default();
                *count += 1;
                *count
            };
            if count <= number(2) {
                let mut reply = response(503, format!("busy, request {count}"));
                reply.headers_mut().insert("retry-after", "0".parse().expect("value"));
                reply
            } else {
                response(200, format!("recovered after {count} requests"))
            }
        }
        _ => response(404, "no such route"),
    };
    Ok(reply)
}

/// `/ranged/N`: N bytes of the pattern, honouring `Range: bytes=FROM-` as servers do (206 with
/// `Content-Range`, 416 with `Content-Range: bytes */N` past the end); any other range form gets
/// the whole body (200), as a server may answer.
fn ranged(request: &Request<Incoming>, len: usize) -> Response<Body> {
    let data = pattern(len);
    let from = request
        .headers()
        .get("range")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.strip_suffix('-'))
        .and_then(|v| v.parse::<usize>().ok());
    let mut reply = match from {
        None => return response(200, data),
        Some(from) if from >= len => response(416, ""),
        Some(from) => response(206, data[from..].to_vec()),
    };
    let range = match from {
        Some(from) if from < len => format!("bytes {from}-{}/{len}", len - 1),
        _ => format!("bytes */{len}"),
    };
    reply.headers_mut().insert("content-range", range.parse().expect("value"));
    reply
}

/// Echoes the request: its body as the body, its method and some headers as `x-echo-*` headers.
/// Parses a multipart body with `multer`, part by part as it streams in (a large part is
/// hashed chunk by chunk, never held), and answers a JSON array: for each part its name, file
/// name, content type, other headers, length and SHA-256; 400 with multer's reason when the
/// body is not valid multipart.
async fn multipart(request: Request<Incoming>) -> Response<Body> {
    let content_type = request.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    // multer's own `parse_boundary` takes form-data only; every multipart subtype is parsed.
    let boundary = content_type
        .strip_prefix("multipart/")
        .and_then(|rest| rest.split(';').find_map(|param| param.trim().strip_prefix("boundary=")))
        .map(|b| b.trim_matches('"').to_owned());
    let Some(boundary) = boundary else {
        return response(400, format!("no multipart boundary in {content_type:?}"));
    };
    let mut parts = multer::Multipart::new(request.into_body().into_data_stream(), boundary);
    let mut described = Vec::new();
    loop {
        let mut field = match parts.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => return response(400, format!("bad multipart: {error}")),
        };
        let headers: Vec<(String, String)> = field
            .headers()
            .iter()
            .map(|(name, value)| (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let mut part = serde_json::json!({
            "name": field.name(),
            "file_name": field.file_name(),
            "content_type": field.content_type().map(ToString::to_string),
            "headers": headers,
        });
        let (mut length, mut digest) = (0u64, Sha256::new());
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    length += chunk.len() as u64;
                    digest.update(&chunk);
                }
                Ok(None) => break,
                Err(error) => return response(400, format!("bad part: {error}")),
            }
        }
        part["length"] = length.into();
        part["sha256"] = hex(&digest.finalize()).into();
        described.push(part);
    }
    response(200, serde_json::Value::Array(described).to_string())
}

async fn echo(request: Request<Incoming>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let mut reply = response(200, body);
    let headers = reply.headers_mut();
    headers.insert("x-echo-method", parts.method.as_str().parse().expect("value"));
    for name in [
        "content-type",
        "user-agent",
        "accept-encoding",
        "authorization",
        "proxy-authorization",
        "cookie",
        "transfer-encoding",
        "content-length",
        "accept",
        "x-api-key",
        "referer",
        "x-client",
        "x-trace",
        "range",
    ] {
        if let Some(value) = parts.headers.get(name) {
            headers.insert(format!("x-echo-{name}").parse::<hyper::header::HeaderName>().expect("name"), value.clone());
        }
    }
    reply
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of `data` in hex, as `/upload` reports it.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}
