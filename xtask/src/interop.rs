//! `cargo xtask interop`: the netaccess library against real servers from Debian, started here
//! on loopback with a generated configuration. Today: nginx (static files, gzip, keep-alive,
//! HEAD, PUT/DELETE through the dav module, redirects, errors).
//!
//! nginx is installed with apt-get when missing. A server that cannot be had fails the tier:
//! nothing here is skipped quietly.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use netaccess::{KnownHeaders, NetworkAccessManager, NetworkErrorKind, Request};
use sha2::{Digest, Sha256};

use crate::shell::run as run_command;

const NGINX: &str = "/usr/sbin/nginx";

pub(crate) fn run() -> Result<(), String> {
    ensure_servers()?;
    // The command, for the `-w` comparison with curl.
    run_command(&mut crate::shell::cargo(&["build", "--quiet", "-p", "netaccess-cli"]))?;
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let nginx = Nginx::start(dir.path())?;
    let apache = crate::apache::Apache::start()?;
    let proxies = crate::proxies::Proxies::start()?;
    let vsftpd = crate::ftp::Vsftpd::start()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let mut results = runtime.block_on(nginx_checks(&nginx));
    results.extend(runtime.block_on(crate::apache::checks(&apache)));
    results.extend(runtime.block_on(crate::proxies::checks(&nginx, &proxies)));
    results.extend(runtime.block_on(crate::ftp::checks(&vsftpd)));
    results.extend(crate::curl_habits::checks(&runtime));
    let failed: Vec<&(String, Result<String, String>)> = results.iter().filter(|(_, r)| r.is_err()).collect();
    println!("\ninterop with {}, {}, squid, tinyproxy, microsocks and vsftpd:", nginx.version, apache.version);
    for (name, result) in &results {
        match result {
            Ok(detail) => println!("  ok    {name:<34} {detail}"),
            Err(why) => println!("  FAIL  {name:<34} {why}"),
        }
    }
    if failed.is_empty() {
        println!("interop: {} passed, 0 failed", results.len());
        Ok(())
    } else {
        println!("interop: {} passed, {} failed", results.len() - failed.len(), failed.len());
        Err(format!("{} interop checks against nginx failed", failed.len()))
    }
}

/// The Debian packages the interop tier runs, with the file each one installs.
const SERVERS: [(&str, &str); 8] = [
    ("nginx", NGINX),
    ("apache2", crate::apache::APACHE),
    ("squid", crate::proxies::SQUID),
    ("tinyproxy", crate::proxies::TINYPROXY),
    ("microsocks", crate::proxies::MICROSOCKS),
    ("openssl", "/usr/bin/openssl"),
    ("vsftpd", crate::ftp::VSFTPD),
    // Not a server: the reference `-w` is compared with.
    ("curl", "/usr/bin/curl"),
];

