//! `cargo xtask demo`: the `netaccess` CLI fetching through every scheme it supports, checked
//! and shown as a table. Needs no network: everything it fetches is on this machine, from an
//! HTTP and an HTTPS server (hyper, the test suite's; the HTTPS one with a CA made here by rcgen
//! and passed with `--cacert`), an FTP server (libunftp), a SOCKS5 and an HTTP proxy, all started
//! on loopback, and local files.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::shell::{cargo, run as run_command, target_dir};

/// One CLI run of the demo and what it must give.
struct Case {
    what: &'static str,
    args: Vec<String>,
    /// The error name the transfer must end with, or `None` for success.
    expect_error: Option<&'static str>,
    expect_bytes: Option<u64>,
    /// Whether the reply must come from the cache (`from_cache` in the summary).
    expect_from_cache: bool,
    /// Whether the reply must come over HTTP/2 (`http_version` "2" in the summary).
    expect_http2: bool,
}

pub(crate) fn run() -> Result<(), String> {
    run_command(&mut cargo(&["build", "--quiet", "-p", "netaccess-cli"]))?;
    let cli = target_dir().join("debug").join("netaccess");
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime for the demo server: {e}"))?;
    let server = runtime.block_on(netaccess_tests::HttpServer::start());
    let pki = netaccess_tests::Pki::new("netaccess demo CA");
    let identity = pki.server(&["localhost"], netaccess_tests::Validity::Current);
    let tls_server = runtime.block_on(netaccess_tests::HttpServer::start_tls(&identity));
    let ca_file = dir.path().join("demo-ca.pem");
    std::fs::write(&ca_file, pki.ca_pem()).map_err(|e| format!("cannot write the demo CA: {e}"))?;
    println!("demo: HTTP server on {}, HTTPS server on {}", server.url("/"), tls_server.localhost_url("/"));
    let mut cases = prepare(dir.path())?;
    cases.extend(http_cases(&server));
    server.script("/login", 200, vec![("set-cookie".into(), b"session=demo42; Path=/; Max-Age=600".to_vec())]);
    let jar = dir.path().join("cookies.json").display().to_string();
    for (what, path, bytes) in [("cookie set", "/login", 0), ("cookie sent back", "/cookies", 14)] {
        cases.push(Case {
            what,
            args: vec!["--cookie-jar".into(), jar.clone(), server.url(path), "-o".into(), "/dev/null".into()],
            expect_error: None,
            expect_bytes: Some(bytes),
            expect_from_cache: false,
            expect_http2: false,
        });
    }
    cases.extend(https_cases(&tls_server, &ca_file));
    let h2_server = runtime.block_on(netaccess_tests::HttpServer::start_h2(&identity, 100));
    let h2c_server = runtime.block_on(netaccess_tests::HttpServer::start_h2c(100));
    cases.extend(http2_cases(&h2_server, &h2c_server, &ca_file));
    let origin = runtime.block_on(netaccess_tests::CacheOrigin::start());
    let fresh = serde_json::json!({"response_headers": [["Cache-Control", "max-age=600"]], "response_body": "kept for ten minutes"});
    origin.configure("demo", vec![fresh.clone(), fresh]);
    let cache_dir = dir.path().join("cache").display().to_string();
    for (what, from_cache) in [("http, into the cache", false), ("again, from the cache", true)] {
        cases.push(Case {
            what,
            args: vec![
                "--cache-dir".into(),
                cache_dir.clone(),
                origin.test_url("demo"),
                "-o".into(),
                "/dev/null".into(),
            ],
            expect_error: None,
            expect_bytes: Some(20),
            expect_from_cache: from_cache,
            expect_http2: false,
        });
    }
    let ftp = runtime.block_on(netaccess_tests::FtpServer::start(Some(("demo", "demo"))));
    std::fs::write(ftp.root().join("readme.bin"), vec![42u8; 2 * 1024 * 1024]).map_err(|e| e.to_string())?;
    let ftp_out = |args: Vec<String>| args.into_iter().chain(["-o".to_owned(), "/dev/null".to_owned()]).collect();
    cases.push(Case {
        what: "ftp download",
        args: ftp_out(vec![ftp.url("demo:demo@", "/readme.bin")]),
        expect_error: None,
        expect_bytes: Some(2 * 1024 * 1024),
        expect_from_cache: false,
        expect_http2: false,
    });
    cases.push(Case {
        what: "ftp upload (-T, -u)",
        args: ftp_out(vec![
            "-u".into(),
            "demo:demo".into(),
            "-T".into(),
            dir.path().join("big.bin").display().to_string(),
            ftp.url("", "/"),
        ]),
        expect_error: None,
        expect_bytes: Some(0),
        expect_from_cache: false,
        expect_http2: false,
    });
    cases.push(Case {
        what: "ftp missing file",
        args: ftp_out(vec![ftp.url("demo:demo@", "/nothing.here")]),
        expect_error: Some("ContentNotFoundError"),
        expect_bytes: Some(0),
        expect_from_cache: false,
        expect_http2: false,
    });
    let socks = runtime.block_on(netaccess_tests::TestProxy::socks5(None));
    let http_proxy = runtime.block_on(netaccess_tests::TestProxy::http(None));
    let proxied = |what, proxy: String, url: String, bytes| Case {
        what,
        args: vec![
            "-x".into(),
            proxy,
            "--cacert".into(),
            ca_file.display().to_string(),
            url,
            "-o".into(),
            "/dev/null".into(),
        ],
        expect_error: None,
        expect_bytes: Some(bytes),
        expect_from_cache: false,
        expect_http2: false,
    };
    cases.push(proxied("via SOCKS5 (socks5h)", socks.url("socks5h"), server.url("/hello"), 13));
    cases.push(proxied("https via SOCKS5", socks.url("socks5h"), tls_server.localhost_url("/hello"), 13));
    cases.push(proxied("via HTTP proxy", http_proxy.url("http"), server.url("/hello"), 13));
    cases.push(proxied("https via CONNECT", http_proxy.url("http"), tls_server.localhost_url("/hello"), 13));

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        // A summary of its own per case: a case that writes none cannot pass on another's.
        let summary = dir.path().join(format!("summary-{index}.jsonl"));
        let output = Command::new(&cli)
            .args(&case.args)
            .arg("--no-progress")
            .arg("--summary")
            .arg(&summary)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", cli.display()))?;
        let text = std::fs::read_to_string(&summary).map_err(|e| format!("{}: no summary: {e}", case.what))?;
        if text.lines().count() != 1 {
            failures.push(format!("{}: {} summary lines, expected one", case.what, text.lines().count()));
        }
        // The exit status agrees with the outcome: 0 for a success, the error's group otherwise.
        let exited_ok = output.status.code() == Some(0);
        if exited_ok != case.expect_error.is_none() {
            failures.push(format!(
                "{}: exit {:?} for an expected error {:?} (stderr: {})",
                case.what,
                output.status.code(),
                case.expect_error,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        for line in text.lines() {
            let record: Value =
                serde_json::from_str(line).map_err(|e| format!("{}: bad summary line: {e}", case.what))?;
            let error = record["error"].as_str();
            let bytes = record["bytes"].as_u64().unwrap_or(0);
            let from_cache = record["from_cache"].as_bool() == Some(true);
            let http2 = record["http_version"] == "2";
            if error != case.expect_error
                || case.expect_bytes.is_some_and(|want| want != bytes)
                || from_cache != case.expect_from_cache
                || http2 != case.expect_http2
            {
                failures.push(format!(
                    "{}: got error {error:?}, {bytes} bytes, from_cache {from_cache}, HTTP/2 {http2}, expected {:?}, \
                     {:?} bytes, from_cache {}, HTTP/2 {} (exit {:?}, stderr: {})",
                    case.what,
                    case.expect_error,
                    case.expect_bytes,
                    case.expect_from_cache,
                    case.expect_http2,
                    output.status.code(),
                    String::from_utf8_lossy(&output.stderr).trim()
                ));
            }
            rows.push(row(case.what, &record, output.status.code()));
        }
    }
    print_table(&rows);
    if failures.is_empty() {
        println!("\ndemo: {} transfers, all as expected", rows.len());
        Ok(())
    } else {
        Err(format!("the demo went wrong:\n  {}", failures.join("\n  ")))
    }
}

fn prepare(dir: &Path) -> Result<Vec<Case>, String> {
    let write = |name: &str, data: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, data).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok::<String, String>(file_url(&path))
    };
    let hello = write("hello.txt", b"Hello from netaccess\n")?;
    let big: Vec<u8> = (0..8u32 * 1024 * 1024).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let big_url = write("big.bin", &big)?;
    let upload_target = file_url(&dir.join("uploaded.bin"));
    let s = |v: &str| v.to_owned();
    Ok(vec![
        Case {
            what: "file GET",
            args: vec![hello.clone(), s("-o"), dir.join("out.txt").display().to_string()],
            expect_error: None,
            expect_bytes: Some(21),
            expect_from_cache: false,
            expect_http2: false,
        },
        Case {
            what: "file HEAD",
            args: vec![s("-I"), hello.clone(), s("-o"), s("/dev/null")],
            expect_error: None,
            expect_bytes: Some(0),
            expect_from_cache: false,
            expect_http2: false,
        },
        Case {
            what: "file GET 8 MiB",
            args: vec![big_url.clone(), s("-o"), s("/dev/null")],
            expect_error: None,
            expect_bytes: Some(big.len() as u64),
            expect_from_cache: false,
            expect_http2: false,
        },
        Case {
            what: "file PUT",
            args: vec![s("-T"), dir.join("big.bin").display().to_string(), upload_target],
            expect_error: None,
            expect_bytes: Some(0),
            expect_from_cache: false,
            expect_http2: false,
        },
        Case {
            what: "data plain",
            args: vec![s("data:,Hello%2C%20World"), s("-o"), s("/dev/null")],
            expect_error: None,
            expect_bytes: Some(12),
            expect_from_cache: false,
            expect_http2: false,
        },
        Case {
            what: "data base64",
            args: vec![s("data:text/plain;base64,SGVsbG8sIFdvcmxk"), s("-o"), s("/dev/null")],
            expect_error: None,
            expect_bytes: Some(12),
            expect_from_cache: false,
            expect_http2: false,
        },
        Case {
            what: "missing file",
            args: vec![file_url(&dir.join("missing")), s("-o"), s("/dev/null")],
            expect_error: Some("ContentNotFoundError"),
            expect_bytes: Some(0),
            expect_from_cache: false,
            expect_http2: false,
        },
        Case {
            what: "directory",
            args: vec![file_url(dir), s("-o"), s("/dev/null")],
            expect_error: Some("ContentOperationNotPermittedError"),
            expect_bytes: Some(0),
            expect_from_cache: false,
            expect_http2: false,
        },
        Case {
            what: "unknown scheme",
            args: vec![s("gopher://127.0.0.1/"), s("-o"), s("/dev/null")],
            expect_error: Some("ProtocolUnknownError"),
            expect_bytes: Some(0),
            expect_from_cache: false,
            expect_http2: false,
        },
        Case {
            what: "offline, local ok",
            args: vec![s("--offline"), hello, s("-o"), s("/dev/null")],
            expect_error: None,
            expect_bytes: Some(21),
            expect_from_cache: false,
            expect_http2: false,
        },
    ])
}

