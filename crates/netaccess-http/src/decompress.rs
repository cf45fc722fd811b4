//! Automatic decompression of `Content-Encoding`, with the decompression-bomb guard.
//!
//! # Design
//!
//! Only when the caller did not set `Accept-Encoding` (as Qt): the backend then advertises what
//! it decodes ([`accept_encoding`]) and decodes what comes. `deflate` is zlib-wrapped by the
//! RFC, but servers also send raw deflate: the first two bytes decide.
//!
//! The decoders: `flate2` (its pure-Rust backend) for gzip and deflate; `brotli-decompressor`
//! for br (the decoder alone, not the `brotli` encoder crate); the C libzstd through `zstd` for
//! zstd. The pure-Rust `ruzstd` 0.8 was measured against it on 256 MiB of text compressed at
//! level 3 (36.6 MB), release build, one pinned core, three rounds: ruzstd 1.16–1.27 s of CPU
//! (202–219 MiB/s), libzstd 0.44–0.50 s (511–581 MiB/s). 2.4× the CPU per byte is worth a C
//! compiler at build time; a build without one turns the `zstd` feature off (no zstd in
//! `Accept-Encoding`, then).
//!
//! Memory stays bounded whatever the ratio: what the network delivered is queued
//! ([`Decompressor::push`]) and fed to the decoder a slice at a time ([`Decompressor::next_output`]),
//! each slice's output handed on before the next slice is decoded. A slice is 4 KiB for
//! gzip/deflate (at most ~4 MiB of output, deflate's ratio tops out near 1032:1) and 256 bytes for
//! br/zstd (whose run-length blocks reach far higher ratios). Feeding a whole 256 KiB read at once
//! would expand a bomb to hundreds of MiB before any check could run.
//!
//! The guard is Qt 6's rule with a larger default threshold: once the output passes the threshold,
//! a ratio above 40:1 (gzip, deflate) or 100:1 (br, zstd) fails the reply with `ProtocolFailure`,
//! checked after every slice. Qt's threshold is 10 MiB; ours is [`DEFAULT_BOMB_THRESHOLD`],
//! 512 MiB, because compression is on by default and memory is bounded by the slicing above
//! whatever the output's size: the guard is there to stop a peer that would make us write
//! gigabytes of zeros, not a log file of a few hundred MiB that compresses 300:1 (which Qt's
//! 10 MiB refused). A bomb of gigabytes is refused after 512 MiB; a legitimate body beyond that
//! at such a ratio is asked for undecoded (`Accept-Encoding` of the caller's, the command's
//! `--no-compressed`) or with the threshold raised, as the error says. A size cap for every body
//! is the manager's `max_body_size` (the command's `--max-filesize`).

use std::io::{self, Write};

use bytes::Bytes;

/// The codings this build decodes, as sent in `Accept-Encoding`.
pub fn accept_encoding() -> &'static str {
    match (cfg!(feature = "zstd"), cfg!(feature = "br")) {
        (true, true) => "zstd, br, gzip, deflate",
        (true, false) => "zstd, gzip, deflate",
        (false, true) => "br, gzip, deflate",
        (false, false) => "gzip, deflate",
    }
}

/// The default threshold before the ratio check applies: 512 MiB (Qt's is 10 MiB; see the
/// module's design).
pub const DEFAULT_BOMB_THRESHOLD: u64 = 512 * 1024 * 1024;

/// Compressed bytes per decoding step for gzip and deflate.
const FLATE_SLICE: usize = 4 * 1024;
/// Compressed bytes per decoding step for br and zstd.
#[cfg(any(feature = "br", feature = "zstd"))]
const HIGH_RATIO_SLICE: usize = 256;

