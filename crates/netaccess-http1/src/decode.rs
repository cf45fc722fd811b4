//! Body decoders: by length, chunked (strict), until close, or none.
//!
//! # Design
//!
//! Each decoder takes what it can from the input buffer and hands out the body as slices of it
//! (`BytesMut::split_to`, no copy). The chunked decoder is strict where leniency is a smuggling
//! risk: the size is 1 to 16 hex digits with nothing before them, every line ends in CRLF (a bare
//! LF is refused), chunk data must be followed by CRLF, and trailers must parse as header fields.
//! Lines and trailer sections are bounded by [`Limits`].

use bytes::{Buf, Bytes, BytesMut};
use http::HeaderMap;

use crate::error::Http1Error;
use crate::parse::{to_header_map, Framing, Limits};

/// What one decoding step produced.
#[derive(Debug)]
pub(crate) enum Decoded {
    /// Body bytes.
    Data(Bytes),
    /// The body is complete; the trailers, if any.
    End(HeaderMap),
    /// More input is needed.
    NeedMore,
}

#[derive(Debug)]
pub(crate) enum BodyDecoder {
    Length { remaining: u64 },
    Chunked(ChunkState),
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChunkState {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
}

impl BodyDecoder {
    /// A decoder for `framing`, or `None` when there is no body.
    pub(crate) fn new(framing: Framing) -> Option<Self> {
        match framing {
            Framing::Empty | Framing::Length(0) => None,
            Framing::Length(n) => Some(BodyDecoder::Length { remaining: n }),
            Framing::Chunked => Some(BodyDecoder::Chunked(ChunkState::Size)),
            Framing::CloseDelimited => Some(BodyDecoder::Close),
        }
    }

    /// Takes the next piece of the body from `input`.
    pub(crate) fn decode(&mut self, input: &mut BytesMut, limits: &Limits) -> Result<Decoded, Http1Error> {
        match self {
            BodyDecoder::Length { remaining } => {
                if input.is_empty() {
                    return Ok(Decoded::NeedMore);
                }
                let take = usize::try_from(*remaining).unwrap_or(usize::MAX).min(input.len());
                *remaining -= take as u64;
                Ok(Decoded::Data(input.split_to(take).freeze()))
            }
            BodyDecoder::Close => {
                if input.is_empty() {
                    Ok(Decoded::NeedMore)
                } else {
                    Ok(Decoded::Data(input.split().freeze()))
                }
            }
            BodyDecoder::Chunked(state) => decode_chunked(state, input, limits),
        }
    }

    /// Whether the body is complete (a length decoder that got all its bytes).
    pub(crate) fn is_complete(&self) -> bool {
        matches!(self, BodyDecoder::Length { remaining: 0 })
    }

