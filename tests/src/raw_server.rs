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
    /// After the request head, sends `head` and then `filler` again and again until the peer
    /// stops reading or goes away; [`RawServer::bytes_written`] counts what the kernel took.
    Flood {
        /// Sent once, first.
        head: Vec<u8>,
        /// Repeated for ever after it.
        filler: Vec<u8>,
    },
    /// After the request head, sends `bytes` one at a time, `interval` apart, then holds the
    /// connection open without a word.
    Drip {
        /// What to send.
        bytes: Vec<u8>,
        /// The pause before each byte.
        interval: std::time::Duration,
    },
    /// Sends `bytes` as soon as it accepted, before reading anything, then holds the connection
    /// open: garbage for a client that expects to speak first (a SOCKS5 greeting, say).
    Greeting(Vec<u8>),
}

/// A running raw server; it stops when dropped.
pub struct RawServer {
    /// Where it listens.
    pub addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    written: Arc<AtomicUsize>,
    heads: Heads,
    task: tokio::task::JoinHandle<()>,
}

/// The request heads a [`Script::Replies`] server read, exactly as they came.
type Heads = Arc<std::sync::Mutex<Vec<String>>>;

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
        let written = Arc::new(AtomicUsize::new(0));
        let written_by_task = written.clone();
        let heads = Heads::default();
        let heads_of_task = heads.clone();
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
                        tokio::spawn(serve(stream, replies, heads_of_task.clone()));
                    }
                    Script::Flood { head, filler } => {
                        tokio::spawn(flood(stream, head.clone(), filler.clone(), written_by_task.clone()));
                    }
                    Script::Drip { bytes, interval } => {
                        tokio::spawn(drip(stream, bytes.clone(), *interval));
                    }
                    Script::Greeting(bytes) => {
                        tokio::spawn(greet(stream, bytes.clone()));
                    }
                }
            }
        });
        Self { addr, connections, written, heads, task }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The request heads read so far (by [`Script::Replies`] servers), bytes as sent.
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("lock").clone()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Bytes a [`Script::Flood`] server has handed to the kernel so far, over all connections.
    pub fn bytes_written(&self) -> usize {
        self.written.load(Ordering::SeqCst)
    }
}

async fn flood(mut stream: TcpStream, head: Vec<u8>, filler: Vec<u8>, written: Arc<AtomicUsize>) {
    if read_request_head(&mut stream).await.is_none() || stream.write_all(&head).await.is_err() {
        return;
    }
    written.fetch_add(head.len(), Ordering::SeqCst);
    while stream.write_all(&filler).await.is_ok() {
        written.fetch_add(filler.len(), Ordering::SeqCst);
    }
}

async fn drip(mut stream: TcpStream, bytes: Vec<u8>, interval: std::time::Duration) {
    if read_request_head(&mut stream).await.is_none() {
        return;
    }
    for byte in bytes {
        tokio::time::sleep(interval).await;
        if stream.write_all(&[byte]).await.is_err() {
            return;
        }
    }
    hold(stream).await;
}

async fn greet(mut stream: TcpStream, bytes: Vec<u8>) {
    if stream.write_all(&bytes).await.is_ok() {
        hold(stream).await;
    }
}

/// Reads and discards until the peer closes.
async fn hold(mut stream: TcpStream) {
    let mut sink = [0u8; 1024];
    while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
}

async fn serve(mut stream: TcpStream, replies: Vec<Vec<u8>>, heads: Heads) {
    for reply in replies {
        let Some(head) = read_request_head(&mut stream).await else { return };
        heads.lock().expect("lock").push(String::from_utf8_lossy(&head).into_owned());
        if reply.is_empty() {
            return;
        }
        if stream.write_all(&reply).await.is_err() {
            return;
        }
    }
}

/// Reads up to the end of a request head, which it returns; `None` at EOF.
async fn read_request_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        seen.push(byte[0]);
    }
    Some(seen)
}
