//! What hostile servers can make the client hold in memory, measured as the kernel counts it
//! (the resident set's high-water mark), with many replies at once and nobody reading them.
//!
//! One test in its own binary, so no other test shares the process while it measures. Each bound
//! is written from the limits that should hold it (the reply's read buffer, the head limit), with
//! room for the allocator; the numbers measured are printed (`--nocapture`).

use std::io::Write;
use std::time::Duration;

use futures::StreamExt;
use netaccess::{NetworkAccessManager, Request, DEFAULT_READ_BUFFER_SIZE};
use netaccess_tests::memory::{mib, peak, reset_peak, resident};
use netaccess_tests::{settled_value, RawServer, Script};
use tokio::io::AsyncWriteExt;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(60);
const MIB: u64 = 1024 * 1024;
/// Replies to one host at once: the pool's connections per host.
const PER_HOST: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_servers_cannot_make_the_client_hold_more_than_its_limits() {
    // The bombs below are 64 MiB: the guard at Qt's 10 MiB threshold refuses them (the default's
    // 512 MiB applies the same rule later; hostile.rs tests it).
    let manager = NetworkAccessManager::builder().decompression_threshold(Some(10 * MIB)).build();
    warm_up(&manager).await;

    // Smallest first: memory the allocator keeps from one scenario would hide the next one's.
    endless_heads(&manager).await;
    endless_ftp_replies(&manager).await;
    gzip_bombs(&manager).await;
    failing_requests_leave_nothing_behind(&manager).await;
    a_100_mib_multipart_file_part_streams(&manager).await;
    unread_endless_bodies(&manager).await;
}

/// A 100 MiB file sent as a form-data part: read from disk in 64 KiB chunks as it is sent,
/// never whole (the server parses it with multer and hashes it as it comes). Measured
/// 2026-12-01: the peak grew by a few MiB.
async fn a_100_mib_multipart_file_part_streams(manager: &NetworkAccessManager) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.bin");
    let mut file = std::fs::File::create(&path).unwrap();
    let block = netaccess_tests::pattern(MIB as usize);
    for _ in 0..100 {
        file.write_all(&block).unwrap();
    }
    drop(file);
    let server = netaccess_tests::HttpServer::start().await;
    let before = resident();
    reset_peak();
    let mut form = netaccess::Multipart::new(netaccess::MultipartKind::FormData);
    form.append(netaccess::Part::form_field("title", "large"));
    form.append(netaccess::Part::from_file(&path).await.unwrap().with_form_data("file", Some("large.bin")));
    let mut reply = manager.post(Request::new(server.url("/multipart")), netaccess::Body::from(form));
    let answer = timeout(LIMIT, reply.bytes()).await.unwrap().expect("the upload succeeds");
    let grown = peak().saturating_sub(before);
    let parts: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(parts[1]["length"], 100 * MIB, "{parts}");
    use sha2::Digest as _;
    let mut whole = sha2::Sha256::new();
    for _ in 0..100 {
        whole.update(&block);
    }
    let expected: String = whole.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(parts[1]["sha256"], expected, "{parts}");
    eprintln!("a 100 MiB multipart file part: the peak grew by {:.1} MiB", mib(grown));
    assert!(grown < 32 * MIB, "the part was held in memory: the peak grew by {:.1} MiB", mib(grown));
}

/// The first request builds what every later one shares (the pool, the runtime's buffers).
async fn warm_up(manager: &NetworkAccessManager) {
    let server =
        RawServer::start(Script::Replies(vec![vec![b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec()]])).await;
    let body = timeout(LIMIT, manager.get(Request::new(server.url("/"))).bytes()).await.unwrap().unwrap();
    assert_eq!(body, "ok");
}

/// 24 replies to servers that send for ever, none of them read: each holds its read buffer (1
/// MiB by default) and about one read (up to 1 MiB) until the servers block. Without the byte
/// bound, 64 queued reads of up to 1 MiB each could be held per reply: these 24 replies grew the
/// peak by 1011 MiB before the bound, 95 MiB with a 4 MiB bound, 17 MiB with 1 MiB (2026-11-27).
async fn unread_endless_bodies(manager: &NetworkAccessManager) {
    let mut servers = Vec::new();
    for _ in 0..4 {
        let flood = Script::Flood { head: b"HTTP/1.1 200 OK\r\n\r\n".to_vec(), filler: vec![b'x'; 64 * 1024] };
        servers.push(RawServer::start(flood).await);
    }
    let before = resident();
    reset_peak();
    let mut replies = Vec::new();
    for server in &servers {
        for _ in 0..PER_HOST {
            replies.push(manager.get(Request::new(server.url("/endless"))));
        }
    }
    // Wait until every server has been blocked for three samples in a row, 20 s at most.
    let written = || servers.iter().map(RawServer::bytes_written).sum::<usize>() as u64;
    let written = settled_value(Duration::from_millis(100), 200, written)
        .await
        .expect("the servers were still sending after 20 s: the client keeps taking bytes");
    let grown = peak().saturating_sub(before);
    let replies_held = replies.len() as u64;
    let bound = replies_held * (DEFAULT_READ_BUFFER_SIZE + 2 * MIB);
    eprintln!(
        "unread endless bodies: {replies_held} replies, peak grew {:.1} MiB (bound {:.0} MiB), servers wrote {:.1} MiB",
        mib(grown),
        mib(bound),
        mib(written)
    );
    assert!(grown < bound, "{replies_held} unread replies grew the peak by {:.1} MiB", mib(grown));
    for reply in &replies {
        assert!(reply.is_running(), "an unread reply waits, it does not fail");
    }
    drop(replies);
}

