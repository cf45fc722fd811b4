//! Typed access to the headers Qt knows (`QNetworkRequest::KnownHeaders`).
//!
//! [`KnownHeaders`] is implemented for [`http::HeaderMap`], so requests and replies share one set
//! of parsers. Parsing follows Qt's rules: a value that does not parse reads as absent.

use std::time::SystemTime;

use http::header::{self, HeaderMap, HeaderValue};

/// Typed getters and setters for the well-known headers.
///
/// ```
/// use http::HeaderMap;
/// use netaccess_core::KnownHeaders;
/// let mut headers = HeaderMap::new();
/// headers.set_content_length(42);
/// headers.set_content_type("text/plain");
/// assert_eq!(headers.content_length(), Some(42));
/// assert_eq!(headers.content_type(), Some("text/plain"));
/// ```
pub trait KnownHeaders {
    /// `Content-Type`, verbatim.
    fn content_type(&self) -> Option<&str>;
    /// `Content-Length`: digits only, surrounding whitespace trimmed; anything else is absent.
    fn content_length(&self) -> Option<u64>;
    /// `Location`, verbatim (it may be relative).
    fn location(&self) -> Option<&str>;
    /// `Last-Modified` as a time (RFC 1123, RFC 850 or asctime).
    fn last_modified(&self) -> Option<SystemTime>;
    /// `User-Agent`.
    fn user_agent(&self) -> Option<&str>;
    /// `Content-Disposition`.
    fn content_disposition(&self) -> Option<&str>;
    /// `ETag`, when it is a quoted or weak (`W/"..."`) tag.
    fn etag(&self) -> Option<&str>;
    /// Sets `Content-Type`; a value that is not a valid header value is ignored.
    fn set_content_type(&mut self, value: &str);
    /// Sets `Content-Length`.
    fn set_content_length(&mut self, length: u64);
    /// Sets `Last-Modified` in RFC 1123 form.
    fn set_last_modified(&mut self, time: SystemTime);
    /// Sets `User-Agent`; a value that is not a valid header value is ignored.
    fn set_user_agent(&mut self, value: &str);
}

fn text<'a>(headers: &'a HeaderMap, name: &header::HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn set_text(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// Parses a `Content-Length` value strictly: one or more ASCII digits, optional surrounding
/// whitespace, no sign, no overflow.
///
/// ```
/// use netaccess_core::headers::parse_content_length;
/// assert_eq!(parse_content_length(" 12 "), Some(12));
/// assert_eq!(parse_content_length("+12"), None);
/// assert_eq!(parse_content_length(""), None);
/// ```
pub fn parse_content_length(value: &str) -> Option<u64> {
    let digits = value.trim_matches(|c| c == ' ' || c == '\t');
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

impl KnownHeaders for HeaderMap {
    fn content_type(&self) -> Option<&str> {
        text(self, &header::CONTENT_TYPE)
    }

    fn content_length(&self) -> Option<u64> {
        text(self, &header::CONTENT_LENGTH).and_then(parse_content_length)
    }

    fn location(&self) -> Option<&str> {
        text(self, &header::LOCATION)
    }

    fn last_modified(&self) -> Option<SystemTime> {
        text(self, &header::LAST_MODIFIED).and_then(|v| httpdate::parse_http_date(v.trim()).ok())
    }

    fn user_agent(&self) -> Option<&str> {
        text(self, &header::USER_AGENT)
    }

    fn content_disposition(&self) -> Option<&str> {
        text(self, &header::CONTENT_DISPOSITION)
    }

    fn etag(&self) -> Option<&str> {
        let tag = text(self, &header::ETAG)?.trim();
        let quoted = tag.strip_prefix("W/").unwrap_or(tag);
        (quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"')).then_some(tag)
    }

    fn set_content_type(&mut self, value: &str) {
        set_text(self, header::CONTENT_TYPE, value);
    }

    fn set_content_length(&mut self, length: u64) {
        self.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }

    fn set_last_modified(&mut self, time: SystemTime) {
        set_text(self, header::LAST_MODIFIED, &httpdate::fmt_http_date(time));
    }

    fn set_user_agent(&mut self, value: &str) {
        set_text(self, header::USER_AGENT, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn invalid_content_length_reads_as_absent() {
        for bad in ["", "-1", "0x5", "5, 6", "1.0", "36893488147419103232"] {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from_str(bad).unwrap());
            assert_eq!(headers.content_length(), None, "{bad:?}");
        }
    }

    #[test]
    fn last_modified_round_trips() {
        let mut headers = HeaderMap::new();
        let time = UNIX_EPOCH + Duration::from_secs(784_111_777);
        headers.set_last_modified(time);
        assert_eq!(text(&headers, &header::LAST_MODIFIED), Some("Sun, 06 Nov 1994 08:49:37 GMT"));
        assert_eq!(headers.last_modified(), Some(time));
    }

    #[test]
    fn etag_must_be_quoted() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ETAG, HeaderValue::from_static("W/\"x\""));
        assert_eq!(headers.etag(), Some("W/\"x\""));
        headers.insert(header::ETAG, HeaderValue::from_static("x"));
        assert_eq!(headers.etag(), None);
    }
}
