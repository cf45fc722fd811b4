//! What the request driver works with, as one value the manager hands it: the backends, the
//! credential cache, the jar, the cache, the handlers, the defaults and the manager's events.
//!
//! # Design
//!
//! The manager builds a [`ManagerInner`] and owns it behind an `Arc`; the driver receives that
//! `Arc` per request and never names the manager. So `manager.rs` depends on the driver and the
//! driver on this module only, not on each other.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::cache::NetworkCache;
use netaccess_cookie::CookieJar;
use netaccess_core::{Backend, NetworkError, Operation, RedirectPolicy};
use netaccess_http::HttpBackend;
use tokio::sync::broadcast;

use crate::auth::{AuthCache, AuthenticationHandler};
use crate::redirect::RedirectHandler;

/// How many manager events a slow [`NetworkAccessManager::events`](crate::NetworkAccessManager::events) receiver may fall behind
/// before it misses some (it then gets `RecvError::Lagged`).
pub const MANAGER_EVENT_CAPACITY: usize = 1024;

/// Something that happened at the manager level (Qt's manager signals).
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum ManagerEvent {
    /// A reply finished (sent together with the reply's own `Finished`).
    Finished {
        /// The URL the request was made for.
        url: String,
        /// The operation.
        operation: Operation,
        /// The error the reply finished with, if any.
        error: Option<NetworkError>,
    },
    /// Network access was enabled (`true`) or disabled (`false`); sent once per change.
    NetworkAccessibleChanged(bool),
}

/// The defaults a manager applies to requests that do not set their own.
#[derive(Debug, Clone)]
pub(crate) struct Defaults {
    pub(crate) redirect_policy: RedirectPolicy,
    pub(crate) max_redirects: u32,
    pub(crate) transfer_timeout: Duration,
    /// The whole request's limit (zero: none).
    pub(crate) deadline: Duration,
    pub(crate) read_buffer_size: u64,
    /// The largest body delivered, as decoded (`None`: no limit; curl's `--max-filesize`).
    pub(crate) max_body_size: Option<u64>,
    /// The base URL and the headers of every request (see [`crate::request_defaults`]).
    pub(crate) requests: crate::request_defaults::RequestDefaults,
    /// Retries of requests that set no policy (none by default).
    pub(crate) retry: netaccess_core::RetryPolicy,
}

pub(crate) struct ManagerInner {
    pub(crate) backends: RwLock<HashMap<String, Arc<dyn Backend>>>,
    pub(crate) auth: Arc<AuthCache>,
    /// Each host's line of issued requests (see [`netaccess_core::order`]).
    pub(crate) order: Arc<netaccess_core::order::IssueOrder>,
    pub(crate) auth_handler: Option<Arc<dyn AuthenticationHandler>>,
    pub(crate) cookie_jar: RwLock<Arc<dyn CookieJar>>,
    pub(crate) cache: RwLock<Option<Arc<dyn NetworkCache>>>,
    pub(crate) redirect_handler: Option<Arc<dyn RedirectHandler>>,
    pub(crate) http: HttpBackend,
    /// Opens every backend's connections; holds the proxy settings.
    pub(crate) connector: Arc<netaccess_connect::Connector>,
    pub(crate) accessible: AtomicBool,
    pub(crate) accessible_change: Mutex<()>,
    pub(crate) events: broadcast::Sender<ManagerEvent>,
    pub(crate) defaults: Defaults,
    /// What all requests' retries may add up to.
    pub(crate) retry_budget: crate::retry_budget::RetryBudget,
    /// The Strict-Transport-Security policies (see [`crate::hsts`]).
    pub(crate) hsts: crate::hsts::Hsts,
    /// Where every http and https hop is recorded, if anywhere (see [`crate::har`]).
    pub(crate) har: Option<Arc<crate::har::HarRecorder>>,
    /// The interceptor chain, the outermost first (see [`crate::intercept`]).
    pub(crate) interceptors: Box<[Arc<dyn crate::Interceptor>]>,
}

impl ManagerInner {
    pub(crate) fn is_accessible(&self) -> bool {
        self.accessible.load(Ordering::SeqCst)
    }

    /// The backend registered for `scheme`, if any.
    pub(crate) fn backend(&self, scheme: &str) -> Option<Arc<dyn netaccess_core::Backend>> {
        self.backends.read().unwrap_or_else(|e| e.into_inner()).get(scheme).cloned()
    }
}
