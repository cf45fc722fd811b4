//! Cookies for netaccess: RFC 6265 parsing and storage, Qt's `QNetworkCookieJar` override
//! points, public-suffix checks, atomic persistence and Netscape `cookies.txt`.
//!
//! ```
//! use netaccess_cookie::{Cookie, CookieJar, DefaultCookieJar};
//!
//! let jar = DefaultCookieJar::new();
//! let url = url::Url::parse("http://example.com/login").unwrap();
//! jar.set_cookies_from_url(Cookie::parse("session=s3cr3t; Path=/", 0).into_iter().collect(), &url);
//! let header: Vec<String> = jar.cookies_for_url(&url).iter().map(Cookie::pair).collect();
//! assert_eq!(header.join("; "), "session=s3cr3t");
//! ```
//!
//! # Design
//!
//! [`Cookie::parse`] turns one `Set-Cookie` value into a [`Cookie`]; a [`CookieJar`] decides
//! what to keep ([`CookieJar::validate_cookie`]) and what to send. [`DefaultCookieJar`] is RFC
//! 6265 with the 6265bis additions named in each module; saving is crash-safe. Which RFC is
//! followed where they differ is written in [`cookie`]'s docs.

#![forbid(unsafe_code)]

pub mod cookie;
pub mod date;
pub mod jar;
pub mod store;

pub use cookie::{Cookie, SameSite};
pub use jar::{normalize, CookieJar, DefaultCookieJar, MAX_COOKIES, MAX_COOKIES_PER_DOMAIN, MAX_COOKIE_BYTES};
pub use store::{JarFileReport, JarFormat, SkippedLine};

/// The README's example, compiled (and run where it needs no server) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