fn http_cases(server: &netaccess_tests::HttpServer) -> Vec<Case> {
    let get = |what, path: &str, expect_error, bytes| Case {
        what,
        args: vec![server.url(path), "-o".into(), "/dev/null".into()],
        expect_error,
        expect_bytes: Some(bytes),
        expect_from_cache: false,
        expect_http2: false,
    };
    vec![
        get("http GET", "/hello", None, 13),
        get("http 8 MiB", "/bytes/8388608", None, 8_388_608),
        get("http chunked", "/chunked/1000000", None, 1_000_000),
        get("http gzip", "/gzip/1000000", None, 1_000_000),
        get("http 3 redirects", "/chain/3", None, 12),
        get("http 404", "/status/404", Some("ContentNotFoundError"), 10),
        Case {
            what: "http POST",
            args: vec!["-d".into(), "hello=world".into(), server.url("/echo"), "-o".into(), "/dev/null".into()],
            expect_error: None,
            expect_bytes: Some(11),
            expect_from_cache: false,
            expect_http2: false,
        },
        Case {
            what: "http offline",
            args: vec!["--offline".into(), server.url("/hello"), "-o".into(), "/dev/null".into()],
            expect_error: Some("UnknownNetworkError"),
            expect_bytes: Some(0),
            expect_from_cache: false,
            expect_http2: false,
        },
    ]
}

