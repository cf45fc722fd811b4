//! curl's everyday flags, each against a real server that records what it saw: -L, -s/-S, -f,
//! -O/-J, --create-dirs, -A/-e/-r/-D, -F, --json, -G and --data-urlencode, --data-raw, -T -,
//! -C -, --retry, --netrc-file, --version, completions.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use netaccess_tests::HttpServer;
use serde_json::Value;

async fn netaccess(args: Vec<String>) -> Output {
    netaccess_in(args, None, None).await
}

/// Runs the command in `dir` (the current directory when `None`), with `stdin` piped in.
async fn netaccess_in(args: Vec<String>, dir: Option<std::path::PathBuf>, stdin: Option<Vec<u8>>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_netaccess"));
        command.arg("--no-progress").args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        command.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        let mut child = command.spawn().expect("run netaccess");
        if let Some(bytes) = stdin {
            let mut pipe = child.stdin.take().expect("stdin");
            pipe.write_all(&bytes).expect("write stdin");
        }
        child.wait_with_output().expect("wait for netaccess")
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| (*a).to_owned()).collect()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The summary line's `headers` as (name, value) pairs.
fn header(summary: &Value, name: &str) -> Option<String> {
    summary["headers"]
        .as_array()?
        .iter()
        .find(|pair| pair[0].as_str() == Some(name))
        .and_then(|pair| pair[1].as_str().map(str::to_owned))
}

