//! Request head and body encoding.
//!
//! # Design
//!
//! The head is written in one buffer: the request line in the form the route needs
//! ([`RequestTarget`]), `Host` first, then the caller's headers in their order, then the framing
//! header this module decides: `Content-Length` when the body's length is known, else
//! `Transfer-Encoding: chunked`. A framing header the caller set is replaced, never sent twice.
//! [`apply_default_headers`] adds what Qt sends when the caller did not set it.

use std::fmt::Write as _;

use http::header::{self, HeaderMap, HeaderValue};
use http::Method;
use url::Url;

/// How the request line names the resource.
#[derive(Debug, Clone, Copy)]
pub enum RequestTarget<'a> {
    /// `GET /path?query HTTP/1.1`: to an origin server.
    Origin(&'a Url),
    /// `GET http://host/path HTTP/1.1`: to a forward proxy.
    Absolute(&'a Url),
    /// `CONNECT host:port HTTP/1.1`: to open a tunnel.
    Authority {
        /// The host, IPv6 in brackets.
        host: &'a str,
        /// The port.
        port: u16,
    },
}

/// How the request body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFraming {
    /// No body, and no framing header (GET, HEAD, DELETE without a body).
    None,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`: the length is unknown.
    Chunked,
}

impl RequestFraming {
    /// The framing for a body of `len` bytes (when known). Methods that carry a body announce
    /// even an empty one with `Content-Length: 0`.
    pub fn for_body(method: &Method, len: Option<u64>) -> Self {
        match len {
            Some(0) if !method_expects_body(method) => RequestFraming::None,
            Some(n) => RequestFraming::Length(n),
            None => RequestFraming::Chunked,
        }
    }
}

fn method_expects_body(method: &Method) -> bool {
    *method == Method::POST || *method == Method::PUT || *method == Method::PATCH
}

/// The `Host` value for a URL: IPv6 literals bracketed, IDN in ASCII (punycode), the port only
/// when it is not the scheme's default.
///
/// ```
/// use netaccess_http1::host_header;
/// let url = url::Url::parse("http://[::1]:8080/").unwrap();
/// assert_eq!(host_header(&url), "[::1]:8080");
/// let url = url::Url::parse("http://bücher.example/").unwrap();
/// assert_eq!(host_header(&url), "xn--bcher-kva.example");
/// ```
pub fn host_header(url: &Url) -> String {
    let mut out = Vec::new();
    write_host(url, &mut out);
    String::from_utf8(out).expect("a URL's host and port are ASCII")
}

/// [`host_header`] written into `out`, as the request head needs it (no allocation).
fn write_host(url: &Url, out: &mut Vec<u8>) {
    out.extend_from_slice(url.host_str().unwrap_or_default().as_bytes());
    if let Some(port) = url.port() {
        let _ = write!(line_buffer(out), ":{port}");
    }
}

/// The `Host` value for a request target: the URL's host, or the tunnel's `host:port`.
fn write_target_host(target: RequestTarget<'_>, out: &mut Vec<u8>) {
    match target {
        RequestTarget::Origin(url) | RequestTarget::Absolute(url) => write_host(url, out),
        RequestTarget::Authority { host, port } => {
            let _ = write!(line_buffer(out), "{host}:{port}");
        }
    }
}

/// Adds the headers Qt sends when the caller did not set them: `User-Agent`, `Accept-Encoding`
/// (only when `accept_encoding` is given: the codings the caller can decode) and
/// `Connection: keep-alive`. The values come prepared, so a client that sends many requests
/// builds them once (cloning a `HeaderValue` copies no bytes).
///
/// ```
/// use http::{header, HeaderMap, HeaderValue};
/// let mut headers = HeaderMap::new();
/// let agent = HeaderValue::from_static("netaccess");
/// netaccess_http1::apply_default_headers(&mut headers, Some(&agent), None);
/// assert_eq!(headers[header::USER_AGENT], "netaccess");
/// assert_eq!(headers[header::CONNECTION], "keep-alive");
/// ```
pub fn apply_default_headers(
    headers: &mut HeaderMap,
    user_agent: Option<&HeaderValue>,
    accept_encoding: Option<&HeaderValue>,
) {
    if let Some(agent) = user_agent {
        if !headers.contains_key(header::USER_AGENT) {
            headers.insert(header::USER_AGENT, agent.clone());
        }
    }
    if let Some(codings) = accept_encoding {
        if !headers.contains_key(header::ACCEPT_ENCODING) {
            headers.insert(header::ACCEPT_ENCODING, codings.clone());
        }
    }
    if !headers.contains_key(header::CONNECTION) {
        headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
    }
}

/// Whether the headers ask the server for `100 Continue` before the body (see
/// [`Call::expect_continue`](crate::Call::expect_continue)).
pub fn expects_continue(headers: &HeaderMap) -> bool {
    headers.get(header::EXPECT).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// Whether the headers ask to close the connection after this request.
pub fn asks_to_close(headers: &HeaderMap) -> bool {
    crate::parse::has_token(headers, &header::CONNECTION, "close")
}

/// Writes a request head into `out`, every field name in its canonical form (`Host`,
/// `User-Agent`, `X-Trace`): see [`encode_request_head_as_written`].
///
/// ```
/// use http::{HeaderMap, Method};
/// use netaccess_http1::{encode_request_head, RequestFraming, RequestTarget};
/// let url = url::Url::parse("http://example.com:8080/a?b=c").unwrap();
/// let mut out = Vec::new();
/// encode_request_head(&Method::POST, RequestTarget::Origin(&url), &HeaderMap::new(), RequestFraming::Length(3), &mut out);
/// assert_eq!(out, b"POST /a?b=c HTTP/1.1\r\nHost: example.com:8080\r\nContent-Length: 3\r\n\r\n");
/// ```
pub fn encode_request_head(
    method: &Method,
    target: RequestTarget<'_>,
    headers: &HeaderMap,
    framing: RequestFraming,
    out: &mut Vec<u8>,
) {
    encode_request_head_as_written(method, target, headers, &[], framing, out);
}

/// Writes a request head into `out`; a field whose name is in `names_as_written` (compared
/// without case) goes out spelled as written there, every other in its canonical form.
///
/// Field names are case-insensitive, but devices, old servers and header-filtering proxies are
/// not always: a caller's name goes out as the caller wrote it, the ones the client adds in the
/// form Qt, curl and browsers send (`Host`, `User-Agent`, `Content-Length`, `WWW-Authenticate`),
/// lookups staying case-insensitive.
///
/// ```
/// use http::{HeaderMap, HeaderValue, Method};
/// use netaccess_http1::{encode_request_head_as_written, RequestFraming, RequestTarget};
/// let url = url::Url::parse("http://example.com/").unwrap();
/// let mut headers = HeaderMap::new();
/// headers.insert("x-api-key", HeaderValue::from_static("1"));
/// headers.insert("user-agent", HeaderValue::from_static("t"));
/// let mut out = Vec::new();
/// let written = ["X-API-Key".into()];
/// encode_request_head_as_written(&Method::GET, RequestTarget::Origin(&url), &headers, &written, RequestFraming::None, &mut out);
/// let text = String::from_utf8(out).unwrap();
/// assert!(text.contains("\r\nX-API-Key: 1\r\n") && text.contains("\r\nUser-Agent: t\r\n"), "{text}");
/// ```
pub fn encode_request_head_as_written(
    method: &Method,
    target: RequestTarget<'_>,
    headers: &HeaderMap,
    names_as_written: &[Box<str>],
    framing: RequestFraming,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    match target {
        RequestTarget::Origin(url) => {
            out.extend_from_slice(url.path().as_bytes());
            if let Some(query) = url.query() {
                out.push(b'?');
                out.extend_from_slice(query.as_bytes());
            }
        }
        RequestTarget::Absolute(url) => {
            let mut without_fragment = url.clone();
            without_fragment.set_fragment(None);
            // Credentials belong in Authorization headers, never in the request line.
            let _ = without_fragment.set_username("");
            let _ = without_fragment.set_password(None);
            out.extend_from_slice(without_fragment.as_str().as_bytes());
        }
        RequestTarget::Authority { .. } => write_target_host(target, out),
    }
    out.extend_from_slice(b" HTTP/1.1\r\n");
    if !headers.contains_key(header::HOST) {
        out.extend_from_slice(b"Host: ");
        write_target_host(target, out);
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in headers {
        if name == header::CONTENT_LENGTH || name == header::TRANSFER_ENCODING {
            continue;
        }
        match names_as_written.iter().find(|written| written.eq_ignore_ascii_case(name.as_str())) {
            Some(written) => out.extend_from_slice(written.as_bytes()),
            None => write_canonical_name(name.as_str(), out),
        }
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        RequestFraming::None => {}
        RequestFraming::Length(n) => {
            let _ = write!(line_buffer(out), "Content-Length: {n}\r\n");
        }
        RequestFraming::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
    }
    out.extend_from_slice(b"\r\n");
}

/// Names whose canonical form is not plain title case.
const IRREGULAR_NAMES: &[&str] = &["WWW-Authenticate", "ETag", "TE", "DNT", "Content-MD5", "X-XSS-Protection"];

/// Writes a (lower-case) field name in its canonical form: each dash-separated word
/// capitalized, with the few irregular ones as they are registered.
fn write_canonical_name(name: &str, out: &mut Vec<u8>) {
    if let Some(irregular) = IRREGULAR_NAMES.iter().find(|n| n.eq_ignore_ascii_case(name)) {
        out.extend_from_slice(irregular.as_bytes());
        return;
    }
    let mut word_start = true;
    for byte in name.bytes() {
        out.push(if word_start { byte.to_ascii_uppercase() } else { byte });
        word_start = byte == b'-';
    }
}

struct VecWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

fn line_buffer(out: &mut Vec<u8>) -> VecWriter<'_> {
    VecWriter(out)
}

/// Writes the framing line of one chunk of a chunked body (`len` in hex, CRLF); the caller
/// writes the data and then [`CHUNK_END`]. Empty chunks must not be sent: they end the body.
pub fn encode_chunk_header(len: usize, out: &mut Vec<u8>) {
    debug_assert!(len > 0, "an empty chunk would end the body");
    let _ = write!(line_buffer(out), "{len:x}\r\n");
}

/// What follows the data of each chunk.
pub const CHUNK_END: &[u8] = b"\r\n";

/// The last chunk and the empty trailer section that end a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::HeaderName;

    fn head(method: Method, target: RequestTarget<'_>, headers: &HeaderMap, framing: RequestFraming) -> String {
        let mut out = Vec::new();
        encode_request_head(&method, target, headers, framing, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn origin_form_without_fragment_and_default_port() {
        let url = Url::parse("http://example.com:80/p%20q?x=1#frag").unwrap();
        let text = head(Method::GET, RequestTarget::Origin(&url), &HeaderMap::new(), RequestFraming::None);
        assert_eq!(text, "GET /p%20q?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
    }

    #[test]
    fn absolute_form_for_proxies_drops_credentials_and_fragment() {
        let url = Url::parse("http://user:pw@example.com:8080/x#f").unwrap();
        let text = head(Method::GET, RequestTarget::Absolute(&url), &HeaderMap::new(), RequestFraming::None);
        assert_eq!(text, "GET http://example.com:8080/x HTTP/1.1\r\nHost: example.com:8080\r\n\r\n");
    }

    #[test]
    fn authority_form_for_connect() {
        let target = RequestTarget::Authority { host: "[::1]", port: 443 };
        let text = head(Method::CONNECT, target, &HeaderMap::new(), RequestFraming::None);
        assert_eq!(text, "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n");
    }

    #[test]
    fn framing_replaces_caller_framing_headers() {
        let url = Url::parse("http://h/").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("999"));
        headers.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("gzip"));
        let text = head(Method::PUT, RequestTarget::Origin(&url), &headers, RequestFraming::Chunked);
        assert_eq!(text, "PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    }

    #[test]
    fn names_go_out_canonical_unless_written_otherwise() {
        let url = Url::parse("http://h/").unwrap();
        let mut headers = HeaderMap::new();
        for name in ["user-agent", "www-authenticate", "etag", "x-api-key", "x-trace", "proxy-authorization"] {
            headers.insert(HeaderName::from_static(name), HeaderValue::from_static("v"));
        }
        let written: Vec<Box<str>> = vec!["x-TRACE".into()];
        let mut out = Vec::new();
        let target = RequestTarget::Origin(&url);
        encode_request_head_as_written(&Method::GET, target, &headers, &written, RequestFraming::Length(1), &mut out);
        let text = String::from_utf8(out).unwrap();
        for line in [
            "Host: h",
            "User-Agent: v",
            "WWW-Authenticate: v",
            "ETag: v",
            "X-Api-Key: v",
            "x-TRACE: v",
            "Proxy-Authorization: v",
            "Content-Length: 1",
        ] {
            assert!(text.contains(&format!("\r\n{line}\r\n")), "{line:?} in {text:?}");
        }
    }

    #[test]
    fn framing_choice() {
        assert_eq!(RequestFraming::for_body(&Method::GET, Some(0)), RequestFraming::None);
        assert_eq!(RequestFraming::for_body(&Method::POST, Some(0)), RequestFraming::Length(0));
        assert_eq!(RequestFraming::for_body(&Method::PUT, None), RequestFraming::Chunked);
    }

    #[test]
    fn defaults_do_not_override_the_caller() {
        let mut headers = HeaderMap::new();
        headers.insert(header::USER_AGENT, HeaderValue::from_static("mine"));
        let agent = HeaderValue::from_static("a product/1.0");
        apply_default_headers(&mut headers, Some(&agent), Some(&HeaderValue::from_static("gzip, deflate")));
        assert_eq!(headers[header::USER_AGENT], "mine");
        assert_eq!(headers[header::ACCEPT_ENCODING], "gzip, deflate");
        assert_eq!(headers[header::CONNECTION], "keep-alive");
        assert!(!asks_to_close(&headers));
    }

    #[test]
    fn chunk_encoding() {
        let mut out = Vec::new();
        encode_chunk_header(300, &mut out);
        out.extend_from_slice(CHUNK_END);
        out.extend_from_slice(LAST_CHUNK);
        assert_eq!(out, b"12c\r\n\r\n0\r\n\r\n");
    }
}
