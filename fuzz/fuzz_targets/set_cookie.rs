//! Set-Cookie headers and cookie dates, as a server sends them.
//!
//! Properties: no panic; an accepted cookie has a name or a value and stays within the size
//! limit the jar enforces; a parsed date is a time the jar can store.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netaccess_cookie::date::parse_cookie_date;
use netaccess_cookie::Cookie;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = parse_cookie_date(text);
    if let Some(cookie) = Cookie::parse(text, 1_800_000_000) {
        assert!(!cookie.name.is_empty() || !cookie.value.is_empty(), "an empty cookie was accepted: {text:?}");
        assert!(cookie.name.len() + cookie.value.len() <= text.len(), "the cookie grew: {text:?}");
    }
});
