//! `netaccess-bench`: transfers timed side by side in one run, contenders interleaved, medians
//! and spreads printed with each contender's ratio to netaccess.
//!
//! Today it measures the local `file:` scheme: netaccess's streaming reply against reading the
//! same file with `tokio::fs` and with `std::fs`. `--quick` runs a short version (CI runs it to
//! keep the harness from rotting; the numbers then mean nothing).

#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use netaccess::{NetworkAccessManager, Request};
use tokio::io::AsyncReadExt;

/// Process CPU time (user + system) from `/proc/self/stat`, in clock ticks of 10 ms.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after_name.split_whitespace().filter_map(|f| f.parse().ok()).collect();
    // After the name: state (not numeric, skipped by the parse), then ppid.. ; utime and stime
    // are fields 14 and 15 of the line, which are 11 and 12 of the numeric fields here.
    let ticks = fields.get(10).copied().unwrap_or(0) + fields.get(11).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

struct Sample {
    wall: Duration,
    cpu: Duration,
}

async fn netaccess_file(manager: &NetworkAccessManager, url: &str) -> u64 {
    let mut reply = manager.get(Request::new(url));
    let mut total = 0u64;
    while let Some(chunk) = reply.chunk().await {
        total += chunk.len() as u64;
    }
    assert!(reply.error().is_none(), "{:?}", reply.error());
    total
}

async fn tokio_file(path: &std::path::Path) -> u64 {
    let mut file = tokio::fs::File::open(path).await.expect("open");
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buffer).await.expect("read");
        if n == 0 {
            return total;
        }
        total += n as u64;
    }
}

fn std_file(path: &std::path::Path) -> u64 {
    use std::io::Read;
    let mut file = std::fs::File::open(path).expect("open");
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buffer).expect("read");
        if n == 0 {
            return total;
        }
        total += n as u64;
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (size_mib, runs) = if quick { (8u64, 3) } else { (256u64, 7) };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("payload.bin");
    let block: Vec<u8> = (0..1024 * 1024)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&path).expect("create");
        for _ in 0..size_mib {
            file.write_all(&block).expect("write");
        }
    }
    let url = format!("file://{}", path.display());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let manager = NetworkAccessManager::new();
    let contenders = ["netaccess file:", "tokio::fs", "std::fs"];
    let mut samples: Vec<Vec<Sample>> = contenders.iter().map(|_| Vec::new()).collect();
    let expected = size_mib * 1024 * 1024;
    for _ in 0..runs {
        for (index, samples) in samples.iter_mut().enumerate() {
            let (wall0, cpu0) = (Instant::now(), cpu_time());
            let bytes = match index {
                0 => runtime.block_on(netaccess_file(&manager, &url)),
                1 => runtime.block_on(tokio_file(&path)),
                _ => std_file(&path),
            };
            assert_eq!(bytes, expected);
            samples.push(Sample {
                wall: wall0.elapsed(),
                cpu: cpu_time().saturating_sub(cpu0),
            });
        }
    }
    println!(
        "file download, {size_mib} MiB from the page cache, {runs} runs each, interleaved{}",
        if quick {
            " (--quick: numbers not meaningful)"
        } else {
            ""
        }
    );
    println!(
        "{:<18} {:>12} {:>20} {:>12} {:>10}",
        "contender", "median MiB/s", "min-max MiB/s", "CPU s/GiB", "ratio"
    );
    let throughput = |s: &Sample| size_mib as f64 / s.wall.as_secs_f64();
    let base = median(samples[0].iter().map(throughput).collect());
    for (name, samples) in contenders.iter().zip(&samples) {
        let rates: Vec<f64> = samples.iter().map(throughput).collect();
        let (min, max) = rates
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
        let cpu_per_gib = median(
            samples
                .iter()
                .map(|s| s.cpu.as_secs_f64() * 1024.0 / size_mib as f64)
                .collect(),
        );
        let rate = median(rates);
        println!(
            "{name:<18} {rate:>12.0} {:>20} {cpu_per_gib:>12.2} {:>9.2}x",
            format!("{min:.0}-{max:.0}"),
            rate / base
        );
    }
}
