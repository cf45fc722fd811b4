//! Automatic decompression of `Content-Encoding`, with the decompression-bomb guard.
//!
//! # Design
//!
//! Only when the caller did not set `Accept-Encoding` (as Qt): the backend then advertises what
//! it decodes ([`accept_encoding`]) and decodes what comes. `deflate` is zlib-wrapped by the
//! RFC, but servers also send raw deflate: the first two bytes decide. Every decoder is fed
//! through `std::io::Write` and drained after each chunk, so memory stays at one chunk's
//! expansion. The guard is Qt 6's: once the output passes the threshold (10 MiB by default), a
//! ratio above 40:1 (gzip, deflate) or 100:1 (br, zstd) fails the reply with `ProtocolFailure`.

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

/// Qt's default threshold before the ratio check applies: 10 MiB.
pub const DEFAULT_BOMB_THRESHOLD: u64 = 10 * 1024 * 1024;

enum Codec {
    Gzip(flate2::write::GzDecoder<Vec<u8>>),
    Zlib(flate2::write::ZlibDecoder<Vec<u8>>),
    RawDeflate(flate2::write::DeflateDecoder<Vec<u8>>),
    /// `deflate` before its first two bytes told zlib from raw.
    DeflateUndecided(Vec<u8>),
    #[cfg(feature = "br")]
    Brotli(Box<brotli::DecompressorWriter<Vec<u8>>>),
    #[cfg(feature = "zstd")]
    Zstd(Box<zstd::stream::write::Decoder<'static, Vec<u8>>>),
}

/// A streaming decoder for one response body.
pub(crate) struct Decompressor {
    codec: Codec,
    max_ratio: u64,
    threshold: Option<u64>,
    consumed: u64,
    produced: u64,
}

/// Why decoding failed.
#[derive(Debug)]
pub(crate) enum DecodeError {
    Corrupt(io::Error),
    Bomb { produced: u64, consumed: u64 },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Corrupt(err) => write!(f, "the compressed body is broken: {err}"),
            DecodeError::Bomb { produced, consumed } => {
                write!(f, "decompression bomb refused: {consumed} compressed bytes expanded to {produced} bytes")
            }
        }
    }
}

impl Decompressor {
    /// A decoder for a `Content-Encoding` value; `Ok(None)` for identity, `Err` for a coding
    /// this build cannot decode.
    pub(crate) fn for_encoding(encoding: &str, threshold: Option<u64>) -> Result<Option<Self>, String> {
        let coding = encoding.trim().to_ascii_lowercase();
        let (codec, max_ratio) = match coding.as_str() {
            "" | "identity" => return Ok(None),
            "gzip" | "x-gzip" => (Codec::Gzip(flate2::write::GzDecoder::new(Vec::new())), 40),
            "deflate" => (Codec::DeflateUndecided(Vec::new()), 40),
            #[cfg(feature = "br")]
            "br" => (Codec::Brotli(Box::new(brotli::DecompressorWriter::new(Vec::new(), 16 * 1024))), 100),
            #[cfg(feature = "zstd")]
            "zstd" => {
                let decoder = zstd::stream::write::Decoder::new(Vec::new()).map_err(|e| e.to_string())?;
                (Codec::Zstd(Box::new(decoder)), 100)
            }
            other => return Err(format!("unsupported Content-Encoding {other:?}")),
        };
        Ok(Some(Self { codec, max_ratio, threshold, consumed: 0, produced: 0 }))
    }

    /// Decodes one chunk; the output may be empty.
    pub(crate) fn feed(&mut self, input: &[u8]) -> Result<Bytes, DecodeError> {
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

    /// The end of the compressed body: the rest of the output, or an error when the stream was
    /// cut short.
    pub(crate) fn finish(self) -> Result<Bytes, DecodeError> {
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

    fn decode(encoding: &str, compressed: &[u8], step: usize, threshold: Option<u64>) -> Result<Vec<u8>, DecodeError> {
        let mut decoder = Decompressor::for_encoding(encoding, threshold).unwrap().unwrap();
        let mut out = Vec::new();
        for chunk in compressed.chunks(step) {
            out.extend_from_slice(&decoder.feed(chunk)?);
        }
        out.extend_from_slice(&decoder.finish()?);
        Ok(out)
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
            decode("gzip", &compressed, 64 * 1024, Some(DEFAULT_BOMB_THRESHOLD)),
            Err(DecodeError::Bomb { .. })
        ));
        assert_eq!(decode("gzip", &compressed, 64 * 1024, None).unwrap().len(), zeros.len(), "no guard, no limit");
    }

    #[test]
    fn unknown_codings_are_refused() {
        assert!(Decompressor::for_encoding("compress", None).is_err());
        assert!(Decompressor::for_encoding("identity", None).unwrap().is_none());
    }
}
