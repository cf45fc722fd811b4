//! HSTS: the store file in curl's `--hsts` format (read at start, written by others) and the
//! `Strict-Transport-Security` header (a server sends it).
//!
//! Properties: no panic; every policy read has a host, lower case, not an address, and has not
//! expired; a header's max-age never passes the cap.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use netaccess::hsts::{parse_file, parse_header, MAX_AGE_CAP};

fuzz_target!(|data: &[u8]| {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let (policies, _skipped) = parse_file(data, now);
    for policy in &policies {
        assert!(!policy.host.is_empty());
        assert!(policy.host.parse::<std::net::IpAddr>().is_err(), "an address has no HSTS policy");
        assert_eq!(policy.host, policy.host.to_ascii_lowercase());
        assert!(!policy.is_expired(now));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(directives) = parse_header(text) {
            assert!(directives.max_age <= MAX_AGE_CAP);
        }
    }
});
