//! Byte-level servers for what no well-behaved server does: never answer, close at once, or
//! send exact bytes.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a raw server does with each connection.
#[derive(Debug, Clone)]
pub enum Script {
    /// Reads and never answers.
    Silent,
    /// Closes as soon as it accepted.
    CloseAtOnce,
    /// Per connection, in order: for each request it reads, the bytes to answer with; an empty
    /// answer closes the connection unanswered once that request arrived. After the list, it
    /// closes at once. Connections beyond the scripts get the last script.
    Replies(Vec<Vec<Vec<u8>>>),
}

/// A running raw server; it stops when dropped.
pub struct RawServer {
    /// Where it listens.
    pub addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawServer {
    /// Starts a raw server on 127.0.0.1.
    pub async fn start(script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let index = counter.fetch_add(1, Ordering::SeqCst);
                match &script {
                    Script::Silent => held.push(stream),
                    Script::CloseAtOnce => drop(stream),
                    Script::Replies(per_connection) => {
                        let replies = per_connection.get(index).or(per_connection.last()).cloned().unwrap_or_default();
                        tokio::spawn(serve(stream, replies));
                    }
                }
            }
        });
        Self { addr, connections, task }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn serve(mut stream: TcpStream, replies: Vec<Vec<u8>>) {
    for reply in replies {
        if read_request_head(&mut stream).await.is_none() || reply.is_empty() {
            return;
        }
        if stream.write_all(&reply).await.is_err() {
            return;
        }
    }
}

/// Reads up to the end of a request head; `None` at EOF.
async fn read_request_head(stream: &mut TcpStream) -> Option<()> {
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        seen.push(byte[0]);
    }
    Some(())
}
