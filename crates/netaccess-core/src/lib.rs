//! The vocabulary every netaccess backend shares.
//!
//! This crate holds the types that the facade (`netaccess`) and each protocol backend agree on:
//! [`Operation`], [`Request`] and its [`RequestAttributes`], the upload [`Body`], the error type
//! [`NetworkError`] with Qt's [`NetworkErrorKind`] codes, the [`ReplyEvent`]s a reply emits, and
//! the [`Backend`] trait through which a URL scheme plugs into the manager.
//!
//! A backend written against this crate alone works with the manager:
//!
//! ```
//! use futures::future::{BoxFuture, FutureExt};
//! use netaccess_core::{Backend, BackendRequest, BackendResponse, NetworkError, NetworkErrorKind};
//!
//! struct Refuse;
//! impl Backend for Refuse {
//!     fn send(&self, request: BackendRequest) -> BoxFuture<'static, Result<BackendResponse, NetworkError>> {
//!         let url = request.url.to_string();
//!         async move {
//!             Err(NetworkError::new(NetworkErrorKind::ContentAccessDenied, url, "refused by policy"))
//!         }
//!         .boxed()
//!     }
//! }
//! ```

#![forbid(unsafe_code)]

pub mod attributes;
pub mod backend;
pub mod body;
pub mod credentials;
pub mod error;
pub mod event;
pub mod event_queue;
pub mod facts;
pub mod headers;
pub mod limit;
pub mod multipart;
pub mod operation;
pub mod order;
pub mod redact;
pub mod request;
pub mod retry;
pub mod ssl;

pub use attributes::{
    CacheLoadControl, LoadControl, Priority, RedirectPolicy, ReplyAttributes, RequestAttributes, WireHeads,
    DEFAULT_MAX_REDIRECTS,
};
pub use backend::{Backend, BackendRequest, BackendResponse, BodyStream, EventSink, SendTime, UploadProgress};
pub use body::Body;
pub use error::{ErrorGroup, NetworkError, NetworkErrorKind};
pub use event::{progress_total, ReplyEvent};
pub use facts::{ConnectionFacts, Milestones, Timings, TlsFacts};
pub use headers::KnownHeaders;
pub use limit::within_limit;
pub use multipart::{Multipart, MultipartKind, Part};
pub use operation::Operation;
pub use redact::redact_password;
pub use request::Request;
pub use retry::{
    RetryPolicy, RetryTrigger, DEFAULT_RETRY_AFTER_CAP, DEFAULT_RETRY_INITIAL_DELAY, DEFAULT_RETRY_MAX_DELAY,
};
pub use ssl::{IgnoredSslErrors, SslError, SslErrorDecision, SslErrorHandler, SslErrorKind};

/// The README's example, compiled (and run where it needs no server) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