fn https_cases(server: &netaccess_tests::HttpServer, ca_file: &Path) -> Vec<Case> {
    let ca = ca_file.display().to_string();
    let out = |mut args: Vec<String>| {
        args.extend(["-o".into(), "/dev/null".into()]);
        args
    };
    vec![
        Case {
            what: "https --cacert",
            args: out(vec!["--cacert".into(), ca.clone(), server.localhost_url("/bytes/1048576")]),
            expect_error: None,
            expect_bytes: Some(1_048_576),
            expect_from_cache: false,
            expect_http2: false,
        },
        Case {
            what: "https, CA unknown",
            args: out(vec![server.localhost_url("/hello")]),
            expect_error: Some("SslHandshakeFailedError"),
            expect_bytes: Some(0),
            expect_from_cache: false,
            expect_http2: false,
        },
        Case {
            what: "https -k",
            args: out(vec!["-k".into(), server.localhost_url("/hello")]),
            expect_error: None,
            expect_bytes: Some(13),
            expect_from_cache: false,
            expect_http2: false,
        },
    ]
}

fn http2_cases(
    server: &netaccess_tests::HttpServer,
    cleartext: &netaccess_tests::HttpServer,
    ca_file: &Path,
) -> Vec<Case> {
    let ca = ca_file.display().to_string();
    let case = |what, mut args: Vec<String>, expect_http2| {
        args.extend(["-o".into(), "/dev/null".into()]);
        Case { what, args, expect_error: None, expect_bytes: Some(1_048_576), expect_from_cache: false, expect_http2 }
    };
    vec![
        case(
            "https, HTTP/2 by ALPN",
            vec!["--cacert".into(), ca.clone(), server.localhost_url("/bytes/1048576")],
            true,
        ),
        case(
            "https --http1.1",
            vec!["--http1.1".into(), "--cacert".into(), ca, server.localhost_url("/bytes/1048576")],
            false,
        ),
        case(
            "h2c --http2-prior-knowledge",
            vec!["--http2-prior-knowledge".into(), cleartext.url("/bytes/1048576")],
            true,
        ),
    ]
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn row(what: &str, record: &Value, exit: Option<i32>) -> [String; 6] {
    let what = match record["proxy"].as_str() {
        Some(proxy) => format!("{what} [{proxy}]"),
        None => what.to_owned(),
    };
    let mut outcome = match record["error"].as_str() {
        Some(error) => error.to_owned(),
        None => record["status"].as_u64().map_or_else(|| "ok".to_owned(), |s| s.to_string()),
    };
    if record["from_cache"].as_bool() == Some(true) {
        outcome.push_str(" (cache)");
    }
    if record["http_version"] == "2" {
        outcome.push_str(" (HTTP/2)");
    }
    let sha = record["sha256"].as_str().unwrap_or("").get(..12).unwrap_or("").to_owned();
    [
        what,
        record["operation"].as_str().unwrap_or("?").to_owned(),
        outcome,
        record["bytes"].to_string(),
        sha,
        format!("{} ms, exit {}", record["elapsed_ms"], exit.map_or("?".into(), |c| c.to_string())),
    ]
}

fn print_table(rows: &[[String; 6]]) {
    let header = ["transfer", "op", "outcome", "bytes", "sha256", "time"];
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |cells: [&str; 6]| {
        let padded: Vec<String> = cells.iter().zip(widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        println!("| {} |", padded.join(" | "));
    };
    println!();
    line(header);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    println!("|-{}-|", rule.join("-|-"));
    for row in rows {
        line([&row[0], &row[1], &row[2], &row[3], &row[4], &row[5]]);
    }
}