enum Codec {
    Gzip(flate2::write::GzDecoder<Vec<u8>>),
    Zlib(flate2::write::ZlibDecoder<Vec<u8>>),
    RawDeflate(flate2::write::DeflateDecoder<Vec<u8>>),
    /// `deflate` before its first two bytes told zlib from raw.
    DeflateUndecided(Vec<u8>),
    #[cfg(feature = "br")]
    Brotli(Box<brotli_decompressor::DecompressorWriter<Vec<u8>>>),
    #[cfg(feature = "zstd")]
    Zstd(Box<zstd::stream::write::Decoder<'static, Vec<u8>>>),
}

/// A streaming decoder for one response body, usable alone (and by the `decompress` fuzz
/// target).
///
/// ```
/// use std::io::Write;
/// use netaccess_http::decompress::Decompressor;
/// let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
/// encoder.write_all(b"hello").unwrap();
/// let mut decoder = Decompressor::for_encoding("gzip", Some(10 << 20)).unwrap().unwrap();
/// decoder.push(encoder.finish().unwrap().into());
/// let mut out = Vec::new();
/// while let Some(piece) = decoder.next_output().unwrap() {
///     out.extend_from_slice(&piece);
/// }
/// out.extend_from_slice(&decoder.finish().unwrap());
/// assert_eq!(out, b"hello");
/// ```
pub struct Decompressor {
    codec: Codec,
    /// Compressed bytes received but not yet decoded.
    pending: Bytes,
    /// How much of `pending` one decoding step takes.
    slice: usize,
    max_ratio: u64,
    threshold: Option<u64>,
    consumed: u64,
    produced: u64,
}

/// Why decoding failed.
#[non_exhaustive]
#[derive(Debug)]
pub enum DecodeError {
    /// The compressed data is broken.
    Corrupt(io::Error),
    /// The output outgrew the guard's ratio past its threshold.
    Bomb {
        /// Bytes decoded so far.
        produced: u64,
        /// Compressed bytes consumed so far.
        consumed: u64,
    },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Corrupt(err) => write!(f, "the compressed body is broken: {err}"),
            DecodeError::Bomb { produced, consumed } => {
                write!(
                    f,
                    "decompression bomb refused: {consumed} compressed bytes expanded to {produced} bytes; to \
                     take the body as sent, ask for it undecoded (the command's --no-compressed, \
                     auto_decompress(false)) or raise decompression_threshold"
                )
            }
        }
    }
}

impl Decompressor {
    /// A decoder for a `Content-Encoding` value; `Ok(None)` for identity, `Err` for a coding
    /// this build cannot decode.
    pub fn for_encoding(encoding: &str, threshold: Option<u64>) -> Result<Option<Self>, String> {
        let coding = encoding.trim().to_ascii_lowercase();
        let (codec, max_ratio, slice) = match coding.as_str() {
            "" | "identity" => return Ok(None),
            "gzip" | "x-gzip" => (Codec::Gzip(flate2::write::GzDecoder::new(Vec::new())), 40, FLATE_SLICE),
            "deflate" => (Codec::DeflateUndecided(Vec::new()), 40, FLATE_SLICE),
            #[cfg(feature = "br")]
            "br" => {
                let decoder = brotli_decompressor::DecompressorWriter::new(Vec::new(), 16 * 1024);
                (Codec::Brotli(Box::new(decoder)), 100, HIGH_RATIO_SLICE)
            }
            #[cfg(feature = "zstd")]
            "zstd" => {
                let decoder = zstd::stream::write::Decoder::new(Vec::new()).map_err(|e| e.to_string())?;
                (Codec::Zstd(Box::new(decoder)), 100, HIGH_RATIO_SLICE)
            }
            other => return Err(format!("unsupported Content-Encoding {other:?}")),
            // The caller delivers such a body undecoded, the header kept (see `lib.rs`).
        };
        Ok(Some(Self { codec, pending: Bytes::new(), slice, max_ratio, threshold, consumed: 0, produced: 0 }))
    }

    /// Queues compressed bytes as they arrived; [`Decompressor::next_output`] decodes them.
    pub fn push(&mut self, input: Bytes) {
        if self.pending.is_empty() {
            self.pending = input;
        } else {
            let mut joined = Vec::with_capacity(self.pending.len() + input.len());
            joined.extend_from_slice(&self.pending);
            joined.extend_from_slice(&input);
            self.pending = Bytes::from(joined);
        }
    }

    /// Decodes queued input a slice at a time until some output appears; `Ok(None)` once the
    /// queue is empty and more input is needed.
    pub fn next_output(&mut self) -> Result<Option<Bytes>, DecodeError> {
        while !self.pending.is_empty() {
            let slice = self.pending.split_to(self.slice.min(self.pending.len()));
            let output = self.feed(&slice)?;
            if !output.is_empty() {
                return Ok(Some(output));
            }
        }
        Ok(None)
    }

