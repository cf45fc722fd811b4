//! `netaccess-bench`: netaccess next to other clients doing the same work, in one run,
//! contenders interleaved, medians and spreads printed with each contender's ratio to netaccess.
//!
//! Scenarios, against a hyper server in a child process (plain and TLS, certificate from rcgen):
//! - sequential small GETs on one keep-alive connection: netaccess, reqwest, ureq; over TLS:
//!   netaccess, reqwest (req/s, client CPU µs per request);
//! - a large download with Content-Length: netaccess, reqwest, ureq; over TLS: netaccess,
//!   reqwest (MiB/s, client CPU s per GiB);
//! - a file download from the page cache: netaccess's `file:` reply, `tokio::fs`, `std::fs`.
//!
//! `--quick` runs a short version (CI runs it to keep the harness from rotting; the numbers then
//! mean nothing). Run it pinned to one CPU (`taskset -c 0`, as `cargo xtask bench` does) so the
//! small-request figures measure the client, not wake-up latency between cores.

#![forbid(unsafe_code)]

mod measure;
mod server;

use std::io::Read;
use std::sync::Arc;

use measure::{report, sample, Sample};
use netaccess::{NetworkAccessManager, Request, TlsConfig, Trust};
use tokio::io::AsyncReadExt;
use tokio::runtime::Runtime;

/// Downloads `url` with netaccess, chunk by chunk, and returns the byte count.
async fn netaccess_download(manager: &NetworkAccessManager, url: &str) -> u64 {
    let mut reply = manager.get(Request::new(url));
    let mut total = 0u64;
    while let Some(chunk) = reply.chunk().await {
        total += chunk.len() as u64;
    }
    assert!(reply.error().is_none(), "{:?}", reply.error());
    total
}

/// A contender: its name and one run of the scenario's work.
type Contender<'a> = (&'static str, Box<dyn FnMut() + 'a>);

/// Runs every contender `runs` times, interleaved, and prints the table.
fn compare(
    title: &str,
    unit: &str,
    per: &str,
    units: f64,
    cpu_scale: f64,
    runs: usize,
    mut contenders: Vec<Contender<'_>>,
) {
    let mut rows: Vec<(&str, Vec<Sample>)> = contenders.iter().map(|(name, _)| (*name, Vec::new())).collect();
    for _ in 0..runs {
        for ((_, work), (_, samples)) in contenders.iter_mut().zip(rows.iter_mut()) {
            samples.push(sample(work));
        }
    }
    report(title, unit, per, units, cpu_scale, &rows);
}

struct Clients {
    netaccess: NetworkAccessManager,
    reqwest: reqwest::Client,
    reqwest_tls: reqwest::Client,
    ureq: ureq::Agent,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--serve") {
        server::serve(std::path::Path::new(&args[at + 1]));
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");

    let dir = tempfile::tempdir().expect("temp dir");
    let pki = netaccess_tests::Pki::new("netaccess bench CA");
    let identity = pki.server(&["localhost"], netaccess_tests::Validity::Current);
    std::fs::write(dir.path().join("server.pem"), &identity.chain_pem).expect("write");
    std::fs::write(dir.path().join("server.key"), &identity.key_pem).expect("write");
    let server = server::ServerProcess::start(dir.path());

    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der()).expect("root");
    let reqwest_tls_config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    let clients = Clients {
        netaccess: NetworkAccessManager::builder()
            .tls(TlsConfig::default().with_trust(Trust::None).with_ca_certificate(pki.ca_der().to_vec()))
            .build(),
        reqwest: reqwest::Client::new(),
        reqwest_tls: reqwest::Client::builder().use_preconfigured_tls(reqwest_tls_config).build().expect("reqwest"),
        ureq: ureq::Agent::new_with_defaults(),
    };
    let plain = format!("http://127.0.0.1:{}", server.port);
    let tls = format!("https://localhost:{}", server.tls_port);

    let (requests, runs) = if quick { (200, 3) } else { (20_000, 5) };
    small_gets(&runtime, &clients, &plain, false, requests, runs);
    small_gets(&runtime, &clients, &tls, true, requests, runs);
    let (mib, runs) = if quick { (8, 3) } else { (256, 5) };
    large_download(&runtime, &clients, &plain, false, mib, runs);
    large_download(&runtime, &clients, &tls, true, mib, runs);
    file_download(&runtime, quick);
    ftp_download(&runtime, quick);
    if quick {
        println!("\n(--quick: a smoke run; the numbers mean nothing)");
    }
}

fn small_gets(runtime: &Runtime, clients: &Clients, base: &str, tls: bool, requests: u32, runs: usize) {
    let url = format!("{base}/small");
    let mut contenders: Vec<Contender<'_>> = vec![
        (
            "netaccess",
            Box::new(|| {
                runtime.block_on(async {
                    for _ in 0..requests {
                        let body = clients.netaccess.get(Request::new(&url)).bytes().await.expect("netaccess GET");
                        assert_eq!(&body[..], server::SMALL);
                    }
                })
            }),
        ),
        (
            "reqwest",
            Box::new(|| {
                let client = if tls { &clients.reqwest_tls } else { &clients.reqwest };
                runtime.block_on(async {
                    for _ in 0..requests {
                        let body = client.get(&url).send().await.expect("reqwest GET").bytes().await.expect("body");
                        assert_eq!(&body[..], server::SMALL);
                    }
                })
            }),
        ),
    ];
    if !tls {
        contenders.push((
            "ureq",
            Box::new(|| {
                for _ in 0..requests {
                    let mut body = Vec::new();
                    let mut response = clients.ureq.get(&url).call().expect("ureq GET");
                    response.body_mut().as_reader().read_to_end(&mut body).expect("body");
                    assert_eq!(&body[..], server::SMALL);
                }
            }),
        ));
    }
    let over = if tls { " over TLS" } else { "" };
    let title =
        format!("{requests} sequential small GETs on one keep-alive connection{over}, {runs} runs each, interleaved");
    compare(&title, "req/s", "µs/req", f64::from(requests), 1e6, runs, contenders);
}

