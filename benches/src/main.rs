//! `netaccess-bench`: netaccess next to other clients doing the same work, in one run,
//! contenders interleaved, medians and spreads printed with each contender's rate as a ratio to
//! netaccess's (above 1: faster than netaccess).
//!
//! Scenarios, against a hyper server in a child process (plain and TLS, certificate from rcgen);
//! contenders netaccess, reqwest, ureq, hyper-util (hyper over TLS), and the curl command for
//! the large transfers:
//! - 20,000 sequential small GETs on one keep-alive connection, plain and over TLS;
//! - 50,000 small GETs from 6 concurrent workers;
//! - 2 GiB downloaded as 8 x 256 MiB, with Content-Length and chunked; the same over TLS;
//! - 1 GiB uploaded;
//! - 10,000 GETs issued at once to one host (time and peak memory);
//! - scale: 1,000, 10,000 and 100,000 GETs issued at once through the library (CPU per
//!   request and RSS per queued reply, which should stay flat), and the `netaccess` command
//!   fetching a list of 10,000 URLs beside `curl -Z` (see `scale.rs`);
//! - the peak memory of a fresh process per contender: 1,000 small GETs, then 256 MiB;
//! - a file download from the page cache (`file:`, `tokio::fs`, `std::fs`) and an ftp download;
//! - over HTTP/2 (TLS, ALPN `h2`), beside reqwest and hyper's HTTP/2 connection: 20,000 small
//!   GETs one after another and from 6 workers, 10,000 issued at once, and 4 x 256 MiB
//!   downloaded (netaccess over HTTP/1.1 beside) (see `http2.rs`).
//!
//! `--quick` runs a short version (CI runs it to keep the harness from rotting; the numbers then
//! mean nothing). `--only A,B` runs the named scenarios (`sequential`, `sequential-tls`,
//! `concurrent`, `download`, `download-chunked`, `download-tls`, `upload`, `burst`, `scale`,
//! `footprint`, `file`, `ftp`, `sequential-h2`, `concurrent-h2`, `burst-h2`, `download-h2`);
//! `BENCH_CONTENDER=NAME` keeps the contenders whose name contains NAME, `=NAME` the one named
//! exactly (to profile one alone). The sequential scenarios also run `netaccess+interceptor`,
//! the manager with one interceptor that passes every request on: the chain's cost beside
//! `netaccess`, whose chain is empty. Run it pinned
//! to one CPU (`taskset -c 0`, as `cargo xtask bench` does) so the small-request figures measure
//! the client, not wake-up latency between cores.

#![forbid(unsafe_code)]

mod clients;
mod footprint;
mod http2;
mod local;
mod measure;
mod requests;
mod scale;
mod server;
mod transfers;

use measure::{report, sample, Sample, Units};

/// A contender: its name and one run of the scenario's work.
pub(crate) type Contender<'a> = (&'static str, Box<dyn FnMut() + 'a>);