/// 24 replies whose heads never end: each stops at the 64 KiB head limit.
async fn endless_heads(manager: &NetworkAccessManager) {
    let mut servers = Vec::new();
    for _ in 0..4 {
        let flood = Script::Flood { head: b"HTTP/1.1 200 OK\r\nX-Filler: ".to_vec(), filler: vec![b'a'; 1024] };
        servers.push(RawServer::start(flood).await);
    }
    let before = resident();
    reset_peak();
    let mut replies = futures::stream::FuturesUnordered::new();
    for server in &servers {
        for _ in 0..PER_HOST {
            let mut reply = manager.get(Request::new(server.url("/head")));
            replies.push(async move { reply.finished().await });
        }
    }
    let mut failed = 0;
    while let Some(outcome) = timeout(LIMIT, replies.next()).await.unwrap() {
        assert!(outcome.is_err(), "a head past the limit fails the reply");
        failed += 1;
    }
    let grown = peak().saturating_sub(before);
    eprintln!("endless heads: {failed} replies failed, peak grew {:.1} MiB", mib(grown));
    assert_eq!(failed, 4 * PER_HOST);
    assert!(grown < 32 * MIB, "24 heads cut at 64 KiB grew the peak by {:.1} MiB", mib(grown));
}

/// 16 FTP downloads whose server greets with a line that never ends: each stops at the FTP
/// client's reply limit (256 KiB). A byte-level server: no real one does this.
async fn endless_ftp_replies(manager: &NetworkAccessManager) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let filler = vec![b'a'; 64 * 1024];
                let _ = stream.write_all(b"220-").await;
                while stream.write_all(&filler).await.is_ok() {}
            });
        }
    });
    let before = resident();
    reset_peak();
    let mut replies = futures::stream::FuturesUnordered::new();
    for n in 0..16 {
        let mut reply = manager.get(Request::new(format!("ftp://{addr}/file{n}")));
        replies.push(async move { reply.finished().await });
    }
    let mut failed = 0;
    while let Some(outcome) = timeout(LIMIT, replies.next()).await.unwrap() {
        let error = outcome.expect_err("an endless greeting fails the download");
        assert!(error.to_string().contains(&addr.to_string()), "names the URL: {error}");
        failed += 1;
    }
    server.abort();
    let grown = peak().saturating_sub(before);
    eprintln!("endless FTP greetings: {failed} downloads failed, peak grew {:.1} MiB", mib(grown));
    assert_eq!(failed, 16);
    assert!(grown < 32 * MIB, "16 greetings cut at 256 KiB grew the peak by {:.1} MiB", mib(grown));
}

/// 8 gzip bombs at once (64 MiB of zeros in 64 KiB), read as they come: each is refused at the
/// bomb guard, and what is decoded waits in bounded pieces.
async fn gzip_bombs(manager: &NetworkAccessManager) {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; MIB as usize];
    for _ in 0..64 {
        encoder.write_all(&zeros).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    let mut response =
        format!("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", bomb.len()).into_bytes();
    response.extend_from_slice(&bomb);
    let servers = [
        RawServer::start(Script::Replies(vec![vec![response.clone()]])).await,
        RawServer::start(Script::Replies(vec![vec![response]])).await,
    ];
    let before = resident();
    reset_peak();
    let mut replies = futures::stream::FuturesUnordered::new();
    for server in &servers {
        for _ in 0..4 {
            let mut reply = manager.get(Request::new(server.url("/bomb")));
            replies.push(async move {
                let mut delivered = 0;
                while let Some(chunk) = reply.chunk().await {
                    delivered += chunk.len();
                }
                (delivered, reply.error())
            });
        }
    }
    let mut refused = 0;
    while let Some((delivered, error)) = timeout(LIMIT, replies.next()).await.unwrap() {
        assert!(error.is_some_and(|e| e.message().contains("bomb")), "refused as a bomb after {delivered} bytes");
        refused += 1;
    }
    let grown = peak().saturating_sub(before);
    eprintln!("gzip bombs: {refused} refused, peak grew {:.1} MiB", mib(grown));
    assert_eq!(refused, 8);
    assert!(grown < 8 * (DEFAULT_READ_BUFFER_SIZE + 4 * MIB), "8 bombs grew the peak by {:.1} MiB", mib(grown));
}

/// 2 × 1,000 replies cut short (a Content-Length of 100,000 and 10,000 bytes, then the server
/// hangs up): the second thousand leaves the resident set where the first left it.
async fn failing_requests_leave_nothing_behind(manager: &NetworkAccessManager) {
    let mut cut = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".to_vec();
    cut.extend_from_slice(&[b'y'; 10_000]);
    let server = RawServer::start(Script::Replies(vec![vec![cut]])).await;
    let batch = || async {
        let outcomes: Vec<bool> = futures::stream::iter(0..1000)
            .map(|_| {
                let mut reply = manager.get(Request::new(server.url("/cut")));
                async move { reply.finished().await.is_err() }
            })
            .buffer_unordered(16)
            .collect()
            .await;
        assert!(outcomes.iter().all(|failed| *failed), "every reply cut short fails");
    };
    timeout(LIMIT, batch()).await.unwrap();
    let after_first = resident();
    timeout(LIMIT, batch()).await.unwrap();
    let after_second = resident();
    let grown = after_second.saturating_sub(after_first);
    eprintln!(
        "2 x 1,000 failing replies: resident {:.1} MiB after the first thousand, {:.1} MiB after the second",
        mib(after_first),
        mib(after_second)
    );
    assert!(grown < 4 * MIB, "the second thousand failing replies kept {:.1} MiB", mib(grown));
}