    /// Decodes one slice; the output may be empty.
    fn feed(&mut self, input: &[u8]) -> Result<Bytes, DecodeError> {
        self.consumed += input.len() as u64;
        if let Codec::DeflateUndecided(pending) = &mut self.codec {
            pending.extend_from_slice(input);
            if pending.len() < 2 {
                return Ok(Bytes::new());
            }
            let pending = std::mem::take(pending);
            let is_zlib = pending[0] & 0x0f == 8 && (u16::from(pending[0]) << 8 | u16::from(pending[1])) % 31 == 0;
            self.codec = if is_zlib {
                Codec::Zlib(flate2::write::ZlibDecoder::new(Vec::new()))
            } else {
                Codec::RawDeflate(flate2::write::DeflateDecoder::new(Vec::new()))
            };
            return self.write(&pending);
        }
        self.write(input)
    }

    fn write(&mut self, input: &[u8]) -> Result<Bytes, DecodeError> {
        let output = match &mut self.codec {
            Codec::Gzip(d) => d.write_all(input).and_then(|()| d.flush()).map(|()| std::mem::take(d.get_mut())),
            Codec::Zlib(d) => d.write_all(input).and_then(|()| d.flush()).map(|()| std::mem::take(d.get_mut())),
            Codec::RawDeflate(d) => d.write_all(input).and_then(|()| d.flush()).map(|()| std::mem::take(d.get_mut())),
            Codec::DeflateUndecided(_) => Ok(Vec::new()),
            #[cfg(feature = "br")]
            Codec::Brotli(d) => d.write_all(input).and_then(|()| d.flush()).map(|()| std::mem::take(d.get_mut())),
            #[cfg(feature = "zstd")]
            Codec::Zstd(d) => d.write_all(input).and_then(|()| d.flush()).map(|()| std::mem::take(d.get_mut())),
        }
        .map_err(DecodeError::Corrupt)?;
        self.account(output)
    }

    fn account(&mut self, output: Vec<u8>) -> Result<Bytes, DecodeError> {
        self.produced += output.len() as u64;
        if let Some(threshold) = self.threshold {
            if self.produced > threshold && self.produced > self.consumed.saturating_mul(self.max_ratio) {
                return Err(DecodeError::Bomb { produced: self.produced, consumed: self.consumed });
            }
        }
        Ok(Bytes::from(output))
    }

