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
