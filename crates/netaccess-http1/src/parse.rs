//! Response head parsing (with `httparse`) and the framing decision of RFC 9112 section 6.3.
//!
//! # Design
//!
//! `httparse` parses the head; this module adds what it leaves to the caller: leading empty lines
//! are skipped, obs-fold is allowed and unfolded to one space, a status below 100 is refused,
//! limits on head size and header count give their own errors, and the framing is decided
//! strictly: `Content-Length` must be one decimal number (identical repeats collapse),
//! `Transfer-Encoding` must end in a single `chunked` (else the body runs to the close, or,
//! when `chunked` appears elsewhere, the response is refused).

use std::borrow::Cow;

use bytes::{Buf, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Version};

use crate::close_reason::{CloseReason, Reuse};
use crate::error::Http1Error;

/// Limits on what a response head may cost.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes of a response head (status line and headers), and of a trailer section.
    pub max_head_bytes: usize,
    /// The most header fields in one head. The default is as many as `max_head_bytes` can hold
    /// (a field takes at least 4 bytes), so the head is bounded by its size: a page setting 150
    /// cookies is read, as curl reads it.
    pub max_headers: usize,
    /// The longest chunk-size line, extensions included.
    pub max_chunk_line: usize,
    /// Whether a head keeps its field names as the server spelled them
    /// ([`ResponseHead::names_as_received`]), hyper's `preserve_header_case`: off by default,
    /// as it costs an allocation per response; a tool that shows heads (curl's `-i`) turns it on.
    pub keep_names_as_received: bool,
}

impl Default for Limits {
    /// 64 KiB of head, as many fields as fit in it (16,384), 4 KiB chunk lines.
    fn default() -> Self {
        let max_head_bytes = 64 * 1024;
        Self {
            max_head_bytes,
            max_headers: max_head_bytes / SMALLEST_FIELD,
            max_chunk_line: 4096,
            keep_names_as_received: false,
        }
    }
}

/// A parsed response head.
#[derive(Debug, Clone)]
pub struct ResponseHead {
    /// The status code.
    pub status: StatusCode,
    /// The reason phrase as sent.
    pub reason: String,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The header fields, obs-fold unfolded.
    pub headers: HeaderMap,
    /// The field names spelled otherwise than in lower case, as the server sent them, each once
    /// (`Content-Type`, `X-MiXed`); empty unless [`Limits::keep_names_as_received`].
    pub names_as_received: Box<[Box<str>]>,
}

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body at all.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Everything until the connection closes.
    CloseDelimited,
}

/// Parses one response head from the start of `input`, consuming it. `Ok(None)`: more bytes are
/// needed.
///
/// # Errors
/// The head is malformed or exceeds the limits.
pub fn parse_head(input: &mut BytesMut, limits: &Limits) -> Result<Option<ResponseHead>, Http1Error> {
    let leading = input.iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
    input.advance(leading);
    if input.is_empty() {
        return Ok(None);
    }
    let prefix = &input[..input.len().min(5)];
    if !b"HTTP/".starts_with(prefix) {
        return Err(Http1Error::InvalidStatusLine("the reply does not start with HTTP/".into()));
    }

    let mut config = httparse::ParserConfig::default();
    config.allow_obsolete_multiline_headers_in_responses(true).allow_space_before_first_header_name(true);
    // Room for the fields: on the stack for a usual head; a head with more fields than that is
    // parsed again with room on the heap for as many as the limit allows.
    let mut on_stack = [httparse::EMPTY_HEADER; STACK_FIELDS];
    let mut on_heap;
    let mut response = httparse::Response::new(&mut on_stack[..limits.max_headers.min(STACK_FIELDS)]);
    let mut parsed = config.parse_response(&mut response, input);
    if matches!(parsed, Err(httparse::Error::TooManyHeaders)) && limits.max_headers > STACK_FIELDS {
        on_heap = vec![httparse::EMPTY_HEADER; field_room(input, limits)];
        response = httparse::Response::new(&mut on_heap);
        parsed = config.parse_response(&mut response, input);
    }
    let consumed = match parsed {
        Ok(httparse::Status::Complete(consumed)) => consumed,
        Ok(httparse::Status::Partial) => {
            return if input.len() > limits.max_head_bytes {
                Err(Http1Error::HeadTooLarge { limit: limits.max_head_bytes })
            } else {
                Ok(None)
            };
        }
        // More fields than the lines within the size limit hold: the size is what was exceeded.
        Err(httparse::Error::TooManyHeaders) if field_room(input, limits) < limits.max_headers => {
            return Err(Http1Error::HeadTooLarge { limit: limits.max_head_bytes })
        }
        Err(httparse::Error::TooManyHeaders) => return Err(Http1Error::TooManyHeaders { limit: limits.max_headers }),
        Err(err @ (httparse::Error::Status | httparse::Error::Version)) => {
            return Err(Http1Error::InvalidStatusLine(err.to_string()))
        }
        Err(err) => return Err(Http1Error::InvalidHeader(err.to_string())),
    };
    if consumed > limits.max_head_bytes {
        return Err(Http1Error::HeadTooLarge { limit: limits.max_head_bytes });
    }
    let code = response.code.unwrap_or(0);
    let status = StatusCode::from_u16(code)
        .ok()
        .filter(|_| code >= 100)
        .ok_or_else(|| Http1Error::InvalidStatusLine(format!("status {code} is not in 100..=999")))?;
    let version = if response.version == Some(0) { Version::HTTP_10 } else { Version::HTTP_11 };
    let reason = response.reason.unwrap_or_default().to_owned();
    let headers = to_header_map(response.headers)?;
    let names_as_received =
        if limits.keep_names_as_received { names_as_received(response.headers) } else { Box::default() };
    input.advance(consumed);
    Ok(Some(ResponseHead { status, reason, version, headers, names_as_received }))
}

