//! [`DiskCache`]: entries in a directory, bounded in size, safe against crashes and sharing.
//!
//! # Design
//!
//! Layout: `<dir>/data1/<h>/<name>.d`, `<name>` the first 32 hex digits of SHA-256 over the key
//! URL, `<h>` its first digit, `1` the [entry format](crate::entry) version. An entry is written
//! to `<dir>/prepared/<pid>-<n>.tmp` and renamed into place when its body is complete, so an
//! aborted or failed download leaves nothing visible, and a process killed mid-write leaves only
//! a temporary file, which the next expiry removes once its process is gone. A rename replaces
//! atomically, so managers in several processes may share one directory: the last complete
//! entry wins and a reader keeps the version it opened. The stored URL must equal the one asked
//! for (a hash collision reads as a miss).
//!
//! Size: each instance counts what it adds and removes; when the count reaches the bound it
//! scans the directory (which catches other processes' entries) and deletes the least recently
//! written entries until the total is below 90 % of the bound, as Qt's `expire()` does.
//! An entry larger than ¾ of the bound is refused, up front when `Content-Length` says so, else
//! as soon as it grows past it. The default bound is Qt's 50 MiB.

use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use url::Url;

use crate::entry::{self, EntryWriter, Unusable, FORMAT_VERSION};
use crate::metadata::{cache_key, CacheMetaData};
use crate::{CacheWriter, CachedBody, NetworkCache};

/// Qt's default bound: 50 MiB.
pub const DEFAULT_MAXIMUM_SIZE: u64 = 50 * 1024 * 1024;

/// `Content-Length` when it is plain digits.
fn content_length(headers: &http::HeaderMap) -> Option<u64> {
    let text = headers.get(http::header::CONTENT_LENGTH)?.to_str().ok()?.trim();
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok()).flatten()
}

/// A cache in a directory (Qt's `QNetworkDiskCache`). Cloning shares the instance.
///
/// ```
/// let directory = tempfile::tempdir().unwrap();
/// let cache = netaccess_cache::DiskCache::new(directory.path()).unwrap().with_maximum_size(10 << 20);
/// assert_eq!(cache.maximum_size(), 10 << 20);
/// ```
#[derive(Debug, Clone)]
pub struct DiskCache {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    directory: PathBuf,
    maximum: AtomicU64,
    /// The bytes in entries, as this instance knows it; `None` until first scanned.
    size: Mutex<Option<u64>>,
    next_temporary: AtomicU64,
}

