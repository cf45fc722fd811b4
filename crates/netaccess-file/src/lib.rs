//! The `file:` and `data:` backends of netaccess.
//!
//! [`FileBackend`] reads local files as a stream of chunks with their metadata as headers, and
//! writes them on PUT; [`DataBackend`] serves RFC 2397 `data:` URLs. Both implement
//! [`netaccess_core::Backend`], so they work inside a `NetworkAccessManager` or on their own:
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use futures::StreamExt;
//! use netaccess_core::{Backend, BackendRequest, KnownHeaders, Operation};
//! use netaccess_file::FileBackend;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("hello.txt");
//! std::fs::write(&path, "hello").unwrap();
//! let url = url::Url::from_file_path(&path).unwrap();
//!
//! let mut response = FileBackend.send(BackendRequest::new(Operation::Get, url)).await.unwrap();
//! assert_eq!(response.headers.content_length(), Some(5));
//! assert_eq!(response.headers.content_type(), Some("text/plain"));
//! let chunk = response.body.next().await.unwrap().unwrap();
//! assert_eq!(&chunk[..], b"hello");
//! # });
//! ```

#![forbid(unsafe_code)]

pub mod data;
pub mod file;

pub use data::DataBackend;
pub use file::FileBackend;

/// The README's example, compiled (and run where it needs no server) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
