//! [`Cookie`] and the `Set-Cookie` parser of RFC 6265 section 5.2.
//!
//! # Design
//!
//! RFC 6265 is followed where 6265bis differs: a `Set-Cookie` without `=` (`Set-Cookie: foo`)
//! or with an empty name is ignored, as RFC 6265 and Qt do (6265bis would store a nameless
//! cookie); an empty `Domain` attribute is ignored. From 6265bis come the `SameSite` attribute
//! and the `__Secure-`/`__Host-` prefixes (checked by the jar). `Max-Age` wins over `Expires`
//! whatever their order (RFC 6265; Qt lets the last one win).

use serde::{Deserialize, Serialize};

use crate::date::parse_cookie_date;

/// The `SameSite` attribute.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum SameSite {
    /// Not given.
    #[default]
    Default,
    /// `SameSite=None`.
    None,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=Strict`.
    Strict,
}

/// A cookie, as parsed from `Set-Cookie` and as stored in a jar.
///
/// Before a jar stores it, `domain` and `path` are the attributes as sent (empty when absent);
/// the jar fills them in for the URL that set it ([`crate::normalize`]).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cookie {
    /// The name.
    pub name: String,
    /// The value, verbatim (quotes included).
    pub value: String,
    /// The domain, lower case, without a leading dot.
    pub domain: String,
    /// Sent only to exactly `domain` (no `Domain` attribute was given).
    pub host_only: bool,
    /// The path.
    pub path: String,
    /// When it expires, seconds since the epoch; `None` for a session cookie.
    pub expires: Option<i64>,
    /// Only over https.
    pub secure: bool,
    /// Not for scripts (kept and sent as any other cookie by an HTTP client).
    pub http_only: bool,
    /// The `SameSite` attribute.
    pub same_site: SameSite,
    /// When it was first stored, seconds since the epoch.
    pub created: i64,
    /// The order of creation, to break ties between cookies created in the same second.
    pub sequence: u64,
}

impl Cookie {
    /// A session cookie with a name and a value, nothing else set.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            domain: String::new(),
            host_only: true,
            path: String::new(),
            expires: None,
            secure: false,
            http_only: false,
            same_site: SameSite::Default,
            created: 0,
            sequence: 0,
        }
    }

    /// Parses one `Set-Cookie` value received at time `now` (seconds since the epoch). `None`
    /// when RFC 6265 says to ignore it.
    ///
    /// ```
    /// use netaccess_cookie::Cookie;
    /// let cookie = Cookie::parse("id=42; Path=/app; Max-Age=60; Secure; HttpOnly", 1_000).unwrap();
    /// assert_eq!((cookie.name.as_str(), cookie.value.as_str()), ("id", "42"));
    /// assert_eq!(cookie.path, "/app");
    /// assert_eq!(cookie.expires, Some(1_060));
    /// assert!(cookie.secure && cookie.http_only);
    /// assert!(Cookie::parse("no-equals-sign", 0).is_none());
    /// ```
    pub fn parse(set_cookie: &str, now: i64) -> Option<Cookie> {
        let (pair, attributes) = set_cookie.split_once(';').unwrap_or((set_cookie, ""));
        let (name, value) = pair.split_once('=')?;
        let name = trim_wsp(name);
        if name.is_empty() {
            return None;
        }
        let mut cookie = Cookie::new(name, trim_wsp(value));
        cookie.host_only = false;
        let mut max_age = None;
        let mut expires = None;
        for attribute in attributes.split(';') {
            let (key, value) = attribute.split_once('=').unwrap_or((attribute, ""));
            let (key, value) = (trim_wsp(key), trim_wsp(value));
            match key.to_ascii_lowercase().as_str() {
                "expires" => {
                    if let Some(time) = parse_cookie_date(value) {
                        expires = Some(time);
                    }
                }
                "max-age" => {
                    let digits = value.strip_prefix('-').unwrap_or(value);
                    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                        let seconds: i64 =
                            value.parse().unwrap_or(if value.starts_with('-') { i64::MIN } else { i64::MAX });
                        max_age = Some(if seconds <= 0 { i64::MIN } else { now.saturating_add(seconds) });
                    }
                }
                "domain" if !value.is_empty() => {
                    // RFC 6265 5.2.3: one leading dot goes; `..example.com` stays malformed.
                    cookie.domain = value.strip_prefix('.').unwrap_or(value).to_ascii_lowercase();
                }
                "path" => cookie.path = if value.starts_with('/') { value.to_owned() } else { String::new() },
                "secure" => cookie.secure = true,
                "httponly" => cookie.http_only = true,
                "samesite" => {
                    cookie.same_site = match value.to_ascii_lowercase().as_str() {
                        "none" => SameSite::None,
                        "lax" => SameSite::Lax,
                        "strict" => SameSite::Strict,
                        _ => SameSite::Default,
                    }
                }
                _ => {}
            }
        }
        cookie.expires = max_age.or(expires);
        Some(cookie)
    }

    /// Whether it is a session cookie (no expiry).
    pub fn is_session(&self) -> bool {
        self.expires.is_none()
    }

    /// Whether it has expired at `now`.
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires.is_some_and(|at| at <= now)
    }

    /// `name=value`, as sent in a `Cookie` header.
    pub fn pair(&self) -> String {
        format!("{}={}", self.name, self.value)
    }

    /// Whether two cookies are the same slot in a jar (name, domain and path: RFC 6265 5.3).
    pub fn same_identity(&self, other: &Cookie) -> bool {
        self.name == other.name && self.domain == other.domain && self.path == other.path
    }
}

/// Trims spaces and horizontal tabs (RFC 6265's WSP), nothing else.
fn trim_wsp(text: &str) -> &str {
    text.trim_matches(|c| c == ' ' || c == '\t')
}
