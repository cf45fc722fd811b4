//! Large-transfer scenarios: downloads with Content-Length and chunked, plain and over TLS, and
//! an upload; the curl command runs beside the libraries on the plain ones.

use tokio::runtime::Runtime;

use crate::clients::{self, Clients, PatternReader};
use crate::measure::Units;
use crate::{compare, Contender};

fn per_gib(mib: u64) -> Units<'static> {
    Units { rate: "MiB/s", per: "s/GiB", per_run: mib as f64, cpu_scale: 1024.0 }
}

/// Whether the curl command can be run (the tables that compare with it leave it out when not).
pub(crate) fn have_curl() -> bool {
    std::process::Command::new("curl").arg("--version").output().is_ok_and(|o| o.status.success())
}

fn curl(args: &[&str]) -> String {
    let output = std::process::Command::new("curl").args(["-s", "--fail"]).args(args).output().expect("curl");
    assert!(output.status.success(), "curl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// `count` downloads of `mib` MiB each, per run; `route` is `large` (Content-Length) or
/// `chunked`; `tls_port` picks TLS.
pub(crate) fn download(
    runtime: &Runtime,
    clients: &Clients,
    base: &str,
    route: &str,
    tls_port: Option<u16>,
    (count, mib): (u64, u64),
    runs: usize,
) {
    let bytes = mib * 1024 * 1024;
    let path = format!("/{route}/{bytes}");
    let url = format!("{base}{path}");
    let mut contenders: Vec<Contender<'_>> = vec![
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
            "reqwest",
            Box::new(|| {
                let client = if tls_port.is_some() { &clients.reqwest_tls } else { &clients.reqwest };
                runtime.block_on(async {
                    for _ in 0..count {
                        assert_eq!(clients::reqwest_get(client, &url).await, bytes);
                    }
                })
            }),
        ),
        (
            "ureq",
            Box::new(|| {
                let agent = if tls_port.is_some() { &clients.ureq_tls } else { &clients.ureq };
                for _ in 0..count {
                    assert_eq!(clients::ureq_get(agent, &url), bytes);
                }
            }),
        ),
    ];
    match tls_port {
        None => contenders.push((
            "hyper-util",
            Box::new(|| {
                runtime.block_on(async {
                    for _ in 0..count {
                        assert_eq!(clients::hyper_get(&clients.hyper, &url).await, bytes);
                    }
                })
            }),
        )),
        Some(port) => contenders.push((
            "hyper (conn)",
            Box::new(move || {
                runtime.block_on(async {
                    let mut sender = clients::hyper_tls_connection(&clients.tls, port).await;
                    for _ in 0..count {
                        assert_eq!(clients::hyper_connection_get(&mut sender, &path).await, bytes);
                    }
                })
            }),
        )),
    }
    if tls_port.is_none() && have_curl() {
        contenders.push((
            "curl (command)",
            Box::new(|| {
                for _ in 0..count {
                    assert_eq!(curl(&["-o", "/dev/null", "-w", "%{size_download}", &url]), bytes.to_string());
                }
            }),
        ));
    }
    let framing = if route == "chunked" { "chunked" } else { "Content-Length" };
    let over = if tls_port.is_some() { " over TLS" } else { "" };
    let curl_note = if tls_port.is_none() { " (curl's CPU is its own process's, not counted)" } else { "" };
    let title = format!(
        "{} MiB downloaded as {count} x {mib} MiB, {framing}{over}, {runs} runs each, interleaved{curl_note}",
        count * mib
    );
    compare(&title, &per_gib(count * mib), runs, contenders);
}

/// One upload of `mib` MiB per run to the counting sink.
pub(crate) fn upload(runtime: &Runtime, clients: &Clients, base: &str, mib: u64, runs: usize) {
    let bytes = mib * 1024 * 1024;
    let url = format!("{base}/upload");
    let expected = bytes.to_string();
    let file = tempfile::NamedTempFile::new().expect("temp file");
    {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(file.as_file());
        let block = vec![7u8; 1024 * 1024];
        for _ in 0..mib {
            out.write_all(&block).expect("write the upload file");
        }
    }
    let file_path = file.path().display().to_string();
    let mut contenders: Vec<Contender<'_>> = vec![
        (
            "netaccess",
            Box::new(|| {
                let body = netaccess::Body::from_stream(
                    futures::StreamExt::map(clients::upload_chunks(bytes), Ok::<_, std::io::Error>),
                    Some(bytes),
                );
                let text = runtime
                    .block_on(async { clients.netaccess.post(netaccess::Request::new(&url), body).text().await });
                assert_eq!(text.expect("netaccess upload"), expected);
            }),
        ),
        (
            "reqwest",
            Box::new(|| {
                let stream = futures::StreamExt::map(clients::upload_chunks(bytes), Ok::<_, std::io::Error>);
                let text = runtime.block_on(async {
                    let body = reqwest::Body::wrap_stream(stream);
                    let request = clients.reqwest.post(&url).header("content-length", bytes).body(body);
                    request.send().await.expect("reqwest upload").text().await.expect("text")
                });
                assert_eq!(text, expected);
            }),
        ),
        (
            "ureq",
            Box::new(|| {
                let mut response = clients
                    .ureq
                    .post(&url)
                    .header("content-length", &expected)
                    .send(ureq::SendBody::from_reader(&mut PatternReader { left: bytes }))
                    .expect("ureq upload");
                assert_eq!(response.body_mut().read_to_string().expect("text"), expected);
            }),
        ),
        (
            "hyper-util",
            Box::new(|| {
                let text = runtime.block_on(async {
                    let request = hyper::Request::post(&url)
                        .header("content-length", bytes)
                        .body(clients::hyper_upload_body(bytes))
                        .expect("request");
                    let body = clients.hyper.request(request).await.expect("hyper upload").into_body();
                    let collected = http_body_util::BodyExt::collect(body).await.expect("body").to_bytes();
                    String::from_utf8_lossy(&collected).into_owned()
                });
                assert_eq!(text, expected);
            }),
        ),
    ];
    if have_curl() {
        contenders.push(("curl (command)", Box::new(|| assert_eq!(curl(&["-T", &file_path, &url]), expected))));
    }
    let title =
        format!("{mib} MiB uploaded, {runs} runs each, interleaved (curl reads a file; its CPU is not counted)");
    compare(&title, &per_gib(mib), runs, contenders);
}
