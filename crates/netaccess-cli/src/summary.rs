//! The `--summary` line: one JSON object per transfer. The keys are a contract: add, never
//! rename.

use netaccess::{ErrorGroup, NetworkError};
use serde::Serialize;

/// What one transfer did, as the summary line reports it.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Summary {
    pub(crate) url: String,
    pub(crate) final_url: String,
    pub(crate) operation: String,
    pub(crate) status: Option<u16>,
    pub(crate) reason: Option<String>,
    pub(crate) error: Option<&'static str>,
    pub(crate) error_code: Option<u16>,
    pub(crate) error_message: Option<String>,
    pub(crate) from_cache: bool,
    pub(crate) bytes: u64,
    pub(crate) sha256: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) redirects: Vec<String>,
    pub(crate) encrypted: bool,
    pub(crate) ssl_errors: Vec<String>,
    pub(crate) proxy: Option<String>,
    pub(crate) elapsed_ms: u64,
    /// Where the time went, in milliseconds from the request's start (`null` for a phase
    /// that did not happen); `null` as a whole when the reply got no response.
    pub(crate) timings: Option<TimingsMs>,
    /// The peer, `"ip:port"` (the proxy's when one was used).
    pub(crate) remote_address: Option<String>,
    /// Whether the connection had carried a request before.
    pub(crate) reused: bool,
    /// `"1.0"`, `"1.1"`, `"2"`; `null` for schemes without HTTP.
    pub(crate) http_version: Option<&'static str>,
    /// The TLS session with the server, if the connection is encrypted.
    pub(crate) tls: Option<TlsSummary>,
    /// How many times the request was sent again after a transient failure (`--retry`).
    pub(crate) retries: u32,
    /// What `-w` prints beyond the keys above; not part of the summary line.
    #[serde(skip)]
    pub(crate) more: MoreFacts,
}

/// The facts `-w` prints that the summary line does not carry.
#[derive(Debug, Default)]
pub(crate) struct MoreFacts {
    /// The response's `Content-Type`.
    pub(crate) content_type: Option<String>,
    /// Bytes of the request body sent.
    pub(crate) size_upload: u64,
    /// Bytes of the response head: status line, fields, blank line.
    pub(crate) size_header: u64,
    /// Bytes of the request head and body sent, when the head was kept (`None`: unknown).
    pub(crate) size_request: Option<u64>,
    /// Connections opened for the delivered response (0: it reused one).
    pub(crate) num_connects: u32,
    /// Where a redirect that was not followed points, absolute.
    pub(crate) redirect_url: Option<String>,
    /// The local end of the connection, `"ip:port"`.
    pub(crate) local_address: Option<String>,
    /// OpenSSL's verification result for the server's certificate (0: verified).
    pub(crate) ssl_verify_result: u32,
}

/// The `timings` key.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub(crate) struct TimingsMs {
    pub(crate) dns_ms: Option<f64>,
    pub(crate) connect_ms: Option<f64>,
    pub(crate) tls_ms: Option<f64>,
    pub(crate) sent_ms: Option<f64>,
    pub(crate) first_byte_ms: Option<f64>,
    pub(crate) total_ms: Option<f64>,
}

impl TimingsMs {
    pub(crate) fn of(timings: &netaccess::Timings) -> Self {
        // Milliseconds with microseconds kept, as curl's seconds keep them.
        let ms = |d: Option<std::time::Duration>| d.map(|d| (d.as_micros() as f64) / 1000.0);
        Self {
            dns_ms: ms(timings.dns),
            connect_ms: ms(timings.connect),
            tls_ms: ms(timings.tls),
            sent_ms: ms(timings.sent),
            first_byte_ms: ms(timings.first_byte),
            total_ms: ms(timings.total),
        }
    }
}

/// The `tls` key.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TlsSummary {
    pub(crate) version: String,
    pub(crate) cipher: String,
    pub(crate) alpn: Option<String>,
}

/// How the summary and `-w` write an HTTP version.
pub(crate) fn version_name(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

impl Summary {
    pub(crate) fn new(url: &str, operation: &str) -> Self {
        Self { url: url.to_owned(), final_url: url.to_owned(), operation: operation.to_owned(), ..Self::default() }
    }

    pub(crate) fn set_error(&mut self, error: &NetworkError) {
        self.error = Some(error.kind().name());
        self.error_code = Some(error.kind().code());
        self.error_message = Some(error.to_string());
    }
}

/// The exit status for a failed transfer, by its error's group: 3 network, 4 proxy, 5 content,
/// 6 protocol, 7 server, 1 anything else.
pub(crate) fn exit_code_for(error: &NetworkError) -> u8 {
    match error.kind().group() {
        ErrorGroup::Network => 3,
        ErrorGroup::Proxy => 4,
        ErrorGroup::Content => 5,
        ErrorGroup::Protocol => 6,
        ErrorGroup::Server => 7,
        _ => 1,
    }
}
