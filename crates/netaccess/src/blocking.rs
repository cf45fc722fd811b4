//! The manager for programs without async: the same manager and replies, each call waiting for
//! its answer, a reply readable as [`std::io::Read`].
//!
//! ```no_run
//! use std::io::Read;
//! use netaccess::blocking::NetworkAccessManager;
//! use netaccess::Request;
//!
//! let manager = NetworkAccessManager::new()?;
//! let mut reply = manager.get(Request::new("https://example.com/"));
//! let mut page = String::new();
//! reply.read_to_string(&mut page)?;
//! println!("{} bytes, status {:?}", page.len(), reply.status());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Design
//!
//! A blocking manager owns a Tokio runtime with one worker thread of its own, on which every
//! transfer runs, exactly as under an async caller: the queue, the pool, the events, the
//! limits are the async manager's. A call that waits (`bytes`, `head`, `read`) blocks the
//! calling thread on that runtime. Clones share the runtime; the last one dropped stops it.
//! Calling a waiting method from inside an async runtime panics (Tokio refuses to block a
//! runtime's thread): async code uses [`crate::NetworkAccessManager`] directly.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use netaccess_core::{Body, NetworkError, Operation, ReplyAttributes, Request};

use crate::reply_body::ResponseHead;

/// A [`crate::NetworkAccessManager`] for blocking code (see the [module docs](self)).
#[derive(Clone)]
pub struct NetworkAccessManager {
    manager: crate::NetworkAccessManager,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for NetworkAccessManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("blocking::NetworkAccessManager").finish_non_exhaustive()
    }
}

impl NetworkAccessManager {
    /// A manager with every default.
    ///
    /// # Errors
    /// The runtime's thread cannot be started.
    pub fn new() -> io::Result<Self> {
        Self::from_builder(crate::NetworkAccessManager::builder())
    }

    /// A manager built from `builder` (every setting of the async manager applies).
    ///
    /// # Errors
    /// The runtime's thread cannot be started.
    pub fn from_builder(builder: crate::NetworkAccessManagerBuilder) -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("netaccess-blocking")
            .enable_all()
            .build()?;
        let manager = {
            let _inside = runtime.enter();
            builder.build()
        };
        Ok(Self { manager, runtime: Arc::new(runtime) })
    }

    /// The async manager underneath, for settings and signals (its methods that start
    /// transfers need the runtime: use this manager's).
    pub fn as_async(&self) -> &crate::NetworkAccessManager {
        &self.manager
    }

    fn start(&self, send: impl FnOnce(&crate::NetworkAccessManager) -> crate::Reply) -> Reply {
        let _inside = self.runtime.enter();
        Reply { reply: send(&self.manager), runtime: self.runtime.clone(), pending: Bytes::new() }
    }

    /// Starts a GET.
    pub fn get(&self, request: Request) -> Reply {
        self.start(|m| m.get(request))
    }

    /// Starts a HEAD.
    pub fn head(&self, request: Request) -> Reply {
        self.start(|m| m.head(request))
    }

    /// Starts a POST of `body`.
    pub fn post(&self, request: Request, body: impl Into<Body>) -> Reply {
        self.start(|m| m.post(request, body))
    }

    /// Starts a PUT of `body`.
    pub fn put(&self, request: Request, body: impl Into<Body>) -> Reply {
        self.start(|m| m.put(request, body))
    }

    /// Starts a DELETE.
    pub fn delete_resource(&self, request: Request) -> Reply {
        self.start(|m| m.delete_resource(request))
    }

    /// Starts any operation.
    pub fn send(&self, request: Request, operation: Operation, body: Body) -> Reply {
        self.start(|m| m.send(request, operation, body))
    }

    /// Starts an [`http::Request`] as it is (see [`crate::NetworkAccessManager::send_http`]).
    pub fn send_http<B: Into<Body>>(&self, request: http::Request<B>) -> Reply {
        self.start(|m| m.send_http(request))
    }
}