/// Installs, with one apt-get run, the packages whose file is missing.
fn ensure_servers() -> Result<(), String> {
    let missing: Vec<&str> =
        SERVERS.iter().filter(|(_, binary)| !Path::new(binary).exists()).map(|(package, _)| *package).collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("installing Debian's {} with apt-get", missing.join(", "));
    run_command(Command::new("apt-get").arg("update").arg("-qq"))?;
    run_command(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    match SERVERS.iter().find(|(_, binary)| !Path::new(binary).exists()) {
        None => Ok(()),
        Some((package, binary)) => Err(format!("{binary} is still missing after apt-get install {package}")),
    }
}

/// Waits until something listens on the port.
pub(crate) fn wait_for_port(port: u16, what: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(format!("{what} did not listen on port {port} within 10 s"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// A free port on loopback.
pub(crate) fn free_port() -> Result<u16, String> {
    Ok(free_ports::<1>()?[0])
}

/// `N` different free ports on loopback: each listener is held until all are chosen, so the
/// kernel cannot hand out one port twice (a squid given the same port for its open and its
/// locked listener once answered without asking for credentials).
pub(crate) fn free_ports<const N: usize>() -> Result<[u16; N], String> {
    let listeners = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").map_err(|e| format!("free port: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ports = [0u16; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr().map_err(|e| format!("free port: {e}"))?.port();
    }
    Ok(ports)
}

pub(crate) struct Nginx {
    base: String,
    tls_base: String,
    /// The TLS server that speaks HTTP/2 (and HTTP/1.1) by ALPN.
    pub(crate) h2_base: String,
    pub(crate) ca_der: Vec<u8>,
    /// The CA certificate as PEM, for programs that read a file.
    pub(crate) ca_pem: String,
    root: PathBuf,
    access_log: PathBuf,
    version: String,
    _server: crate::processes::Server,
}

/// Sizes of the static files served, in bytes.
pub(crate) const SIZES: [usize; 5] = [0, 1, 1024, 1024 * 1024, 10 * 1024 * 1024 + 7];

impl Nginx {
    fn start(dir: &Path) -> Result<Self, String> {
        let [port, tls_port, h2_port] = free_ports::<3>()?;
        let pki = netaccess_tests::Pki::new("netaccess interop CA");
        let identity = pki.server(&["localhost"], netaccess_tests::Validity::Current);
        std::fs::write(dir.join("server.pem"), &identity.chain_pem).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("server.key"), &identity.key_pem).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("htpasswd"), "alice:{PLAIN}secret\n").map_err(|e| e.to_string())?;
        let root = dir.join("www");
        for sub in ["files", "dav", "temp"] {
            std::fs::create_dir_all(root.join(sub)).map_err(|e| format!("{sub}: {e}"))?;
        }
        for size in SIZES {
            std::fs::write(root.join(format!("files/{size}.bin")), content(size)).map_err(|e| e.to_string())?;
        }
        let text: String = (0..20_000).map(|i| format!("line {i} of a text file that compresses well\n")).collect();
        std::fs::write(root.join("files/text.txt"), text).map_err(|e| e.to_string())?;
        let access_log = dir.join("access.log");
        let config = dir.join("nginx.conf");
        let version = Command::new(NGINX)
            .arg("-v")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stderr).trim().trim_start_matches("nginx version: ").to_owned())
            .unwrap_or_default();
        // `http2 on` came with nginx 1.25.1; before it, a flag of `listen` (Debian 12 has 1.22).
        let (h2_listen, h2_directive) = if has_http2_directive(&version) { ("", "http2 on;") } else { (" http2", "") };
        // The upload location, served over HTTP/1.1 and over HTTP/2.
        let dav = "location /dav/ { dav_methods PUT DELETE; create_full_put_path on; client_max_body_size 100m; }";
        let mut conf = String::new();
        let _ = write!(
            conf,
            r#"user root root;
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 256; }}
http {{
    default_type application/octet-stream;
    types {{ text/plain txt; }}
    log_format conns '$connection $connection_requests $request_method $request_uri $status $server_protocol';
    access_log {log} conns;
    client_body_temp_path {root}/temp;
    proxy_temp_path {root}/temp;
    fastcgi_temp_path {root}/temp;
    uwsgi_temp_path {root}/temp;
    scgi_temp_path {root}/temp;
    keepalive_requests 1000;
    gzip on;
    gzip_types text/plain;
    gzip_min_length 0;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location /files/ {{ }}
        {dav}
        location = /moved {{ return 301 /files/1024.bin; }}
        location /private/ {{
            alias {root}/files/;
            auth_basic "nginx interop";
            auth_basic_user_file {dir}/htpasswd;
        }}
        location = /twice {{ return 302 /moved; }}
    }}
    server {{
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {dir}/server.pem;
        ssl_certificate_key {dir}/server.key;
        root {root};
        location /files/ {{ }}
    }}
    server {{
        listen 127.0.0.1:{h2_port} ssl{h2_listen};
        {h2_directive}
        ssl_certificate {dir}/server.pem;
        ssl_certificate_key {dir}/server.key;
        root {root};
        location /files/ {{ }}
        {dav}
    }}
}}
"#,
            dir = dir.display(),
            log = access_log.display(),
            root = root.display(),
        );
        std::fs::write(&config, conf).map_err(|e| e.to_string())?;
        let server = crate::processes::Server::spawn(
            Command::new(NGINX)
                .arg("-c")
                .arg(&config)
                .arg("-p")
                .arg(dir)
                .stdout(Stdio::null())
                .stderr(Stdio::inherit()),
            "nginx",
        )?;
        let nginx = Nginx {
            base: format!("http://127.0.0.1:{port}"),
            tls_base: format!("https://localhost:{tls_port}"),
            h2_base: format!("https://localhost:{h2_port}"),
            ca_der: pki.ca_der().to_vec(),
            ca_pem: pki.ca_pem(),
            root,
            access_log,
            version,
            _server: server,
        };
        wait_for_port(port, "nginx")?;
        wait_for_port(tls_port, "nginx (TLS)")?;
        wait_for_port(h2_port, "nginx (HTTP/2)")?;
        Ok(nginx)
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn tls_url(&self, path: &str) -> String {
        format!("{}{path}", self.tls_base)
    }

    /// The nginx connection serial numbers of logged requests whose URI starts with `prefix`.
    fn connections_for(&self, prefix: &str) -> Vec<u64> {
        self.logged(prefix).into_iter().map(|entry| entry.connection).collect()
    }

    /// The logged requests whose URI starts with `prefix`, in the log's order.
    pub(crate) fn logged(&self, prefix: &str) -> Vec<Logged> {
        let log = std::fs::read_to_string(&self.access_log).unwrap_or_default();
        log.lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split(' ').collect();
                if !fields.get(3)?.starts_with(prefix) {
                    return None;
                }
                Some(Logged {
                    connection: fields[0].parse().ok()?,
                    connection_requests: fields.get(1)?.parse().ok()?,
                    protocol: fields.get(5).copied().unwrap_or_default().to_owned(),
                })
            })
            .collect()
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn ca_der(&self) -> &[u8] {
        &self.ca_der
    }
}