    /// The transport reached its end: the body ends here if it was close-delimited, else it was
    /// cut short.
    pub(crate) fn eof(&self) -> Result<(), Http1Error> {
        match self {
            BodyDecoder::Close => Ok(()),
            BodyDecoder::Length { remaining: 0 } => Ok(()),
            BodyDecoder::Length { remaining } => Err(Http1Error::IncompleteBody { missing: Some(*remaining) }),
            BodyDecoder::Chunked(_) => Err(Http1Error::IncompleteBody { missing: None }),
        }
    }
}

fn decode_chunked(state: &mut ChunkState, input: &mut BytesMut, limits: &Limits) -> Result<Decoded, Http1Error> {
    loop {
        match *state {
            ChunkState::Size => {
                let Some(line) = take_line(input, limits.max_chunk_line)? else {
                    return Ok(Decoded::NeedMore);
                };
                let size = chunk_size(&line)?;
                *state = if size == 0 { ChunkState::Trailers } else { ChunkState::Data(size) };
            }
            ChunkState::Data(remaining) => {
                if input.is_empty() {
                    return Ok(Decoded::NeedMore);
                }
                let take = usize::try_from(remaining).unwrap_or(usize::MAX).min(input.len());
                let left = remaining - take as u64;
                *state = if left == 0 { ChunkState::DataEnd } else { ChunkState::Data(left) };
                return Ok(Decoded::Data(input.split_to(take).freeze()));
            }
            ChunkState::DataEnd => {
                if input.len() < 2 {
                    if input.first().is_some_and(|b| *b != b'\r') {
                        return Err(Http1Error::InvalidChunk("chunk data is not followed by CRLF".into()));
                    }
                    return Ok(Decoded::NeedMore);
                }
                if &input[..2] != b"\r\n" {
                    return Err(Http1Error::InvalidChunk("chunk data is not followed by CRLF".into()));
                }
                input.advance(2);
                *state = ChunkState::Size;
            }
            ChunkState::Trailers => return trailers(input, limits),
        }
    }
}

/// Takes one CRLF-terminated line (without the CRLF), refusing bare LF and over-long lines.
fn take_line(input: &mut BytesMut, max: usize) -> Result<Option<Bytes>, Http1Error> {
    let Some(newline) = input.iter().take(max + 2).position(|b| *b == b'\n') else {
        return if input.len() > max + 1 {
            Err(Http1Error::InvalidChunk(format!("chunk-size line longer than {max} bytes")))
        } else {
            Ok(None)
        };
    };
    if newline == 0 || input[newline - 1] != b'\r' {
        return Err(Http1Error::InvalidChunk("chunk-size line ends in a bare LF".into()));
    }
    let line = input.split_to(newline + 1).freeze();
    Ok(Some(line.slice(..newline - 1)))
}

/// Parses `chunk-size [ chunk-ext ]`: 1 to 16 hex digits first, then nothing or `;` extensions.
fn chunk_size(line: &[u8]) -> Result<u64, Http1Error> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(Http1Error::InvalidChunk(format!("chunk size {:?} has no hex digits first", lossy(line))));
    }
    if digits > 16 {
        return Err(Http1Error::InvalidChunk("chunk size does not fit in 64 bits".into()));
    }
    let rest = &line[digits..];
    let extension = rest.iter().position(|b| !matches!(b, b' ' | b'\t')).map(|at| &rest[at..]);
    match extension {
        None => {}
        Some(ext) if ext[0] == b';' && ext.iter().all(|b| *b == b'\t' || (b' '..0x7f).contains(b)) => {}
        Some(_) => return Err(Http1Error::InvalidChunk(format!("bad text after chunk size: {:?}", lossy(line)))),
    }
    let text = std::str::from_utf8(&line[..digits]).map_err(|_| Http1Error::InvalidChunk("chunk size".into()))?;
    u64::from_str_radix(text, 16).map_err(|_| Http1Error::InvalidChunk("chunk size does not fit in 64 bits".into()))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn trailers(input: &mut BytesMut, limits: &Limits) -> Result<Decoded, Http1Error> {
    if input.len() < 2 {
        return Ok(Decoded::NeedMore);
    }
    if input.starts_with(b"\r\n") {
        input.advance(2);
        return Ok(Decoded::End(HeaderMap::new()));
    }
    let mut fields = vec![httparse::EMPTY_HEADER; crate::parse::field_room(input, limits)];
    match httparse::parse_headers(input, &mut fields) {
        Ok(httparse::Status::Complete((consumed, fields))) => {
            let trailers = to_header_map(fields)?;
            input.advance(consumed);
            Ok(Decoded::End(trailers))
        }
        Ok(httparse::Status::Partial) if input.len() > limits.max_head_bytes => {
            Err(Http1Error::HeadTooLarge { limit: limits.max_head_bytes })
        }
        Ok(httparse::Status::Partial) => Ok(Decoded::NeedMore),
        Err(httparse::Error::TooManyHeaders) if crate::parse::field_room(input, limits) < limits.max_headers => {
            Err(Http1Error::HeadTooLarge { limit: limits.max_head_bytes })
        }
        Err(httparse::Error::TooManyHeaders) => Err(Http1Error::TooManyHeaders { limit: limits.max_headers }),
        Err(err) => Err(Http1Error::InvalidChunk(format!("bad trailer section: {err}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(framing: Framing, wire: &[u8], split: usize) -> Result<(Vec<u8>, HeaderMap), Http1Error> {
        let mut decoder = BodyDecoder::new(framing).unwrap();
        let mut input = BytesMut::new();
        let mut body = Vec::new();
        let mut fed = 0;
        loop {
            match decoder.decode(&mut input, &Limits::default())? {
                Decoded::Data(data) => body.extend_from_slice(&data),
                Decoded::End(trailers) => return Ok((body, trailers)),
                Decoded::NeedMore if fed < wire.len() => {
                    let end = (fed + split).min(wire.len());
                    input.extend_from_slice(&wire[fed..end]);
                    fed = end;
                }
                Decoded::NeedMore => {
                    decoder.eof()?;
                    return Ok((body, HeaderMap::new()));
                }
            }
            if decoder.is_complete() {
                return Ok((body, HeaderMap::new()));
            }
        }
    }

    #[test]
    fn chunked_byte_by_byte_with_extensions_and_trailers() {
        let wire = b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nExpires: never\r\n\r\n";
        for split in [1, 2, 3, 7, 100] {
            let (body, trailers) = decode_all(Framing::Chunked, wire, split).unwrap();
            assert_eq!(body, b"hello world", "split {split}");
            assert_eq!(trailers["expires"], "never");
        }
    }

    #[test]
    fn chunk_sizes_are_strict() {
        for bad in
            [&b"+5\r\nhello\r\n0\r\n\r\n"[..], b"0x5\r\nhello\r\n0\r\n\r\n", b"5 x\r\nhello\r\n0\r\n\r\n", b"\r\n"]
        {
            assert!(decode_all(Framing::Chunked, bad, 100).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(
            decode_all(Framing::Chunked, b"ffffffffffffffff\r\n", 100).unwrap_err(),
            Http1Error::IncompleteBody { missing: None }
        );
        assert!(decode_all(Framing::Chunked, b"5 ; ext\r\nhello\r\n0\r\n\r\n", 100).is_ok(), "BWS before ; is allowed");
    }

    #[test]
    fn overlong_chunk_line_is_refused() {
        let line = format!("1;{}\r\nx\r\n0\r\n\r\n", "e".repeat(5000));
        assert!(matches!(decode_all(Framing::Chunked, line.as_bytes(), 100), Err(Http1Error::InvalidChunk(_))));
    }

    #[test]
    fn length_body_cut_short_is_incomplete() {
        let err = decode_all(Framing::Length(10), b"hello", 3).unwrap_err();
        assert_eq!(err, Http1Error::IncompleteBody { missing: Some(5) });
    }

    #[test]
    fn close_delimited_takes_everything() {
        let (body, _) = decode_all(Framing::CloseDelimited, b"all of it", 4).unwrap();
        assert_eq!(body, b"all of it");
    }
}
