//! `netaccess-bench`: netaccess next to other clients doing the same work, in one run,
//! contenders interleaved, medians and spreads printed with each contender's ratio to netaccess.
//!
//! Scenarios:
//! - sequential small GETs on one keep-alive connection against a hyper server in a child
//!   process: netaccess, reqwest, ureq (req/s, client CPU µs per request);
//! - a file download from the page cache: netaccess's `file:` reply, `tokio::fs`, `std::fs`.
//!
//! `--quick` runs a short version (CI runs it to keep the harness from rotting; the numbers then
//! mean nothing). Run it pinned to one CPU (`taskset -c 0`, as `cargo xtask bench` does) so the
//! small-request figures measure the client, not wake-up latency between cores.

#![forbid(unsafe_code)]

mod measure;
mod server;

use std::io::Read;

use measure::{report, sample, Sample};
use netaccess::{NetworkAccessManager, Request};
use tokio::io::AsyncReadExt;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--serve") {
        server::serve();
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    small_gets(&runtime, quick);
    file_download(&runtime, quick);
    if quick {
        println!("\n(--quick: a smoke run; the numbers mean nothing)");
    }
}

fn small_gets(runtime: &tokio::runtime::Runtime, quick: bool) {
    let (requests, runs) = if quick { (200, 3) } else { (20_000, 5) };
    let server = server::ServerProcess::start();
    let url = format!("http://127.0.0.1:{}/small", server.port);
    let manager = NetworkAccessManager::new();
    let reqwest = reqwest::Client::new();
    let ureq = ureq::Agent::new_with_defaults();
    let mut rows: Vec<(&str, Vec<Sample>)> = vec![("netaccess", vec![]), ("reqwest", vec![]), ("ureq", vec![])];
    for _ in 0..runs {
        rows[0].1.push(sample(|| {
            runtime.block_on(async {
                for _ in 0..requests {
                    let body = manager.get(Request::new(&url)).bytes().await.expect("netaccess GET");
                    assert_eq!(&body[..], server::SMALL);
                }
            })
        }));
        rows[1].1.push(sample(|| {
            runtime.block_on(async {
                for _ in 0..requests {
                    let body = reqwest.get(&url).send().await.expect("reqwest GET").bytes().await.expect("body");
                    assert_eq!(&body[..], server::SMALL);
                }
            })
        }));
        rows[2].1.push(sample(|| {
            for _ in 0..requests {
                let mut body = Vec::new();
                ureq.get(&url).call().expect("ureq GET").body_mut().as_reader().read_to_end(&mut body).expect("body");
                assert_eq!(&body[..], server::SMALL);
            }
        }));
    }
    let title = format!("{requests} sequential small GETs on one keep-alive connection, {runs} runs each, interleaved");
    report(&title, "req/s", "µs/req", f64::from(requests), 1e6, &rows);
}

fn file_download(runtime: &tokio::runtime::Runtime, quick: bool) {
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
    let mut rows: Vec<(&str, Vec<Sample>)> =
        vec![("netaccess file:", vec![]), ("tokio::fs", vec![]), ("std::fs", vec![])];
    for _ in 0..runs {
        rows[0].1.push(sample(|| {
            let total = runtime.block_on(async {
                let mut reply = manager.get(Request::new(&url));
                let mut total = 0u64;
                while let Some(chunk) = reply.chunk().await {
                    total += chunk.len() as u64;
                }
                total
            });
            assert_eq!(total, expected);
        }));
        rows[1].1.push(sample(|| {
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
        }));
        rows[2].1.push(sample(|| {
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
        }));
    }
    let title = format!("file download, {size_mib} MiB from the page cache, {runs} runs each, interleaved");
    report(&title, "MiB/s", "s/GiB", f64::from(size_mib), 1024.0, &rows);
}
