//! HAR files, as `--replay` and `HarReplay` read them (written by browsers, proxies, others).
//!
//! Properties: no panic, whatever the JSON holds; a record that loads uses each entry at most
//! once: an answer takes one, a failure at most one (an entry whose body is not in the record
//! is used up with its error), never more (the replay backend, driven without a runtime).
#![no_main]

use futures::executor::block_on;
use libfuzzer_sys::fuzz_target;
use netaccess::{Backend, BackendRequest, HarReplay, Operation};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(replay) = HarReplay::from_json(text) else { return };
    let entries = replay.remaining();
    let url = url::Url::parse("http://fuzz.example/").expect("a URL");
    for _ in 0..entries.min(4) {
        let before = replay.remaining();
        let answered = block_on(replay.send(BackendRequest::new(Operation::Get, url.clone()))).is_ok();
        let after = replay.remaining();
        assert!(after == before - 1 || (!answered && after == before), "{before} -> {after}, answered: {answered}");
    }
});
