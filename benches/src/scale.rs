//! Scale: many requests at once, through the library and through the command.
//!
//! - The library: N GETs of the 13-byte body issued at once to one host (6 connections), N =
//!   1,000, 10,000 and 100,000, each run in a fresh process (`--burst-child`). Printed per N:
//!   wall time, CPU per request, peak RSS, and the RSS each request adds above the smallest N
//!   (what a queued reply costs). Both per-request figures should stay flat as N grows.
//! - The command: `netaccess --url @FILE --output-dir DIR --summary FILE` for 10,000 URLs,
//!   beside `curl -Z --parallel-max 6 --remote-name-all --output-dir DIR -K LIST` on the same
//!   server (curl 7.88 has no `--url @FILE`; `-K` with one `url = ...` line per URL is the
//!   same list). Each run goes through a fresh intermediate process (`--command-child`) that
//!   reports its child's CPU and peak RSS from `getrusage(RUSAGE_CHILDREN)`, so both commands
//!   are measured the same way, whole processes included.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::resource::{getrusage, UsageWho};

use crate::measure::{median, sample_in_child, Sample, Units};
use crate::transfers::have_curl;
use crate::{compare_measured, Measured};

/// The library's table: one row per N.
pub(crate) fn library(base: &str, sizes: &[u32], runs: usize) {
    let url = format!("{base}/small");
    println!(
        "\nGETs issued at once to one host through netaccess (6 connections), a fresh process per run, \
         {runs} runs each"
    );
    println!(
        "{:>8} {:>12} {:>10} {:>14} {:>12} {:>22}",
        "N", "median wall", "req/s", "CPU µs/req", "peak RSS", "KiB/request above N0"
    );
    let mut first: Option<(u32, f64)> = None;
    for &n in sizes {
        let samples: Vec<Sample> =
            (0..runs).map(|_| sample_in_child(&["--burst-child", "netaccess", &url, &n.to_string()])).collect();
        let wall = median(samples.iter().map(|s| s.wall.as_secs_f64()).collect());
        let cpu = median(samples.iter().map(|s| s.cpu.as_secs_f64() * 1e6 / f64::from(n)).collect());
        let rss = median(samples.iter().map(|s| s.peak_rss as f64).collect());
        let slope = match first {
            None => {
                first = Some((n, rss));
                "-".to_owned()
            }
            Some((n0, rss0)) => format!("{:.2}", (rss - rss0) / f64::from(n - n0) / 1024.0),
        };
        println!(
            "{n:>8} {:>11.3}s {:>10.0} {cpu:>14.2} {:>8.1} MiB {slope:>22}",
            wall,
            f64::from(n) / wall,
            rss / (1024.0 * 1024.0)
        );
    }
}