/// A reply of the blocking manager: waiting methods block; [`std::io::Read`] reads the body
/// and fails with the reply's error (as `io::ErrorKind::Other`, the [`NetworkError`] inside)
/// when it ends in one, never with a silent end.
pub struct Reply {
    reply: crate::Reply,
    runtime: Arc<tokio::runtime::Runtime>,
    /// Body bytes received and not yet read.
    pending: Bytes,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("blocking::Reply").field("url", &self.reply.url_text()).finish_non_exhaustive()
    }
}

impl Reply {
    /// The async reply underneath (its non-waiting methods: `attributes`, `abort`, ...).
    pub fn as_async(&self) -> &crate::Reply {
        &self.reply
    }

    /// Waits for the response head.
    ///
    /// # Errors
    /// The reply's error, when it failed before a head.
    pub fn head(&mut self) -> Result<ResponseHead, NetworkError> {
        self.runtime.block_on(self.reply.head())
    }

    /// The HTTP status, once the head is in.
    pub fn status(&self) -> Option<u16> {
        self.reply.status()
    }

    /// The response headers, once the head is in.
    pub fn headers(&self) -> http::HeaderMap {
        self.reply.headers()
    }

    /// The reply's attributes (timings, connection facts, ...).
    pub fn attributes(&self) -> ReplyAttributes {
        self.reply.attributes()
    }

    /// The error the reply ended with, if any.
    pub fn error(&self) -> Option<NetworkError> {
        self.reply.error()
    }

    /// The reply, or the error its HTTP status reports, as [`crate::Reply::error_for_status`]
    /// (call it after [`head`](Self::head)).
    ///
    /// # Errors
    /// The status is 400 or more (or one Qt maps to an error).
    pub fn error_for_status(self) -> Result<Self, NetworkError> {
        self.reply.error_for_status_ref()?;
        Ok(self)
    }

    /// Waits for the end; the whole body (what `read` has not taken yet), or the error. Takes
    /// the reply, as reqwest's blocking `bytes` does (so `Read::bytes` never shadows it). The
    /// body of an HTTP error status is returned, as by [`crate::Reply::bytes`].
    ///
    /// # Errors
    /// The reply's error, unless it is the HTTP status itself.
    pub fn bytes(mut self) -> Result<Bytes, NetworkError> {
        let rest = self.runtime.block_on(self.reply.bytes())?;
        if self.pending.is_empty() {
            return Ok(rest);
        }
        let mut whole = std::mem::take(&mut self.pending).to_vec();
        whole.extend_from_slice(&rest);
        Ok(whole.into())
    }

    /// Waits for the end; the body as text, decoded as [`crate::Reply::text`] decodes it (the
    /// body not yet taken through `Read`: use one or the other).
    ///
    /// # Errors
    /// The reply's error, unless it is the HTTP status itself.
    pub fn text(mut self) -> Result<String, NetworkError> {
        self.runtime.block_on(self.reply.text())
    }

    /// Waits for the end, discarding the body.
    ///
    /// # Errors
    /// The reply's error.
    pub fn finished(&mut self) -> Result<(), NetworkError> {
        self.runtime.block_on(self.reply.finished())
    }

    /// Waits for the end; the body parsed as JSON (feature `json`; the body not yet taken
    /// through `Read`).
    ///
    /// # Errors
    /// The reply's error, or the body is not the JSON asked for (`ProtocolFailure`).
    #[cfg(feature = "json")]
    pub fn json<T: serde::de::DeserializeOwned>(mut self) -> Result<T, NetworkError> {
        self.runtime.block_on(self.reply.json())
    }
}

impl io::Read for Reply {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pending.is_empty() {
            match self.runtime.block_on(self.reply.chunk()) {
                Some(chunk) => self.pending = chunk,
                None => {
                    return match self.reply.error() {
                        Some(error) => Err(io::Error::other(error)),
                        None => Ok(0),
                    }
                }
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending.split_to(n));
        Ok(n)
    }
}
