//! A byte-level FTP server for what no real server does on demand: a data connection dropped
//! part-way, with the control connection then telling the truth (426) or lying (226).

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the control connection says after the data connection was dropped.
#[derive(Debug, Clone, Copy)]
pub enum AfterDrop {
    /// `426 Connection closed; transfer aborted.`
    Aborted,
    /// `226 Transfer complete.`, although it was not.
    ClaimsComplete,
}

/// A running byte-level FTP server; every download announces `size` bytes (SIZE) and sends
/// `sent` of them before dropping the data connection. It stops when dropped.
pub struct DroppingFtpServer {
    /// Where its control connection listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DroppingFtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DroppingFtpServer {
    /// Starts it on 127.0.0.1.
    pub async fn start(size: usize, sent: usize, after: AfterDrop) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            while let Ok((control, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = serve(control, size, sent, after).await;
                });
            }
        });
        Self { addr, task }
    }

    /// The `ftp:` URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("ftp://{}{path}", self.addr)
    }
}

async fn serve(control: TcpStream, size: usize, sent: usize, after: AfterDrop) -> std::io::Result<()> {
    let (read, mut write) = control.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 byte-level test server\r\n").await?;
    let mut data_listener: Option<TcpListener> = None;
    while let Some(line) = lines.next_line().await? {
        let verb = line.split(' ').next().unwrap_or_default().to_ascii_uppercase();
        let answer: String = match verb.as_str() {
            "USER" => "331 Password required\r\n".into(),
            "PASS" => "230 Logged in\r\n".into(),
            "TYPE" => "200 Type set\r\n".into(),
            "CWD" => "550 Not a directory\r\n".into(),
            "SIZE" => format!("213 {size}\r\n"),
            "EPSV" => {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let port = listener.local_addr()?.port();
                data_listener = Some(listener);
                format!("229 Entering Extended Passive Mode (|||{port}|)\r\n")
            }
            "RETR" => {
                let Some(listener) = data_listener.take() else {
                    write.write_all(b"425 Use EPSV first\r\n").await?;
                    continue;
                };
                write.write_all(b"150 Opening data connection\r\n").await?;
                let (mut data, _) = listener.accept().await?;
                data.write_all(&vec![b'd'; sent]).await?;
                drop(data);
                match after {
                    AfterDrop::Aborted => "426 Connection closed; transfer aborted\r\n".into(),
                    AfterDrop::ClaimsComplete => "226 Transfer complete\r\n".into(),
                }
            }
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => "502 Not implemented\r\n".into(),
        };
        write.write_all(answer.as_bytes()).await?;
    }
    Ok(())
}