/// The command's table: netaccess and curl fetching the same list of `count` URLs.
pub(crate) fn command(base: &str, count: u32, runs: usize) {
    let program = std::env::current_exe().expect("current exe").with_file_name("netaccess");
    assert!(
        program.exists(),
        "{} is missing: build the command too (cargo build --release -p netaccess-cli; cargo xtask bench does)",
        program.display()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let urls: Vec<String> = (0..count).map(|i| format!("{base}/f/{i}")).collect();
    let list = dir.path().join("urls.txt");
    std::fs::write(&list, urls.iter().map(|u| format!("{u}\n")).collect::<String>()).expect("write the list");
    // A tenth of the list, for what each URL adds to the command's peak RSS.
    let tenth = (count / 10).max(1);
    let short_list = dir.path().join("urls-tenth.txt");
    std::fs::write(&short_list, urls[..tenth as usize].iter().map(|u| format!("{u}\n")).collect::<String>())
        .expect("write the short list");
    let curl_list = dir.path().join("urls.curl");
    let config: String = urls.iter().map(|u| format!("url = \"{u}\"\n")).collect();
    std::fs::write(&curl_list, config).expect("write curl's list");

    let run_number = std::cell::Cell::new(0u32);
    // A fresh output directory for every run: deleting ten thousand files just before a run
    // makes the next run's file creations pay for the discards.
    let fresh_dir = |name: &str| -> PathBuf {
        run_number.set(run_number.get() + 1);
        let out = dir.path().join(format!("{name}-{}", run_number.get()));
        std::fs::create_dir(&out).expect("output dir");
        out
    };
    let netaccess_list = |list: &Path, count: u32| {
        let out = fresh_dir("netaccess");
        let summary = out.with_extension("jsonl");
        let mut args: Vec<String> = vec![program.display().to_string(), "--no-progress".into(), "--url".into()];
        args.push(format!("@{}", list.display()));
        args.extend(["--output-dir".into(), out.display().to_string(), "--summary".into()]);
        args.push(summary.display().to_string());
        let sample = command_sample(&args);
        check_outputs(&out, count);
        sample
    };
    let netaccess_run = || netaccess_list(&list, count);
    let curl_run = || {
        let out = fresh_dir("curl");
        let mut args: Vec<String> =
            ["curl", "-s", "-Z", "--parallel-max", "6", "--remote-name-all", "--output-dir"].map(str::to_owned).into();
        args.push(out.display().to_string());
        args.extend(["-K".into(), curl_list.display().to_string()]);
        let sample = command_sample(&args);
        check_outputs(&out, count);
        sample
    };
    let mut contenders: Vec<Measured<'_>> = vec![("netaccess (command)", Box::new(netaccess_run))];
    if have_curl() {
        contenders.push(("curl -Z (command)", Box::new(curl_run)));
    } else {
        // As the other tables with curl: a comparison contender, not a server the tests need.
        println!("\nNOTE: curl is not installed: the command's scale table has netaccess ALONE, no comparison");
    }
    let title = format!(
        "{count} URLs from a list file, each body saved to its own file, one command run per sample \
         (a fresh process; CPU and peak RSS are the command's own), {runs} runs each, interleaved"
    );
    let units = Units { rate: "URL/s", per: "µs/URL", per_run: f64::from(count), cpu_scale: 1e6 };
    compare_measured(&title, &units, runs, contenders);
    let rss_of =
        |list: &Path, count: u32| median((0..runs).map(|_| netaccess_list(list, count).peak_rss as f64).collect());
    let (short, long) = (rss_of(&short_list, tenth), rss_of(&list, count));
    println!(
        "netaccess (command) peak RSS: {:.1} MiB for {tenth} URLs, {:.1} MiB for {count}: {:.2} KiB per URL between them",
        short / (1024.0 * 1024.0),
        long / (1024.0 * 1024.0),
        (long - short) / f64::from(count - tenth) / 1024.0
    );
}

fn check_outputs(out: &Path, count: u32) {
    let files = std::fs::read_dir(out).map(Iterator::count).unwrap_or(0);
    assert_eq!(files, count as usize, "every body was saved in {}", out.display());
}

/// Runs `args` through a fresh intermediate process, which reports the command's wall time,
/// CPU time and peak RSS.
fn command_sample(args: &[String]) -> Sample {
    let args: Vec<&str> = std::iter::once("--command-child").chain(args.iter().map(String::as_str)).collect();
    sample_in_child(&args)
}

/// The intermediate process of [`command_sample`]: runs `PROGRAM ARGS...`, waits for it, and
/// prints its [`Sample`] from `getrusage(RUSAGE_CHILDREN)` (this process has no other child).
pub(crate) fn command_child(args: &[String]) {
    let started = Instant::now();
    let output = Command::new(&args[0]).args(&args[1..]).output().expect("run the command");
    let wall = started.elapsed();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).expect("getrusage");
    let time = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec().unsigned_abs()) + Duration::from_micros(t.tv_usec().unsigned_abs())
    };
    let cpu = time(usage.user_time()) + time(usage.system_time());
    // ru_maxrss is in KiB on Linux.
    let peak_rss = u64::try_from(usage.max_rss()).unwrap_or(0) * 1024;
    Sample { wall, cpu, peak_rss }.print();
}