/// The fewest bytes a header field takes: `a:` and CRLF.
const SMALLEST_FIELD: usize = 4;

/// Room for the fields of the head at the start of `input`: one per line the buffer holds (every
/// complete field ends a line) and one for a field still arriving, at most the limit. A head's room
/// costs what its bytes allow, never the whole limit up front.
pub(crate) fn field_room(input: &[u8], limits: &Limits) -> usize {
    let lines = input.iter().take(limits.max_head_bytes.saturating_add(2)).filter(|&&b| b == b'\n').count();
    (lines + 1).min(limits.max_headers)
}

/// How many fields a response head may have before [`parse_head`] needs room on the heap.
const STACK_FIELDS: usize = 32;

/// Converts `httparse` fields to a header map, unfolding obs-fold and refusing invalid bytes.
pub(crate) fn to_header_map(fields: &[httparse::Header<'_>]) -> Result<HeaderMap, Http1Error> {
    let mut headers = HeaderMap::with_capacity(fields.len());
    for field in fields {
        let name = HeaderName::from_bytes(field.name.as_bytes())
            .map_err(|_| Http1Error::InvalidHeader(format!("bad field name {:?}", field.name)))?;
        let value = unfold(field.value);
        let value =
            HeaderValue::from_bytes(&value).map_err(|_| Http1Error::InvalidHeader(format!("bad value for {name}")))?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// The distinct field names that are not all lower case, as spelled.
fn names_as_received(fields: &[httparse::Header<'_>]) -> Box<[Box<str>]> {
    let mut seen = std::collections::HashSet::new();
    fields
        .iter()
        .filter(|field| field.name.bytes().any(|b| b.is_ascii_uppercase()) && seen.insert(field.name))
        .map(|field| field.name.into())
        .collect()
}

/// Replaces each obs-fold (CRLF or LF followed by spaces or tabs) with one space.
fn unfold(value: &[u8]) -> Cow<'_, [u8]> {
    if !value.contains(&b'\n') {
        return Cow::Borrowed(value);
    }
    let mut out = Vec::with_capacity(value.len());
    let mut index = 0;
    while index < value.len() {
        match value[index] {
            b'\r' | b'\n' => {
                while index < value.len() && matches!(value[index], b'\r' | b'\n' | b' ' | b'\t') {
                    index += 1;
                }
                out.push(b' ');
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    Cow::Owned(out)
}

/// Whether a comma-separated header (all its lines) contains `token`, case-insensitively.
pub fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    list_values(headers, name).any(|item| item.eq_ignore_ascii_case(token))
}

fn list_values<'a>(headers: &'a HeaderMap, name: &HeaderName) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(name)
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("\u{0}").split(','))
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// Decides how the body of a final response (status 200 and up) to `method` is delimited, and
/// whether the framing itself forbids reusing the connection.
///
/// # Errors
/// The framing headers are invalid or contradict each other unsafely.
pub fn framing(method: &Method, head: &ResponseHead) -> Result<(Framing, Reuse), Http1Error> {
    let status = head.status.as_u16();
    if *method == Method::CONNECT && head.status.is_success() {
        return Ok((Framing::Empty, Reuse::Close(CloseReason::Tunnel)));
    }
    if head.version == Version::HTTP_10 && head.headers.contains_key(header::TRANSFER_ENCODING) {
        // RFC 9112 §6.1: faulty framing, even with a Content-Length beside it.
        return Err(Http1Error::AmbiguousFraming("an HTTP/1.0 response carried Transfer-Encoding".into()));
    }
    if *method == Method::HEAD || status == 204 || status == 304 {
        return Ok((Framing::Empty, Reuse::Reusable));
    }
    let has_length = head.headers.contains_key(header::CONTENT_LENGTH);
    if head.headers.contains_key(header::TRANSFER_ENCODING) {
        if *method == Method::CONNECT && has_length {
            return Err(Http1Error::AmbiguousFraming(
                "a refused CONNECT sent both Transfer-Encoding and Content-Length".into(),
            ));
        }
        let codings: Vec<&str> = list_values(&head.headers, &header::TRANSFER_ENCODING).collect();
        let chunked = codings.iter().filter(|c| c.eq_ignore_ascii_case("chunked")).count();
        let last_is_chunked = codings.last().is_some_and(|c| c.eq_ignore_ascii_case("chunked"));
        let reuse = if has_length { Reuse::Close(CloseReason::AmbiguousFraming) } else { Reuse::Reusable };
        return match (chunked, last_is_chunked) {
            // RFC 9112 §6.3: a transfer coding other than chunked beside a Content-Length is a
            // smuggling signal, not a body to read until close.
            (0, _) if has_length => Err(Http1Error::AmbiguousFraming(format!(
                "Transfer-Encoding {:?} without chunked, beside a Content-Length",
                codings.join(", ")
            ))),
            (0, _) => Ok((Framing::CloseDelimited, Reuse::Close(CloseReason::CloseDelimited))),
            (1, true) => Ok((Framing::Chunked, reuse)),
            _ => Err(Http1Error::InvalidTransferEncoding(format!(
                "chunked must be applied once and last, got {:?}",
                codings.join(", ")
            ))),
        };
    }
    if has_length {
        return content_length(&head.headers).map(|n| (Framing::Length(n), Reuse::Reusable));
    }
    Ok((Framing::CloseDelimited, Reuse::Close(CloseReason::CloseDelimited)))
}

/// The one `Content-Length` of a message: every value on every line must be the same decimal
/// number.
fn content_length(headers: &HeaderMap) -> Result<u64, Http1Error> {
    let mut length = None;
    for value in headers.get_all(header::CONTENT_LENGTH) {
        let text = value.to_str().map_err(|_| Http1Error::InvalidContentLength("non-ASCII".into()))?;
        for item in text.split(',') {
            let digits = item.trim_matches(|c| c == ' ' || c == '\t');
            let parsed = (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| digits.parse::<u64>().ok())
                .flatten()
                .ok_or_else(|| Http1Error::InvalidContentLength(text.to_owned()))?;
            if length.is_some_and(|seen| seen != parsed) {
                return Err(Http1Error::InvalidContentLength(format!("conflicting values in {text:?}")));
            }
            length = Some(parsed);
        }
    }
    length.ok_or_else(|| Http1Error::InvalidContentLength(String::new()))
}

/// Whether the response lets the connection stay open: HTTP/1.1 unless `Connection: close`,
/// HTTP/1.0 only with `Connection: keep-alive`.
pub fn keep_alive(head: &ResponseHead) -> Reuse {
    if has_token(&head.headers, &header::CONNECTION, "close") {
        Reuse::Close(CloseReason::ServerClose)
    } else if head.version == Version::HTTP_10 && !has_token(&head.headers, &header::CONNECTION, "keep-alive") {
        Reuse::Close(CloseReason::Http10)
    } else {
        Reuse::Reusable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Option<ResponseHead>, Http1Error> {
        parse_head(&mut BytesMut::from(text), &Limits::default())
    }

    #[test]
    fn partial_heads_wait_for_more() {
        assert!(parse("HTT").unwrap().is_none());
        assert!(parse("HTTP/1.1 200 OK\r\nContent-Le").unwrap().is_none());
        assert!(parse("\r\n\r\n").unwrap().is_none());
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let head = parse("\r\n\nHTTP/1.1 200 OK\r\n\r\n").unwrap().unwrap();
        assert_eq!(head.status, 200);
    }

    #[test]
    fn obs_fold_is_unfolded() {
        let head = parse("HTTP/1.1 200 OK\r\nServer: a\r\n b\r\n\tc\r\n\r\n").unwrap().unwrap();
        assert_eq!(head.headers["server"], "a b c");
    }

    #[test]
    fn limits_are_enforced() {
        let limits = Limits { max_head_bytes: 64, max_headers: 2, max_chunk_line: 16, keep_names_as_received: false };
        let long = format!("HTTP/1.1 200 OK\r\nX: {}", "a".repeat(100));
        assert_eq!(
            parse_head(&mut BytesMut::from(long.as_str()), &limits).unwrap_err(),
            Http1Error::HeadTooLarge { limit: 64 }
        );
        let many = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        assert_eq!(
            parse_head(&mut BytesMut::from(many), &limits).unwrap_err(),
            Http1Error::TooManyHeaders { limit: 2 }
        );
    }

    #[test]
    fn heads_with_more_fields_than_fit_on_the_stack_parse_up_to_the_limit() {
        let head_with = |n: usize| {
            let fields: String = (0..n).map(|i| format!("X-{i}: {i}\r\n")).collect();
            format!("HTTP/1.1 200 OK\r\n{fields}\r\n")
        };
        // 150 cookies, 300 fields: what real pages send, under the 64 KiB head.
        for n in [STACK_FIELDS - 1, STACK_FIELDS, STACK_FIELDS + 1, 150, 300, 2000] {
            let head = parse(&head_with(n)).unwrap().unwrap();
            assert_eq!(head.headers.len(), n);
            assert_eq!(head.headers[format!("x-{}", n - 1).as_str()], (n - 1).to_string().as_str());
        }
        let limit = Limits::default().max_head_bytes;
        assert_eq!(parse(&head_with(8000)).unwrap_err(), Http1Error::HeadTooLarge { limit });
        let small = Limits { max_headers: 3, ..Limits::default() };
        assert!(parse_head(&mut BytesMut::from(head_with(3).as_str()), &small).unwrap().is_some());
        assert_eq!(
            parse_head(&mut BytesMut::from(head_with(4).as_str()), &small).unwrap_err(),
            Http1Error::TooManyHeaders { limit: 3 }
        );
    }

    #[test]
    fn http10_needs_keep_alive() {
        let head = parse("HTTP/1.0 200 OK\r\n\r\n").unwrap().unwrap();
        assert_eq!(keep_alive(&head), Reuse::Close(CloseReason::Http10));
        let head = parse("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n").unwrap().unwrap();
        assert_eq!(keep_alive(&head), Reuse::Reusable);
        let head = parse("HTTP/1.1 200 OK\r\nConnection: x, close\r\n\r\n").unwrap().unwrap();
        assert_eq!(keep_alive(&head), Reuse::Close(CloseReason::ServerClose));
    }

    #[test]
    fn transfer_encoding_in_http10_or_beside_a_length_without_chunked_is_refused() {
        let refused = [
            "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            "HTTP/1.0 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n",
        ];
        for text in refused {
            let head = parse(text).unwrap().unwrap();
            assert!(matches!(framing(&Method::GET, &head), Err(Http1Error::AmbiguousFraming(_))), "{text:?}");
        }
        let until_close = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n").unwrap().unwrap();
        assert_eq!(
            framing(&Method::GET, &until_close).unwrap(),
            (Framing::CloseDelimited, Reuse::Close(CloseReason::CloseDelimited))
        );
    }
}
