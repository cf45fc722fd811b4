//! [`CookieJar`], the trait with Qt's override points, and [`DefaultCookieJar`], RFC 6265's
//! storage model.
//!
//! # Design
//!
//! - **Matching** (RFC 6265 5.1.3, 5.1.4, 5.4): host-only cookies go to their host alone,
//!   domain cookies to the domain and its subdomains (never for an IP address); paths match on
//!   `/` boundaries; `Secure` cookies only over https; expired ones never. Cookies are sent
//!   longer paths first, then earlier creation.
//! - **Validation** (5.3, as Qt's `validateCookie`): the `Domain` must domain-match the host;
//!   a public suffix (from the `psl` crate's bundled list, feature `public-suffix`; without it,
//!   a single label) is refused as a domain, unless it is
//!   the host itself, which then gets a host-only cookie (Qt: host `support`). `__Secure-` needs
//!   `Secure` over https, `__Host-` also host-only and path `/` (6265bis).
//! - **Limits**: a cookie's name and value together at most [`MAX_COOKIE_BYTES`]; at most
//!   [`MAX_COOKIES_PER_DOMAIN`] per domain and [`MAX_COOKIES`] in all; when full, the expired
//!   cookies go first, then the least recently created. The limits hold for cookies from a file
//!   or [`CookieJar::set_all_cookies`] too, kept in one pass (a file of 60,000 cookies costs a
//!   sort, not 57,000 evictions one at a time under the jar's lock).
//! - **Sharing**: one mutex around the cookie list; the jar is `Send + Sync` and may be shared
//!   by any number of managers and threads.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use url::Url;

use crate::cookie::Cookie;
use crate::date::now;

/// The most bytes of a cookie's name and value together.
pub const MAX_COOKIE_BYTES: usize = 4096;
/// The most cookies one domain may hold.
pub const MAX_COOKIES_PER_DOMAIN: usize = 50;
/// The most cookies a jar holds.
pub const MAX_COOKIES: usize = 3000;

/// A cookie store with Qt's `QNetworkCookieJar` override points. The manager calls
/// [`cookies_for_url`](Self::cookies_for_url) before each hop and
/// [`set_cookies_from_url`](Self::set_cookies_from_url) after it; implement the trait (or wrap a
/// [`DefaultCookieJar`]) to impose a policy of your own.
pub trait CookieJar: Send + Sync + 'static {
    /// The cookies to send to `url`, in sending order.
    fn cookies_for_url(&self, url: &Url) -> Vec<Cookie>;

    /// Stores the cookies a response from `url` set; whether any was stored.
    fn set_cookies_from_url(&self, cookies: Vec<Cookie>, url: &Url) -> bool;

    /// Every cookie stored.
    fn all_cookies(&self) -> Vec<Cookie>;

    /// Replaces every cookie stored.
    fn set_all_cookies(&self, cookies: Vec<Cookie>);

    /// Whether `cookie`, set by `url`, may be stored (Qt's `validateCookie`).
    fn validate_cookie(&self, cookie: &Cookie, url: &Url) -> bool;

    /// Stores a cookie, replacing one with the same identity; whether it was stored.
    fn insert_cookie(&self, cookie: Cookie) -> bool {
        let mut all = self.all_cookies();
        all.retain(|c| !c.same_identity(&cookie));
        all.push(cookie);
        self.set_all_cookies(all);
        true
    }

    /// Replaces the cookie with the same identity; false when there was none.
    fn update_cookie(&self, cookie: Cookie) -> bool {
        let exists = self.all_cookies().iter().any(|c| c.same_identity(&cookie));
        exists && self.insert_cookie(cookie)
    }

    /// Removes the cookie with the same identity; whether there was one.
    fn delete_cookie(&self, cookie: &Cookie) -> bool {
        let mut all = self.all_cookies();
        let before = all.len();
        all.retain(|c| !c.same_identity(cookie));
        let removed = all.len() != before;
        self.set_all_cookies(all);
        removed
    }
}

/// Fills in a parsed cookie's domain and path for the URL that set it (Qt's `normalize`): no
/// `Domain` makes it host-only for the URL's host; no `Path` gives the default path.
pub fn normalize(cookie: &mut Cookie, url: &Url) {
    let host = request_host(url);
    if cookie.domain.is_empty() {
        cookie.domain = host;
        cookie.host_only = true;
    } else {
        cookie.host_only = false;
    }
    if cookie.path.is_empty() {
        cookie.path = default_path(url.path());
    }
}

