//! Criterion micro-benchmarks of the HTTP/1.1 core alone, so a change to the parser or the
//! chunked decoder shows its cost without a socket: `cargo bench -p netaccess-http1`.

use bytes::BytesMut;
use criterion::{criterion_main, BatchSize, Criterion, Throughput};
use http::Method;
use netaccess_http1::{Event, ResponseReader};

/// A response head as nginx sends one for a static file.
const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: nginx/1.22.1\r\n\
Date: Fri, 27 Nov 2026 01:30:00 GMT\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Content-Length: 13\r\n\
Last-Modified: Thu, 26 Nov 2026 12:00:00 GMT\r\n\
Connection: keep-alive\r\n\
ETag: \"6745b1c0-d\"\r\n\
Cache-Control: max-age=3600\r\n\
Accept-Ranges: bytes\r\n\
\r\n\
Hello, world!";

/// Reads one whole response from `wire`; returns the body bytes seen.
fn read_response(wire: &[u8]) -> usize {
    let mut reader = ResponseReader::new(Method::GET);
    let mut input = BytesMut::from(wire);
    let mut body = 0;
    loop {
        match reader.read(&mut input).expect("valid response") {
            Some(Event::Data(data)) => body += data.len(),
            Some(Event::End { .. }) => return body,
            Some(_) => {}
            None => panic!("the response is whole"),
        }
    }
}

/// A chunked body of `total` bytes in chunks of `chunk` bytes.
fn chunked(total: usize, chunk: usize) -> Vec<u8> {
    let mut wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let piece = vec![b'x'; chunk];
    let mut left = total;
    while left > 0 {
        let size = left.min(chunk);
        wire.extend_from_slice(format!("{size:x}\r\n").as_bytes());
        wire.extend_from_slice(&piece[..size]);
        wire.extend_from_slice(b"\r\n");
        left -= size;
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    wire
}

fn head(c: &mut Criterion) {
    let mut group = c.benchmark_group("response head");
    group.throughput(Throughput::Elements(1));
    group.bench_function("typical head, 10 headers, 13-byte body", |b| {
        b.iter(|| assert_eq!(read_response(std::hint::black_box(HEAD)), 13));
    });
    group.finish();
}

fn chunked_framing(c: &mut Criterion) {
    let mut group = c.benchmark_group("chunked framing");
    for chunk in [64usize, 4096, 65536] {
        let wire = chunked(1024 * 1024, chunk);
        group.throughput(Throughput::Bytes(1024 * 1024));
        group.bench_function(format!("1 MiB in {chunk}-byte chunks"), |b| {
            b.iter_batched(
                || wire.clone(),
                |wire| assert_eq!(read_response(&wire), 1024 * 1024),
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

/// The generated `benches` function has no docs of its own.
mod group {
    #![allow(missing_docs)]
    use super::{chunked_framing, head};
    criterion::criterion_group!(benches, head, chunked_framing);
}
use group::benches;
criterion_main!(benches);