fn large_download(runtime: &Runtime, clients: &Clients, base: &str, tls: bool, mib: u32, runs: usize) {
    let bytes = u64::from(mib) * 1024 * 1024;
    let url = format!("{base}/large/{bytes}");
    let mut contenders: Vec<Contender<'_>> = vec![
        (
            "netaccess",
            Box::new(|| {
                let total = runtime.block_on(netaccess_download(&clients.netaccess, &url));
                assert_eq!(total, bytes);
            }),
        ),
        (
            "reqwest",
            Box::new(|| {
                let client = if tls { &clients.reqwest_tls } else { &clients.reqwest };
                let total = runtime.block_on(async {
                    let mut response = client.get(&url).send().await.expect("reqwest GET");
                    let mut total = 0u64;
                    while let Some(chunk) = response.chunk().await.expect("chunk") {
                        total += chunk.len() as u64;
                    }
                    total
                });
                assert_eq!(total, bytes);
            }),
        ),
    ];
    if !tls {
        contenders.push((
            "ureq",
            Box::new(|| {
                let mut response = clients.ureq.get(&url).call().expect("ureq GET");
                let mut reader = response.body_mut().with_config().limit(u64::MAX).reader();
                let mut buffer = vec![0u8; 64 * 1024];
                let mut total = 0u64;
                loop {
                    match reader.read(&mut buffer).expect("read") {
                        0 => break,
                        n => total += n as u64,
                    }
                }
                assert_eq!(total, bytes);
            }),
        ));
    }
    let over = if tls { " over TLS" } else { "" };
    let title = format!("{mib} MiB download with Content-Length{over}, {runs} runs each, interleaved");
    compare(&title, "MiB/s", "s/GiB", f64::from(mib), 1024.0, runs, contenders);
}

fn file_download(runtime: &Runtime, quick: bool) {
    let (size_mib, runs) = if quick { (8u32, 3) } else { (256u32, 5) };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("payload.bin");
    let block: Vec<u8> = (0..1024 * 1024).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&path).expect("create");
        for _ in 0..size_mib {
            file.write_all(&block).expect("write");
        }
    }
    let url = format!("file://{}", path.display());
    let expected = u64::from(size_mib) * 1024 * 1024;
    let manager = NetworkAccessManager::new();
    let contenders: Vec<Contender<'_>> = vec![
        (
            "netaccess file:",
            Box::new(|| {
                let total = runtime.block_on(netaccess_download(&manager, &url));
                assert_eq!(total, expected);
            }),
        ),
        (
            "tokio::fs",
            Box::new(|| {
                let total = runtime.block_on(async {
                    let mut file = tokio::fs::File::open(&path).await.expect("open");
                    let mut buffer = vec![0u8; 64 * 1024];
                    let mut total = 0u64;
                    loop {
                        match file.read(&mut buffer).await.expect("read") {
                            0 => return total,
                            n => total += n as u64,
                        }
                    }
                });
                assert_eq!(total, expected);
            }),
        ),
        (
            "std::fs",
            Box::new(|| {
                let mut file = std::fs::File::open(&path).expect("open");
                let mut buffer = vec![0u8; 64 * 1024];
                let mut total = 0u64;
                loop {
                    match file.read(&mut buffer).expect("read") {
                        0 => break,
                        n => total += n as u64,
                    }
                }
                assert_eq!(total, expected);
            }),
        ),
    ];
    let title = format!("file download, {size_mib} MiB from the page cache, {runs} runs each, interleaved");
    compare(&title, "MiB/s", "s/GiB", f64::from(size_mib), 1024.0, runs, contenders);
}

/// A large ftp download from libunftp (in this process) by netaccess and by the curl command.
fn ftp_download(runtime: &Runtime, quick: bool) {
    let (size_mib, runs) = if quick { (8u32, 3) } else { (256u32, 5) };
    let server = runtime.block_on(netaccess_tests::FtpServer::start(None));
    let block: Vec<u8> = (0..1024 * 1024).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    {
        use std::io::Write;
        let mut file = std::fs::File::create(server.root().join("large.bin")).expect("create");
        for _ in 0..size_mib {
            file.write_all(&block).expect("write");
        }
    }
    let url = server.url("", "/large.bin");
    let expected = u64::from(size_mib) * 1024 * 1024;
    let manager = NetworkAccessManager::new();
    let have_curl = std::process::Command::new("curl").arg("--version").output().is_ok_and(|o| o.status.success());
    let mut contenders: Vec<Contender<'_>> = vec![(
        "netaccess ftp:",
        Box::new(|| {
            let total = runtime.block_on(netaccess_download(&manager, &url));
            assert_eq!(total, expected);
        }),
    )];
    if have_curl {
        contenders.push((
            "curl (command)",
            Box::new(|| {
                let output = std::process::Command::new("curl")
                    .args(["-s", "-o", "/dev/null", "-w", "%{size_download}", &url])
                    .output()
                    .expect("curl");
                assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), expected.to_string());
            }),
        ));
    } else {
        println!("\nNOTE: curl is not installed: the ftp table has netaccess alone");
    }
    let title = format!("ftp download, {size_mib} MiB from libunftp on loopback, {runs} runs each, interleaved (curl's CPU is not counted)");
    compare(&title, "MiB/s", "s/GiB", f64::from(size_mib), 1024.0, runs, contenders);
}
