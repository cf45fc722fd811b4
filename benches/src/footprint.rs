//! A client's memory on its own: each run is a fresh child process (`--footprint-child`) that
//! makes one contender's client, sends small GETs one after another, then downloads a large
//! body, and reports the process's peak RSS. Everything the program holds counts (the runtime,
//! the client, its buffers), as a user's program would see it; the in-process scenarios cannot
//! show this, since their contenders share one process and its allocator.

use std::time::Instant;

use crate::clients;
use crate::measure::{cpu_time, peak_rss, sample_in_child, Sample, Units};
use crate::{compare_measured, Measured};

/// The contenders, `requests` small GETs and one `mib` MiB download per run.
pub(crate) fn footprint(base: &str, requests: u32, mib: u64, runs: usize) {
    let small = format!("{base}/small");
    let large = format!("{base}/large/{}", mib * 1024 * 1024);
    let child = |name: &'static str| -> Measured<'_> {
        let (small, large) = (small.clone(), large.clone());
        (name, Box::new(move || sample_in_child(&["--footprint-child", name, &small, &large, &requests.to_string()])))
    };
    let title = format!(
        "peak memory of a fresh process: {requests} sequential small GETs, then {mib} MiB downloaded, \
         {runs} runs each, interleaved"
    );
    let units = Units { rate: "runs/s", per: "ms/run", per_run: 1.0, cpu_scale: 1e3 };
    compare_measured(
        &title,
        &units,
        runs,
        vec![child("netaccess"), child("reqwest"), child("ureq"), child("hyper-util")],
    );
}

/// The child side of [`footprint`]: `NAME SMALL_URL LARGE_URL N`; prints the work's wall and
/// CPU nanoseconds and the whole process's peak RSS in bytes.
pub(crate) fn footprint_child(args: &[String]) {
    let (name, small, large) = (args[0].as_str(), args[1].as_str(), args[2].as_str());
    let requests: u32 = args[3].parse().expect("count");
    let small_len = crate::server::SMALL.len() as u64;
    let (wall, cpu) = (Instant::now(), cpu_time());
    match name {
        "ureq" => {
            let agent = ureq::Agent::new_with_defaults();
            for _ in 0..requests {
                assert_eq!(clients::ureq_get(&agent, small), small_len);
            }
            assert!(clients::ureq_get(&agent, large) > 0);
        }
        _ => {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
            runtime.block_on(async {
                match name {
                    "netaccess" => {
                        let manager = netaccess::NetworkAccessManager::new();
                        for _ in 0..requests {
                            assert_eq!(clients::netaccess_get(&manager, small).await, small_len);
                        }
                        assert!(clients::netaccess_get(&manager, large).await > 0);
                    }
                    "reqwest" => {
                        let client = reqwest::Client::new();
                        for _ in 0..requests {
                            assert_eq!(clients::reqwest_get(&client, small).await, small_len);
                        }
                        assert!(clients::reqwest_get(&client, large).await > 0);
                    }
                    _ => {
                        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                            .build_http();
                        for _ in 0..requests {
                            assert_eq!(clients::hyper_get(&client, small).await, small_len);
                        }
                        assert!(clients::hyper_get(&client, large).await > 0);
                    }
                }
            });
        }
    }
    Sample { wall: wall.elapsed(), cpu: cpu_time().saturating_sub(cpu), peak_rss: peak_rss() }.print();
}