    /// The end of the compressed body, once [`Decompressor::next_output`] drained the queue: the
    /// rest of the output, or an error when the stream was cut short.
    /// A body that carried no byte at all is empty whatever its coding (curl and browsers
    /// agree): that is a success, not a cut stream.
    pub fn finish(self) -> Result<Bytes, DecodeError> {
        debug_assert!(self.pending.is_empty(), "finish before the queue was drained");
        if self.consumed == 0 {
            return Ok(Bytes::new());
        }
        let mut this = self;
        let codec = std::mem::replace(&mut this.codec, Codec::DeflateUndecided(Vec::new()));
        let output = match codec {
            Codec::Gzip(d) => d.finish(),
            Codec::Zlib(d) => d.finish(),
            Codec::RawDeflate(d) => d.finish(),
            Codec::DeflateUndecided(pending) if pending.is_empty() => Ok(Vec::new()),
            Codec::DeflateUndecided(_) => {
                Err(io::Error::new(io::ErrorKind::UnexpectedEof, "deflate stream of a single byte"))
            }
            #[cfg(feature = "br")]
            Codec::Brotli(d) => {
                d.into_inner().map_err(|_| io::Error::new(io::ErrorKind::UnexpectedEof, "brotli stream cut short"))
            }
            #[cfg(feature = "zstd")]
            Codec::Zstd(mut d) => d.flush().map(|()| std::mem::take(d.get_mut())),
        }
        .map_err(DecodeError::Corrupt)?;
        this.account(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// Decodes `compressed` arriving `step` bytes at a time; also returns the largest piece of
    /// output handed on at once.
    fn decode_measured(
        encoding: &str,
        compressed: &[u8],
        step: usize,
        threshold: Option<u64>,
    ) -> Result<(Vec<u8>, usize), DecodeError> {
        let mut decoder = Decompressor::for_encoding(encoding, threshold).unwrap().unwrap();
        let mut out = Vec::new();
        let mut largest = 0;
        for chunk in compressed.chunks(step) {
            decoder.push(Bytes::copy_from_slice(chunk));
            while let Some(piece) = decoder.next_output()? {
                largest = largest.max(piece.len());
                out.extend_from_slice(&piece);
            }
        }
        out.extend_from_slice(&decoder.finish()?);
        Ok((out, largest))
    }

    fn decode(encoding: &str, compressed: &[u8], step: usize, threshold: Option<u64>) -> Result<Vec<u8>, DecodeError> {
        decode_measured(encoding, compressed, step, threshold).map(|(out, _)| out)
    }

    #[test]
    fn gzip_zlib_and_raw_deflate_in_small_pieces() {
        let data: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
        assert_eq!(decode("gzip", &gzip(&data), 7, None).unwrap(), data);
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        zlib.write_all(&data).unwrap();
        assert_eq!(decode("deflate", &zlib.finish().unwrap(), 1, None).unwrap(), data);
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        raw.write_all(&data).unwrap();
        assert_eq!(decode("deflate", &raw.finish().unwrap(), 1000, None).unwrap(), data);
    }

    #[cfg(feature = "br")]
    #[test]
    fn brotli() {
        let data = b"brotli brotli brotli brotli".repeat(1000);
        let mut compressed = Vec::new();
        {
            let mut writer = brotli::CompressorWriter::new(&mut compressed, 4096, 5, 22);
            writer.write_all(&data).unwrap();
        }
        assert_eq!(decode("br", &compressed, 100, None).unwrap(), data);
    }

    #[cfg(feature = "zstd")]
    #[test]
    fn zstd() {
        let data = b"zstd zstd zstd".repeat(5000);
        let compressed = zstd::encode_all(&data[..], 3).unwrap();
        assert_eq!(decode("zstd", &compressed, 50, None).unwrap(), data);
    }

    #[test]
    fn truncated_and_corrupt_streams_fail() {
        let compressed = gzip(&[b'x'; 10_000]);
        assert!(matches!(decode("gzip", &compressed[..compressed.len() / 2], 100, None), Err(DecodeError::Corrupt(_))));
        assert!(matches!(decode("gzip", b"not gzip at all", 100, None), Err(DecodeError::Corrupt(_))));
    }

    #[test]
    fn bombs_are_refused_past_the_threshold() {
        let zeros = vec![0u8; 20 * 1024 * 1024];
        let compressed = gzip(&zeros);
        assert!(matches!(
            decode("gzip", &compressed, 64 * 1024, Some(10 * 1024 * 1024)),
            Err(DecodeError::Bomb { .. })
        ));
        assert_eq!(decode("gzip", &compressed, 64 * 1024, None).unwrap().len(), zeros.len(), "no guard, no limit");
    }

    #[test]
    fn output_comes_in_bounded_pieces_whatever_arrives_at_once() {
        let zeros = vec![0u8; 64 * 1024 * 1024];
        let compressed = gzip(&zeros);
        let (out, largest) = decode_measured("gzip", &compressed, compressed.len(), None).unwrap();
        assert_eq!(out.len(), zeros.len());
        assert!(largest <= 4 * 1024 * 1024 + 64 * 1024, "largest piece {largest} bytes");
        #[cfg(feature = "zstd")]
        {
            let compressed = zstd::encode_all(&zeros[..], 19).unwrap();
            let (out, largest) = decode_measured("zstd", &compressed, compressed.len(), None).unwrap();
            assert_eq!(out.len(), zeros.len());
            assert!(largest <= 16 * 1024 * 1024, "largest zstd piece {largest} bytes");
        }
    }

    #[test]
    fn unknown_codings_are_refused() {
        assert!(Decompressor::for_encoding("compress", None).is_err());
        assert!(Decompressor::for_encoding("identity", None).unwrap().is_none());
    }
}
