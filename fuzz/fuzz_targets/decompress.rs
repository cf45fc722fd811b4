//! Decompression of `Content-Encoding` with the bomb guard, as a server's body feeds it.
//!
//! The first byte picks the coding and how the input is split into network reads; the rest is
//! the body. Properties: no panic; with a threshold T, the output never passes
//! max(T, ratio x input) by more than one slice's worth before the guard refuses it.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use netaccess_http::decompress::Decompressor;

const CODINGS: [&str; 5] = ["gzip", "deflate", "br", "zstd", "x-gzip"];
const THRESHOLD: u64 = 64 * 1024;
/// The most one slice can expand to: 256 bytes of br/zstd at a ratio no real coder exceeds by
/// much, or 4 KiB of deflate at 1032:1.
const SLACK: u64 = 8 * 1024 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let coding = CODINGS[usize::from(selector) % CODINGS.len()];
    let read = 1 + usize::from(selector >> 3) * 61;
    let Ok(Some(mut decoder)) = Decompressor::for_encoding(coding, Some(THRESHOLD)) else { return };
    let mut produced = 0u64;
    for piece in body.chunks(read) {
        decoder.push(Bytes::copy_from_slice(piece));
        loop {
            match decoder.next_output() {
                Ok(Some(out)) => produced += out.len() as u64,
                Ok(None) => break,
                Err(_) => return,
            }
            let bound = THRESHOLD.max(100 * body.len() as u64) + SLACK;
            assert!(produced <= bound, "{coding}: {produced} bytes out of {} in", body.len());
        }
    }
    if let Ok(tail) = decoder.finish() {
        produced += tail.len() as u64;
        assert!(produced <= THRESHOLD.max(100 * body.len() as u64) + SLACK);
    }
});
