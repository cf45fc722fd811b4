//! The contenders, each set up and driven the way its users drive it: netaccess through its
//! facade with the default configuration (events, cookie jar and all), reqwest's `Client`,
//! ureq's `Agent`, hyper-util's pooled client (plain) and a hyper connection over tokio-rustls
//! (TLS, as hyper users without hyper-rustls write it).

use std::convert::Infallible;
use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{combinators::BoxBody, BodyExt, Empty, StreamBody};
use hyper::body::Frame;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use netaccess::{NetworkAccessManager, Request, TlsConfig, Trust};

/// A body for hyper: boxed, so one client type serves GETs and uploads.
pub(crate) type HyperBody = BoxBody<Bytes, Infallible>;

/// Every client, built once and reused across runs (connections stay pooled).
pub(crate) struct Clients {
    pub(crate) netaccess: NetworkAccessManager,
    /// The same manager with one interceptor that passes every request on: the cost of the
    /// chain (`netaccess::Interceptor`).
    pub(crate) netaccess_intercepted: NetworkAccessManager,
    pub(crate) reqwest: reqwest::Client,
    pub(crate) reqwest_tls: reqwest::Client,
    pub(crate) ureq: ureq::Agent,
    pub(crate) ureq_tls: ureq::Agent,
    pub(crate) hyper: hyper_util::client::legacy::Client<HttpConnector, HyperBody>,
    pub(crate) tls: tokio_rustls::TlsConnector,
}

impl Clients {
    /// Clients that trust `ca` (DER) for TLS.
    pub(crate) fn new(ca: &[u8]) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(rustls::pki_types::CertificateDer::from(ca.to_vec())).expect("root");
        let rustls_config =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
        let ureq_roots =
            ureq::tls::RootCerts::Specific(Arc::new(vec![ureq::tls::Certificate::from_der(ca).to_owned()]));
        let ureq_tls = ureq::config::Config::builder()
            .tls_config(ureq::tls::TlsConfig::builder().root_certs(ureq_roots).build())
            .build();
        Self {
            netaccess: NetworkAccessManager::builder()
                .tls(TlsConfig::default().with_trust(Trust::None).with_ca_certificate(ca.to_vec()))
                .build(),
            netaccess_intercepted: NetworkAccessManager::builder()
                .tls(TlsConfig::default().with_trust(Trust::None).with_ca_certificate(ca.to_vec()))
                .interceptor(PassOn)
                .build(),
            reqwest: reqwest::Client::new(),
            reqwest_tls: reqwest::Client::builder()
                .use_preconfigured_tls(rustls_config.clone())
                .build()
                .expect("reqwest"),
            ureq: ureq::Agent::new_with_defaults(),
            ureq_tls: ureq::Agent::new_with_config(ureq_tls),
            hyper: hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http(),
            tls: tokio_rustls::TlsConnector::from(Arc::new(rustls_config)),
        }
    }
}

/// The whole body of a netaccess GET.
/// An interceptor that hands every request on unchanged.
struct PassOn;

impl netaccess::Interceptor for PassOn {
    fn create_request(
        &self,
        request: Request,
        operation: netaccess::Operation,
        body: netaccess::Body,
        next: netaccess::Next<'_>,
    ) -> netaccess::Reply {
        next.send(request, operation, body)
    }
}

pub(crate) async fn netaccess_get(manager: &NetworkAccessManager, url: &str) -> u64 {
    let mut reply = manager.get(Request::new(url));
    let mut total = 0u64;
    while let Some(chunk) = reply.chunk().await {
        total += chunk.len() as u64;
    }
    assert!(reply.error().is_none(), "{:?}", reply.error());
    total
}

pub(crate) async fn reqwest_get(client: &reqwest::Client, url: &str) -> u64 {
    let mut response = client.get(url).send().await.expect("reqwest GET");
    let mut total = 0u64;
    while let Some(chunk) = response.chunk().await.expect("chunk") {
        total += chunk.len() as u64;
    }
    total
}

pub(crate) fn ureq_get(agent: &ureq::Agent, url: &str) -> u64 {
    let mut response = agent.get(url).call().expect("ureq GET");
    let mut reader = response.body_mut().with_config().limit(u64::MAX).reader();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        match reader.read(&mut buffer).expect("read") {
            0 => return total,
            n => total += n as u64,
        }
    }
}

pub(crate) async fn hyper_get(client: &hyper_util::client::legacy::Client<HttpConnector, HyperBody>, url: &str) -> u64 {
    let request = hyper::Request::get(url).body(Empty::new().boxed()).expect("request");
    let mut body = client.request(request).await.expect("hyper GET").into_body();
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        total += frame.expect("frame").data_ref().map_or(0, |d| d.len() as u64);
    }
    total
}

/// One hyper HTTP/1.1 connection over TLS to `localhost:port`.
pub(crate) async fn hyper_tls_connection(
    connector: &tokio_rustls::TlsConnector,
    port: u16,
) -> hyper::client::conn::http1::SendRequest<HyperBody> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let _ = tcp.set_nodelay(true);
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let tls = connector.connect(name, tcp).await.expect("handshake");
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.expect("http1");
    tokio::spawn(connection);
    sender
}

/// A GET of `path` on a hyper connection.
pub(crate) async fn hyper_connection_get(
    sender: &mut hyper::client::conn::http1::SendRequest<HyperBody>,
    path: &str,
) -> u64 {
    sender.ready().await.expect("ready");
    let request = hyper::Request::get(path).header("host", "localhost").body(Empty::new().boxed()).expect("request");
    let mut body = sender.send_request(request).await.expect("hyper GET").into_body();
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        total += frame.expect("frame").data_ref().map_or(0, |d| d.len() as u64);
    }
    total
}

/// `len` bytes of upload as 1 MiB pieces of one buffer, for the streaming uploaders.
pub(crate) fn upload_chunks(len: u64) -> impl futures::Stream<Item = Bytes> + Send + 'static {
    let block = Bytes::from(vec![7u8; 1024 * 1024]);
    let pieces = len.div_ceil(block.len() as u64);
    futures::stream::iter(0..pieces).map(move |i| {
        let left = len - i * block.len() as u64;
        block.slice(..usize::try_from(left.min(block.len() as u64)).unwrap_or(block.len()))
    })
}

pub(crate) fn hyper_upload_body(len: u64) -> HyperBody {
    BodyExt::boxed(StreamBody::new(upload_chunks(len).map(|b| Ok::<_, Infallible>(Frame::data(b)))))
}

/// A `Read` of `len` bytes of the same pattern, for ureq's upload.
pub(crate) struct PatternReader {
    pub(crate) left: u64,
}

impl Read for PatternReader {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let n = usize::try_from(self.left.min(buffer.len() as u64)).unwrap_or(buffer.len());
        buffer[..n].fill(7);
        self.left -= n as u64;
        Ok(n)
    }
}
