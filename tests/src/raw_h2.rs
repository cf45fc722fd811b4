//! A byte-level HTTP/2 server (h2c, prior knowledge) for frames no real server sends on
//! purpose: `GOAWAY` with a chosen last stream id, refused and reset streams, HPACK bombs,
//! `CONTINUATION`, `PING` and `SETTINGS` floods, a window that never opens.
//!
//! It reads the client's preface, sends its own `SETTINGS`, acknowledges the client's
//! `SETTINGS` and `PING`s, and calls the test's handler for each request head (a `HEADERS`
//! block ended by `END_HEADERS`); the handler says what to write back. Request bodies are read
//! and dropped, no `WINDOW_UPDATE` is ever sent.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does after a request head.
#[derive(Debug, Clone)]
pub enum H2Action {
    /// Writes these bytes (frames made by the functions of this module).
    Write(Vec<u8>),
    /// Writes the frames `count` times (a flood), stopping when the client goes.
    Repeat(Vec<u8>, usize),
    /// Waits a moment, then closes the connection.
    Close,
    /// Goes on serving the connection (answering `PING`s and later requests), and closes it
    /// this long after, without `GOAWAY`, as a server whose idle timeout passed.
    CloseAfter(Duration),
}

/// A request head as the server saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H2Request {
    /// Which connection (0 for the first accepted).
    pub connection: usize,
    /// Which request on that connection (0 for the first).
    pub nth: usize,
    /// Its stream id.
    pub stream: u32,
}

type Handler = Arc<dyn Fn(H2Request) -> Vec<H2Action> + Send + Sync>;

/// A running byte-level HTTP/2 server; it stops when dropped.
pub struct RawH2Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Every request head, in arrival order.
    pub requests: Arc<Mutex<Vec<H2Request>>>,
    /// Connections accepted.
    pub connections: Arc<AtomicUsize>,
    /// Every `RST_STREAM` the client sent: (stream, error code).
    pub resets: Arc<Mutex<Vec<(u32, u32)>>>,
    /// Connections that ended (the client closed them, or the server did).
    pub closed: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RawH2Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How a server behaves beyond its answers to requests.
#[derive(Debug, Clone, Default)]
pub struct H2Options {
    /// What goes in the server's first `SETTINGS` frame.
    pub settings: Vec<(u16, u32)>,
    /// Never acknowledges the client's `SETTINGS`.
    pub ignore_settings: bool,
    /// Frames written this long after the preface, on every connection, whatever the client
    /// sent (a `SETTINGS` frame that raises a limit, say).
    pub later: Option<(Duration, Vec<u8>)>,
}

impl RawH2Server {
    /// Starts on 127.0.0.1; `settings` go in the server's first `SETTINGS` frame.
    pub async fn start(
        settings: Vec<(u16, u32)>,
        handler: impl Fn(H2Request) -> Vec<H2Action> + Send + Sync + 'static,
    ) -> Self {
        Self::start_with(H2Options { settings, ..H2Options::default() }, handler).await
    }

