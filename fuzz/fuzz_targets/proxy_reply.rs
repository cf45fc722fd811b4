//! What a proxy answers to `CONNECT` or to a SOCKS5 request, read by the tunnel code.
//!
//! The first byte picks the protocol (and, for SOCKS5, whether credentials are offered); the
//! rest is everything the proxy sends. Properties: no panic, no hang (the reply ends with the
//! input), and a tunnel is reported open only after a complete success reply (a whole 2xx
//! head; SOCKS5's method choice and a whole success reply).
#![no_main]

use std::io::Cursor;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use http::HeaderMap;
use libfuzzer_sys::fuzz_target;
use netaccess_proxy::{http_connect, socks5_connect, Target};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A proxy that has said everything it will say, and takes whatever it is sent.
struct Scripted {
    reply: Cursor<Vec<u8>>,
}

impl AsyncRead for Scripted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.reply).poll_read(cx, buf)
    }
}

impl AsyncWrite for Scripted {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, reply)) = data.split_first() else { return };
    let mut proxy = Scripted { reply: Cursor::new(reply.to_vec()) };
    let opened = runtime().block_on(async {
        match selector % 3 {
            0 => http_connect(&mut proxy, "example.com", 443, &HeaderMap::new()).await,
            1 => socks5_connect(&mut proxy, Target::Name("example.com", 443), None).await,
            _ => socks5_connect(&mut proxy, Target::Name("example.com", 443), Some(("user", "secret"))).await,
        }
    });
    if opened.is_ok() {
        if selector % 3 == 0 {
            // A 2xx status line (after any 1xx interim responses, which are skipped) and the end
            // of a head (the core is lenient with bare LF and whitespace-led lines, as for any
            // response).
            let text = String::from_utf8_lossy(reply);
            let success = text.lines().any(|line| {
                let line = line.trim_start_matches(['\r', '\n']);
                line.starts_with("HTTP/") && line.get(9..10) == Some("2")
            });
            assert!(success, "a tunnel opened on {reply:?}");
            assert!(reply.iter().filter(|&&b| b == b'\n').count() >= 2, "a tunnel opened on {reply:?}");
        } else {
            // The method choice (2 bytes), then at least VER REP RSV ATYP, a 0-byte name and a port.
            assert!(reply.len() >= 2 + 5 + 2, "a tunnel opened on {} bytes: {reply:?}", reply.len());
        }
    }
});