fn summary_line(output: &Output) -> Value {
    let text = stdout(output);
    let line = text.lines().last().unwrap_or_else(|| panic!("no summary; stderr: {}", stderr(output)));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_location_and_fail_behave_as_in_curl() {
    let server = HttpServer::start().await;
    let output = netaccess(args(&["-sL", &server.url("/redirect/302?to=/hello")])).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "Hello, world!");

    // Without -f the 404's body is written; with -f it is not, and the exit status is the
    // content group's either way.
    let missing = server.url("/status/404");
    let plain = netaccess(args(&["-s", &missing])).await;
    assert_eq!(plain.status.code(), Some(5));
    assert_eq!(stdout(&plain), "status 404");
    assert_eq!(stderr(&plain), "", "-s keeps stderr quiet");
    let failed = netaccess(args(&["-sf", &missing])).await;
    assert_eq!(failed.status.code(), Some(5));
    assert_eq!(stdout(&failed), "", "-f writes no body for an error status");
    let shown = netaccess(args(&["-sSf", &missing])).await;
    assert!(stderr(&shown).contains("404"), "-S shows the error again: {}", stderr(&shown));
    let with_body = netaccess(args(&["-f", "--fail-with-body", &missing])).await;
    assert_eq!(stdout(&with_body), "status 404", "--fail-with-body undoes -f");

    // -f with -o creates no file for an error status.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.txt");
    let output = netaccess(args(&["-sf", "-o", &file.display().to_string(), &missing])).await;
    assert_eq!(output.status.code(), Some(5));
    assert!(!file.exists(), "no file for a failed transfer under -f");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_header_name_uses_a_safe_content_disposition_name_only() {
    let server = HttpServer::start().await;
    server.script(
        "/get/report",
        200,
        vec![("content-disposition".into(), b"attachment; filename=\"q3 report.txt\"".to_vec())],
    );
    server.script(
        "/get/evil",
        200,
        vec![("content-disposition".into(), b"attachment; filename=\"../escape.txt\"".to_vec())],
    );
    let dir = tempfile::tempdir().unwrap();
    let output = netaccess_in(args(&["-OJ", &server.url("/get/report")]), Some(dir.path().to_owned()), None).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(dir.path().join("q3 report.txt").exists(), "named after Content-Disposition");
    assert!(!dir.path().join("report").exists());

    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let output = netaccess_in(args(&["-OJ", &server.url("/get/evil")]), Some(dir.path().join("sub")), None).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("refused"), "{}", stderr(&output));
    assert!(dir.path().join("sub").join("evil").exists(), "the URL's name instead");
    assert!(!dir.path().join("escape.txt").exists(), "never outside the directory");

    let nested = dir.path().join("a/b/c.bin");
    let output =
        netaccess(args(&["--create-dirs", "-o", &nested.display().to_string(), &server.url("/bytes/10")])).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(std::fs::metadata(&nested).unwrap().len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_referer_range_and_dump_header_reach_the_server_and_the_file() {
    let server = HttpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("headers.txt");
    let output = netaccess(args(&[
        "-A",
        "probe/1.0",
        "-e",
        "https://from.example/",
        "-r",
        "10-19",
        "-D",
        &dump.display().to_string(),
        "--summary",
        "-",
        "-o",
        "/dev/null",
        &server.url("/echo"),
    ]))
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary = summary_line(&output);
    assert_eq!(header(&summary, "x-echo-user-agent").as_deref(), Some("probe/1.0"));
    assert_eq!(header(&summary, "x-echo-referer").as_deref(), Some("https://from.example/"));
    assert_eq!(header(&summary, "x-echo-range").as_deref(), Some("bytes=10-19"));
    let dumped = std::fs::read_to_string(&dump).unwrap();
    assert!(dumped.starts_with("HTTP/1.1 200 OK\r\n"), "{dumped}");
    assert!(dumped.contains("x-echo-method: GET\r\n"), "{dumped}");
    assert!(dumped.ends_with("\r\n\r\n"), "{dumped:?}");

    // -D - with the body on stdout: the head comes first, then the body.
    let output = netaccess(args(&["-D", "-", &server.url("/hello")])).await;
    let text = stdout(&output);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n") && text.ends_with("\r\n\r\nHello, world!"), "{text:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_parts_are_parsed_back_by_the_server() {
    let server = HttpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "line one\nline two\n").unwrap();
    let value_file = dir.path().join("value.txt");
    std::fs::write(&value_file, "from a file").unwrap();
    let output = netaccess(args(&[
        "-F",
        "title=hello; world",
        "-F",
        &format!("doc=@{};type=text/markdown;filename=renamed.md", file.display()),
        "-F",
        &format!("text=<{}", value_file.display()),
        &server.url("/multipart"),
    ]))
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let parts: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(parts[0]["name"], "title");
    assert_eq!(parts[0]["length"], 12, "a ';' not followed by type= or filename= is the value's");
    assert_eq!(parts[1]["name"], "doc");
    assert_eq!(parts[1]["file_name"], "renamed.md");
    assert_eq!(parts[1]["content_type"], "text/markdown");
    assert_eq!(parts[1]["sha256"], netaccess_tests::sha256_hex(b"line one\nline two\n"));
    assert_eq!(parts[2]["name"], "text");
    assert!(parts[2]["file_name"].is_null(), "name=<file is a plain field");
    assert_eq!(parts[2]["sha256"], netaccess_tests::sha256_hex(b"from a file"));
    assert_eq!(server.seen.requests()[0].method, "POST");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_get_urlencode_raw_and_stdin_uploads_send_what_curl_sends() {
    let server = HttpServer::start().await;
    let output =
        netaccess(args(&["--json", r#"{"a":1}"#, "--summary", "-", "-o", "/dev/null", &server.url("/echo")])).await;
    let summary = summary_line(&output);
    assert_eq!(header(&summary, "x-echo-method").as_deref(), Some("POST"));
    assert_eq!(header(&summary, "x-echo-content-type").as_deref(), Some("application/json"));
    assert_eq!(header(&summary, "x-echo-accept").as_deref(), Some("application/json"));
    assert_eq!(summary["sha256"], netaccess_tests::sha256_hex(br#"{"a":1}"#));

    let output = netaccess(args(&[
        "-G",
        "-d",
        "a=1",
        "--data-urlencode",
        "q=hello world&more",
        "-o",
        "/dev/null",
        &server.url("/echo?x=0"),
    ]))
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let seen = server.seen.requests();
    let last = seen.last().unwrap();
    assert_eq!((last.method.as_str(), last.target.as_str()), ("GET", "/echo?x=0&a=1&q=hello+world%26more"));

    let output = netaccess(args(&["--data-raw", "@not-a-file", &server.url("/echo")])).await;
    assert_eq!(stdout(&output), "@not-a-file", "--data-raw reads no file");

    let input = netaccess_tests::pattern(300_000);
    let output = netaccess_in(
        args(&["-T", "-", "--summary", "-", "-o", "/dev/null", &server.url("/echo")]),
        None,
        Some(input.clone()),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary = summary_line(&output);
    assert_eq!(header(&summary, "x-echo-method").as_deref(), Some("PUT"));
    assert_eq!(header(&summary, "x-echo-transfer-encoding").as_deref(), Some("chunked"), "stdin's length is unknown");
    assert_eq!(summary["sha256"], netaccess_tests::sha256_hex(&input));
    let refused = netaccess(args(&["-T", "-", &server.url("/echo"), &server.url("/echo")])).await;
    assert_eq!(refused.status.code(), Some(2), "stdin can be read once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_at_resumes_rewrites_or_finds_the_file_complete() {
    let server = HttpServer::start().await;
    let whole = netaccess_tests::pattern(100_000);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("partial.bin");
    let path = file.display().to_string();

    // A server that honours the range: the rest is appended.
    std::fs::write(&file, &whole[..40_000]).unwrap();
    let output = netaccess(args(&["-C", "-", "-o", &path, &server.url("/ranged/100000")])).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(std::fs::read(&file).unwrap(), whole);
    assert_eq!(server.seen.requests().len(), 1);

    // Complete already: 416 with the full length is success, the file untouched.
    let output = netaccess(args(&["-C", "-", "-o", &path, &server.url("/ranged/100000")])).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(std::fs::read(&file).unwrap(), whole);

    // A server that ignores ranges (200): curl 7.88 says "HTTP server doesn't seem to support
    // byte ranges. Cannot resume.", exits 33 and leaves the file alone; so do we.
    std::fs::write(&file, b"bytes that stay").unwrap();
    let output = netaccess(args(&["-C", "-", "-o", &path, &server.url("/bytes/100000")])).await;
    assert_eq!(output.status.code(), Some(33), "{}", stderr(&output));
    assert!(stderr(&output).contains("cannot resume"), "{}", stderr(&output));
    assert_eq!(std::fs::read(&file).unwrap(), b"bytes that stay");

    let output = netaccess(args(&["-C", "-", &server.url("/ranged/10")])).await;
    assert_eq!(output.status.code(), Some(2), "-C needs a file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_sends_idempotent_requests_again_and_counts_the_retries() {
    let server = HttpServer::start().await;
    let output =
        netaccess(args(&["--retry", "3", "--summary", "-", "-o", "/dev/null", &server.url("/flaky/get/2")])).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary = summary_line(&output);
    assert_eq!(summary["status"], 200);
    assert_eq!(summary["retries"], 2);
    assert_eq!(server.seen.flaky.lock().unwrap()["get"], 3);

    // Too few retries: the last 503 is the answer.
    let output =
        netaccess(args(&["--retry", "1", "--summary", "-", "-o", "/dev/null", &server.url("/flaky/few/5")])).await;
    let summary = summary_line(&output);
    assert_eq!((summary["status"].as_u64(), summary["retries"].as_u64()), (Some(503), Some(1)));

    // A POST is not sent twice unless asked.
    let post = server.url("/flaky/post/1");
    let output = netaccess(args(&["--retry", "3", "-d", "x", "--summary", "-", "-o", "/dev/null", &post])).await;
    let summary = summary_line(&output);
    assert_eq!((summary["status"].as_u64(), summary["retries"].as_u64()), (Some(503), Some(0)));
    let post = server.url("/flaky/post-all/1");
    let output =
        netaccess(args(&["--retry", "3", "--retry-all-errors", "-d", "x", "--summary", "-", "-o", "/dev/null", &post]))
            .await;
    let summary = summary_line(&output);
    assert_eq!((summary["status"].as_u64(), summary["retries"].as_u64()), (Some(200), Some(1)));

    // A refused connection, with a fixed delay.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("http://127.0.0.1:{port}/");
    let output = netaccess(args(&["--retry", "2", "--retry-delay", "0.05", "--summary", "-", &url])).await;
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let summary = summary_line(&output);
    assert_eq!(summary["error"], "ConnectionRefusedError");
    assert_eq!(summary["retries"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netrc_answers_the_hosts_challenge() {
    let server = HttpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let netrc = dir.path().join("netrc");
    std::fs::write(
        &netrc,
        "machine elsewhere login mallory password nope\nmachine 127.0.0.1 login alice password secret\n",
    )
    .unwrap();
    let output = netaccess(args(&["--netrc-file", &netrc.display().to_string(), &server.url("/basic/realm")])).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let seen = server.seen.requests();
    assert!(seen.last().unwrap().authorization.as_deref().is_some_and(|a| a.starts_with("Basic ")), "{seen:?}");
    std::fs::write(&netrc, "machine elsewhere login alice password secret\n").unwrap();
    let output = netaccess(args(&["--netrc-file", &netrc.display().to_string(), &server.url("/basic/realm")])).await;
    assert_eq!(output.status.code(), Some(5), "no entry for this host: the 401 stands");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_lists_protocols_and_completions_know_every_flag() {
    let output = netaccess(args(&["--version"])).await;
    let text = stdout(&output);
    assert!(text.starts_with("netaccess "), "{text}");
    let protocols = text.lines().find(|l| l.starts_with("Protocols: ")).unwrap_or_else(|| panic!("{text}"));
    for scheme in ["data", "file", "ftp", "http", "https"] {
        assert!(protocols.split_whitespace().any(|p| p == scheme), "{scheme} in {protocols}");
    }
    assert!(text.lines().any(|l| l.starts_with("Features: ") && l.contains("br")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("Features: ") && l.contains("HTTP2")), "as curl names it: {text}");

    // Asked for as the first argument (the helper above puts --no-progress first).
    let out = Command::new(env!("CARGO_BIN_EXE_netaccess")).args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bash = String::from_utf8_lossy(&out.stdout).into_owned();
    for flag in ["--retry-all-errors", "--data-urlencode", "--remote-header-name", "--write-out"] {
        assert!(bash.contains(flag), "{flag} in the bash completions");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_file_learns_from_https_and_sends_http_over_tls_in_the_next_run() {
    let pki = netaccess_tests::pki::Pki::new("netaccess test CA");
    let server = HttpServer::start_tls(&pki.server(&["hsts.test"], netaccess_tests::pki::Validity::Current)).await;
    let port = server.addr.port();
    server.script("/sts", 200, vec![("strict-transport-security".into(), b"max-age=600".to_vec())]);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pki.ca_pem()).unwrap();
    let hsts = dir.path().join("hsts.txt");
    let common = |url: String| {
        let mut list = args(&["-s", "--cacert", &ca.display().to_string(), "--hsts", &hsts.display().to_string()]);
        list.extend(args(&["--resolve", &format!("hsts.test:{port}:127.0.0.1"), "--summary", "-", "-o", "/dev/null"]));
        list.push(url);
        list
    };
    let first = netaccess(common(format!("https://hsts.test:{port}/sts"))).await;
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let saved = std::fs::read_to_string(&hsts).unwrap();
    assert!(saved.lines().any(|l| l.starts_with("hsts.test \"")), "curl's format: {saved}");

    let second = netaccess(common(format!("http://hsts.test:{port}/hello"))).await;
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    let summary: Value = stdout(&second).lines().find_map(|l| serde_json::from_str(l).ok()).expect("a summary line");
    assert_eq!(summary["url"], format!("https://hsts.test:{port}/hello"), "{summary}");
    assert_eq!(server.seen.targets().last().map(String::as_str), Some("/hello"), "the TLS server answered");

    let unreadable = dir.path().join("a-directory");
    std::fs::create_dir(&unreadable).unwrap();
    let refused = netaccess(args(&["--hsts", &unreadable.display().to_string(), "data:,x"])).await;
    assert_eq!(refused.status.code(), Some(2), "an unreadable HSTS file is a usage error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn har_records_a_session_that_replays_with_the_same_bodies_and_statuses() {
    let server = HttpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let har = dir.path().join("session.har");
    let urls = [server.url("/redirect/302?to=/hello"), server.url("/json"), server.url("/status/404")];
    let run = |flag: &str| {
        let summary = dir.path().join(format!("{flag}.jsonl"));
        let mut list = args(&[flag, &har.display().to_string(), "--summary", &summary.display().to_string()]);
        list.extend(args(&["--output-dir", &dir.path().display().to_string()]));
        for url in &urls {
            list.extend(args(&["-o", "/dev/null", url]));
        }
        list
    };
    let statuses = |flag: &str| -> Vec<(Value, Value)> {
        std::fs::read_to_string(dir.path().join(format!("{flag}.jsonl")))
            .unwrap()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|s| (s["status"].clone(), s["sha256"].clone()))
            .collect()
    };
    let recorded = netaccess(run("--har")).await;
    assert_eq!(
        recorded.status.code(),
        Some(5),
        "the 404 is a content error: {}",
        String::from_utf8_lossy(&recorded.stderr)
    );
    let document: Value = serde_json::from_str(&std::fs::read_to_string(&har).unwrap()).unwrap();
    assert_eq!(document["log"]["entries"].as_array().map(Vec::len), Some(4), "three URLs, one redirected");
    let asked = server.seen.targets().len();

    let replayed = netaccess(run("--replay")).await;
    assert_eq!(replayed.status.code(), Some(5), "{}", String::from_utf8_lossy(&replayed.stderr));
    assert_eq!(statuses("--replay"), statuses("--har"));
    assert_eq!(statuses("--har").len(), 3);
    assert_eq!(server.seen.targets().len(), asked, "the replay never reached the server");
}
