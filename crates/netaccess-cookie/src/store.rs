//! Saving and loading a jar: a JSON file of our own, and curl's and the browsers' Netscape
//! `cookies.txt`, read and written alike.
//!
//! # Design
//!
//! A save goes through [`netaccess_store::save`]: a temporary file of an unpredictable name,
//! created exclusively beside the target, synced and renamed over it, so a crash at any moment
//! leaves the old file or the new one; a symlink saves to its target, a device or FIFO is
//! written in place, a new file is `0600` (cookies are secrets) and an existing one keeps its
//! mode. Session cookies are left out of [`DefaultCookieJar::save`] unless asked for, as browsers
//! do.
//!
//! Reading takes what curl users have: [`DefaultCookieJar::read_file`] tells the two formats
//! apart by the first character that is not white space (`{` is ours), reads an empty file as an
//! empty jar, and reads cookies.txt one line at a time: a line that is not UTF-8, not seven
//! tab-separated fields, with an expiry that is not a number, a host that could not be written
//! back, or a name and value over [`MAX_COOKIE_BYTES`] is dropped alone
//! and reported ([`SkippedLine`]). A JSON file of another format version, or one that does not
//! parse, is an error: it was written whole by a save, so a broken one is not ours to guess at.
//! Whatever is read, the jar's limits apply to it as to cookies a server sets (in one pass).

use std::io;
use std::path::Path;

pub use netaccess_store::SkippedLine;
use serde::{Deserialize, Serialize};

use crate::cookie::Cookie;
use crate::date::now;
use crate::jar::{CookieJar, DefaultCookieJar, MAX_COOKIE_BYTES};

/// The version of the jar file format.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct JarFile {
    version: u32,
    cookies: Vec<Cookie>,
}

/// The two formats of a jar file.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JarFormat {
    /// Ours: JSON with a format version ([`DefaultCookieJar::save`]).
    Json,
    /// curl's and the browsers' `cookies.txt` ([`DefaultCookieJar::export_netscape`]).
    Netscape,
}

/// What [`DefaultCookieJar::read_file`] found.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JarFileReport {
    /// The file's format (an empty file counts as [`JarFormat::Netscape`]).
    pub format: JarFormat,
    /// Cookies read and stored.
    pub loaded: usize,
    /// The lines left out, and why.
    pub skipped: Vec<SkippedLine>,
}

impl DefaultCookieJar {
    /// Saves the jar to `path` crash-safely in our JSON format; session cookies only when
    /// `include_session`.
    ///
    /// # Errors
    /// The file cannot be written or renamed; the message names the path.
    pub fn save(&self, path: impl AsRef<Path>, include_session: bool) -> io::Result<()> {
        let now = now();
        let cookies: Vec<Cookie> = self
            .all_cookies()
            .into_iter()
            .filter(|c| !c.is_expired(now) && (include_session || !c.is_session()))
            .collect();
        let text = serde_json::to_vec(&JarFile { version: FORMAT_VERSION, cookies }).map_err(io::Error::other)?;
        netaccess_store::save(path.as_ref(), &text)
    }

    /// Saves the jar to `path` crash-safely in `format` (session cookies included, as curl's
    /// `-c` writes them).
    ///
    /// # Errors
    /// The file cannot be written or renamed; the message names the path.
    pub fn save_as(&self, path: impl AsRef<Path>, format: JarFormat) -> io::Result<()> {
        match format {
            JarFormat::Json => self.save(path, true),
            JarFormat::Netscape => netaccess_store::save(path.as_ref(), self.export_netscape().as_bytes()),
        }
    }

    /// Replaces the jar's cookies with those saved in `path`, in either format; returns how
    /// many were loaded (expired ones and lines that do not parse are dropped).
    ///
    /// # Errors
    /// The file cannot be read, or is a JSON jar that does not parse or has another format
    /// version.
    pub fn load(&self, path: impl AsRef<Path>) -> io::Result<usize> {
        let fresh = DefaultCookieJar::new();
        let loaded = fresh.read_file(path)?.loaded;
        self.set_all_cookies(fresh.all_cookies());
        Ok(loaded)
    }

