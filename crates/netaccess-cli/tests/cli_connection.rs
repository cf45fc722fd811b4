//! The command's account of connections and time: the summary's connection keys, `-w`, `-v`'s
//! connection story, `-m`, `--resolve` with several addresses and `-4`/`-6`.

use std::process::{Command, Output};

use netaccess_tests::pki::{Pki, Validity};
use netaccess_tests::HttpServer;
use serde_json::Value;

async fn netaccess(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_netaccess")).arg("--no-progress").args(args).output().expect("run netaccess")
    })
    .await
    .unwrap()
}

fn summaries(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_tells_the_connection_its_tls_session_and_the_timings() {
    let pki = Pki::new("netaccess test CA");
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pki.ca_pem()).unwrap();
    let server = HttpServer::start_tls(&pki.server(&["localhost"], Validity::Current)).await;
    let url = server.localhost_url("/hello");
    let args = ["--cacert", &ca.display().to_string(), "--max-host-connections", "1", "--summary", "-"];
    let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    args.extend(["-o".into(), "/dev/null".into(), "-o".into(), "/dev/null".into(), url.clone(), url]);
    let output = netaccess(args).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = summaries(&output);
    let (first, second) = (&lines[0], &lines[1]);
    assert_eq!(first["remote_address"], server.addr.to_string());
    assert_eq!(first["reused"], false);
    assert_eq!(second["reused"], true, "one connection at most: the second request reuses it");
    assert_eq!(first["http_version"], "1.1");
    assert_eq!(first["tls"]["alpn"], "http/1.1");
    assert!(first["tls"]["version"].as_str().unwrap().starts_with("TLS"), "{first}");
    assert!(!first["tls"]["cipher"].as_str().unwrap().is_empty(), "{first}");
    let timings = &first["timings"];
    for key in ["dns_ms", "connect_ms", "tls_ms", "sent_ms", "first_byte_ms", "total_ms"] {
        assert!(timings[key].is_number(), "{key} in {timings}");
    }
    let order: Vec<f64> = ["dns_ms", "connect_ms", "tls_ms", "sent_ms", "first_byte_ms", "total_ms"]
        .iter()
        .map(|key| timings[key].as_f64().unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "phases out of order: {timings}");
    let reused = &second["timings"];
    for key in ["dns_ms", "connect_ms", "tls_ms"] {
        assert!(reused[key].is_null(), "a reused connection has no {key}: {reused}");
    }
    assert!(reused["first_byte_ms"].is_number(), "{reused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_out_prints_curls_variables_after_each_transfer() {
    let server = HttpServer::start().await;
    let format = "%{http_code} %{remote_ip} %{remote_port} %{size_download} %{num_redirects} %{url_effective} %{http_version}\\n";
    let redirect = server.url("/redirect/302?to=/hello");
    let output = netaccess(vec!["-o".into(), "/dev/null".into(), "-w".into(), format.into(), redirect]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let port = server.addr.port();
    let expected = format!("200 127.0.0.1 {port} 13 1 http://127.0.0.1:{port}/hello 1.1\n");
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected);

    let output =
        netaccess(vec!["-o".into(), "/dev/null".into(), "-w".into(), "%{json}".into(), server.url("/hello")]).await;
    let json: Value = serde_json::from_slice(&output.stdout).expect("%{json} is JSON");
    assert_eq!(json["http_code"], 200);
    assert!(json["time_total"].as_f64().unwrap() >= json["time_starttransfer"].as_f64().unwrap(), "{json}");

    let output =
        netaccess(vec!["-o".into(), "/dev/null".into(), "-w".into(), "[%{nope}]".into(), server.url("/hello")]).await;
    assert_eq!(String::from_utf8_lossy(&output.stdout), "[]");
    assert!(stderr(&output).contains("unknown --write-out variable: 'nope'"), "{}", stderr(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_time_ends_a_slow_transfer_with_a_timeout() {
    let server = HttpServer::start().await;
    let args = vec!["-m".into(), "0.3".into(), "--summary".into(), "-".into(), "-o".into(), "/dev/null".into()];
    let output = netaccess([args, vec![server.url("/slow/5000")]].concat()).await;
    assert_eq!(output.status.code(), Some(3), "a timeout is a network error");
    let lines = summaries(&output);
    assert_eq!(lines[0]["error"], "TimeoutError");
    assert!(lines[0]["error_message"].as_str().unwrap().contains("deadline of 300 ms"), "{}", lines[0]);
    assert!(lines[0]["elapsed_ms"].as_u64().unwrap() < 3000, "{}", lines[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_takes_several_addresses_and_verbose_tells_each_attempt() {
    let server = HttpServer::start().await;
    let port = server.addr.port();
    // 127.0.0.2 is loopback too, and nobody listens there on this port: refused at once.
    let resolve = format!("svc.test:{port}:127.0.0.2,127.0.0.1");
    let url = format!("http://svc.test:{port}/hello");
    let output = netaccess(vec!["-v".into(), "--resolve".into(), resolve, "-o".into(), "/dev/null".into(), url]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let story = stderr(&output);
    let trying_first = story.find(&format!("* Trying 127.0.0.2:{port}...")).expect(&story);
    let trying_second = story.find(&format!("* Trying 127.0.0.1:{port}...")).expect(&story);
    let connected = story.find(&format!("* Connected to svc.test (127.0.0.1) port {port}")).expect(&story);
    let request = story.find("> GET /hello HTTP/1.1").expect(&story);
    let response = story.find("< HTTP/1.1 200 OK").expect(&story);
    assert!(trying_first < trying_second && trying_second < connected, "{story}");
    assert!(connected < request && request < response, "{story}");
    assert!(story.contains(&format!("> Host: svc.test:{port}")), "{story}");

    // -6 leaves only IPv4 addresses: no address of the family asked for.
    let resolve = format!("svc.test:{port}:127.0.0.1");
    let args =
        vec!["-6".into(), "--resolve".into(), resolve, "--summary".into(), "-".into(), "-o".into(), "/dev/null".into()];
    let output = netaccess([args, vec![format!("http://svc.test:{port}/hello")]].concat()).await;
    assert_eq!(output.status.code(), Some(3));
    let lines = summaries(&output);
    assert_eq!(lines[0]["error"], "HostNotFoundError");
    assert!(lines[0]["error_message"].as_str().unwrap().contains("family"), "{}", lines[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_is_offered_by_default_and_the_flags_choose_the_protocol() {
    let pki = Pki::new("netaccess test CA");
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pki.ca_pem()).unwrap();
    let server = HttpServer::start_h2(&pki.server(&["localhost"], Validity::Current), 100).await;
    let cleartext = HttpServer::start_h2c(100).await;
    let cases = [
        (vec![], server.localhost_url("/hello"), "2", true),
        (vec!["--http2"], server.localhost_url("/hello"), "2", true),
        (vec!["--http1.1"], server.localhost_url("/hello"), "1.1", true),
        (vec!["--http2-prior-knowledge"], cleartext.url("/hello"), "2", false),
        (vec![], cleartext.url("/hello"), "1.1", false),
    ];
    for (flags, url, version, encrypted) in cases {
        let mut args: Vec<String> = ["--cacert", &ca.display().to_string(), "--summary", "-", "-o", "/dev/null"]
            .iter()
            .map(|a| (*a).to_owned())
            .collect();
        args.extend(flags.iter().map(|f| (*f).to_owned()));
        args.extend(["-w".into(), "%{http_version}\\n".into(), url]);
        let output = netaccess(args).await;
        assert_eq!(output.status.code(), Some(0), "{flags:?}: {}", stderr(&output));
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let summary: Value =
            serde_json::from_str(stdout.lines().find(|l| l.starts_with('{')).expect("a summary")).expect("JSON");
        assert_eq!(summary["http_version"], version, "{flags:?}");
        assert_eq!(summary["encrypted"], encrypted, "{flags:?}");
        assert!(stdout.lines().any(|l| l == version), "-w %{{http_version}} with {flags:?}: {stdout}");
        if encrypted {
            let alpn = if version == "2" { "h2" } else { "http/1.1" };
            assert_eq!(summary["tls"]["alpn"], alpn, "{flags:?}");
        }
    }
    let seen: Vec<String> = server.seen.requests().into_iter().map(|r| r.version).collect();
    assert_eq!(seen, ["HTTP/2.0", "HTTP/2.0", "HTTP/1.1"]);
}
