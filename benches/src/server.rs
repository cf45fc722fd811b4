//! The loopback server the HTTP scenarios share: hyper 1.x, plain, TLS (HTTP/1.1) and TLS with
//! ALPN `h2` (HTTP/2), run in a child process so the client's CPU time is the client's alone.
//!
//! Routes: `/small` (13 bytes), `/large/N` (N bytes with Content-Length) and `/chunked/N` (N
//! bytes, chunked), both sent from one preallocated 1 MiB buffer so the server copies nothing
//! per request, and `/upload`, a sink that answers with the count of bytes it read.

use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use bytes::Bytes;
use futures::stream;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// The 13-byte body of `/small`.
pub(crate) const SMALL: &[u8] = b"Hello, world!";

const BLOCK: usize = 1024 * 1024;

/// `len` bytes as 1 MiB frames of the preallocated block.
fn frames(len: usize, block: &Bytes) -> BoxBody<Bytes, Infallible> {
    let block = block.clone();
    let frames = stream::iter((0..len.div_ceil(BLOCK)).map(move |i| {
        let size = (len - i * BLOCK).min(BLOCK);
        Ok::<_, Infallible>(Frame::data(block.slice(..size)))
    }));
    BodyExt::boxed(StreamBody::new(frames))
}

async fn respond(request: Request<hyper::body::Incoming>, block: Bytes) -> Response<BoxBody<Bytes, Infallible>> {
    let path = request.uri().path().to_owned();
    let number = |prefix: &str| path.strip_prefix(prefix).and_then(|n| n.parse::<usize>().ok());
    if let Some(len) = number("/large/") {
        let mut response = Response::new(frames(len, &block));
        response.headers_mut().insert("content-length", len.into());
        return response;
    }
    if let Some(len) = number("/chunked/") {
        // No length: hyper frames it with chunked transfer coding.
        return Response::new(frames(len, &block));
    }
    if path == "/upload" {
        let mut body = request.into_body();
        let mut received = 0u64;
        while let Some(Ok(frame)) = body.frame().await {
            received += frame.data_ref().map_or(0, |data| data.len() as u64);
        }
        return Response::new(Full::new(Bytes::from(received.to_string())).boxed());
    }
    Response::new(Full::new(Bytes::from_static(SMALL)).boxed())
}

async fn serve_on<S>(stream: S, block: Bytes)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        let block = block.clone();
        async move { Ok::<_, Infallible>(respond(request, block).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
}

/// Serves HTTP/2 on `stream` (after ALPN chose `h2`).
async fn serve_h2_on<S>(stream: S, block: Bytes)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        let block = block.clone();
        async move { Ok::<_, Infallible>(respond(request, block).await) }
    });
    let mut builder = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new());
    // Streams at once: enough for the bursts of every client (hyper's default is 200).
    builder.max_concurrent_streams(1000);
    let _ = builder.serve_connection(TokioIo::new(stream), service).await;
}

/// Serves plain HTTP and HTTPS (with the identity in `dir`) on 127.0.0.1, prints both ports on
/// stdout, and runs until killed.
pub(crate) fn serve(dir: &Path) {
    let chain = std::fs::read(dir.join("server.pem")).expect("server.pem");
    let key = std::fs::read(dir.join("server.key")).expect("server.key");
    let chain: Vec<_> =
        rustls::pki_types::pem::PemObject::pem_slice_iter(&chain).collect::<Result<_, _>>().expect("chain");
    let key = rustls::pki_types::pem::PemObject::from_pem_slice(&key).expect("key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("certificate");
    let mut h2_config = config.clone();
    h2_config.alpn_protocols = vec![b"h2".to_vec()];
    let h2_acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(h2_config));
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let block = Bytes::from((0..BLOCK).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async move {
        let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let tls = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let h2 = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = |listener: &tokio::net::TcpListener| listener.local_addr().expect("addr").port();
        println!("{} {} {}", port(&plain), port(&tls), port(&h2));
        let h2_block = block.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = h2.accept().await {
                let _ = stream.set_nodelay(true);
                let (acceptor, block) = (h2_acceptor.clone(), h2_block.clone());
                tokio::spawn(async move {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        serve_h2_on(stream, block).await;
                    }
                });
            }
        });
        let plain_block = block.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = plain.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve_on(stream, plain_block.clone()));
            }
        });
        while let Ok((stream, _)) = tls.accept().await {
            let _ = stream.set_nodelay(true);
            let (acceptor, block) = (acceptor.clone(), block.clone());
            tokio::spawn(async move {
                if let Ok(stream) = acceptor.accept(stream).await {
                    serve_on(stream, block).await;
                }
            });
        }
    });
}

/// The server child process; killed on drop.
pub(crate) struct ServerProcess {
    child: Child,
    pub(crate) port: u16,
    pub(crate) tls_port: u16,
    /// HTTPS with ALPN `h2` only: HTTP/2.
    pub(crate) h2_port: u16,
}

impl ServerProcess {
    pub(crate) fn start(dir: &Path) -> Self {
        let exe = std::env::current_exe().expect("current exe");
        let mut child =
            Command::new(exe).arg("--serve").arg(dir).stdout(Stdio::piped()).spawn().expect("start the server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("port line");
        let mut ports = line.split_whitespace().map(|p| p.parse().expect("port"));
        let (port, tls_port) = (ports.next().expect("port"), ports.next().expect("tls port"));
        let h2_port = ports.next().expect("h2 port");
        Self { child, port, tls_port, h2_port }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