/// The host as cookies see it: lower case, IPv6 without brackets.
pub fn request_host(url: &Url) -> String {
    url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase()
}

/// RFC 6265 5.1.4's default path: the URL path up to its last `/`, or `/`.
pub fn default_path(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(last) if path.starts_with('/') => path[..last].to_owned(),
        Some(_) => "/".to_owned(),
    }
}

/// RFC 6265 5.1.3: `host` is `domain` or a subdomain of it, and not an IP address.
pub fn domain_matches(host: &str, domain: &str) -> bool {
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
            && host.parse::<IpAddr>().is_err())
}

/// RFC 6265 5.1.4: the request path is the cookie path or below it on a `/` boundary.
pub fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    let request_path = if request_path.is_empty() { "/" } else { request_path };
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

/// Whether `domain` is a public suffix (`com`, `co.uk`, ...): by the bundled list with the
/// `public-suffix` feature (the default); without it, whether it is a single label (`com`,
/// `local`), as curl without libpsl decides.
pub fn is_public_suffix(domain: &str) -> bool {
    #[cfg(feature = "public-suffix")]
    {
        psl::suffix_str(domain).is_some_and(|suffix| suffix.eq_ignore_ascii_case(domain))
    }
    #[cfg(not(feature = "public-suffix"))]
    {
        !domain.trim_end_matches('.').contains('.')
    }
}

/// The jar RFC 6265 describes: see the [module docs](self).
///
/// ```
/// use netaccess_cookie::{Cookie, CookieJar, DefaultCookieJar};
/// let jar = DefaultCookieJar::new();
/// let url = url::Url::parse("https://shop.example.com/cart/add").unwrap();
/// let set = ["session=abc; Path=/; Secure", "pref=dark; Domain=example.com; Path=/"];
/// let cookies = set.iter().filter_map(|s| Cookie::parse(s, 0)).collect();
/// assert!(jar.set_cookies_from_url(cookies, &url));
///
/// let other = url::Url::parse("http://www.example.com/").unwrap();
/// let sent: Vec<String> = jar.cookies_for_url(&other).iter().map(|c| c.pair()).collect();
/// assert_eq!(sent, ["pref=dark"], "host-only and secure cookies stay home");
/// ```
#[derive(Debug, Default)]
pub struct DefaultCookieJar {
    cookies: Mutex<Vec<Cookie>>,
    sequence: AtomicU64,
}

impl DefaultCookieJar {
    /// An empty jar.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Vec<Cookie>> {
        self.cookies.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn store(&self, mut cookie: Cookie, now: i64) -> bool {
        let mut cookies = self.lock();
        let existing = cookies.iter().position(|c| c.same_identity(&cookie));
        if cookie.is_expired(now) {
            if let Some(index) = existing {
                cookies.remove(index);
            }
            return false;
        }
        match existing {
            Some(index) => {
                let old = cookies.remove(index);
                cookie.created = old.created;
                cookie.sequence = old.sequence;
            }
            None => {
                cookie.created = now;
                cookie.sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
            }
        }
        let domain = cookie.domain.clone();
        cookies.push(cookie);
        evict(&mut cookies, &domain, now);
        true
    }
}

/// Keeps the limits after one cookie was stored for `domain`: expired cookies first, then the
/// oldest of the domain, then the oldest. One over a limit (the usual case) costs one scan;
/// more (a jar given too many at once) one pass of [`enforce_limits`].
fn evict(cookies: &mut Vec<Cookie>, domain: &str, now: i64) {
    let in_domain = |cookies: &Vec<Cookie>| cookies.iter().filter(|c| c.domain == domain).count();
    if in_domain(cookies) <= MAX_COOKIES_PER_DOMAIN && cookies.len() <= MAX_COOKIES {
        return;
    }
    cookies.retain(|c| !c.is_expired(now));
    if in_domain(cookies) > MAX_COOKIES_PER_DOMAIN + 1 || cookies.len() > MAX_COOKIES + 1 {
        enforce_limits(cookies, now);
        return;
    }
    let oldest = |cookies: &Vec<Cookie>, only_domain: bool| {
        cookies
            .iter()
            .enumerate()
            .filter(|(_, c)| !only_domain || c.domain == domain)
            .min_by_key(|(_, c)| c.sequence)
            .map(|(i, _)| i)
    };
    if in_domain(cookies) > MAX_COOKIES_PER_DOMAIN {
        if let Some(index) = oldest(cookies, true) {
            cookies.remove(index);
        }
    }
    if cookies.len() > MAX_COOKIES {
        if let Some(index) = oldest(cookies, false) {
            cookies.remove(index);
        }
    }
}