    /// Adds the cookies of the file at `path`, in either format (see the [module docs](self)):
    /// what was read, and each line left out with its reason.
    ///
    /// ```
    /// use netaccess_cookie::DefaultCookieJar;
    /// use netaccess_cookie::store::JarFormat;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("cookies.txt");
    /// std::fs::write(&path, b"example.com\tFALSE\t/\tFALSE\t0\tsid\tabc\nexample.com\tFALSE\t/\tFALSE\tsoon\tx\ty\n").unwrap();
    /// let jar = DefaultCookieJar::new();
    /// let report = jar.read_file(&path).unwrap();
    /// assert_eq!((report.format, report.loaded, report.skipped.len()), (JarFormat::Netscape, 1, 1));
    /// assert!(report.skipped[0].reason.contains("expiry"));
    /// ```
    ///
    /// # Errors
    /// The file cannot be read, or is a JSON jar that does not parse or has another format
    /// version.
    pub fn read_file(&self, path: impl AsRef<Path>) -> io::Result<JarFileReport> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            let (loaded, skipped) = self.import_netscape_bytes(&bytes);
            return Ok(JarFileReport { format: JarFormat::Netscape, loaded, skipped });
        }
        let file: JarFile = serde_json::from_slice(&bytes).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("{} is not a cookie jar file: {e}", path.display()))
        })?;
        if file.version != FORMAT_VERSION {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} has cookie jar format {}, not {FORMAT_VERSION}", path.display(), file.version),
            ));
        }
        let now = now();
        let mut skipped = Vec::new();
        let cookies: Vec<Cookie> = file
            .cookies
            .into_iter()
            .enumerate()
            .filter(|(_, c)| !c.is_expired(now))
            .filter(|(index, c)| match refusal(c) {
                Some(reason) => {
                    skipped.push(SkippedLine { line: index + 1, reason: format!("cookie {}: {reason}", index + 1) });
                    false
                }
                None => true,
            })
            .map(|(_, c)| c)
            .collect();
        let loaded = self.merge(cookies);
        Ok(JarFileReport { format: JarFormat::Json, loaded, skipped })
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
    /// that do not parse are skipped ([`import_netscape_bytes`](Self::import_netscape_bytes)
    /// says which and why).
    pub fn import_netscape(&self, text: &str) -> usize {
        self.import_netscape_bytes(text.as_bytes()).0
    }

    /// Adds the cookies of a Netscape `cookies.txt` file's bytes, one line at a time: how many
    /// were added, and the lines left out with their reasons (see the [module docs](self)).
    pub fn import_netscape_bytes(&self, bytes: &[u8]) -> (usize, Vec<SkippedLine>) {
        let mut cookies = Vec::new();
        let mut skipped = Vec::new();
        for (line, text) in netaccess_store::text_lines(bytes) {
            let parsed = match text {
                Err(_) => Err("not UTF-8 text".to_owned()),
                Ok(text) => parse_netscape_line(text),
            };
            match parsed {
                Ok(Some(cookie)) => cookies.push(cookie),
                Ok(None) => {}
                Err(reason) => skipped.push(SkippedLine { line, reason }),
            }
        }
        let now = now();
        cookies.retain(|c| !c.is_expired(now));
        (self.merge(cookies), skipped)
    }
}

/// One cookies.txt line: `Ok(None)` for a comment or a blank line.
fn parse_netscape_line(line: &str) -> Result<Option<Cookie>, String> {
    let (http_only, line) = match line.strip_prefix("#HttpOnly_") {
        Some(rest) => (true, rest),
        None if line.starts_with('#') || line.trim().is_empty() => return Ok(None),
        None => (false, line),
    };
    let fields: Vec<&str> = line.split('\t').collect();
    let [domain, include_subdomains, path, secure, expires, name, value] = fields[..] else {
        return Err(format!("{} tab-separated fields, not 7", fields.len()));
    };
    if !is_plausible_host(domain.trim_start_matches('.')) {
        return Err(format!("{domain:?} is not a host name"));
    }
    if !is_cookie_text(name, "=;") || !is_cookie_text(value, ";") || name.is_empty() {
        return Err("the name or value holds characters a cookie cannot".to_owned());
    }
    let expires = expires.trim().parse::<i64>().map_err(|_| format!("the expiry {expires:?} is not a number"))?;
    let mut cookie = Cookie::new(name, value);
    cookie.domain = domain.trim_start_matches('.').to_ascii_lowercase();
    cookie.host_only = !include_subdomains.eq_ignore_ascii_case("TRUE");
    cookie.path = path.to_owned();
    cookie.secure = secure.eq_ignore_ascii_case("TRUE");
    cookie.http_only = http_only;
    cookie.expires = (expires > 0).then_some(expires);
    match refusal(&cookie) {
        Some(reason) => Err(reason),
        None => Ok(Some(cookie)),
    }
}

/// Why a stored cookie may not come back into a jar, if it may not: the limits a server's
/// cookie meets apply to a file's too.
fn refusal(cookie: &Cookie) -> Option<String> {
    let size = cookie.name.len() + cookie.value.len();
    (size > MAX_COOKIE_BYTES).then(|| format!("{size} bytes of name and value, over the limit of {MAX_COOKIE_BYTES}"))
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

/// Writes `bytes` to `path` so that a crash leaves the old file or the new one: the same as
/// [`netaccess_store::save`], which every store of netaccess uses (kept for callers of this
/// name).
///
/// # Errors
/// As [`netaccess_store::save`].
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    netaccess_store::save(path, bytes)
}
