//! `cargo xtask examples`: every example of the facade (`crates/netaccess/examples/`) run as a
//! newcomer runs it, against the test suite's in-process servers on loopback, and checked by
//! what it printed and what the server saw.
//!
//! An example takes its URL and files as arguments (with a public URL as the default, for a
//! person trying it); here each gets a local server's. The https ones trust the local CA through
//! `SSL_CERT_FILE`, as a user points any program at a private bundle, and the proxy one gets
//! `http_proxy`, so the examples' code is exactly what a reader copies.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::shell::{cargo, run as run_command, target_dir};

/// The longest one example may run.
const EXAMPLE_LIMIT: Duration = Duration::from_secs(60);

/// One run of an example and what its standard output must contain.
struct Run {
    example: &'static str,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    expect_stdout: Vec<String>,
}

impl Run {
    fn new(example: &'static str, args: &[&str], expect_stdout: &[&str]) -> Self {
        Self {
            example,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: Vec::new(),
            expect_stdout: expect_stdout.iter().map(|e| (*e).to_owned()).collect(),
        }
    }

    fn with_env(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.env.push((name, value.into()));
        self
    }
}

pub(crate) fn run() -> Result<(), String> {
    run_command(&mut cargo(&[
        "build",
        "--quiet",
        "-p",
        "netaccess",
        "--examples",
        "--features",
        "json,blocking,tower",
    ]))?;
    let binaries = target_dir().join("debug").join("examples");
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let path = |name: &str| dir.path().join(name).display().to_string();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime for the example servers: {e}"))?;

    let pki = netaccess_tests::Pki::new("netaccess examples CA");
    let identity = pki.server(&["localhost"], netaccess_tests::Validity::Current);
    let client = pki.client("example client");
    let ca_file = path("ca.pem");
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).map_err(|e| format!("cannot write {name}: {e}"))
    };
    write("ca.pem", &pki.ca_pem())?;
    write("client.pem", &client.chain_pem)?;
    write("client.key", &client.key_pem)?;
    let upload: Vec<u8> = netaccess_tests::pattern(3 * 1024 * 1024 + 7);
    std::fs::write(dir.path().join("upload.bin"), &upload).map_err(|e| format!("cannot write upload.bin: {e}"))?;

    let http = runtime.block_on(netaccess_tests::HttpServer::start());
    let https = runtime.block_on(netaccess_tests::HttpServer::start_tls(&identity));
    let mtls = runtime.block_on(netaccess_tests::HttpServer::start_tls_with_client_auth(&identity, pki.ca_der()));
    let proxy = runtime.block_on(netaccess_tests::TestProxy::http(None));
    let origin = runtime.block_on(netaccess_tests::CacheOrigin::start());
    let fresh = serde_json::json!({"response_headers": [["Cache-Control", "max-age=600"]], "response_body": "fresh for ten minutes"});
    // One answer only: a second request reaching the origin would fail the example's fetch.
    origin.configure("examples", vec![fresh]);
    http.script("/login", 200, vec![("set-cookie".into(), b"session=example42; Path=/; Max-Age=600".to_vec())]);

    let runs = vec![
        Run::new("get_json", &[&https.localhost_url("/json")], &["200 OK", r#""name": "netaccess""#])
            .with_env("SSL_CERT_FILE", &ca_file),
        Run::new(
            "post_form",
            &[&https.localhost_url("/echo")],
            &["status: 200", "name=netaccess&kind=network+library"],
        )
        .with_env("SSL_CERT_FILE", &ca_file),
        Run::new(
            "upload_file",
            &[&http.url("/multipart"), &path("upload.bin")],
            &["status: Some(200)", &netaccess_tests::sha256_hex(&upload), r#""file_name":"upload.bin""#],
        ),
        Run::new("download", &[&http.url("/bytes/5000000"), &path("download.bin")], &["wrote 5000000 bytes"]),
        Run::new(
            "proxy_from_env",
            &[&http.url("/hello")],
            &["proxy for", ": Http 127.0.0.1:", "status Some(200), 13 bytes"],
        )
        .with_env("http_proxy", proxy.url("http")),
        Run::new(
            "client_certificate",
            &[&mtls.localhost_url("/hello"), &ca_file, &path("client.pem"), &path("client.key")],
            &["status: 200", "TLS: TLSv1_3", "Hello, world!"],
        ),
        Run::new("cookies", &[&http.url("/login"), &path("cookies.json")], &["saved 1 cookies"]),
        Run::new(
            "cookies",
            &[&http.url("/cookies"), &path("cookies.json")],
            &["loaded 1 cookies", "session=example42"],
        ),
        Run::new(
            "disk_cache",
            &[&origin.test_url("examples"), &path("cache")],
            &["first fetch: 21 bytes, from cache: false", "second fetch: 21 bytes, from cache: true"],
        ),
        Run::new(
            "custom_scheme",
            &[],
            &["fortune:1: Small modules read in one sitting.", "fortune:7: ContentNotFoundError"],
        ),
        Run::new(
            "interceptors",
            &[&http.url("/echo")],
            &[
                "GET: x-echo-authorization: Bearer token-",
                "POST: x-echo-x-client: netaccess-example",
                "canned: served by an interceptor",
                "timing: POST",
                "timing: GET",
                "token fetches: 1",
            ],
        ),
        Run::new("blocking", &[&https.localhost_url("/bytes/100000")], &["status: 200 OK", "100000 bytes"])
            .with_env("SSL_CERT_FILE", &ca_file),
    ];

    let mut failures = Vec::new();
    for run in &runs {
        let started = Instant::now();
        match run_example(&binaries, run) {
            Ok(()) => println!("  ok    {:<20} {:>6.2} s", run.example, started.elapsed().as_secs_f64()),
            Err(problem) => {
                println!("  FAIL  {:<20} {problem}", run.example);
                failures.push(format!("{}: {problem}", run.example));
            }
        }
    }
    // What the servers saw, beyond what the examples printed.
    let through_proxy = proxy.log.requests();
    if !through_proxy.iter().any(|r| r.contains(&http.url("/hello"))) {
        failures.push(format!("proxy_from_env: the proxy saw {through_proxy:?}, not the request for /hello"));
    }
    let cookie_sent = http.seen.requests().into_iter().find(|r| r.target == "/cookies").and_then(|r| r.cookie);
    if cookie_sent.as_deref() != Some("session=example42") {
        failures.push(format!("cookies: the second run sent Cookie {cookie_sent:?}"));
    }
    if std::fs::metadata(dir.path().join("download.bin")).map(|m| m.len()).ok() != Some(5_000_000) {
        failures.push("download: the file on disk is not 5000000 bytes".to_owned());
    }
    let canned_seen: Vec<String> = http.seen.targets().into_iter().filter(|t| t.starts_with("/canned")).collect();
    if !canned_seen.is_empty() {
        failures.push(format!("interceptors: the canned answer's request reached the server: {canned_seen:?}"));
    }
    let saw_certificate = mtls.handshakes();
    if saw_certificate == 0 {
        failures.push("client_certificate: the mutual-TLS server completed no handshake".to_owned());
    }
    if failures.is_empty() {
        println!("examples: {} runs, all as expected", runs.len());
        Ok(())
    } else {
        Err(format!("examples went wrong:\n  {}", failures.join("\n  ")))
    }
}

/// Runs one example to its end (killed after [`EXAMPLE_LIMIT`]) and checks its exit status and
/// output.
fn run_example(binaries: &Path, run: &Run) -> Result<(), String> {
    let program: PathBuf = binaries.join(run.example);
    let mut command = Command::new(&program);
    command.args(&run.args).envs(run.env.iter().map(|(k, v)| (*k, v.as_str())));
    let output = output_within(&mut command, EXAMPLE_LIMIT)?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("exit {:?}\n    stdout: {stdout}\n    stderr: {stderr}", output.status.code()));
    }
    let missing: Vec<&String> = run.expect_stdout.iter().filter(|e| !stdout.contains(e.as_str())).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("its output lacks {missing:?}\n    stdout: {stdout}\n    stderr: {stderr}"))
    }
}

/// `command`'s output, or an error when it runs longer than `limit` (it is killed then).
fn output_within(command: &mut Command, limit: Duration) -> Result<std::process::Output, String> {
    use std::process::Stdio;
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return child.wait_with_output().map_err(|e| format!("cannot read its output: {e}")),
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let output = child.wait_with_output().map_err(|e| e.to_string())?;
                return Err(format!(
                    "still running after {limit:?}, killed; stdout: {}",
                    String::from_utf8_lossy(&output.stdout)
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("cannot wait for it: {e}")),
        }
    }
}