/// Every limit at once, in one pass however far over they are: expired and oversized cookies
/// go, then the newest [`MAX_COOKIES_PER_DOMAIN`] of each domain and the newest
/// [`MAX_COOKIES`] in all are kept (newest by creation order).
fn enforce_limits(cookies: &mut Vec<Cookie>, now: i64) {
    cookies.retain(|c| !c.is_expired(now) && c.name.len() + c.value.len() <= MAX_COOKIE_BYTES);
    let mut newest_first: Vec<usize> = (0..cookies.len()).collect();
    newest_first.sort_unstable_by_key(|&i| std::cmp::Reverse(cookies[i].sequence));
    let mut keep = vec![false; cookies.len()];
    {
        let mut per_domain: HashMap<&str, usize> = HashMap::new();
        let mut kept = 0;
        for index in newest_first {
            let held = per_domain.entry(cookies[index].domain.as_str()).or_default();
            if *held < MAX_COOKIES_PER_DOMAIN && kept < MAX_COOKIES {
                *held += 1;
                kept += 1;
                keep[index] = true;
            }
        }
    }
    let mut keep = keep.into_iter();
    cookies.retain(|_| keep.next().unwrap_or(false));
}

impl DefaultCookieJar {
    /// Adds `incoming` cookies at once (a file's), newer than every cookie held and in their
    /// own creation order; one with the identity of a held cookie replaces it. The limits are
    /// kept in one pass. Returns how many of them the jar holds afterwards.
    pub(crate) fn merge(&self, mut incoming: Vec<Cookie>) -> usize {
        let now = now();
        incoming.sort_by_key(|c| c.sequence);
        let mut cookies = self.lock();
        let identity = |c: &Cookie| (c.name.clone(), c.domain.clone(), c.path.clone());
        let mut held: HashMap<_, usize> = cookies.iter().enumerate().map(|(i, c)| (identity(c), i)).collect();
        let first = self.sequence.fetch_add(incoming.len() as u64, Ordering::Relaxed);
        for (offset, mut cookie) in incoming.into_iter().enumerate() {
            cookie.sequence = first + offset as u64;
            if cookie.created == 0 {
                cookie.created = now;
            }
            match held.get(&identity(&cookie)) {
                Some(&index) => cookies[index] = cookie,
                None => {
                    held.insert(identity(&cookie), cookies.len());
                    cookies.push(cookie);
                }
            }
        }
        enforce_limits(&mut cookies, now);
        cookies.iter().filter(|c| c.sequence >= first).count()
    }
}

impl CookieJar for DefaultCookieJar {
    fn cookies_for_url(&self, url: &Url) -> Vec<Cookie> {
        let host = request_host(url);
        let secure = url.scheme() == "https";
        let now = now();
        let mut cookies = self.lock();
        cookies.retain(|c| !c.is_expired(now));
        let mut matching: Vec<Cookie> = cookies
            .iter()
            .filter(|c| if c.host_only { c.domain == host } else { domain_matches(&host, &c.domain) })
            .filter(|c| path_matches(url.path(), &c.path))
            .filter(|c| secure || !c.secure)
            .cloned()
            .collect();
        matching.sort_by(|a, b| b.path.len().cmp(&a.path.len()).then(a.sequence.cmp(&b.sequence)));
        matching
    }

    fn set_cookies_from_url(&self, cookies: Vec<Cookie>, url: &Url) -> bool {
        let now = now();
        let mut stored = false;
        for mut cookie in cookies {
            normalize(&mut cookie, url);
            if self.validate_cookie(&cookie, url) {
                stored |= self.store(cookie, now);
            }
        }
        stored
    }

    fn all_cookies(&self) -> Vec<Cookie> {
        self.lock().clone()
    }

    fn set_all_cookies(&self, cookies: Vec<Cookie>) {
        let next = cookies.iter().map(|c| c.sequence + 1).max().unwrap_or(0);
        self.sequence.fetch_max(next, Ordering::Relaxed);
        let mut cookies = cookies;
        enforce_limits(&mut cookies, now());
        *self.lock() = cookies;
    }

