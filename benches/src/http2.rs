//! HTTP/2 scenarios, over TLS with ALPN `h2` against hyper's HTTP/2 server: small GETs one
//! after another and from 6 workers, 10,000 GETs issued at once, and bulk downloads (netaccess
//! over HTTP/2 beside netaccess over HTTP/1.1 on the same TLS). Contenders: netaccess,
//! reqwest with HTTP/2, and hyper's HTTP/2 connection over tokio-rustls. Every client holds one
//! connection; ureq speaks no HTTP/2.

use std::sync::Arc;

use futures::future::join_all;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use netaccess::{NetworkAccessManager, TlsConfig, Trust};
use tokio::runtime::Runtime;

use crate::clients::{self, HyperBody};
use crate::measure::Units;
use crate::{compare, Contender};

/// The HTTP/2 clients.
pub(crate) struct H2Clients {
    netaccess: NetworkAccessManager,
    reqwest: reqwest::Client,
    tls: tokio_rustls::TlsConnector,
}

impl H2Clients {
    pub(crate) fn new(ca: &[u8]) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(rustls::pki_types::CertificateDer::from(ca.to_vec())).expect("root");
        let mut config =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec()];
        Self {
            netaccess: NetworkAccessManager::builder()
                .tls(TlsConfig::default().with_trust(Trust::None).with_ca_certificate(ca.to_vec()))
                .build(),
            reqwest: reqwest::Client::builder()
                .use_preconfigured_tls(config.clone())
                .http2_prior_knowledge()
                .build()
                .expect("reqwest"),
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
        }
    }
}

/// One hyper HTTP/2 connection over TLS to `localhost:port`.
async fn hyper_h2_connection(
    connector: &tokio_rustls::TlsConnector,
    port: u16,
) -> hyper::client::conn::http2::SendRequest<HyperBody> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let _ = tcp.set_nodelay(true);
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let tls = connector.connect(name, tcp).await.expect("handshake");
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls)).await.expect("h2");
    tokio::spawn(connection);
    sender
}

/// A GET of `url` as one stream of a hyper HTTP/2 connection.
async fn hyper_h2_get(mut sender: hyper::client::conn::http2::SendRequest<HyperBody>, url: &str) -> u64 {
    sender.ready().await.expect("ready");
    let request = hyper::Request::get(url).body(Empty::new().boxed()).expect("request");
    let mut body = sender.send_request(request).await.expect("hyper GET").into_body();
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        total += frame.expect("frame").data_ref().map_or(0, |d| d.len() as u64);
    }
    total
}

fn per_request(count: u32) -> Units<'static> {
    Units { rate: "req/s", per: "µs/req", per_run: f64::from(count), cpu_scale: 1e6 }
}

/// Where the HTTP/2 scenarios go.
pub(crate) struct Target<'a> {
    pub(crate) runtime: &'a Runtime,
    pub(crate) clients: &'a H2Clients,
    /// `https://localhost:PORT`, speaking HTTP/2.
    pub(crate) base: String,
    pub(crate) port: u16,
}

/// `requests` small GETs, `workers` at a time (1: one after another), on one connection each.
pub(crate) fn small(target: &Target<'_>, workers: u32, requests: u32, runs: usize) {
    let Target { runtime, clients, base, port } = target;
    let url = Arc::new(format!("{base}/small"));
    let each = requests / workers;
    let small = crate::server::SMALL.len() as u64;
    let hyper = runtime.block_on(hyper_h2_connection(&clients.tls, *port));
    let contenders: Vec<Contender<'_>> = vec![
        (
            "netaccess",
            Box::new(|| {
                runtime.block_on(async {
                    join_all((0..workers).map(|_| {
                        let (manager, url) = (clients.netaccess.clone(), url.clone());
                        tokio::spawn(async move {
                            for _ in 0..each {
                                assert_eq!(clients::netaccess_get(&manager, &url).await, small);
                            }
                        })
                    }))
                    .await
                });
            }),
        ),
        (
            "reqwest",
            Box::new(|| {
                runtime.block_on(async {
                    join_all((0..workers).map(|_| {
                        let (client, url) = (clients.reqwest.clone(), url.clone());
                        tokio::spawn(async move {
                            for _ in 0..each {
                                assert_eq!(clients::reqwest_get(&client, &url).await, small);
                            }
                        })
                    }))
                    .await
                });
            }),
        ),
        (
            "hyper (h2 conn)",
            Box::new(|| {
                runtime.block_on(async {
                    join_all((0..workers).map(|_| {
                        let (sender, url) = (hyper.clone(), url.clone());
                        tokio::spawn(async move {
                            for _ in 0..each {
                                assert_eq!(hyper_h2_get(sender.clone(), &url).await, small);
                            }
                        })
                    }))
                    .await
                });
            }),
        ),
    ];
    let how = if workers == 1 { "one after another".to_owned() } else { format!("from {workers} workers") };
    let title =
        format!("{} small GETs {how} over HTTP/2 (one connection), {runs} runs each, interleaved", each * workers);
    compare(&title, &per_request(each * workers), runs, contenders);
}

