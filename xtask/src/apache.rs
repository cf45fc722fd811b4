//! Apache httpd from Debian with `mod_auth_digest`, for Digest authentication interop. Apache
//! implements Digest with MD5 only (its `AuthDigestAlgorithm` knows no SHA-256), so SHA-256 is
//! covered by the in-process tests alone.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures::future::{BoxFuture, FutureExt};
use md5::{Digest, Md5};
use netaccess::{AuthenticationChallenge, AuthenticationHandler, Credentials, NetworkAccessManager, Request};

use crate::interop::{free_port, wait_for_port};

/// Where Debian puts the server.
pub(crate) const APACHE: &str = "/usr/sbin/apache2";
const MODULES: &str = "/usr/lib/apache2/modules";
const REALM: &str = "apache interop";

pub(crate) struct Apache {
    base: String,
    pub(crate) version: String,
    // Declared before the directory: the server stops before its files go.
    _server: crate::processes::Server,
    _dir: tempfile::TempDir,
}

impl Apache {
    pub(crate) fn start() -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let root: PathBuf = dir.path().to_owned();
        // The server drops to `nobody`: everything it reads must be readable by anyone.
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(root.join("www/digest")).map_err(|e| e.to_string())?;
        std::fs::write(root.join("www/digest/index.html"), "digest ok\n").map_err(|e| e.to_string())?;
        let ha1: String = Md5::digest(format!("alice:{REALM}:secret")).iter().map(|b| format!("{b:02x}")).collect();
        std::fs::write(root.join("digest.pw"), format!("alice:{REALM}:{ha1}\n")).map_err(|e| e.to_string())?;
        let port = free_port()?;
        let mut conf = String::new();
        for module in
            ["mpm_event", "authn_core", "authn_file", "authz_core", "authz_user", "auth_digest", "dir", "mime"]
        {
            let _ = writeln!(conf, "LoadModule {module}_module {MODULES}/mod_{module}.so");
        }
        let _ = write!(
            conf,
            r#"ServerName localhost
Listen 127.0.0.1:{port}
PidFile {root}/httpd.pid
ErrorLog {root}/error.log
User nobody
Group nogroup
DocumentRoot {root}/www
DirectoryIndex index.html
TypesConfig /etc/mime.types
<Location /digest>
    AuthType Digest
    AuthName "{REALM}"
    AuthDigestProvider file
    AuthUserFile {root}/digest.pw
    Require valid-user
</Location>
"#,
            root = root.display()
        );
        let config = root.join("httpd.conf");
        std::fs::write(&config, conf).map_err(|e| e.to_string())?;
        let version = Command::new(APACHE)
            .arg("-v")
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("Server version: ")
                    .to_owned()
            })
            .unwrap_or_default();
        let server = crate::processes::Server::spawn(
            Command::new(APACHE)
                .arg("-f")
                .arg(&config)
                .arg("-DFOREGROUND")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit()),
            "apache2",
        )?;
        let apache = Apache { base: format!("http://127.0.0.1:{port}"), version, _server: server, _dir: dir };
        wait_for_port(port, "apache2")?;
        Ok(apache)
    }
}

/// Gives fixed credentials and counts how often it was asked.
pub(crate) struct CountingHandler {
    credentials: Credentials,
    calls: Arc<AtomicUsize>,
}

impl CountingHandler {
    pub(crate) fn new(user: &str, password: &str) -> (Self, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        (Self { credentials: Credentials::new(user, password), calls: calls.clone() }, calls)
    }
}

impl AuthenticationHandler for CountingHandler {
    fn credentials(&self, _challenge: AuthenticationChallenge) -> BoxFuture<'static, Option<Credentials>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let credentials = self.credentials.clone();
        async move { Some(credentials) }.boxed()
    }
}

pub(crate) async fn checks(apache: &Apache) -> Vec<(String, Result<String, String>)> {
    vec![("apache mod_auth_digest (MD5)".into(), digest(apache).await)]
}

async fn digest(apache: &Apache) -> Result<String, String> {
    let (handler, calls) = CountingHandler::new("alice", "secret");
    let manager = NetworkAccessManager::builder().authentication_handler(handler).build();
    for _ in 0..3 {
        let mut reply = manager.get(Request::new(format!("{}/digest/", apache.base)));
        let body = reply.bytes().await.map_err(|e| e.to_string())?;
        reply.error_for_status_ref().map_err(|e| e.to_string())?;
        if body != "digest ok\n" {
            return Err(format!("unexpected body {:?}", String::from_utf8_lossy(&body)));
        }
    }
    let asked = calls.load(Ordering::SeqCst);
    if asked != 1 {
        return Err(format!("the handler was asked {asked} times"));
    }
    Ok(format!("3 GETs, handler asked {asked} time"))
}
