//! How netaccess's store files are saved and read: the cookie jar, the HSTS store, HAR records
//! (and later the Alt-Svc file). See the README for an example.
//!
//! # Design
//!
//! **One way to save**, [`save`], for every file a user asked a store to keep:
//!
//! 1. **The path is resolved, not replaced.** A symlink is followed (up to 40 links, each
//!    relative to its own directory) and its target is saved; the link stays a link. A
//!    character device, block device or FIFO is written in place (`--har /dev/null` keeps
//!    `/dev/null` a device, a FIFO gets the bytes); a directory or a socket is an error.
//! 2. **A temporary file beside the target**, `.NAME.PID.RANDOM.tmp`, created exclusively
//!    (`O_CREAT|O_EXCL`: an existing name, a planted symlink included, is never opened or
//!    followed) with 64 bits of an unpredictable name drawn from the standard library's
//!    randomly keyed SipHash, and mode `0600` from the start, so no other user can open it while
//!    it fills.
//! 3. **Written, synced, given the old file's mode** (and owner and group, where the process
//!    may set them), **renamed over the target, the directory synced.** A crash at any moment
//!    leaves the old file or the new one; a failure at any step removes the temporary file and
//!    leaves the old file as it was. A new file keeps `0600`: these files carry session secrets.
//! 4. Temporary files of savers that died (their pid no longer runs) are removed after a save.
//!
//! A failure is an [`io::Error`] whose message names the path and the step.
//!
//! **Every file-system call of a save goes through [`SaveFs`]**: [`save`] uses the real one,
//! [`save_with`] takes any, so a test can fail the N-th call, then the next, through all of a
//! save's calls (curl's torture idea), and check that each run leaves the old file or the new
//! one, and no temporary file (`tests/save.rs`).
//!
//! **Reading line by line**, [`text_lines`]: a store file of lines (cookies.txt, curl's HSTS
//! file) is read as bytes and split on `\n`; each line is UTF-8 checked alone, so one bad byte
//! costs its line, and the reader reports it ([`SkippedLine`]) instead of refusing the file.

#![forbid(unsafe_code)]

use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::path::{Path, PathBuf};

mod calls;

pub use calls::{RealFs, SaveFs};

/// The mode of a store file that did not exist before: read and write for its owner only.
pub const NEW_FILE_MODE: u32 = 0o600;

/// The most symlinks followed to find what a path names (Linux's own limit).
const MAX_LINKS: usize = 40;

/// Saves `bytes` as the file `path` names, crash-safely and without clobbering what it is not
/// asked to write (see the [crate docs](crate)).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("hsts.txt");
/// netaccess_store::save(&path, b"example.com \"unlimited\"\n").unwrap();
/// netaccess_store::save(&path, b"").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"");
/// ```
///
/// # Errors
/// The path names a directory or a socket, a link loop, or a file that cannot be written; the
/// message names the path and what failed. The previous file is untouched then.
pub fn save(path: &Path, bytes: &[u8]) -> io::Result<()> {
    save_with(&RealFs, path, bytes)
}

/// [`save`] with its file-system calls made through `fs` (a test's, failing one of them).
///
/// # Errors
/// As [`save`], and whatever `fs` fails with, the message naming the path and the step.
pub fn save_with(fs: &dyn SaveFs, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let target = resolve_links(fs, path)?;
    match fs.metadata(&target) {
        Ok(metadata) if metadata.is_dir() => Err(failure(&target, "cannot save over a directory", None)),
        Ok(metadata) if metadata.is_file() => replace(fs, &target, bytes, Some(&metadata)),
        Ok(metadata) => write_in_place(fs, &target, bytes, &metadata),
        Err(e) if e.kind() == io::ErrorKind::NotFound => replace(fs, &target, bytes, None),
        Err(e) => Err(failure(&target, "cannot look at", Some(e))),
    }
}

/// The lines of a line-based store file, numbered from 1, each UTF-8 checked alone: `Err` for
/// a line that is not UTF-8 (its bytes are left out). A trailing `\r` is removed.
///
/// ```
/// let lines: Vec<_> = netaccess_store::text_lines(b"good\n\xffbad\nalso good\r\n").collect();
/// assert_eq!(lines[0], (1, Ok("good")));
/// assert!(lines[1].1.is_err());
/// assert_eq!(lines[2], (3, Ok("also good")));
/// ```
pub fn text_lines(bytes: &[u8]) -> impl Iterator<Item = (usize, Result<&str, std::str::Utf8Error>)> {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let mut lines = (!bytes.is_empty()).then(|| bytes.split(|b| *b == b'\n')).into_iter().flatten();
    let mut number = 0;
    std::iter::from_fn(move || {
        let line = lines.next()?;
        number += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        Some((number, std::str::from_utf8(line)))
    })
}