impl DiskCache {
    /// A cache in `directory` (created if missing), bounded to [`DEFAULT_MAXIMUM_SIZE`].
    ///
    /// # Errors
    /// The directory cannot be created.
    pub fn new(directory: impl AsRef<Path>) -> io::Result<Self> {
        let directory = directory.as_ref().to_path_buf();
        fs::create_dir_all(directory.join(data_directory()))?;
        fs::create_dir_all(directory.join("prepared"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                directory,
                maximum: AtomicU64::new(DEFAULT_MAXIMUM_SIZE),
                size: Mutex::new(None),
                next_temporary: AtomicU64::new(0),
            }),
        })
    }

    /// Sets the bound in bytes.
    #[must_use]
    pub fn with_maximum_size(self, bytes: u64) -> Self {
        self.set_maximum_size(bytes);
        self
    }

    /// Sets the bound in bytes; a bound below the current size expires entries at once.
    pub fn set_maximum_size(&self, bytes: u64) {
        self.inner.maximum.store(bytes, Ordering::Relaxed);
        if self.cache_size() >= bytes {
            self.expire();
        }
    }

    /// The bound in bytes.
    pub fn maximum_size(&self) -> u64 {
        self.inner.maximum.load(Ordering::Relaxed)
    }

    /// The directory the cache lives in.
    pub fn directory(&self) -> &Path {
        &self.inner.directory
    }

    /// Where the entry for `url` lives (whether or not it exists).
    pub fn file_for(&self, url: &Url) -> PathBuf {
        let digest = Sha256::digest(cache_key(url).as_str().as_bytes());
        let name: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        self.inner.directory.join(data_directory()).join(&name[..1]).join(format!("{name}.d"))
    }

    /// Deletes the least recently written entries until the total is below 90 % of the bound,
    /// when it is at or above it, and removes temporary files that dead processes left; returns
    /// the size after.
    pub fn expire(&self) -> u64 {
        remove_orphans(&self.inner.directory.join("prepared"));
        let maximum = self.maximum_size();
        let mut entries = self.scan();
        let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
        if total >= maximum {
            entries.sort_by_key(|(_, _, written)| *written);
            let goal = maximum / 10 * 9;
            for (path, len, _) in entries {
                if total < goal {
                    break;
                }
                if fs::remove_file(&path).is_ok() {
                    total -= len;
                }
            }
        }
        *self.size() = Some(total);
        total
    }

    fn scan(&self) -> Vec<(PathBuf, u64, SystemTime)> {
        let mut entries = Vec::new();
        let Ok(buckets) = fs::read_dir(self.inner.directory.join(data_directory())) else { return entries };
        for bucket in buckets.flatten() {
            let Ok(files) = fs::read_dir(bucket.path()) else { continue };
            for file in files.flatten() {
                let path = file.path();
                if path.extension().is_some_and(|e| e == "d") {
                    if let Ok(meta) = file.metadata() {
                        entries.push((path, meta.len(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)));
                    }
                }
            }
        }
        entries
    }

    fn size(&self) -> std::sync::MutexGuard<'_, Option<u64>> {
        self.inner.size.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `delta` (which may be negative) to the known size; expires when it reaches the bound.
    fn account(&self, added: u64, removed: u64) {
        let reached = {
            let mut size = self.size();
            match size.as_mut() {
                Some(size) => {
                    *size = size.saturating_add(added).saturating_sub(removed);
                    *size >= self.maximum_size()
                }
                None => true,
            }
        };
        if reached {
            self.expire();
        }
    }

    fn largest_entry(&self) -> u64 {
        self.maximum_size() / 4 * 3
    }

    /// Opens and checks the entry for `url`; a damaged one is deleted.
    fn open(&self, url: &Url) -> Option<(File, entry::Header, CacheMetaData, PathBuf)> {
        let path = self.file_for(url);
        let mut file = File::open(&path).ok()?;
        match entry::read_head(&mut file) {
            Ok((header, metadata)) if metadata.url == cache_key(url) => Some((file, header, metadata, path)),
            Ok(_) => None,
            Err(unusable) => {
                self.discard(&path, unusable);
                None
            }
        }
    }

    fn discard(&self, path: &Path, unusable: Unusable) {
        if let Unusable::Damaged(why) = unusable {
            let len = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            if fs::remove_file(path).is_ok() {
                // Expected after a crash or a full disk: the entry is fetched again.
                tracing::warn!(path = %path.display(), %why, "removed a damaged cache entry");
                self.account(0, len);
            }
        }
    }

    fn temporary(&self) -> io::Result<(PathBuf, File)> {
        let n = self.inner.next_temporary.fetch_add(1, Ordering::Relaxed);
        let path = self.inner.directory.join("prepared").join(format!("{}-{n}.tmp", std::process::id()));
        let file = File::options().write(true).create(true).truncate(true).open(&path)?;
        Ok((path, file))
    }

    fn writer(&self, metadata: &CacheMetaData) -> io::Result<DiskWriter> {
        let (temporary, file) = self.temporary()?;
        let entry = EntryWriter::start(file, metadata).inspect_err(|_| {
            let _ = fs::remove_file(&temporary);
        })?;
        Ok(DiskWriter {
            cache: self.clone(),
            target: self.file_for(&metadata.url),
            temporary,
            entry: Some(entry),
            limit: self.largest_entry(),
        })
    }
}

fn data_directory() -> String {
    format!("data{FORMAT_VERSION}")
}

