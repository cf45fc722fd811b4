//! HAR files, as `--replay` and `HarReplay` read them (written by browsers, proxies, others).
//!
//! Properties: no panic, whatever the JSON holds; a record that loads answers a request for
//! each of its entries at most once (the replay backend, driven without a runtime).
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
        match block_on(replay.send(BackendRequest::new(Operation::Get, url.clone()))) {
            Ok(_) => assert_eq!(replay.remaining(), before - 1),
            Err(_) => assert_eq!(replay.remaining(), before),
        }
    }
});
