//! Small-request scenarios: sequential GETs on one keep-alive connection, GETs from 6
//! concurrent workers, and a burst of requests issued at once.

use std::sync::Arc;

use futures::future::join_all;
use tokio::runtime::Runtime;

use crate::clients::{self, Clients};

use crate::measure::{sample, sample_in_child, Units};
use crate::{compare, compare_measured, Contender};

fn per_request(count: u32) -> Units<'static> {
    Units { rate: "req/s", per: "µs/req", per_run: f64::from(count), cpu_scale: 1e6 }
}

/// `requests` GETs of the 13-byte body, one after another, on one keep-alive connection.
pub(crate) fn sequential(
    runtime: &Runtime,
    clients: &Clients,
    base: &str,
    tls_port: Option<u16>,
    requests: u32,
    runs: usize,
) {
    let url = format!("{base}/small");
    let small = crate::server::SMALL.len() as u64;
    let mut contenders: Vec<Contender<'_>> = vec![
        (
            "netaccess",
            Box::new(|| {
                runtime.block_on(async {
                    for _ in 0..requests {
                        assert_eq!(clients::netaccess_get(&clients.netaccess, &url).await, small);
                    }
                })
            }),
        ),
        (
            "netaccess+interceptor",
            Box::new(|| {
                runtime.block_on(async {
                    for _ in 0..requests {
                        assert_eq!(clients::netaccess_get(&clients.netaccess_intercepted, &url).await, small);
                    }
                })
            }),
        ),
        (
            "reqwest",
            Box::new(|| {
                let client = if tls_port.is_some() { &clients.reqwest_tls } else { &clients.reqwest };
                runtime.block_on(async {
                    for _ in 0..requests {
                        assert_eq!(clients::reqwest_get(client, &url).await, small);
                    }
                })
            }),
        ),
        (
            "ureq",
            Box::new(|| {
                let agent = if tls_port.is_some() { &clients.ureq_tls } else { &clients.ureq };
                for _ in 0..requests {
                    assert_eq!(clients::ureq_get(agent, &url), small);
                }
            }),
        ),
    ];
    match tls_port {
        None => contenders.push((
            "hyper-util",
            Box::new(|| {
                runtime.block_on(async {
                    for _ in 0..requests {
                        assert_eq!(clients::hyper_get(&clients.hyper, &url).await, small);
                    }
                })
            }),
        )),
        Some(port) => contenders.push((
            "hyper (conn)",
            Box::new(move || {
                runtime.block_on(async {
                    let mut sender = clients::hyper_tls_connection(&clients.tls, port).await;
                    for _ in 0..requests {
                        assert_eq!(clients::hyper_connection_get(&mut sender, "/small").await, small);
                    }
                })
            }),
        )),
    }
    let over = if tls_port.is_some() { " over TLS" } else { "" };
    let title =
        format!("{requests} sequential small GETs on one keep-alive connection{over}, {runs} runs each, interleaved");
    compare(&title, &per_request(requests), runs, contenders);
}

/// `requests` GETs of the 13-byte body from 6 workers at once (6 connections).
pub(crate) fn concurrent(runtime: &Runtime, clients: &Clients, base: &str, requests: u32, runs: usize) {
    const WORKERS: u32 = 6;
    let url = Arc::new(format!("{base}/small"));
    let each = requests / WORKERS;
    let small = crate::server::SMALL.len() as u64;
    let contenders: Vec<Contender<'_>> = vec![
        (
            "netaccess",
            Box::new(|| {
                runtime.block_on(async {
                    join_all((0..WORKERS).map(|_| {
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
                    join_all((0..WORKERS).map(|_| {
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
            "ureq",
            Box::new(|| {
                std::thread::scope(|scope| {
                    for _ in 0..WORKERS {
                        scope.spawn(|| {
                            for _ in 0..each {
                                assert_eq!(clients::ureq_get(&clients.ureq, &url), small);
                            }
                        });
                    }
                });
            }),
        ),
        (
            "hyper-util",
            Box::new(|| {
                runtime.block_on(async {
                    join_all((0..WORKERS).map(|_| {
                        let (client, url) = (clients.hyper.clone(), url.clone());
                        tokio::spawn(async move {
                            for _ in 0..each {
                                assert_eq!(clients::hyper_get(&client, &url).await, small);
                            }
                        })
                    }))
                    .await
                });
            }),
        ),
    ];
    let title =
        format!("{} small GETs from {WORKERS} concurrent workers, {runs} runs each, interleaved", each * WORKERS);
    compare(&title, &per_request(each * WORKERS), runs, contenders);
}

/// `requests` GETs issued at once to one host: what a queued reply costs in time and memory.
/// Each run is a fresh child process (`--burst-child`), so its peak RSS is that contender's
/// alone: the runtime, the client, and everything the burst held at once. ureq has no
/// asynchronous API to issue them at once, and is left out.
pub(crate) fn burst(base: &str, requests: u32, runs: usize) {
    let url = format!("{base}/small");
    let child = |name: &'static str| -> crate::Measured<'_> {
        let url = url.clone();
        (name, Box::new(move || sample_in_child(&["--burst-child", name, &url, &requests.to_string()])))
    };
    let title = format!(
        "{requests} GETs issued at once to one host, a fresh process per run (total time = {requests} / rate), \
         {runs} runs each, interleaved"
    );
    compare_measured(
        &title,
        &per_request(requests),
        runs,
        vec![child("netaccess"), child("reqwest"), child("hyper-util")],
    );
}

/// The child side of [`burst`]: `NAME URL N`; prints wall and CPU nanoseconds and the peak RSS
/// in bytes of the burst, with the client made fresh in this process.
pub(crate) fn burst_child(args: &[String]) {
    let (name, url, requests) = (args[0].as_str(), args[1].as_str(), args[2].parse::<u32>().expect("count"));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let small = crate::server::SMALL.len() as u64;
    let measured = match name {
        "netaccess" => {
            let manager = netaccess::NetworkAccessManager::new();
            sample(|| {
                let replies = runtime.block_on(join_all((0..requests).map(|_| clients::netaccess_get(&manager, url))));
                assert!(replies.iter().all(|n| *n == small));
            })
        }
        "reqwest" => {
            let client = reqwest::Client::new();
            sample(|| {
                let replies = runtime.block_on(join_all((0..requests).map(|_| clients::reqwest_get(&client, url))));
                assert!(replies.iter().all(|n| *n == small));
            })
        }
        _ => {
            let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
            sample(|| {
                let replies = runtime.block_on(join_all((0..requests).map(|_| clients::hyper_get(&client, url))));
                assert!(replies.iter().all(|n| *n == small));
            })
        }
    };
    measured.print();
}