/// One line of nginx's access log.
pub(crate) struct Logged {
    /// `$connection`: the connection's serial number.
    pub(crate) connection: u64,
    /// `$connection_requests`: how many requests the connection had carried with this one.
    pub(crate) connection_requests: u64,
    /// `$server_protocol`: `HTTP/1.1`, `HTTP/2.0`.
    pub(crate) protocol: String,
}

/// Whether nginx `version` (as `nginx -v` prints it: `nginx/1.22.1`) knows `http2 on`.
fn has_http2_directive(version: &str) -> bool {
    let numbers: Vec<u32> =
        version.trim_start_matches("nginx/").split(['.', ' ']).take(3).filter_map(|n| n.parse().ok()).collect();
    numbers.as_slice() >= [1, 25, 1].as_slice()
}

pub(crate) fn content(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

pub(crate) fn sha(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

type Check = (String, Result<String, String>);

async fn nginx_checks(nginx: &Nginx) -> Vec<Check> {
    let manager = NetworkAccessManager::new();
    let mut results = Vec::new();
    results.push(("static files, several sizes".into(), static_files(nginx, &manager).await));
    results.push(("gzip decoded".into(), gzip(nginx, &manager).await));
    results.push(("keep-alive reuse (from nginx's log)".into(), keep_alive(nginx).await));
    results.push(("six connections at most".into(), parallel(nginx).await));
    results.push(("HEAD".into(), head(nginx, &manager).await));
    results.push(("PUT, GET, DELETE through dav".into(), dav(nginx, &manager).await));
    results.push(("redirects".into(), redirects(nginx, &manager).await));
    results.push(("404 with a readable body".into(), not_found(nginx, &manager).await));
    results.push(("https: files, encrypted, one connection".into(), https(nginx).await));
    results.push(("https: wrong host refused, then ignored".into(), https_wrong_host(nginx).await));
    results.push(("auth_basic: handler asked once".into(), basic_auth(nginx).await));
    results.push(("-w agrees with curl's".into(), write_out_like_curl(nginx)));
    results.extend(crate::nginx_h2::checks(nginx).await);
    results
}

/// The `-w` variables netaccess and curl both have, for the same redirected fetch from nginx:
/// equal text for the facts, and the same order of the times (the times themselves differ
/// between two programs).
fn write_out_like_curl(nginx: &Nginx) -> Result<String, String> {
    const FACTS: &str =
        "%{http_code} %{remote_ip} %{remote_port} %{size_download} %{url_effective} %{num_redirects} %{http_version}";
    const TIMES: &str =
        "%{time_namelookup} %{time_connect} %{time_appconnect} %{time_pretransfer} %{time_starttransfer} %{time_total}";
    let format = format!("{FACTS}|{TIMES}");
    let url = nginx.url("/twice");
    let cli = crate::shell::target_dir().join("debug").join("netaccess");
    let ours = command_output(Command::new(cli).args(["--no-progress", "-o", "/dev/null", "-w", &format, &url]))?;
    let curls = command_output(Command::new("curl").args(["-s", "-L", "-o", "/dev/null", "-w", &format, &url]))?;
    let (our_facts, our_times) = ours.split_once('|').ok_or_else(|| format!("netaccess printed {ours:?}"))?;
    let (curl_facts, _) = curls.split_once('|').ok_or_else(|| format!("curl printed {curls:?}"))?;
    expect(our_facts == curl_facts, || format!("netaccess {our_facts:?}, curl {curl_facts:?}"))?;
    let times: Vec<f64> = our_times.split(' ').filter_map(|t| t.parse().ok()).collect();
    expect(times.len() == 6, || format!("times {our_times:?}"))?;
    // Lookup ≤ connect ≤ pretransfer ≤ starttransfer ≤ total (appconnect is 0 over http).
    let ordered = [times[0], times[1], times[3], times[4], times[5]].windows(2).all(|w| w[0] <= w[1]);
    expect(ordered, || format!("times out of order: {our_times:?}"))?;
    Ok(format!("{our_facts:?}, times in order"))
}

fn command_output(command: &mut Command) -> Result<String, String> {
    let output = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!("{command:?}: {}", String::from_utf8_lossy(&output.stderr)));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("{command:?}: {e}"))
}