/// Runs every contender `runs` times, interleaved, and prints the table.
pub(crate) fn compare(title: &str, units: &Units<'_>, runs: usize, contenders: Vec<Contender<'_>>) {
    let measured: Vec<Measured<'_>> = contenders
        .into_iter()
        .map(|(name, mut work)| (name, Box::new(move || sample(&mut work)) as Box<dyn FnMut() -> Sample + '_>))
        .collect();
    compare_measured(title, units, runs, measured);
}

/// A contender that measures itself (in a child process, say): its name and one run.
pub(crate) type Measured<'a> = (&'static str, Box<dyn FnMut() -> Sample + 'a>);

/// [`compare`] for contenders that return their own measurements.
pub(crate) fn compare_measured(title: &str, units: &Units<'_>, runs: usize, mut contenders: Vec<Measured<'_>>) {
    if let Ok(only) = std::env::var("BENCH_CONTENDER") {
        // For profiling one contender alone: `BENCH_CONTENDER=netaccess perf record ...`.
        // `=NAME` keeps that contender alone (`=netaccess` without `netaccess+interceptor`).
        match only.strip_prefix('=') {
            Some(exact) => contenders.retain(|(name, _)| *name == exact),
            None => contenders.retain(|(name, _)| name.contains(only.as_str())),
        }
    }
    if contenders.is_empty() {
        return;
    }
    let mut rows: Vec<(&str, Vec<Sample>)> = contenders.iter().map(|(name, _)| (*name, Vec::new())).collect();
    for _ in 0..runs {
        for ((_, run), (_, samples)) in contenders.iter_mut().zip(rows.iter_mut()) {
            samples.push(run());
        }
    }
    report(title, units, &rows);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--serve") {
        server::serve(std::path::Path::new(&args[at + 1]));
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    if let Some(at) = args.iter().position(|a| a == "--burst-child") {
        requests::burst_child(&args[at + 1..]);
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--command-child") {
        scale::command_child(&args[at + 1..]);
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--footprint-child") {
        footprint::footprint_child(&args[at + 1..]);
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let only = args.iter().position(|a| a == "--only").and_then(|at| args.get(at + 1)).cloned();
    let wanted = |name: &str| only.as_deref().is_none_or(|only| only.split(',').any(|o| o == name));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");

    let dir = tempfile::tempdir().expect("temp dir");
    let pki = netaccess_tests::Pki::new("netaccess bench CA");
    let identity = pki.server(&["localhost"], netaccess_tests::Validity::Current);
    std::fs::write(dir.path().join("server.pem"), &identity.chain_pem).expect("write");
    std::fs::write(dir.path().join("server.key"), &identity.key_pem).expect("write");
    let server = server::ServerProcess::start(dir.path());
    let clients = clients::Clients::new(&pki.ca_der());
    let plain = format!("http://127.0.0.1:{}", server.port);
    let tls = format!("https://localhost:{}", server.tls_port);

    let runs = if quick { 3 } else { 5 };
    let (sequential, concurrent, burst) = if quick { (200, 600, 200) } else { (20_000, 50_000, 10_000) };
    let (downloads, upload_mib) = if quick { ((2, 4), 8) } else { ((8, 256), 1024) };
    if wanted("sequential") {
        requests::sequential(&runtime, &clients, &plain, None, sequential, runs);
    }
    if wanted("sequential-tls") {
        requests::sequential(&runtime, &clients, &tls, Some(server.tls_port), sequential, runs);
    }
    if wanted("concurrent") {
        requests::concurrent(&runtime, &clients, &plain, concurrent, runs);
    }
    if wanted("download") {
        transfers::download(&runtime, &clients, &plain, "large", None, downloads, runs);
    }
    if wanted("download-chunked") {
        transfers::download(&runtime, &clients, &plain, "chunked", None, downloads, runs);
    }
    if wanted("download-tls") {
        transfers::download(
            &runtime,
            &clients,
            &tls,
            "large",
            Some(server.tls_port),
            (downloads.0 / 2, downloads.1),
            runs,
        );
    }
    if wanted("upload") {
        transfers::upload(&runtime, &clients, &plain, upload_mib, runs);
    }
    if wanted("burst") {
        requests::burst(&plain, burst, runs);
    }
    if wanted("scale") {
        let (sizes, listed): (&[u32], u32) =
            if quick { (&[200, 2_000], 300) } else { (&[1_000, 10_000, 100_000], 10_000) };
        scale::library(&plain, sizes, runs);
        scale::command(&plain, listed, runs);
    }
    if wanted("footprint") {
        let (requests, mib) = if quick { (50, 4) } else { (1_000, 256) };
        footprint::footprint(&plain, requests, mib, runs);
    }
    if wanted("file") {
        local::file_download(&runtime, quick);
    }
    if wanted("ftp") {
        local::ftp_download(&runtime, quick);
    }
    if ["sequential-h2", "concurrent-h2", "burst-h2", "download-h2"].into_iter().any(wanted) {
        let h2_clients = http2::H2Clients::new(&pki.ca_der());
        let h2 = http2::Target {
            runtime: &runtime,
            clients: &h2_clients,
            base: format!("https://localhost:{}", server.h2_port),
            port: server.h2_port,
        };
        if wanted("sequential-h2") {
            http2::small(&h2, 1, sequential, runs);
        }
        if wanted("concurrent-h2") {
            http2::small(&h2, 6, concurrent, runs);
        }
        if wanted("burst-h2") {
            http2::burst(&h2, burst, runs);
        }
        if wanted("download-h2") {
            http2::download(&h2, &tls, (downloads.0 / 2, downloads.1), runs);
        }
    }
    if quick {
        println!("\n(--quick: a smoke run; the numbers mean nothing)");
    }
}
