//! An RFC 9111 private HTTP cache for netaccess: Qt's `QAbstractNetworkCache` as the
//! [`NetworkCache`] trait, and [`DiskCache`], a bounded, crash-safe cache in a directory that
//! several managers and processes may share.
//!
//! ```
//! use std::io::Read;
//! use http::HeaderMap;
//! use netaccess_cache::{CacheMetaData, DiskCache, NetworkCache};
//! use std::time::SystemTime;
//!
//! let directory = tempfile::tempdir().unwrap();
//! let cache = DiskCache::new(directory.path()).unwrap();
//! let url = url::Url::parse("http://example.com/page").unwrap();
//! let mut headers = HeaderMap::new();
//! headers.insert("cache-control", "max-age=3600".parse().unwrap());
//! let meta = CacheMetaData::new(&url, &HeaderMap::new(), 200, "OK", &headers, SystemTime::now());
//!
//! let mut writer = cache.prepare(&meta).unwrap();
//! writer.write(b"hello").unwrap();
//! writer.commit().unwrap(); // visible only now
//!
//! let mut body = cache.data(&url).unwrap();
//! let mut text = String::new();
//! body.reader.read_to_string(&mut text).unwrap();
//! assert_eq!(text, "hello");
//! assert_eq!(body.metadata.status, 200);
//! ```
//!
//! # Design
//!
//! The split follows Qt: the cache stores and finds entries, the manager decides (with
//! [`CacheMetaData`]'s RFC 9111 rules) what to store and when a stored response may be served.
//! The trait is synchronous, as Qt's is: entries live in the page cache and the manager calls
//! it from its reply tasks, one write per body chunk. See [`disk`] for the storage and [`entry`]
//! for the file format.

#![forbid(unsafe_code)]

use std::io::{self, Read};

use url::Url;

pub mod dates;
pub mod disk;
pub mod entry;
pub mod metadata;
pub mod range;

pub use disk::DiskCache;
pub use metadata::{cache_key, CacheMetaData, Freshness};

/// A stored body, ready to read, with the metadata of the same stored version.
#[non_exhaustive]
pub struct CachedBody {
    /// The metadata stored with this body.
    pub metadata: CacheMetaData,
    /// The body's length in bytes.
    pub len: u64,
    /// The body; it yields exactly `len` bytes, already checked against the entry's checksum.
    pub reader: Box<dyn Read + Send>,
}

impl CachedBody {
    /// A body read from `reader`.
    pub fn new(metadata: CacheMetaData, len: u64, reader: Box<dyn Read + Send>) -> Self {
        Self { metadata, len, reader }
    }
}

impl std::fmt::Debug for CachedBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedBody").field("metadata", &self.metadata).field("len", &self.len).finish_non_exhaustive()
    }
}

/// An entry being written while its body streams in; dropping it without
/// [`commit`](CacheWriter::commit) discards it.
pub trait CacheWriter: Send {
    /// Appends a piece of the body. An error (the entry grew past what the cache accepts, or
    /// the disk failed) means the entry is given up: drop the writer.
    ///
    /// # Errors
    /// The entry cannot be kept.
    fn write(&mut self, chunk: &[u8]) -> io::Result<()>;

    /// Makes the entry visible, replacing any earlier entry for its URL (Qt's `insert`).
    ///
    /// # Errors
    /// The entry cannot be stored; nothing is left behind.
    fn commit(self: Box<Self>) -> io::Result<()>;
}

/// A store of responses keyed by URL (Qt's `QAbstractNetworkCache`), so a caller can bring
/// their own.
pub trait NetworkCache: Send + Sync + 'static {
    /// The metadata stored for `url`, if any (a damaged entry is removed and reads as absent).
    fn metadata(&self, url: &Url) -> Option<CacheMetaData>;

    /// The stored body for `url`, with its metadata, if any.
    fn data(&self, url: &Url) -> Option<CachedBody>;

    /// Starts an entry; `None` when it will not be stored (`save_to_disk` off, or the
    /// response is too large for this cache).
    fn prepare(&self, metadata: &CacheMetaData) -> Option<Box<dyn CacheWriter>>;

    /// Replaces the stored metadata of an entry, keeping its body (after a 304).
    fn update_metadata(&self, metadata: &CacheMetaData);

    /// Removes the entry for `url`; whether there was one.
    fn remove(&self, url: &Url) -> bool;

    /// Removes every entry.
    fn clear(&self);

    /// The bytes the entries take.
    fn cache_size(&self) -> u64;
}

/// The README's example, compiled (and run where it needs no server) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
