//! The request head as a tool shows it (curl's `-v`): the bytes written on an HTTP/1.1
//! connection, or, over HTTP/2, the same fields in HTTP/1.1's notation as curl prints them (the
//! version `HTTP/2`, names in lower case, no connection-specific fields, `Host` for
//! `:authority`).

use bytes::Bytes;
use http::Version;

/// Fields HTTP/2 does not carry (RFC 9113 §8.2.2).
const CONNECTION_SPECIFIC: [&str; 5] = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"];

/// The head `encoded` for HTTP/1.1, as it went for a response of `version`.
pub(crate) fn request_head(encoded: Vec<u8>, version: Version) -> Bytes {
    if version != Version::HTTP_2 {
        return Bytes::from(encoded);
    }
    let text = String::from_utf8_lossy(&encoded);
    let mut lines = text.split("\r\n");
    let mut shown = String::with_capacity(encoded.len());
    if let Some(request_line) = lines.next() {
        let without_version = request_line.rsplit_once(' ').map_or(request_line, |(start, _)| start);
        shown.push_str(without_version);
        shown.push_str(" HTTP/2\r\n");
    }
    for line in lines.filter(|line| !line.is_empty()) {
        let Some((name, value)) = line.split_once(':') else { continue };
        let name = name.to_ascii_lowercase();
        if CONNECTION_SPECIFIC.contains(&name.as_str()) {
            continue;
        }
        let name = if name == "host" { "Host" } else { &name };
        shown.push_str(&format!("{name}:{value}\r\n"));
    }
    shown.push_str("\r\n");
    Bytes::from(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http2_shows_the_fields_as_curl_prints_them() {
        let head = b"GET /x HTTP/1.1\r\nHost: a.test\r\nUser-Agent: u\r\nConnection: keep-alive\r\n\r\n".to_vec();
        assert_eq!(request_head(head.clone(), Version::HTTP_11), &head[..]);
        assert_eq!(request_head(head, Version::HTTP_2), "GET /x HTTP/2\r\nHost: a.test\r\nuser-agent: u\r\n\r\n");
    }
}
