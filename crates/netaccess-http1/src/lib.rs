//! A hand-written HTTP/1.1 client protocol core, without I/O.
//!
//! This crate turns requests into bytes and bytes into responses; it owns no socket, no
//! runtime and no clock, so every rule can be tested on byte vectors and any transport can
//! drive it.
//!
//! - [`encode_request_head`] prepares a request head in origin, absolute (proxy) or authority
//!   (CONNECT) form, with the framing header for its body ([`RequestFraming::for_body`]).
//! - [`Call`] is one request and its response as a state machine: the head, the upload's
//!   framing and length, the wait for `100 Continue` (time is an input), interim responses,
//!   the response, and the connection's verdict with its [`CloseReason`]s. See its module for
//!   the state graph. [`ResponseReader`] is its response side, usable alone.
//! - [`Reuse`] and [`CloseReason`] tell the connection pool whether a connection may carry
//!   another request, and why not.
//!
//! # Design
//!
//! Strict where leniency is a request-smuggling risk (framing: `Content-Length`,
//! `Transfer-Encoding`, chunk sizes and line endings), lenient where real servers differ
//! harmlessly (leading empty lines, obs-fold, bare LF in the head, whitespace before the first
//! header). The vectors in `tests/data/conformance/http1` (copied from the shared conformance data) are the contract: `tests/vectors.rs` runs
//! each of them, whole and byte by byte.

#![forbid(unsafe_code)]

pub mod call;
pub mod close_reason;
mod decode;
pub mod encode;
pub mod error;
pub mod parse;
pub mod response;

pub use call::{Call, CallState};
pub use close_reason::{CloseReason, Reuse};
pub use encode::{
    apply_default_headers, asks_to_close, encode_chunk_header, encode_request_head, encode_request_head_as_written,
    expects_continue, host_header, RequestFraming, RequestTarget, CHUNK_END, LAST_CHUNK,
};
pub use error::Http1Error;
pub use parse::{Framing, Limits, ResponseHead};
pub use response::{Event, ResponseReader};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
