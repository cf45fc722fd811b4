//! Multipart bodies (Qt's `QHttpMultiPart` and `QHttpPart`): form-data, mixed, related and
//! alternative, parts from bytes, files or streams.
//!
//! ```
//! # async fn example() -> std::io::Result<()> {
//! use netaccess_core::multipart::{Multipart, MultipartKind, Part};
//! use netaccess_core::Body;
//!
//! let mut form = Multipart::new(MultipartKind::FormData);
//! form.append(Part::form_field("title", "Holiday"));
//! form.append(Part::from_bytes(&b"\x89PNG..."[..]).with_form_data("photo", Some("beach.png")));
//! let body = Body::from(form);
//! assert!(body.content_type().unwrap().to_str().unwrap().starts_with("multipart/form-data; boundary="));
//! assert!(body.len().is_some(), "every part's size is known");
//! # Ok(()) }
//! ```
//!
//! # Design
//!
//! A multipart body is a concatenation of bodies (`Body`'s parts source): the delimiter and
//! headers of each part in memory, then the part's own body as it is (a file is opened and read
//! in chunks when it is sent, never read whole; a stream is passed through). So its length is
//! known when every part's is (`Content-Length`; otherwise HTTP sends it chunked), it can be
//! sent again (redirects, authentication rounds, a retry) when every part can, and upload
//! progress counts the whole body. The boundary is 32 random hex digits after a fixed prefix,
//! from the standard library's randomly seeded hasher (no extra dependency); a part whose bytes
//! happen to contain it is astronomically unlikely, and a caller who must be sure sets one with
//! [`Multipart::with_boundary`]. The request's `Content-Type` (with the boundary) is the body's,
//! sent unless the request sets its own, as for forms and JSON.

use std::hash::{BuildHasher, Hasher};
use std::io;
use std::path::Path;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_DISPOSITION, CONTENT_TYPE};

use crate::body::Body;

/// Which multipart type (RFC 2046, RFC 7578, RFC 2387).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultipartKind {
    /// `multipart/form-data`: an HTML form's fields and files.
    FormData,
    /// `multipart/mixed`: independent parts in order.
    Mixed,
    /// `multipart/related`: parts of one compound object.
    Related,
    /// `multipart/alternative`: one content in several forms, the preferred last.
    Alternative,
}

impl MultipartKind {
    fn subtype(self) -> &'static str {
        match self {
            MultipartKind::FormData => "form-data",
            MultipartKind::Mixed => "mixed",
            MultipartKind::Related => "related",
            MultipartKind::Alternative => "alternative",
        }
    }
}

/// One part: its headers and its body.
#[derive(Debug)]
pub struct Part {
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Body,
}

impl Part {
    /// A part holding `bytes`.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        Self { headers: Vec::new(), body: Body::from_bytes(bytes) }
    }

    /// A part read from a file when the body is sent, in chunks (never whole). Its length is
    /// taken now.
    ///
    /// # Errors
    /// The file's metadata cannot be read, or it is not a regular file.
    pub async fn from_file(path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(Self { headers: Vec::new(), body: Body::from_file(path).await? })
    }

    /// A part whose content is `body` (a stream with or without a known length, say); the
    /// body's own `Content-Type`, if it has one, becomes the part's.
    pub fn from_body(body: Body) -> Self {
        let mut part = Self { headers: Vec::new(), body };
        if let Some(content_type) = part.body.content_type().cloned() {
            part.headers.push((CONTENT_TYPE, content_type));
        }
        part
    }

    /// A form field: `Content-Disposition: form-data; name="…"` and `value` as its content.
    pub fn form_field(name: &str, value: impl Into<Bytes>) -> Self {
        Self::from_bytes(value).with_form_data(name, None)
    }

    /// Sets `Content-Disposition: form-data; name="…"` (and `filename="…"` when given), with
    /// quotes, CR and LF in the names percent-escaped as browsers do (RFC 7578 §4.2).
    #[must_use]
    pub fn with_form_data(self, name: &str, file_name: Option<&str>) -> Self {
        let mut value = format!("form-data; name=\"{}\"", escape(name));
        if let Some(file_name) = file_name {
            value.push_str(&format!("; filename=\"{}\"", escape(file_name)));
        }
        let value = HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("form-data"));
        self.with_header(CONTENT_DISPOSITION, value)
    }

    /// Sets a header of the part (replacing one of the same name).
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.retain(|(existing, _)| *existing != name);
        self.headers.push((name, value));
        self
    }

    /// The part's headers, in the order they are sent.
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }
}

/// Escapes a form-data name as browsers do: `"` as `%22`, CR as `%0D`, LF as `%0A`.
fn escape(name: &str) -> String {
    name.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A")
}