/// Removes `prepared/<pid>-<n>.tmp` files whose process is gone (on Linux, no `/proc/<pid>`).
fn remove_orphans(prepared: &Path) {
    let Ok(files) = fs::read_dir(prepared) else { return };
    let linux = Path::new("/proc/self").exists();
    for file in files.flatten() {
        let name = file.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.split_once('-')).and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if linux && pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_file(file.path());
        }
    }
}

impl NetworkCache for DiskCache {
    fn metadata(&self, url: &Url) -> Option<CacheMetaData> {
        self.open(url).map(|(_, _, metadata, _)| metadata)
    }

    fn data(&self, url: &Url) -> Option<CachedBody> {
        let (mut file, header, metadata, path) = self.open(url)?;
        if let Err(unusable) = entry::verify_body(&mut file, &header) {
            self.discard(&path, unusable);
            return None;
        }
        let reader = BufReader::with_capacity(64 * 1024, file).take(header.body_len);
        Some(CachedBody::new(metadata, header.body_len, Box::new(reader)))
    }

    fn prepare(&self, metadata: &CacheMetaData) -> Option<Box<dyn CacheWriter>> {
        if !metadata.save_to_disk || content_length(&metadata.headers).is_some_and(|len| len > self.largest_entry()) {
            return None;
        }
        self.writer(metadata).ok().map(|writer| Box::new(writer) as Box<dyn CacheWriter>)
    }

    fn update_metadata(&self, metadata: &CacheMetaData) {
        let Some(mut body) = self.data(&metadata.url) else { return };
        let Ok(mut writer) = self.writer(metadata) else { return };
        if io::copy(&mut body.reader, &mut writer).is_ok() {
            let _ = Box::new(writer).commit();
        }
    }

    fn remove(&self, url: &Url) -> bool {
        let path = self.file_for(url);
        let len = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let removed = fs::remove_file(&path).is_ok();
        if removed {
            self.account(0, len);
        }
        removed
    }

    fn clear(&self) {
        for (path, _, _) in self.scan() {
            let _ = fs::remove_file(path);
        }
        remove_orphans(&self.inner.directory.join("prepared"));
        *self.size() = Some(0);
    }

    fn cache_size(&self) -> u64 {
        let known = *self.size();
        known.unwrap_or_else(|| self.expire())
    }
}

/// An entry on its way into a [`DiskCache`].
#[derive(Debug)]
struct DiskWriter {
    cache: DiskCache,
    target: PathBuf,
    temporary: PathBuf,
    entry: Option<EntryWriter>,
    limit: u64,
}

impl std::fmt::Debug for EntryWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntryWriter").field("body_len", &self.body_len()).finish_non_exhaustive()
    }
}

impl io::Write for DiskWriter {
    fn write(&mut self, chunk: &[u8]) -> io::Result<usize> {
        CacheWriter::write(self, chunk)?;
        Ok(chunk.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl CacheWriter for DiskWriter {
    fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        let entry = self.entry.as_mut().ok_or_else(|| io::Error::other("the entry was given up"))?;
        if entry.body_len() + chunk.len() as u64 > self.limit {
            self.entry = None;
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!("the entry grew past {} bytes, ¾ of the cache", self.limit),
            ));
        }
        entry.write(chunk).inspect_err(|_| self.entry = None)
    }

    fn commit(mut self: Box<Self>) -> io::Result<()> {
        let entry = self.entry.take().ok_or_else(|| io::Error::other("the entry was given up"))?;
        let len = entry.finish()?;
        if let Some(bucket) = self.target.parent() {
            fs::create_dir_all(bucket)?;
        }
        let replaced = fs::metadata(&self.target).map(|m| m.len()).unwrap_or(0);
        fs::rename(&self.temporary, &self.target)?;
        self.cache.account(len, replaced);
        Ok(())
    }
}

impl Drop for DiskWriter {
    fn drop(&mut self) {
        // Renamed away on commit; otherwise the temporary file is all there is, and goes.
        let _ = fs::remove_file(&self.temporary);
    }
}
