//! The cache's part in a request when the `cache` feature is off: none. The same names as the
//! `cache` module, so the driver reads alike either way; every hop bypasses, and the other
//! cases are never made (a `Pending` is uninhabited).

use std::convert::Infallible;
use std::sync::Arc;

use http::HeaderMap;
use netaccess_core::{BackendResponse, NetworkError, Operation, RequestAttributes};
use url::Url;

/// Without the feature no cache can be set: the manager's slot for one stays empty.
pub(crate) trait NetworkCache: Send + Sync {}

/// What the cache does for one hop: nothing. Only `Bypass` is ever made; the others are there
/// for the driver's match.
#[allow(dead_code)]
pub(crate) enum Lookup {
    /// The cache takes no part.
    Bypass,
    /// Never made.
    Serve(BackendResponse),
    /// Never made.
    Network(Box<Pending>),
    /// Never made.
    ServeStale(BackendResponse, Box<Pending>),
}

/// Never made: nothing goes to the origin on the cache's behalf.
pub(crate) struct Pending {
    never: Infallible,
}

/// Every hop bypasses the cache.
#[allow(clippy::unnecessary_wraps)] // the `cache` module's signature
pub(crate) fn lookup(
    _cache: Option<&Arc<dyn NetworkCache>>,
    _operation: &Operation,
    _url: &Url,
    _headers: &mut HeaderMap,
    _attributes: &RequestAttributes,
) -> Result<Lookup, NetworkError> {
    Ok(Lookup::Bypass)
}

impl Pending {
    pub(crate) fn request_headers(&self) -> &HeaderMap {
        match self.never {}
    }

    pub(crate) fn url(&self) -> &Url {
        match self.never {}
    }

    pub(crate) fn after_network(self, _response: BackendResponse) -> BackendResponse {
        match self.never {}
    }
}
