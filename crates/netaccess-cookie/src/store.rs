//! Saving and loading a jar: an atomic file of our own, and curl's and the browsers' Netscape
//! `cookies.txt`.
//!
//! # Design
//!
//! A save writes the whole jar to a temporary file in the same directory, flushes it to disk,
//! renames it over the target and flushes the directory: a crash at any moment leaves the old
//! file or the new one, never a torn one. The file is JSON with a format version; a file of
//! another version, or one that does not parse, is an error on load, never a half-loaded jar.
//! Session cookies are left out unless asked for, as browsers do. Each process writes its own
//! temporary file (named with its pid), so concurrent savers never write into each other's; a
//! save cleans up the temporary files of processes that died mid-save.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cookie::Cookie;
use crate::date::now;
use crate::jar::{CookieJar, DefaultCookieJar};

/// The version of the jar file format.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct JarFile {
    version: u32,
    cookies: Vec<Cookie>,
}

impl DefaultCookieJar {
    /// Saves the jar to `path` atomically; session cookies only when `include_session`.
    ///
    /// # Errors
    /// The file cannot be written or renamed.
    pub fn save(&self, path: impl AsRef<Path>, include_session: bool) -> io::Result<()> {
        let now = now();
        let cookies: Vec<Cookie> = self
            .all_cookies()
            .into_iter()
            .filter(|c| !c.is_expired(now) && (include_session || !c.is_session()))
            .collect();
        let text = serde_json::to_vec(&JarFile { version: FORMAT_VERSION, cookies }).map_err(io::Error::other)?;
        write_atomically(path.as_ref(), &text)
    }

    /// Replaces the jar's cookies with those saved in `path`; returns how many were loaded
    /// (expired ones are dropped).
    ///
    /// # Errors
    /// The file cannot be read, is not a jar file, or has another format version.
    pub fn load(&self, path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        let text = std::fs::read(path)?;
        let file: JarFile = serde_json::from_slice(&text).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("{} is not a cookie jar file: {e}", path.display()))
        })?;
        if file.version != FORMAT_VERSION {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} has cookie jar format {}, not {FORMAT_VERSION}", path.display(), file.version),
            ));
        }
        let now = now();
        let cookies: Vec<Cookie> = file.cookies.into_iter().filter(|c| !c.is_expired(now)).collect();
        let count = cookies.len();
        self.set_all_cookies(cookies);
        Ok(count)
    }

    /// The jar in the Netscape `cookies.txt` format (curl's `-c`); `#HttpOnly_` marks
    /// http-only cookies, expiry 0 a session cookie.
    pub fn export_netscape(&self) -> String {
        let mut text = String::from("# Netscape HTTP Cookie File\n# Written by netaccess.\n\n");
        for cookie in self.all_cookies() {
            let domain = if cookie.host_only { cookie.domain.clone() } else { format!(".{}", cookie.domain) };
            let prefix = if cookie.http_only { "#HttpOnly_" } else { "" };
            text.push_str(&format!(
                "{prefix}{domain}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                if cookie.host_only { "FALSE" } else { "TRUE" },
                cookie.path,
                if cookie.secure { "TRUE" } else { "FALSE" },
                cookie.expires.unwrap_or(0).max(0),
                cookie.name,
                cookie.value
            ));
        }
        text
    }

    /// Adds the cookies of a Netscape `cookies.txt` text; returns how many were added. Lines
    /// that are not seven tab-separated fields are skipped.
    pub fn import_netscape(&self, text: &str) -> usize {
        let mut added = 0;
        for line in text.lines() {
            let (http_only, line) = match line.strip_prefix("#HttpOnly_") {
                Some(rest) => (true, rest),
                None if line.starts_with('#') => continue,
                None => (false, line),
            };
            let fields: Vec<&str> = line.split('\t').collect();
            let [domain, include_subdomains, path, secure, expires, name, value] = fields[..] else { continue };
            if !is_plausible_host(domain.trim_start_matches('.'))
                || !is_cookie_text(name, "=;")
                || !is_cookie_text(value, ";")
            {
                continue;
            }
            let mut cookie = Cookie::new(name, value);
            cookie.domain = domain.trim_start_matches('.').to_ascii_lowercase();
            cookie.host_only = !include_subdomains.eq_ignore_ascii_case("TRUE");
            cookie.path = path.to_owned();
            cookie.secure = secure.eq_ignore_ascii_case("TRUE");
            cookie.http_only = http_only;
            cookie.expires = expires.parse::<i64>().ok().filter(|t| *t > 0);
            if !cookie.name.is_empty() && self.insert_cookie(cookie) {
                added += 1;
            }
        }
        added
    }
}

/// A host name or IP literal as a cookie's domain: what an exported line can carry and a later
/// import reads back (a leading `#` would make the line a comment).
fn is_plausible_host(domain: &str) -> bool {
    !domain.is_empty() && domain.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b))
}

/// Cookie name or value text: no control characters and none of `forbidden`.
fn is_cookie_text(text: &str, forbidden: &str) -> bool {
    !text.chars().any(|c| c.is_control() || forbidden.contains(c))
}

/// Writes `bytes` to `path` so that a crash leaves the old file or the new one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let temporary = directory.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut file = File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        File::open(directory)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    } else {
        remove_orphans(directory, &name.to_string_lossy());
    }
    result
}

/// Removes the temporary files that saves killed in other processes left behind: those whose
/// process is gone (on Linux, no `/proc/<pid>`).
fn remove_orphans(directory: &Path, name: &str) {
    let prefix = format!(".{name}.");
    let Ok(entries) = std::fs::read_dir(directory) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        let Some(pid) = file_name.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(".tmp")) else { continue };
        let gone = pid.parse::<u32>().is_ok_and(|pid| {
            pid != std::process::id()
                && Path::new("/proc/self").exists()
                && !Path::new(&format!("/proc/{pid}")).exists()
        });
        if gone {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
