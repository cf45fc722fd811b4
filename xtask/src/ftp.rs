//! vsftpd from Debian for ftp interop: anonymous downloads and uploads on loopback, with its
//! transfer log as the witness.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use netaccess::{Body, KnownHeaders, NetworkAccessManager, NetworkErrorKind, Request};

use crate::interop::{free_port, wait_for_port};

pub(crate) const VSFTPD: &str = "/usr/sbin/vsftpd";

pub(crate) struct Vsftpd {
    dir: tempfile::TempDir,
    port: u16,
    _server: crate::processes::Server,
}

fn content(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect()
}

impl Vsftpd {
    pub(crate) fn start() -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let root = dir.path().join("anon");
        let incoming = root.join("incoming");
        std::fs::create_dir_all(&incoming).map_err(|e| e.to_string())?;
        // vsftpd refuses an anonymous root the ftp user can write; uploads go to a subdirectory.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o555)).map_err(|e| e.to_string())?;
        std::fs::set_permissions(&incoming, std::fs::Permissions::from_mode(0o777)).map_err(|e| e.to_string())?;
        for size in [0usize, 1000, 5 * 1024 * 1024 + 3] {
            let path = root.join(format!("{size}.bin"));
            std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
            std::fs::write(&path, content(size)).map_err(|e| e.to_string())?;
            std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o555)).map_err(|e| e.to_string())?;
        }
        std::fs::create_dir_all("/var/run/vsftpd/empty").map_err(|e| e.to_string())?;
        let port = free_port()?;
        let passive = 30_000 + port % 1000 * 10;
        let conf = format!(
            "listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port={port}\nbackground=NO\n\
             anonymous_enable=YES\nlocal_enable=NO\nno_anon_password=YES\nanon_root={root}\nwrite_enable=YES\n\
             anon_upload_enable=YES\nanon_umask=022\npasv_enable=YES\npasv_min_port={passive}\npasv_max_port={}\n\
             seccomp_sandbox=NO\nsecure_chroot_dir=/var/run/vsftpd/empty\nxferlog_enable=YES\n\
             xferlog_file={log}\nvsftpd_log_file={log}\ndual_log_enable=YES\n",
            passive + 9,
            root = root.display(),
            log = dir.path().join("vsftpd.log").display(),
        );
        let config = dir.path().join("vsftpd.conf");
        std::fs::write(&config, conf).map_err(|e| e.to_string())?;
        let server = crate::processes::Server::spawn(
            Command::new(VSFTPD).arg(&config).stdin(Stdio::null()).stdout(Stdio::null()),
            "vsftpd",
        )?;
        let server = Vsftpd { dir, port, _server: server };
        wait_for_port(port, "vsftpd")?;
        Ok(server)
    }

    fn url(&self, path: &str) -> String {
        format!("ftp://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("vsftpd.log")).unwrap_or_default()
    }
}

pub(crate) async fn checks(server: &Vsftpd) -> Vec<(String, Result<String, String>)> {
    vec![
        ("vsftpd: downloads, SIZE, MDTM".into(), downloads(server).await),
        ("vsftpd: anonymous upload".into(), upload(server).await),
        ("vsftpd: missing file".into(), missing(server).await),
    ]
}

async fn downloads(server: &Vsftpd) -> Result<String, String> {
    let manager = NetworkAccessManager::new();
    for size in [0usize, 1000, 5 * 1024 * 1024 + 3] {
        let mut reply = manager.get(Request::new(server.url(&format!("/{size}.bin"))));
        let body = tokio::time::timeout(Duration::from_secs(30), reply.bytes())
            .await
            .map_err(|_| "no answer in 30 s".to_owned())?
            .map_err(|e| e.to_string())?;
        reply.error_for_status_ref().map_err(|e| e.to_string())?;
        if body != content(size) {
            return Err(format!("{size} bytes: the body differs"));
        }
        if reply.headers().content_length() != Some(size as u64) || reply.headers().last_modified().is_none() {
            return Err(format!("{size} bytes: Content-Length or Last-Modified missing"));
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    if !server.log().contains("5242883.bin") {
        return Err("vsftpd's log does not show the download".into());
    }
    Ok("3 files (0 B to 5 MiB) equal, with size and date; logged by vsftpd".into())
}

async fn upload(server: &Vsftpd) -> Result<String, String> {
    let data = content(3 * 1024 * 1024 + 1);
    let manager = NetworkAccessManager::new();
    let mut put = manager.put(Request::new(server.url("/incoming/up.bin")), Body::from(data.clone()));
    put.finished().await.map_err(|e| e.to_string())?;
    let stored = std::fs::read(server.dir.path().join("anon/incoming/up.bin")).map_err(|e| e.to_string())?;
    if stored != data {
        return Err(format!("stored {} bytes, not the {} sent", stored.len(), data.len()));
    }
    Ok("3 MiB stored intact".into())
}

async fn missing(server: &Vsftpd) -> Result<String, String> {
    let manager = NetworkAccessManager::new();
    let error = manager.get(Request::new(server.url("/no-such.bin"))).finished().await.err().ok_or("no error")?;
    if error.kind() != NetworkErrorKind::ContentNotFoundError {
        return Err(error.to_string());
    }
    Ok(format!("ContentNotFoundError: {}", error.message()))
}
