//! Proxies from Debian for interop: squid (open, and with basic authentication through its
//! ncsa helper), tinyproxy and microsocks, each on loopback with a generated configuration, each
//! with its own log to prove a request went through it. The targets are the interop nginx's
//! plain and TLS servers.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use netaccess::{NetworkAccessManager, NetworkErrorKind, Proxy, Request};

use crate::interop::{wait_for_port, Nginx};

pub(crate) const SQUID: &str = "/usr/sbin/squid";
pub(crate) const TINYPROXY: &str = "/usr/bin/tinyproxy";
pub(crate) const MICROSOCKS: &str = "/usr/bin/microsocks";
const NCSA: &str = "/usr/lib/squid/basic_ncsa_auth";

/// The proxy daemons, stopped on drop (each with every process it started).
pub(crate) struct Proxies {
    // Declared first: the daemons stop before their directory goes.
    _children: Vec<crate::processes::Server>,
    dir: tempfile::TempDir,
    squid: u16,
    squid_locked: u16,
    tinyproxy: u16,
    microsocks: u16,
    microsocks_log: PathBuf,
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn spawn(command: &mut Command, what: &str) -> Result<crate::processes::Server, String> {
    crate::processes::Server::spawn(command.stdin(Stdio::null()), what)
}

impl Proxies {
    pub(crate) fn start() -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let root = dir.path().to_owned();
        // The daemons drop privileges: their directory must be theirs too.
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777)).map_err(|e| e.to_string())?;
        let [squid, squid_locked, tinyproxy, microsocks] = crate::interop::free_ports::<4>()?;
        let mut children = Vec::new();

        let hash = Command::new("openssl")
            .args(["passwd", "-apr1", "secret"])
            .output()
            .map_err(|e| format!("openssl passwd: {e}"))?;
        write(&root.join("passwd"), &format!("dave:{}", String::from_utf8_lossy(&hash.stdout)))?;
        let mut conf = String::new();
        let _ = write!(
            conf,
            "http_port 127.0.0.1:{squid} name=open\nhttp_port 127.0.0.1:{squid_locked} name=locked\n\
             pid_filename {root}/squid.pid\ncache_log {root}/squid-cache.log\naccess_log stdio:{root}/squid-access.log\n\
             coredump_dir {root}\ncache deny all\nshutdown_lifetime 0 seconds\n\
             auth_param basic program {NCSA} {root}/passwd\nauth_param basic realm squid interop\n\
             acl open_port myportname open\nacl locked_port myportname locked\nacl authed proxy_auth REQUIRED\n\
             acl local src 127.0.0.0/8\n\
             http_access allow open_port local\nhttp_access allow locked_port authed\nhttp_access deny all\n",
            root = root.display()
        );
        write(&root.join("squid.conf"), &conf)?;
        children.push(spawn(
            Command::new(SQUID).arg("-N").arg("-f").arg(root.join("squid.conf")).stdout(Stdio::null()),
            "squid",
        )?);

        let tiny = format!(
            "Port {tinyproxy}\nListen 127.0.0.1\nTimeout 60\nUser nobody\nGroup nogroup\nLogFile \"{root}/tinyproxy.log\"\n\
             LogLevel Info\nPidFile \"{root}/tinyproxy.pid\"\nMaxClients 20\nAllow 127.0.0.1\n",
            root = root.display()
        );
        write(&root.join("tinyproxy.conf"), &tiny)?;
        children.push(spawn(
            Command::new(TINYPROXY).arg("-d").arg("-c").arg(root.join("tinyproxy.conf")).stdout(Stdio::null()),
            "tinyproxy",
        )?);

        let microsocks_log = root.join("microsocks.log");
        let log = std::fs::File::create(&microsocks_log).map_err(|e| e.to_string())?;
        let log_errors = log.try_clone().map_err(|e| e.to_string())?;
        // microsocks logs its connections on stderr.
        children.push(spawn(
            Command::new(MICROSOCKS)
                .args(["-i", "127.0.0.1", "-p", &microsocks.to_string()])
                .stdout(log)
                .stderr(log_errors),
            "microsocks",
        )?);

        let proxies = Proxies { _children: children, dir, squid, squid_locked, tinyproxy, microsocks, microsocks_log };
        for (port, what) in
            [(squid, "squid"), (squid_locked, "squid (auth)"), (tinyproxy, "tinyproxy"), (microsocks, "microsocks")]
        {
            wait_for_port(port, what)?;
        }
        Ok(proxies)
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }
}

fn manager(nginx: &Nginx, proxy: Proxy) -> NetworkAccessManager {
    let tls =
        netaccess::TlsConfig::default().with_trust(netaccess::Trust::None).with_ca_certificate(nginx.ca_der.clone());
    NetworkAccessManager::builder().proxy(proxy).tls(tls).build()
}

async fn fetch_through(manager: &NetworkAccessManager, url: &str) -> Result<usize, String> {
    let mut reply = manager.get(Request::new(url));
    let body = tokio::time::timeout(Duration::from_secs(30), reply.bytes())
        .await
        .map_err(|_| format!("{url}: no answer in 30 s"))?
        .map_err(|e| e.to_string())?;
    reply.error_for_status_ref().map_err(|e| e.to_string())?;
    if reply.attributes().proxy.is_none() {
        return Err(format!("{url}: the reply does not name a proxy"));
    }
    Ok(body.len())
}