/// `requests` GETs issued at once over HTTP/2: what multiplexing a burst costs.
pub(crate) fn burst(target: &Target<'_>, requests: u32, runs: usize) {
    let Target { runtime, clients, base, port } = target;
    let url = format!("{base}/small");
    let small = crate::server::SMALL.len() as u64;
    let hyper = runtime.block_on(hyper_h2_connection(&clients.tls, *port));
    let contenders: Vec<Contender<'_>> = vec![
        (
            "netaccess",
            Box::new(|| {
                let replies =
                    runtime.block_on(join_all((0..requests).map(|_| clients::netaccess_get(&clients.netaccess, &url))));
                assert!(replies.iter().all(|n| *n == small));
            }),
        ),
        (
            "reqwest",
            Box::new(|| {
                let replies =
                    runtime.block_on(join_all((0..requests).map(|_| clients::reqwest_get(&clients.reqwest, &url))));
                assert!(replies.iter().all(|n| *n == small));
            }),
        ),
        (
            "hyper (h2 conn)",
            Box::new(|| {
                let replies = runtime.block_on(join_all((0..requests).map(|_| hyper_h2_get(hyper.clone(), &url))));
                assert!(replies.iter().all(|n| *n == small));
            }),
        ),
    ];
    let title = format!("{requests} GETs issued at once over HTTP/2 (one connection), {runs} runs each, interleaved");
    compare(&title, &per_request(requests), runs, contenders);
}

/// `count` downloads of `mib` MiB each over HTTP/2, and netaccess over HTTP/1.1 on TLS beside.
pub(crate) fn download(target: &Target<'_>, http1_base: &str, (count, mib): (u64, u64), runs: usize) {
    let Target { runtime, clients, base, port } = target;
    let bytes = mib * 1024 * 1024;
    let url = format!("{base}/large/{bytes}");
    let http1_url = format!("{http1_base}/large/{bytes}");
    let hyper = runtime.block_on(hyper_h2_connection(&clients.tls, *port));
    let contenders: Vec<Contender<'_>> = vec![
        (
            "netaccess",
            Box::new(|| {
                runtime.block_on(async {
                    for _ in 0..count {
                        assert_eq!(clients::netaccess_get(&clients.netaccess, &url).await, bytes);
                    }
                })
            }),
        ),
        (
            "netaccess HTTP/1.1",
            Box::new(|| {
                runtime.block_on(async {
                    for _ in 0..count {
                        assert_eq!(clients::netaccess_get(&clients.netaccess, &http1_url).await, bytes);
                    }
                })
            }),
        ),
        (
            "reqwest",
            Box::new(|| {
                runtime.block_on(async {
                    for _ in 0..count {
                        assert_eq!(clients::reqwest_get(&clients.reqwest, &url).await, bytes);
                    }
                })
            }),
        ),
        (
            "hyper (h2 conn)",
            Box::new(|| {
                runtime.block_on(async {
                    for _ in 0..count {
                        assert_eq!(hyper_h2_get(hyper.clone(), &url).await, bytes);
                    }
                })
            }),
        ),
    ];
    let units = Units { rate: "MiB/s", per: "s/GiB", per_run: (count * mib) as f64, cpu_scale: 1024.0 };
    let title = format!("{count} x {mib} MiB downloaded over HTTP/2 on TLS, {runs} runs each, interleaved");
    compare(&title, &units, runs, contenders);
}