    /// Starts on 127.0.0.1, behaving as `options` say.
    pub async fn start_with(
        options: H2Options,
        handler: impl Fn(H2Request) -> Vec<H2Action> + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let handler: Handler = Arc::new(handler);
        let resets = Arc::new(Mutex::new(Vec::new()));
        let closed = Arc::new(AtomicUsize::new(0));
        let (log, count, reset_log, ended) = (requests.clone(), connections.clone(), resets.clone(), closed.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let connection = count.fetch_add(1, Ordering::SeqCst);
                let (handler, log, options, resets, ended) =
                    (handler.clone(), log.clone(), options.clone(), reset_log.clone(), ended.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, connection, &options, handler, log, resets).await;
                    ended.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        Self { addr, requests, connections, resets, closed, task }
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The request heads so far.
    pub fn seen(&self) -> Vec<H2Request> {
        self.requests.lock().expect("lock").clone()
    }

    /// The `RST_STREAM`s the client sent, once there is at least one (they may arrive after
    /// the replies ended); panics when none came within `limit`.
    pub async fn resets_once_seen(&self, limit: Duration) -> Vec<(u32, u32)> {
        tokio::time::timeout(limit, async {
            while self.resets.lock().expect("lock").is_empty() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the server saw a RST_STREAM");
        self.resets.lock().expect("lock").clone()
    }
}

async fn serve(
    mut stream: TcpStream,
    connection: usize,
    options: &H2Options,
    handler: Handler,
    log: Arc<Mutex<Vec<H2Request>>>,
    resets: Arc<Mutex<Vec<(u32, u32)>>>,
) -> std::io::Result<()> {
    let mut preface = [0u8; 24];
    stream.read_exact(&mut preface).await?;
    stream.write_all(&settings_frame(&options.settings)).await?;
    let mut nth = 0;
    let mut close_at: Option<tokio::time::Instant> = None;
    let mut later = options.later.clone().map(|(after, bytes)| (tokio::time::Instant::now() + after, bytes));
    loop {
        let mut header = [0u8; 9];
        let wake = match (close_at, &later) {
            (Some(close), Some((write, _))) => Some(close.min(*write)),
            (close, write) => close.or(write.as_ref().map(|(at, _)| *at)),
        };
        match wake {
            None => {
                stream.read_exact(&mut header).await?;
            }
            Some(deadline) => match tokio::time::timeout_at(deadline, stream.read_exact(&mut header)).await {
                Ok(read) => {
                    read?;
                }
                Err(_) => {
                    // A timer, not a frame: the frames written later, or the close.
                    match later.take_if(|(at, _)| *at <= tokio::time::Instant::now()) {
                        Some((_, bytes)) => {
                            stream.write_all(&bytes).await?;
                            continue;
                        }
                        None => return Ok(()),
                    }
                }
            },
        }
        let length = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
        let (kind, flags) = (header[3], header[4]);
        let id = u32::from_be_bytes([header[5], header[6], header[7], header[8]]) & 0x7fff_ffff;
        let mut payload = vec![0u8; length];
        stream.read_exact(&mut payload).await?;
        match kind {
            SETTINGS if flags & ACK == 0 && !options.ignore_settings => {
                stream.write_all(&frame(SETTINGS, ACK, 0, &[])).await?;
            }
            PING if flags & ACK == 0 => stream.write_all(&frame(PING, ACK, 0, &payload)).await?,
            RST_STREAM if payload.len() == 4 => {
                let code = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
                resets.lock().expect("lock").push((id, code));
            }
            HEADERS | CONTINUATION if flags & END_HEADERS != 0 => {
                let request = H2Request { connection, nth, stream: id };
                nth += 1;
                log.lock().expect("lock").push(request);
                for action in handler(request) {
                    match action {
                        H2Action::Write(bytes) => stream.write_all(&bytes).await?,
                        H2Action::Repeat(bytes, count) => {
                            for _ in 0..count {
                                stream.write_all(&bytes).await?;
                            }
                        }
                        H2Action::Close => {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            return Ok(());
                        }
                        H2Action::CloseAfter(after) => close_at = Some(tokio::time::Instant::now() + after),
                    }
                }
            }
            _ => {}
        }
    }
}

const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const PING: u8 = 6;
const GOAWAY: u8 = 7;
const CONTINUATION: u8 = 9;
const ACK: u8 = 1;
const END_STREAM: u8 = 1;
const END_HEADERS: u8 = 4;

/// The error code `REFUSED_STREAM`.
pub const REFUSED_STREAM: u32 = 7;
/// The error code `CANCEL`.
pub const CANCEL: u32 = 8;
/// The error code `NO_ERROR`.
pub const NO_ERROR: u32 = 0;
/// The setting `SETTINGS_INITIAL_WINDOW_SIZE`.
pub const INITIAL_WINDOW_SIZE: u16 = 4;

/// One frame.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let length = u32::try_from(payload.len()).expect("frame length").to_be_bytes();
    let mut out = vec![length[1], length[2], length[3], kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A `SETTINGS` frame with these parameters.
pub fn settings_frame(settings: &[(u16, u32)]) -> Vec<u8> {
    let payload: Vec<u8> =
        settings.iter().flat_map(|(id, value)| [&id.to_be_bytes()[..], &value.to_be_bytes()[..]].concat()).collect();
    frame(SETTINGS, 0, 0, &payload)
}

/// `200 OK` with `body` on `stream`, ended.
pub fn ok(stream: u32, body: &[u8]) -> Vec<u8> {
    // 0x88: `:status: 200`, index 8 of the static table.
    let mut out = frame(HEADERS, END_HEADERS, stream, &[0x88]);
    out.extend(frame(DATA, END_STREAM, stream, body));
    out
}

/// `RST_STREAM` with `code`.
pub fn reset(stream: u32, code: u32) -> Vec<u8> {
    frame(RST_STREAM, 0, stream, &code.to_be_bytes())
}

/// `GOAWAY` naming the last stream the server processed.
pub fn goaway(last_stream: u32, code: u32) -> Vec<u8> {
    frame(GOAWAY, 0, 0, &[last_stream.to_be_bytes(), code.to_be_bytes()].concat())
}

/// `200 OK` and the start of a body on `stream`, not ended: the stream stays open.
pub fn ok_unfinished(stream: u32, start: &[u8]) -> Vec<u8> {
    let mut out = frame(HEADERS, END_HEADERS, stream, &[0x88]);
    out.extend(frame(DATA, 0, stream, start));
    out
}

/// A `PING`.
pub fn ping() -> Vec<u8> {
    frame(PING, 0, 0, &[7; 8])
}

/// An empty `SETTINGS` frame (it asks for an acknowledgement).
pub fn empty_settings() -> Vec<u8> {
    frame(SETTINGS, 0, 0, &[])
}

/// A `HEADERS` frame with `:status: 200` and no `END_HEADERS`: `CONTINUATION`s must follow.
pub fn open_headers(stream: u32) -> Vec<u8> {
    frame(HEADERS, 0, stream, &[0x88])
}

/// A `CONTINUATION` frame carrying `block`, without `END_HEADERS`.
pub fn continuation(stream: u32, block: &[u8]) -> Vec<u8> {
    frame(CONTINUATION, 0, stream, block)
}

/// An HPACK bomb: `:status: 200`, one field of `value_len` bytes added to the dynamic table,
/// then `references` one-byte references to it, in one `HEADERS` frame: a few KiB on the wire,
/// `references * value_len` bytes once decoded.
pub fn hpack_bomb(stream: u32, value_len: usize, references: usize) -> Vec<u8> {
    let mut block = vec![0x88, 0x40];
    block.extend(hpack_string(b"x-bomb"));
    block.extend(hpack_string(&vec![b'a'; value_len]));
    // 0xbe: index 62, the first entry of the dynamic table.
    block.extend(std::iter::repeat_n(0xbe, references));
    frame(HEADERS, END_HEADERS | END_STREAM, stream, &block)
}

fn hpack_string(bytes: &[u8]) -> Vec<u8> {
    let mut out = hpack_integer(bytes.len(), 7, 0);
    out.extend_from_slice(bytes);
    out
}

fn hpack_integer(mut value: usize, prefix_bits: u32, first: u8) -> Vec<u8> {
    let max = (1usize << prefix_bits) - 1;
    if value < max {
        return vec![first | value as u8];
    }
    let mut out = vec![first | max as u8];
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
    out
}

/// `200 OK` with `Content-Encoding: gzip` and `body` (already compressed) in `DATA` frames of
/// at most 16 KiB, ended.
pub fn ok_gzip(stream: u32, body: &[u8]) -> Vec<u8> {
    // 0x0f 0x0b: a literal field without indexing, its name index 26 of the static table
    // (`content-encoding`); then the value.
    let mut block = vec![0x88, 0x0f, 0x0b];
    block.extend(hpack_string(b"gzip"));
    let mut out = frame(HEADERS, END_HEADERS, stream, &block);
    let pieces: Vec<&[u8]> = body.chunks(16 * 1024).collect();
    for (i, piece) in pieces.iter().enumerate() {
        let flags = if i + 1 == pieces.len() { END_STREAM } else { 0 };
        out.extend(frame(DATA, flags, stream, piece));
    }
    out
}

const PUSH_PROMISE: u8 = 5;
const WINDOW_UPDATE: u8 = 8;

/// The setting `SETTINGS_MAX_CONCURRENT_STREAMS`.
pub const MAX_CONCURRENT_STREAMS: u16 = 3;

/// The setting `SETTINGS_ENABLE_PUSH`.
pub const ENABLE_PUSH: u16 = 2;

/// A `HEADERS` frame whose block is `fields`, each a literal without indexing of a new name
/// (so any name goes on the wire as given, upper case and `:status: abc` too), `END_HEADERS`
/// set, `END_STREAM` when `end`.
pub fn headers(stream: u32, fields: &[(&[u8], &[u8])], end: bool) -> Vec<u8> {
    let flags = END_HEADERS | if end { END_STREAM } else { 0 };
    frame(HEADERS, flags, stream, &literal_block(fields))
}

fn literal_block(fields: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut block = Vec::new();
    for (name, value) in fields {
        block.push(0x00);
        block.extend(hpack_string(name));
        block.extend(hpack_string(value));
    }
    block
}

/// A `DATA` frame, `END_STREAM` when `end`.
pub fn data(stream: u32, payload: &[u8], end: bool) -> Vec<u8> {
    frame(DATA, if end { END_STREAM } else { 0 }, stream, payload)
}

/// A `WINDOW_UPDATE` of `increment` on `stream` (0: the connection).
pub fn window_update(stream: u32, increment: u32) -> Vec<u8> {
    frame(WINDOW_UPDATE, 0, stream, &increment.to_be_bytes())
}

/// A `PUSH_PROMISE` on `stream` promising `promised` with `:method GET` and `:path /pushed`.
pub fn push_promise(stream: u32, promised: u32) -> Vec<u8> {
    let mut payload = promised.to_be_bytes().to_vec();
    payload.extend(literal_block(&[
        (b":method", b"GET"),
        (b":scheme", b"http"),
        (b":authority", b"127.0.0.1"),
        (b":path", b"/pushed"),
    ]));
    frame(PUSH_PROMISE, END_HEADERS, stream, &payload)
}
