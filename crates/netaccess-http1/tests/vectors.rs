//! Every vector of `tests/data/conformance/http1/response-vectors.json`, fed whole and byte by byte.
//!
//! A vector is accepted when the response parses with the expected status and body and, where
//! the vector says, the expected reuse verdict. A vector is rejected when the reader fails, or,
//! for a response followed by bytes of another (a second request on the same connection), when
//! the connection is refused for reuse and those bytes do not parse as a response either.

use std::path::PathBuf;
use std::time::Instant;

use bytes::BytesMut;
use http::Method;
use netaccess_http1::{Call, CloseReason, Event, Http1Error, RequestFraming, Reuse};
use serde_json::Value;

#[derive(Debug)]
struct Outcome {
    status: u16,
    body: Vec<u8>,
    reuse: Reuse,
    leftover: BytesMut,
}

/// Feeds `response` in pieces of `step` bytes, as a socket would deliver them.
fn run(method: &Method, response: &[u8], step: usize) -> Result<Outcome, Http1Error> {
    // Through the whole call, as the backend drives it: the head handed out, then the response.
    let mut reader = Call::new(method.clone(), b"(head)".to_vec(), RequestFraming::None);
    reader.transmit_head(Instant::now()).expect("a fresh call hands out its head");
    let mut input = BytesMut::new();
    let mut fed = 0;
    let (mut status, mut body) = (0, Vec::new());
    loop {
        match reader.read(&mut input)? {
            Some(Event::Head(head)) => status = head.status.as_u16(),
            Some(Event::Data(data)) => body.extend_from_slice(&data),
            Some(Event::End { reuse, .. }) => {
                // Bytes that arrive after the end belong to no request: the pool's liveness check
                // at checkout sees them (the socket is readable) and drops the connection.
                input.extend_from_slice(&response[fed..]);
                let reuse =
                    if input.is_empty() { reuse } else { reuse.and(Reuse::Close(CloseReason::UnsolicitedData)) };
                return Ok(Outcome { status, body, reuse, leftover: input });
            }
            Some(_) => {}
            None if fed < response.len() => {
                let end = (fed + step).min(response.len());
                input.extend_from_slice(&response[fed..end]);
                fed = end;
            }
            None => {
                if let Some(Event::End { reuse, .. }) = reader.end_of_input(&mut input)? {
                    return Ok(Outcome { status, body, reuse, leftover: input });
                }
                unreachable!("end_of_input ends an unfinished response or fails");
            }
        }
    }
}

fn vectors() -> Vec<Value> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/conformance/http1/response-vectors.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the HTTP/1.1 vectors are in the repository at {}: {e}", path.display()));
    let document: Value = serde_json::from_str(&text).unwrap();
    let vectors = document["vectors"].as_array().unwrap().clone();
    assert_eq!(vectors.len() as u64, document["count"].as_u64().unwrap());
    vectors
}

fn check(vector: &Value, step: usize) -> Result<(), String> {
    let id = vector["id"].as_str().unwrap();
    let method = Method::from_bytes(vector["request_method"].as_str().unwrap().as_bytes()).unwrap();
    let response = vector["response"].as_str().unwrap().as_bytes();
    let outcome = run(&method, response, step);
    match (vector["expect"].as_str().unwrap(), outcome) {
        ("accept", Ok(outcome)) => {
            let status = vector["status"].as_u64().unwrap();
            if u64::from(outcome.status) != status {
                return Err(format!("{id}: status {} instead of {status}", outcome.status));
            }
            if let Some(body) = vector["body"].as_str() {
                if outcome.body != body.as_bytes() {
                    return Err(format!("{id}: body {:?} instead of {body:?}", String::from_utf8_lossy(&outcome.body)));
                }
            }
            if let Some(reusable) = vector["connection_reusable"].as_bool() {
                if outcome.reuse.is_reusable() != reusable {
                    return Err(format!("{id}: reuse {:?}, expected reusable = {reusable}", outcome.reuse));
                }
            }
            Ok(())
        }
        ("accept", Err(err)) => Err(format!("{id}: rejected ({err}) but should be accepted")),
        ("reject", Err(_)) => Ok(()),
        ("reject", Ok(outcome)) => {
            let next = run(&Method::GET, &outcome.leftover, step);
            if !outcome.leftover.is_empty() && !outcome.reuse.is_reusable() && next.is_err() {
                Ok(())
            } else {
                Err(format!("{id}: accepted ({outcome:?}) but should be rejected"))
            }
        }
        (other, _) => Err(format!("{id}: unknown expectation {other}")),
    }
}

#[test]
fn every_shared_vector_whole_and_byte_by_byte() {
    let vectors = vectors();
    let mut failures = Vec::new();
    for vector in &vectors {
        for step in [usize::MAX, 1, 7] {
            if let Err(failure) = check(vector, step) {
                failures.push(format!("[step {step}] {failure}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} vectors failed:\n{}", failures.len(), vectors.len(), failures.join("\n"));
    println!("{} shared HTTP/1.1 vectors passed, each whole and in 1- and 7-byte pieces", vectors.len());
}