    fn validate_cookie(&self, cookie: &Cookie, url: &Url) -> bool {
        let host = request_host(url);
        if cookie.name.len() + cookie.value.len() > MAX_COOKIE_BYTES {
            return false;
        }
        if !cookie.host_only {
            if !domain_matches(&host, &cookie.domain) {
                return false;
            }
            if is_public_suffix(&cookie.domain) && cookie.domain != host {
                return false;
            }
        }
        let secure_origin = url.scheme() == "https";
        if cookie.secure && !secure_origin {
            return false;
        }
        if cookie.name.starts_with("__Secure-") && !(cookie.secure && secure_origin) {
            return false;
        }
        if cookie.name.starts_with("__Host-")
            && !(cookie.secure && secure_origin && cookie.host_only && cookie.path == "/")
        {
            return false;
        }
        true
    }

    fn insert_cookie(&self, cookie: Cookie) -> bool {
        self.store(cookie, now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_rules() {
        assert!(domain_matches("www.example.com", "example.com"));
        assert!(!domain_matches("wwwexample.com", "example.com"));
        assert!(!domain_matches("1.2.3.4", "2.3.4"));
        assert!(path_matches("/foo/bar", "/foo"));
        assert!(path_matches("/foo/", "/foo/"));
        assert!(!path_matches("/foobar", "/foo"));
        assert_eq!(default_path("/a/b/c"), "/a/b");
        assert_eq!(default_path("/a"), "/");
        assert_eq!(default_path(""), "/");
        assert!(is_public_suffix("com") && !is_public_suffix("example.com"));
    }

    #[cfg(feature = "public-suffix")]
    #[test]
    fn the_bundled_list_knows_multi_label_suffixes() {
        assert!(is_public_suffix("co.uk") && is_public_suffix("github.io"));
    }

    #[cfg(not(feature = "public-suffix"))]
    #[test]
    fn without_the_list_only_single_labels_are_suffixes() {
        assert!(is_public_suffix("local") && is_public_suffix("com."));
        assert!(!is_public_suffix("co.uk"), "curl without libpsl takes co.uk as a domain");
    }

    #[cfg(feature = "public-suffix")]
    #[test]
    fn public_suffix_domains_are_refused_except_for_the_host_itself() {
        let jar = DefaultCookieJar::new();
        let url = Url::parse("http://www.example.co.uk/").unwrap();
        assert!(!jar.set_cookies_from_url(vec![Cookie::parse("a=1; Domain=co.uk", 0).unwrap()], &url));
        assert!(jar.set_cookies_from_url(vec![Cookie::parse("a=1; Domain=example.co.uk", 0).unwrap()], &url));
        let local = Url::parse("http://support/").unwrap();
        assert!(jar.set_cookies_from_url(vec![Cookie::parse("b=2; Domain=support", 0).unwrap()], &local));
    }

    #[test]
    fn limits_evict_the_oldest() {
        let jar = DefaultCookieJar::new();
        let url = Url::parse("http://example.com/").unwrap();
        for i in 0..60 {
            jar.set_cookies_from_url(vec![Cookie::parse(&format!("c{i}=v"), 0).unwrap()], &url);
        }
        let names: Vec<String> = jar.all_cookies().into_iter().map(|c| c.name).collect();
        assert_eq!(names.len(), MAX_COOKIES_PER_DOMAIN);
        assert!(!names.contains(&"c0".to_owned()) && names.contains(&"c59".to_owned()));
        let huge = format!("big={}", "x".repeat(MAX_COOKIE_BYTES));
        assert!(!jar.set_cookies_from_url(vec![Cookie::parse(&huge, 0).unwrap()], &url));
    }

    #[test]
    fn prefixes() {
        let jar = DefaultCookieJar::new();
        let https = Url::parse("https://example.com/").unwrap();
        let http = Url::parse("http://example.com/").unwrap();
        let parse = |s: &str| vec![Cookie::parse(s, 0).unwrap()];
        assert!(!jar.set_cookies_from_url(parse("__Secure-a=1"), &https));
        assert!(jar.set_cookies_from_url(parse("__Secure-a=1; Secure"), &https));
        assert!(!jar.set_cookies_from_url(parse("__Secure-b=1; Secure"), &http));
        assert!(!jar.set_cookies_from_url(parse("__Host-c=1; Secure; Path=/; Domain=example.com"), &https));
        assert!(jar.set_cookies_from_url(parse("__Host-c=1; Secure; Path=/"), &https));
    }
}
