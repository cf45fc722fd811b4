//! The HTTP/1.1 call (its response side), fed what a server sends. The first byte picks the request
//! method and how the input is cut into reads; the rest is the server's bytes (the dictionary
//! `dict/http1.dict` holds the header vocabulary that drives framing).
//!
//! Properties: no panic; the outcome does not depend on how the bytes were cut into reads; the
//! body never holds more bytes than arrived.
#![no_main]

use bytes::BytesMut;
use http::Method;
use libfuzzer_sys::fuzz_target;
use netaccess_http1::{Call, Event, RequestFraming};

/// What a run produced, comparable across cuttings.
#[derive(Debug, PartialEq)]
struct Outcome {
    statuses: Vec<u16>,
    body: Vec<u8>,
    ended: bool,
    failed: bool,
}

fn run(method: &Method, input: &[u8], cut: usize) -> Outcome {
    // The whole call, as the backend drives it: the head handed out, then the server's bytes.
    let mut reader = Call::new(method.clone(), Vec::new(), RequestFraming::None);
    reader.transmit_head(std::time::Instant::now()).expect("a fresh call hands out its head");
    let mut buffer = BytesMut::new();
    let mut outcome = Outcome { statuses: Vec::new(), body: Vec::new(), ended: false, failed: false };
    let record = |event: Event, outcome: &mut Outcome| match event {
        Event::Head(head) => outcome.statuses.push(head.status.as_u16()),
        Event::Informational(status) => outcome.statuses.push(status.as_u16()),
        Event::Continue => outcome.statuses.push(100),
        Event::Data(data) => outcome.body.extend_from_slice(&data),
        Event::End { .. } => outcome.ended = true,
        other => panic!("an event this target does not know: {other:?}"),
    };
    for piece in input.chunks(cut.max(1)) {
        buffer.extend_from_slice(piece);
        loop {
            match reader.read(&mut buffer) {
                Ok(Some(event)) => {
                    let end = matches!(event, Event::End { .. });
                    record(event, &mut outcome);
                    if end {
                        return outcome;
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    outcome.failed = true;
                    return outcome;
                }
            }
        }
    }
    loop {
        match reader.end_of_input(&mut buffer) {
            Ok(Some(event)) => {
                let end = matches!(event, Event::End { .. });
                record(event, &mut outcome);
                if end {
                    return outcome;
                }
            }
            Ok(None) => return outcome,
            Err(_) => {
                outcome.failed = true;
                return outcome;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, input)) = data.split_first() else { return };
    let method = if control & 0x80 == 0 { Method::GET } else { Method::HEAD };
    let cut = usize::from(control & 0x7f) + 1;
    let whole = run(&method, input, input.len());
    let pieces = run(&method, input, cut);
    assert!(whole.body.len() <= input.len(), "the body holds more bytes than arrived");
    assert_eq!(whole, pieces, "the outcome depends on how the input was cut ({cut}-byte reads)");
});