/// A line a store's reader left out, and why; readers return these so a command can warn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLine {
    /// The line's number, from 1.
    pub line: usize,
    /// Why it was left out.
    pub reason: String,
}

impl std::fmt::Display for SkippedLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// What the path finally names once its symlinks are followed (the file need not exist).
fn resolve_links(fs: &dyn SaveFs, path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs.symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let link = fs.read_link(&current).map_err(|e| failure(&current, "cannot read the link", Some(e)))?;
                current = match current.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            Ok(_) => return Ok(current),
            // Nothing there yet: the path names the file to create.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            // Not knowing whether it is a link is no reason to think it is not: a save that
            // went on would rename over the link (found by failing each call in turn).
            Err(e) => return Err(failure(&current, "cannot look at", Some(e))),
        }
    }
    Err(failure(path, "too many levels of symbolic links", None))
}

/// A device or FIFO: the bytes go to it, the node stays what it is.
fn write_in_place(fs: &dyn SaveFs, target: &Path, bytes: &[u8], metadata: &std::fs::Metadata) -> io::Result<()> {
    if is_socket(metadata) {
        return Err(failure(target, "cannot save to a socket", None));
    }
    let mut file = fs.open_existing(target).map_err(|e| failure(target, "cannot open", Some(e)))?;
    fs.write_all(&mut file, bytes).map_err(|e| failure(target, "cannot write", Some(e)))
}

/// A regular file (or none yet): a temporary file beside it, renamed over it.
fn replace(fs: &dyn SaveFs, target: &Path, bytes: &[u8], old: Option<&std::fs::Metadata>) -> io::Result<()> {
    let directory = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = target.file_name().ok_or_else(|| failure(target, "has no file name", None))?.to_string_lossy();
    let (temporary, mut file) = create_temporary(fs, directory, &name)?;
    let written = (|| {
        fs.write_all(&mut file, bytes)?;
        if let Some(old) = old {
            fs.keep_mode_and_owner(&file, old)?;
        }
        fs.sync(&file)
    })()
    .map_err(|e| failure(&temporary, "cannot write the temporary file", Some(e)))
    .and_then(|()| fs.rename(&temporary, target).map_err(|e| failure(target, "cannot rename over", Some(e))));
    drop(file);
    if let Err(e) = written {
        // Removed by the real call even when `fs` is a test's: what a failed save leaves
        // behind must not depend on the failure it was given.
        if fs.remove_file(&temporary).is_err() {
            let _ = RealFs.remove_file(&temporary);
        }
        return Err(e);
    }
    // The rename is durable once the directory is: a failure here loses nothing already saved.
    let _ = fs.sync_directory(directory);
    remove_orphans(directory, &name);
    Ok(())
}

/// Creates `.NAME.PID.RANDOM.tmp` in `directory`, exclusively, mode [`NEW_FILE_MODE`].
fn create_temporary(fs: &dyn SaveFs, directory: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let mut last = None;
    for attempt in 0..8u64 {
        let path = directory.join(format!(".{name}.{}.{:016x}.tmp", std::process::id(), unpredictable(attempt)));
        match fs.create_new(&path, NEW_FILE_MODE) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(failure(directory, "cannot create a temporary file in", Some(e))),
        }
    }
    Err(failure(directory, "cannot create a temporary file of an unused name in", last))
}

/// 64 bits no other local user can guess: SipHash under the standard library's random keys
/// (drawn from the operating system once per process), over the time and a counter.
fn unpredictable(salt: u64) -> u64 {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(salt);
    hasher.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    hasher.write_u128(now.as_nanos());
    hasher.finish()
}

#[cfg(unix)]
fn is_socket(metadata: &std::fs::Metadata) -> bool {
    std::os::unix::fs::FileTypeExt::is_socket(&metadata.file_type())
}

#[cfg(not(unix))]
fn is_socket(_: &std::fs::Metadata) -> bool {
    false
}

fn failure(path: &Path, what: &str, cause: Option<io::Error>) -> io::Error {
    match cause {
        Some(cause) => io::Error::new(cause.kind(), format!("{what} {}: {cause}", path.display())),
        None => io::Error::new(io::ErrorKind::InvalidInput, format!("{}: {what}", path.display())),
    }
}

/// Removes the temporary files that saves killed in other processes left behind: those whose
/// process is gone (on Linux, no `/proc/<pid>`).
fn remove_orphans(directory: &Path, name: &str) {
    let prefix = format!(".{name}.");
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(directory) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        let Some(rest) = file_name.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(".tmp")) else { continue };
        let pid = rest.split('.').next().unwrap_or_default();
        let gone = pid
            .parse::<u32>()
            .is_ok_and(|pid| pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists());
        if gone {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
