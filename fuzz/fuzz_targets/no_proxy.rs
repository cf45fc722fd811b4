//! The `no_proxy` environment rules (names, suffixes, CIDR blocks, ports).
//!
//! Properties: no panic; `*` bypasses everything; a rule list always matches the same way for
//! the same host and port (the parse is deterministic).
#![no_main]

use libfuzzer_sys::fuzz_target;
use netaccess_proxy::NoProxy;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (rules, host) = text.split_once('\n').unwrap_or((text, "example.com"));
    let port = u16::from(data.first().copied().unwrap_or(80)) * 257;
    let parsed = NoProxy::parse(rules);
    assert_eq!(parsed, NoProxy::parse(rules));
    let _ = parsed.matches(host, port);
    if rules.split(',').any(|r| r.trim() == "*") {
        assert!(parsed.matches(host, port), "{rules:?} holds * yet {host}:{port} goes through the proxy");
    }
});
