//! Fixtures for the workspace integration tests: an HTTP server on hyper, byte-level servers
//! for what no real server sends, test backends that behave in ways the real schemes cannot be
//! made to on demand (stall, count drops), and file helpers.

#![forbid(unsafe_code)]

pub mod auth_server;
pub mod black_hole;
pub mod cache_origin;
pub mod ftp_server;
pub mod http_server;
pub mod pki;
pub mod proxy_server;
pub mod raw_ftp;
pub mod raw_h2;
pub mod raw_server;

pub use black_hole::BlackHole;
pub use cache_origin::CacheOrigin;
pub use ftp_server::FtpServer;
pub use http_server::{sha256_hex, tls_acceptor, HttpServer};
pub use pki::{Identity, Pki, Validity};
pub use proxy_server::TestProxy;
pub use raw_ftp::{AfterDrop, DroppingFtpServer};
pub use raw_h2::{H2Action, H2Request, RawH2Server};
pub use raw_server::{RawServer, Script};

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt};
use futures::stream::{self, StreamExt};
use netaccess::{Backend, BackendRequest, BackendResponse, NetworkError};

/// The `file:` URL of a path.
pub fn file_url(path: &Path) -> String {
    url::Url::from_file_path(path).expect("absolute path").to_string()
}

/// Writes `data` to `dir/name` and returns its `file:` URL.
pub fn write_file(dir: &Path, name: &str, data: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, data).expect("write fixture file");
    file_url(&path)
}

/// `len` bytes of a repeatable pattern that is not all the same byte.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) % 251) as u8).collect()
}

/// Counts how many body streams it handed out were dropped.
#[derive(Debug, Default, Clone)]
pub struct DropCounter(Arc<AtomicUsize>);

impl DropCounter {
    /// How many were dropped.
    pub fn dropped(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

struct DropGuard(DropCounter);

impl Drop for DropGuard {
    fn drop(&mut self) {
        (self.0).0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A non-local backend whose replies send `head` bytes and then never finish: for abort, drop
/// and timeout tests.
#[derive(Debug, Clone)]
pub struct StallingBackend {
    /// The bytes sent before the stall.
    pub head: Bytes,
    /// Counts dropped body streams.
    pub drops: DropCounter,
}

impl StallingBackend {
    /// A backend that sends `head` and stalls.
    pub fn new(head: &'static [u8]) -> Self {
        Self { head: Bytes::from_static(head), drops: DropCounter::default() }
    }
}

impl Backend for StallingBackend {
    fn send(&self, _request: BackendRequest) -> BoxFuture<'static, Result<BackendResponse, NetworkError>> {
        let guard = DropGuard(self.drops.clone());
        let first = stream::iter([Ok(self.head.clone())]);
        let never = stream::pending().map(move |item: Result<Bytes, NetworkError>| {
            let _keep = &guard;
            item
        });
        async move { Ok(BackendResponse::new(Box::pin(first.chain(never)), None)) }.boxed()
    }
}

/// A non-local backend that answers with a fixed HTTP-like status and body.
#[derive(Debug, Clone)]
pub struct StatusBackend {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: &'static str,
    /// The body.
    pub body: &'static str,
}

impl Backend for StatusBackend {
    fn send(&self, _request: BackendRequest) -> BoxFuture<'static, Result<BackendResponse, NetworkError>> {
        let mut response = BackendResponse::from_bytes(self.body);
        response.attributes.http_status_code = Some(self.status);
        response.attributes.http_reason_phrase = Some(self.reason.to_owned());
        async move { Ok(response) }.boxed()
    }
}

/// Samples `value` every `interval` until it stayed the same three samples in a row (a busy
/// machine can starve a task for one sample), `samples` times at most: the value it settled at,
/// or `None` when it kept changing.
pub async fn settled_value(
    interval: std::time::Duration,
    samples: usize,
    mut value: impl FnMut() -> u64,
) -> Option<u64> {
    let (mut previous, mut steady) = (None, 0);
    for _ in 0..samples {
        tokio::time::sleep(interval).await;
        let now = value();
        steady = if previous == Some(now) { steady + 1 } else { 0 };
        previous = Some(now);
        if steady == 3 {
            return previous;
        }
    }
    None
}

/// The file descriptors this process holds now (Linux: `/proc/self/fd`).
pub fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd lists this process's descriptors").count()
}

/// The descriptor count once it is back at `before`, or after two seconds: the test servers run
/// in the test's process, and a connection's server side may still be closing when the reply
/// ended. A leak stays; a socket being closed does not.
pub async fn settled_descriptors(before: usize) -> usize {
    for _ in 0..40 {
        if open_descriptors() <= before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    open_descriptors()
}

/// Memory as the kernel counts it for this process (Linux: `/proc/self/status`), for tests that
/// check a bound on what hostile peers can make the client hold.
pub mod memory {
    /// A `/proc/self/status` field in bytes (`VmRSS`, `VmHWM`).
    fn status_bytes(field: &str) -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status is readable");
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
            .unwrap_or_else(|| panic!("{field} is missing from /proc/self/status"))
    }

    /// The resident set now.
    pub fn resident() -> u64 {
        status_bytes("VmRSS")
    }

    /// The resident set's high-water mark since the last [`reset_peak`].
    pub fn peak() -> u64 {
        status_bytes("VmHWM")
    }

    /// Resets the high-water mark to the resident set now (writing 5 to `/proc/self/clear_refs`).
    pub fn reset_peak() {
        std::fs::write("/proc/self/clear_refs", "5").expect("/proc/self/clear_refs is writable");
    }

    /// Bytes as MiB, for messages.
    pub fn mib(bytes: u64) -> f64 {
        bytes as f64 / (1024.0 * 1024.0)
    }
}