/// Fetches the plain and the TLS target through `proxy`, then checks `log` names both.
async fn both_ways(
    nginx: &Nginx,
    proxies: &Proxies,
    proxy: Proxy,
    log: &str,
    marks: [&str; 2],
) -> Result<String, String> {
    let manager = manager(nginx, proxy);
    let plain = fetch_through(&manager, &nginx.url("/files/1024.bin")).await?;
    let secure = fetch_through(&manager, &nginx.tls_url("/files/1048576.bin")).await?;
    if (plain, secure) != (1024, 1024 * 1024) {
        return Err(format!("bodies of {plain} and {secure} bytes"));
    }
    // Squid logs a tunnel when it closes: close the pooled connections first.
    manager.clear_connection_cache();
    drop(manager);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let text = if log == "microsocks" {
        std::fs::read_to_string(&proxies.microsocks_log).unwrap_or_default()
    } else {
        proxies.log(log)
    };
    for mark in marks {
        if !text.contains(mark) {
            return Err(format!(
                "the proxy's log does not show {mark:?}: {}",
                text.lines().rev().take(4).collect::<Vec<_>>().join(" | ")
            ));
        }
    }
    Ok(format!("http and https through it; its log shows {}", marks.join(" and ")))
}

pub(crate) async fn checks(nginx: &Nginx, proxies: &Proxies) -> Vec<(String, Result<String, String>)> {
    let http_port = nginx.url("/").rsplit(':').next().unwrap_or("").trim_end_matches('/').to_owned();
    let tls_port = nginx.tls_url("/").rsplit(':').next().unwrap_or("").trim_end_matches('/').to_owned();
    let plain_mark = format!("127.0.0.1:{http_port}");
    let connect_mark = format!("localhost:{tls_port}");
    let proxy = |kind: netaccess::ProxyKind, port: u16| Proxy::new(kind, "127.0.0.1", port);
    let mut results = Vec::new();
    results.push((
        "squid: forward and CONNECT".into(),
        both_ways(
            nginx,
            proxies,
            proxy(netaccess::ProxyKind::Http, proxies.squid),
            "squid-access.log",
            [&plain_mark, &connect_mark],
        )
        .await,
    ));
    results.push(("squid: basic authentication (ncsa)".into(), squid_auth(nginx, proxies).await));
    results.push((
        "tinyproxy: forward and CONNECT".into(),
        both_ways(
            nginx,
            proxies,
            proxy(netaccess::ProxyKind::Http, proxies.tinyproxy),
            "tinyproxy.log",
            [&plain_mark, &connect_mark],
        )
        .await,
    ));
    let socks = Proxy::from_url(&format!("socks5h://127.0.0.1:{}", proxies.microsocks)).expect("socks URL");
    results.push((
        "microsocks: SOCKS5, names resolved there".into(),
        both_ways(nginx, proxies, socks, "microsocks", [&plain_mark, &connect_mark]).await,
    ));
    results
}

async fn squid_auth(nginx: &Nginx, proxies: &Proxies) -> Result<String, String> {
    let locked = Proxy::new(netaccess::ProxyKind::Http, "127.0.0.1", proxies.squid_locked);
    let (handler, calls) = CountingProxyHandler::new("dave", "secret");
    let tls =
        netaccess::TlsConfig::default().with_trust(netaccess::Trust::None).with_ca_certificate(nginx.ca_der.clone());
    let manager =
        NetworkAccessManager::builder().proxy(locked.clone()).proxy_authentication_handler(handler).tls(tls).build();
    for _ in 0..3 {
        fetch_through(&manager, &nginx.url("/files/1024.bin")).await?;
    }
    fetch_through(&manager, &nginx.tls_url("/files/1024.bin")).await?;
    let asked = calls.load(Ordering::SeqCst);
    if asked != 1 {
        return Err(format!("the handler was asked {asked} times"));
    }
    let mut refused = manager_without_credentials(locked).get(Request::new(nginx.url("/files/1024.bin")));
    let error = refused.finished().await.err().ok_or("no credentials, yet no error")?;
    if error.kind() != NetworkErrorKind::ProxyAuthenticationRequiredError {
        return Err(error.to_string());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = proxies.log("squid-access.log");
    if !log.contains("TCP_DENIED/407") || !log.contains(" dave ") {
        return Err("squid's log shows no 407 and no request by dave".into());
    }
    Ok(format!("4 requests (http and CONNECT), handler asked {asked} time; 407 without credentials"))
}

fn manager_without_credentials(proxy: Proxy) -> NetworkAccessManager {
    NetworkAccessManager::builder().proxy(proxy).build()
}

struct CountingProxyHandler {
    user: String,
    password: String,
    calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl CountingProxyHandler {
    fn new(user: &str, password: &str) -> (Self, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        (Self { user: user.into(), password: password.into(), calls: calls.clone() }, calls)
    }
}

impl netaccess::ProxyAuthenticationHandler for CountingProxyHandler {
    fn credentials(
        &self,
        _challenge: netaccess::ProxyAuthenticationChallenge,
    ) -> futures::future::BoxFuture<'static, Option<(String, String)>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let answer = Some((self.user.clone(), self.password.clone()));
        Box::pin(async move { answer })
    }
}