/// A multipart body being assembled (Qt's `QHttpMultiPart`); `Body::from` turns it into a
/// request body with its `Content-Type`.
#[derive(Debug)]
pub struct Multipart {
    kind: MultipartKind,
    boundary: String,
    parts: Vec<Part>,
}

impl Multipart {
    /// An empty multipart of `kind`, with a generated boundary.
    pub fn new(kind: MultipartKind) -> Self {
        Self { kind, boundary: generated_boundary(), parts: Vec::new() }
    }

    /// Uses `boundary` instead of the generated one (1 to 70 characters of RFC 2046's set; the
    /// caller makes sure no part contains it).
    #[must_use]
    pub fn with_boundary(mut self, boundary: impl Into<String>) -> Self {
        self.boundary = boundary.into();
        self
    }

    /// Adds a part at the end.
    pub fn append(&mut self, part: Part) {
        self.parts.push(part);
    }

    /// The boundary.
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// The `Content-Type` of the whole: `multipart/<kind>; boundary=…`.
    pub fn content_type(&self) -> HeaderValue {
        let value = format!("multipart/{}; boundary={}", self.kind.subtype(), self.boundary);
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("multipart/mixed"))
    }
}

impl From<Multipart> for Body {
    fn from(multipart: Multipart) -> Self {
        let content_type = multipart.content_type();
        let mut pieces = Vec::with_capacity(multipart.parts.len() * 2 + 1);
        for part in multipart.parts {
            let mut head = Vec::with_capacity(64 + part.headers.len() * 48);
            head.extend_from_slice(b"--");
            head.extend_from_slice(multipart.boundary.as_bytes());
            head.extend_from_slice(b"\r\n");
            for (name, value) in &part.headers {
                head.extend_from_slice(name.as_str().as_bytes());
                head.extend_from_slice(b": ");
                head.extend_from_slice(value.as_bytes());
                head.extend_from_slice(b"\r\n");
            }
            head.extend_from_slice(b"\r\n");
            pieces.push(Body::from_bytes(head));
            pieces.push(part.body);
            pieces.push(Body::from_static(b"\r\n"));
        }
        pieces.push(Body::from_bytes(format!("--{}--\r\n", multipart.boundary)));
        Body::concat(pieces).with_content_type(content_type)
    }
}

fn generated_boundary() -> String {
    let random = || std::collections::hash_map::RandomState::new().build_hasher().finish();
    format!("------------------------netaccess{:016x}{:016x}", random(), random())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    async fn collect(body: Body) -> Vec<u8> {
        let mut out = Vec::new();
        let mut stream = body.into_stream();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn parts_are_framed_as_rfc_2046_says_and_the_length_is_exact() {
        let mut multipart = Multipart::new(MultipartKind::Mixed).with_boundary("XyZ");
        multipart.append(Part::from_bytes("one").with_header(CONTENT_TYPE, HeaderValue::from_static("text/plain")));
        multipart.append(Part::form_field("a\"b", "two"));
        let body = Body::from(multipart);
        assert_eq!(body.content_type().unwrap(), "multipart/mixed; boundary=XyZ");
        let length = body.len().unwrap();
        let replay = body.try_clone().expect("bytes parts replay");
        let bytes = collect(body).await;
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            "--XyZ\r\ncontent-type: text/plain\r\n\r\none\r\n\
             --XyZ\r\ncontent-disposition: form-data; name=\"a%22b\"\r\n\r\ntwo\r\n--XyZ--\r\n"
        );
        assert_eq!(length, bytes.len() as u64);
        assert_eq!(collect(replay).await, bytes, "a replay sends the same bytes");
    }

    #[tokio::test]
    async fn a_stream_part_makes_the_length_unknown_and_the_body_unreplayable() {
        let mut multipart = Multipart::new(MultipartKind::FormData);
        let stream = futures::stream::iter([Ok(Bytes::from_static(b"streamed"))]);
        multipart.append(Part::from_body(Body::from_stream(stream, None)).with_form_data("s", None));
        let body = Body::from(multipart);
        assert_eq!(body.len(), None);
        assert!(body.try_clone().is_none());
        let text = String::from_utf8(collect(body).await).unwrap();
        assert!(text.contains("\r\n\r\nstreamed\r\n--"), "{text}");
    }

    #[test]
    fn generated_boundaries_differ() {
        assert_ne!(
            Multipart::new(MultipartKind::Related).boundary(),
            Multipart::new(MultipartKind::Related).boundary()
        );
        assert!(Multipart::new(MultipartKind::Related).boundary().len() <= 70, "RFC 2046's limit");
    }
}
