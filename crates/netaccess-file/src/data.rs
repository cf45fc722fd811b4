//! The `data:` backend (RFC 2397).
//!
//! # Design
//!
//! `data:[<media type>][;base64],<data>`: the data is percent-decoded, then base64-decoded when
//! the `;base64` marker ends the header (whitespace inside base64 is skipped and padding is
//! optional, as browsers accept it). An empty media type is `text/plain;charset=US-ASCII`; a
//! header of parameters only (`;charset=utf-8`, or `charset=utf-8` without the semicolon) gets
//! `text/plain` in front. A URL without the
//! comma, or base64 that does not decode, is `ProtocolInvalidOperationError` naming what is
//! wrong. Only GET and HEAD are possible, as in Qt.

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt};
use http::header::{HeaderValue, CONTENT_TYPE};
use netaccess_core::{
    Backend, BackendRequest, BackendResponse, KnownHeaders, NetworkError, NetworkErrorKind, Operation,
};

/// The media type of a `data:` URL that names none (RFC 2397).
pub const DEFAULT_MEDIA_TYPE: &str = "text/plain;charset=US-ASCII";

const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A decoded `data:` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataUrl {
    /// The media type with its parameters, e.g. `text/plain;charset=US-ASCII`.
    pub media_type: String,
    /// The decoded bytes.
    pub data: Bytes,
}

/// Decodes the text of a `data:` URL.
///
/// ```
/// use netaccess_file::data::decode_data_url;
/// let url = decode_data_url("data:text/plain;base64,aGVsbG8=").unwrap();
/// assert_eq!(url.media_type, "text/plain");
/// assert_eq!(&url.data[..], b"hello");
///
/// let plain = decode_data_url("data:,a%20b").unwrap();
/// assert_eq!(plain.media_type, "text/plain;charset=US-ASCII");
/// assert_eq!(&plain.data[..], b"a b");
/// ```
///
/// # Errors
/// The text is not a `data:` URL, has no comma, or its base64 does not decode; the message says
/// which.
pub fn decode_data_url(url: &str) -> Result<DataUrl, String> {
    let rest = url
        .get(..5)
        .filter(|scheme| scheme.eq_ignore_ascii_case("data:"))
        .map(|_| &url[5..])
        .ok_or_else(|| "not a data: URL".to_owned())?;
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let (header, payload) =
        rest.split_once(',').ok_or_else(|| "the data: URL has no comma between header and data".to_owned())?;

    let header = percent_encoding::percent_decode_str(header).decode_utf8_lossy();
    let header = header.trim();
    let (media_type, is_base64) = match header.rsplit_once(';') {
        Some((before, marker)) if marker.trim().eq_ignore_ascii_case("base64") => (before.trim(), true),
        _ => (header, false),
    };
    let media_type = if media_type.is_empty() {
        DEFAULT_MEDIA_TYPE.to_owned()
    } else if media_type.starts_with(';') {
        format!("text/plain{media_type}")
    } else if media_type.split(';').next().is_some_and(|first| first.contains('=')) {
        // Parameters without a type (`data:charset=iso-8859-1,…`): the type is omitted, so
        // it is `text/plain` (RFC 2397), the parameters kept.
        format!("text/plain;{media_type}")
    } else {
        media_type.to_owned()
    };

    let decoded: Vec<u8> = percent_encoding::percent_decode_str(payload).collect();
    let data = if is_base64 {
        let compact: Vec<u8> = decoded.into_iter().filter(|b| !b.is_ascii_whitespace()).collect();
        LENIENT_BASE64.decode(&compact).map_err(|err| format!("the data: URL's base64 is invalid: {err}"))?
    } else {
        decoded
    };
    Ok(DataUrl { media_type, data: Bytes::from(data) })
}

/// The backend for `data:` URLs.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use netaccess_core::{Backend, BackendRequest, Operation};
/// use netaccess_file::DataBackend;
/// let url = url::Url::parse("data:,hi").unwrap();
/// let response = DataBackend.send(BackendRequest::new(Operation::Get, url)).await.unwrap();
/// assert_eq!(response.expected_length, Some(2));
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DataBackend;

impl Backend for DataBackend {
    fn send(&self, request: BackendRequest) -> BoxFuture<'static, Result<BackendResponse, NetworkError>> {
        let result = respond(&request);
        async move { result }.boxed()
    }

    fn is_local(&self) -> bool {
        true
    }
}

fn respond(request: &BackendRequest) -> Result<BackendResponse, NetworkError> {
    let url = request.url.as_str();
    if !matches!(request.operation, Operation::Get | Operation::Head) {
        return Err(NetworkError::new(
            NetworkErrorKind::ProtocolInvalidOperationError,
            url,
            format!("data: URLs can only be read (GET or HEAD), not {}", request.operation),
        ));
    }
    let decoded = decode_data_url(url)
        .map_err(|why| NetworkError::new(NetworkErrorKind::ProtocolInvalidOperationError, url, why))?;
    let len = decoded.data.len() as u64;
    let mut response =
        if request.operation.is_head() { BackendResponse::empty() } else { BackendResponse::from_bytes(decoded.data) };
    response.headers.set_content_length(len);
    if let Ok(value) = HeaderValue::from_str(&decoded.media_type) {
        response.headers.insert(CONTENT_TYPE, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2397_examples() {
        let cases: &[(&str, &str, &[u8])] = &[
            ("data:,A%20brief%20note", DEFAULT_MEDIA_TYPE, b"A brief note"),
            ("data:;charset=utf-8,%E2%82%AC", "text/plain;charset=utf-8", "€".as_bytes()),
            ("data:charset=iso-8859-1,abc", "text/plain;charset=iso-8859-1", b"abc"),
            ("data:text/html;base64,PGI+aGk8L2I+", "text/html", b"<b>hi</b>"),
            ("data:;base64,aGk", DEFAULT_MEDIA_TYPE, b"hi"),
            ("data:image/gif;BASE64,R0lG%0AODlh", "image/gif", b"GIF89a"),
            ("DATA:,x#fragment", DEFAULT_MEDIA_TYPE, b"x"),
            ("data:,", DEFAULT_MEDIA_TYPE, b""),
        ];
        for (url, media_type, data) in cases {
            let decoded = decode_data_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(decoded.media_type, *media_type, "{url}");
            assert_eq!(&decoded.data[..], *data, "{url}");
        }
    }

    #[test]
    fn malformed_urls_say_why() {
        assert!(decode_data_url("data:text/plain").unwrap_err().contains("no comma"));
        assert!(decode_data_url("data:;base64,!!!!").unwrap_err().contains("base64"));
        assert!(decode_data_url("file:///x").unwrap_err().contains("not a data: URL"));
    }
}
