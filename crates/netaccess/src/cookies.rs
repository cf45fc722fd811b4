//! The cookie glue of the request driver: the jar's cookies into each hop's `Cookie` header,
//! each response's `Set-Cookie` into the jar.
//!
//! # Design
//!
//! Only http and https hops take part. The jar is asked for every hop's own URL, and a
//! redirect's `Set-Cookie` is stored before the next hop is asked for, as Qt does. A `Cookie`
//! header the caller set is kept; the jar's cookies are added after it, except those whose name
//! the caller already sent, so no cookie goes twice.

use http::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};
use netaccess_cookie::{Cookie, CookieJar};
use url::Url;

/// Whether cookies apply to this URL's scheme.
pub(crate) fn applies(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

/// Adds the jar's cookies for `url` to the headers.
pub(crate) fn load(jar: &dyn CookieJar, url: &Url, headers: &mut HeaderMap) {
    let cookies = jar.cookies_for_url(url);
    if cookies.is_empty() {
        return;
    }
    let mut pairs: Vec<String> = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(|pair| pair.trim().to_owned())
        .filter(|pair| !pair.is_empty())
        .collect();
    let set_by_caller: Vec<String> =
        pairs.iter().map(|pair| pair.split_once('=').map_or(pair.as_str(), |(n, _)| n).to_owned()).collect();
    pairs.extend(cookies.iter().filter(|c| !set_by_caller.contains(&c.name)).map(Cookie::pair));
    if let Ok(value) = HeaderValue::from_str(&pairs.join("; ")) {
        headers.insert(COOKIE, value);
    }
}

/// Stores the `Set-Cookie` lines of a response from `url`.
pub(crate) fn save(jar: &dyn CookieJar, url: &Url, response_headers: &HeaderMap) {
    let now = netaccess_cookie::date::now();
    let cookies: Vec<Cookie> = response_headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| Cookie::parse(&String::from_utf8_lossy(value.as_bytes()), now))
        .collect();
    if !cookies.is_empty() {
        jar.set_cookies_from_url(cookies, url);
    }
}