async fn basic_auth(nginx: &Nginx) -> Result<String, String> {
    let (handler, calls) = crate::apache::CountingHandler::new("alice", "secret");
    let manager = NetworkAccessManager::builder().authentication_handler(handler).build();
    for _ in 0..3 {
        let (body, _) = fetch(&manager, nginx.url("/private/1024.bin")).await?;
        expect(body == content(1024), || "body differs".into())?;
    }
    let asked = calls.load(std::sync::atomic::Ordering::SeqCst);
    expect(asked == 1, || format!("the handler was asked {asked} times"))?;
    let mut refused = NetworkAccessManager::new().get(Request::new(nginx.url("/private/1024.bin")));
    let error = refused.finished().await.err().ok_or("no credentials, yet no error")?;
    expect(error.kind() == NetworkErrorKind::AuthenticationRequiredError, || error.to_string())?;
    Ok(format!("3 GETs, handler asked {asked} time; without credentials AuthenticationRequiredError"))
}

fn trusting(nginx: &Nginx) -> NetworkAccessManager {
    let tls =
        netaccess::TlsConfig::default().with_trust(netaccess::Trust::None).with_ca_certificate(nginx.ca_der.clone());
    NetworkAccessManager::builder().tls(tls).build()
}

async fn https(nginx: &Nginx) -> Result<String, String> {
    let manager = trusting(nginx);
    for _ in 0..10 {
        let (body, reply) = fetch(&manager, nginx.tls_url("/files/1048576.bin?tls")).await?;
        expect(sha(&body) == sha(&content(1024 * 1024)), || "checksum differs".into())?;
        let attributes = reply.attributes();
        expect(attributes.connection_encrypted && attributes.peer_certificates.len() == 1, || "not encrypted".into())?;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut connections = nginx.connections_for("/files/1048576.bin?tls");
    connections.dedup();
    expect(connections.len() == 1, || format!("10 requests used {} connections", connections.len()))?;
    Ok("10 × 1 MiB over one TLS connection, checksums equal".into())
}

async fn https_wrong_host(nginx: &Nginx) -> Result<String, String> {
    let manager = trusting(nginx);
    let url = nginx.tls_url("/files/1024.bin").replace("localhost", "127.0.0.1");
    let mut strict = manager.get(Request::new(&url));
    let error = strict.finished().await.err().ok_or("a certificate for localhost was accepted for 127.0.0.1")?;
    expect(error.kind() == NetworkErrorKind::SslHandshakeFailedError, || error.to_string())?;
    let mut lenient = Request::new(&url);
    lenient.attributes_mut().ignore_ssl_errors =
        netaccess::IgnoredSslErrors::Listed(vec![netaccess::SslErrorKind::HostNameMismatch]);
    let mut reply = manager.get(lenient);
    let body = reply.bytes().await.map_err(|e| e.to_string())?;
    reply.error_for_status_ref().map_err(|e| e.to_string())?;
    expect(body == content(1024), || "body differs".into())?;
    Ok("HostNameMismatch: refused, then accepted when named".into())
}

fn expect(condition: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if condition {
        Ok(())
    } else {
        Err(why())
    }
}

async fn fetch(manager: &NetworkAccessManager, url: String) -> Result<(Bytes, netaccess::Reply), String> {
    let mut reply = manager.get(Request::new(&url));
    let body = tokio::time::timeout(Duration::from_secs(30), reply.bytes())
        .await
        .map_err(|_| format!("{url}: no answer in 30 s"))?
        .map_err(|e| e.to_string())?;
    reply.error_for_status_ref().map_err(|e| e.to_string())?;
    Ok((body, reply))
}

async fn static_files(nginx: &Nginx, manager: &NetworkAccessManager) -> Result<String, String> {
    for size in SIZES {
        let (body, reply) = fetch(manager, nginx.url(&format!("/files/{size}.bin"))).await?;
        expect(sha(&body) == sha(&content(size)), || format!("{size} bytes: checksum differs"))?;
        expect(reply.headers().content_length() == Some(size as u64), || format!("{size}: Content-Length"))?;
    }
    Ok(format!("{} files, 0 B to 10 MiB, checksums equal", SIZES.len()))
}

async fn gzip(nginx: &Nginx, manager: &NetworkAccessManager) -> Result<String, String> {
    let original = std::fs::read(nginx.root.join("files/text.txt")).map_err(|e| e.to_string())?;
    let (body, _) = fetch(manager, nginx.url("/files/text.txt")).await?;
    expect(body == original, || "decoded text differs".into())?;
    let mut raw = manager.get(Request::new(nginx.url("/files/text.txt")).with_header("accept-encoding", "gzip"));
    let compressed = raw.bytes().await.map_err(|e| e.to_string())?;
    raw.error_for_status_ref().map_err(|e| e.to_string())?;
    expect(raw.header("content-encoding").as_deref() == Some("gzip"), || "nginx did not gzip".into())?;
    Ok(format!("{} bytes sent as {} gzip bytes, decoded equal", original.len(), compressed.len()))
}

async fn keep_alive(nginx: &Nginx) -> Result<String, String> {
    let manager = NetworkAccessManager::new();
    for _ in 0..20 {
        fetch(&manager, nginx.url("/files/1024.bin?keepalive")).await?;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut connections = nginx.connections_for("/files/1024.bin?keepalive");
    connections.dedup();
    expect(connections.len() == 1, || format!("20 sequential requests used {} connections", connections.len()))?;
    Ok("20 sequential GETs on 1 connection".into())
}

async fn parallel(nginx: &Nginx) -> Result<String, String> {
    let manager = NetworkAccessManager::new();
    let before: std::collections::BTreeSet<u64> = nginx.connections_for("/").into_iter().collect();
    let replies: Vec<_> = (0..30).map(|_| fetch(&manager, nginx.url("/files/1048576.bin"))).collect();
    for result in futures::future::join_all(replies).await {
        let (body, _) = result?;
        expect(body.len() == 1024 * 1024, || "short body".into())?;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after: std::collections::BTreeSet<u64> = nginx.connections_for("/").into_iter().collect();
    let new = after.difference(&before).count();
    expect((1..=6).contains(&new), || format!("30 parallel GETs opened {new} connections"))?;
    Ok(format!("30 parallel 1 MiB GETs over {new} connections"))
}

async fn head(nginx: &Nginx, manager: &NetworkAccessManager) -> Result<String, String> {
    let mut reply = manager.head(Request::new(nginx.url("/files/1048576.bin")));
    let body = reply.bytes().await.map_err(|e| e.to_string())?;
    reply.error_for_status_ref().map_err(|e| e.to_string())?;
    expect(body.is_empty(), || "HEAD returned a body".into())?;
    expect(reply.headers().content_length() == Some(1024 * 1024), || "HEAD Content-Length".into())?;
    Ok("Content-Length 1048576, no body".into())
}

async fn dav(nginx: &Nginx, manager: &NetworkAccessManager) -> Result<String, String> {
    let data = Bytes::from(content(3 * 1024 * 1024 + 5));
    let url = nginx.url("/dav/sub/upload.bin");
    let mut put = manager.put(Request::new(&url), data.clone());
    put.finished().await.map_err(|e| e.to_string())?;
    let created = put.status();
    expect(matches!(created, Some(201 | 204)), || format!("PUT status {created:?}"))?;
    let (body, _) = fetch(manager, url.clone()).await?;
    expect(sha(&body) == sha(&data), || "the uploaded file differs".into())?;
    let mut delete = manager.delete_resource(Request::new(&url));
    delete.finished().await.map_err(|e| e.to_string())?;
    let mut gone = manager.get(Request::new(&url));
    let error = gone.finished().await.err().map(|e| e.kind());
    expect(error == Some(NetworkErrorKind::ContentNotFoundError), || format!("after DELETE: {error:?}"))?;
    Ok(format!("3 MiB PUT {}, read back equal, DELETE {:?}, then 404", created.unwrap_or(0), delete.status()))
}

async fn redirects(nginx: &Nginx, manager: &NetworkAccessManager) -> Result<String, String> {
    let (body, reply) = fetch(manager, nginx.url("/twice")).await?;
    expect(body == content(1024), || "redirected body differs".into())?;
    expect(reply.redirects().len() == 2, || format!("{} redirects", reply.redirects().len()))?;
    expect(reply.url().map(|u| u.path().to_owned()).as_deref() == Some("/files/1024.bin"), || "final URL".into())?;
    Ok("302 then 301, final URL and body right".into())
}

async fn not_found(nginx: &Nginx, manager: &NetworkAccessManager) -> Result<String, String> {
    let mut reply = manager.get(Request::new(nginx.url("/files/missing")));
    let body = reply.read_all().await;
    let kind = reply.error().map(|e| e.kind());
    expect(kind == Some(NetworkErrorKind::ContentNotFoundError), || format!("{kind:?}"))?;
    expect(String::from_utf8_lossy(&body).contains("404"), || "nginx's 404 page is not readable".into())?;
    Ok(format!("ContentNotFoundError, {} byte page", body.len()))
}
