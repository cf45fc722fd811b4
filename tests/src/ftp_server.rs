//! An FTP server for the tests: libunftp over a temporary directory, anonymous or with one user.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use libunftp::ServerBuilder;
use unftp_core::auth::{AuthenticationError, Authenticator, Credentials, Principal};
use unftp_sbe_fs::Filesystem;

/// Who may log in.
#[derive(Debug, Clone)]
struct Users {
    user: Option<(&'static str, &'static str)>,
}

#[async_trait]
impl Authenticator for Users {
    async fn authenticate(&self, username: &str, creds: &Credentials) -> Result<Principal, AuthenticationError> {
        match self.user {
            None if username == "anonymous" => Ok(Principal { username: username.to_owned() }),
            Some((user, password)) if username == user && creds.password.as_deref() == Some(password) => {
                Ok(Principal { username: username.to_owned() })
            }
            Some((user, _)) if username == user => Err(AuthenticationError::BadPassword),
            _ => Err(AuthenticationError::BadUser),
        }
    }
}

/// A running FTP server; it stops when dropped.
pub struct FtpServer {
    /// Its control port on 127.0.0.1.
    pub port: u16,
    root: tempfile::TempDir,
    _keys: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FtpServer {
    /// Starts a server for anonymous logins (`user` = `None`) or for one user only.
    pub async fn start(user: Option<(&'static str, &'static str)>) -> Self {
        Self::start_with(user, None).await
    }

    /// Starts a server that requires explicit FTPS (AUTH TLS, protected data) with `identity`.
    pub async fn start_ftps(user: Option<(&'static str, &'static str)>, identity: &crate::Identity) -> Self {
        Self::start_with(user, Some(identity)).await
    }

    async fn start_with(user: Option<(&'static str, &'static str)>, identity: Option<&crate::Identity>) -> Self {
        let root = tempfile::tempdir().expect("temporary directory");
        let home: PathBuf = root.path().to_owned();
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let passive = 40_000 + (port % 200) * 40;
        let mut builder = ServerBuilder::with_authenticator(
            Box::new(move || Filesystem::new(home.clone()).expect("file system back end")),
            Arc::new(Users { user }),
        )
        .greeting("netaccess test FTP server")
        .passive_ports(passive..=passive + 39);
        let keys = tempfile::tempdir().expect("temporary directory");
        if let Some(identity) = identity {
            std::fs::write(keys.path().join("cert.pem"), &identity.chain_pem).expect("certificate");
            std::fs::write(keys.path().join("key.pem"), &identity.key_pem).expect("key");
            // FTPS is then required on both channels: a client that leaves a data connection
            // unprotected is refused.
            builder = builder
                .ftps(keys.path().join("cert.pem"), keys.path().join("key.pem"))
                .ftps_required(libunftp::options::FtpsRequired::All, libunftp::options::FtpsRequired::All);
        }
        let server = builder.build().expect("FTP server");
        let task = tokio::spawn(async move {
            let _ = server.listen(format!("127.0.0.1:{port}")).await;
        });
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Self { port, root, _keys: keys, task }
    }

    /// The directory it serves.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The URL of `path` on this server, with `login` (`user:password@`) if given.
    pub fn url(&self, login: &str, path: &str) -> String {
        format!("ftp://{login}127.0.0.1:{}{path}", self.port)
    }
}
