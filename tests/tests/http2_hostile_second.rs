//! Hostile HTTP/2 servers, second round: floods, flow-control violations, malformed heads and
//! frames where none may be, each from a byte-level h2c server (`netaccess_tests::raw_h2`)
//! through the manager. Every attack ends in a typed error or the right answer, in bounded
//! time, and the manager then serves a healthy server. Where a fault is one stream's (RFC 9113
//! §8.1.1), an innocent request in flight on the same connection is answered.
//!
//! What `h2` decides otherwise is not asserted here but kept as a finding (a malformed
//! `:status` or an upper-case name closes the whole connection; 101 empty `DATA` frames fail a
//! legal response; `SETTINGS_ENABLE_PUSH = 1` from a server is accepted): see the notes of the
//! hostile-peers issue.

use std::time::Duration;

use netaccess::{NetworkAccessManager, NetworkErrorKind, Reply, Request};
use netaccess_tests::raw_h2::{self, H2Action, H2Options, H2Request, RawH2Server};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);
/// The HTTP/2 error code `PROTOCOL_ERROR`.
const PROTOCOL_ERROR: u32 = 1;

fn h2c(url: String) -> Request {
    let mut request = Request::new(url);
    request.attributes_mut().http2_direct = true;
    request
}

/// The body's length, or the error's kind; a reply that does not end within [`LIMIT`] fails
/// the test.
async fn outcome(mut reply: Reply) -> Result<usize, NetworkErrorKind> {
    timeout(LIMIT, reply.bytes()).await.expect("the reply ends").map(|body| body.len()).map_err(|e| e.kind())
}

/// One request to a server that answers it with `attack`.
async fn attacked(
    settings: Vec<(u16, u32)>,
    attack: fn(u32) -> Vec<H2Action>,
) -> (Result<usize, NetworkErrorKind>, NetworkAccessManager) {
    let server = RawH2Server::start(settings, move |request: H2Request| attack(request.stream)).await;
    let manager = NetworkAccessManager::new();
    let result = outcome(manager.get(h2c(server.url("/attacked")))).await;
    (result, manager)
}

/// The manager still serves a healthy server.
async fn still_serves(manager: &NetworkAccessManager) {
    let healthy = RawH2Server::start(vec![], |r: H2Request| vec![H2Action::Write(raw_h2::ok(r.stream, b"fine"))]).await;
    assert_eq!(outcome(manager.get(h2c(healthy.url("/")))).await, Ok(4), "the manager carries on");
}

/// Both outcomes of [`guilty_and_innocent`], its server and its manager.
type Pair = (Result<usize, NetworkErrorKind>, Result<usize, NetworkErrorKind>, RawH2Server, NetworkAccessManager);

/// A guilty request (stream 1) and an innocent one (stream 3) in flight on one connection;
/// once both are open the server writes `guilty(1)` and a good answer for 3.
async fn guilty_and_innocent(guilty: fn(u32) -> Vec<u8>) -> Pair {
    let server = RawH2Server::start(vec![], move |request: H2Request| match request.nth {
        1 => vec![H2Action::Write([guilty(1), raw_h2::ok(request.stream, b"innocent")].concat())],
        _ => vec![],
    })
    .await;
    let manager = NetworkAccessManager::new();
    let first = manager.get(h2c(server.url("/guilty")));
    let second = manager.get(h2c(server.url("/innocent")));
    let (first, second) = futures::future::join(outcome(first), outcome(second)).await;
    let seen = server.seen();
    assert_eq!(seen.iter().map(|r| (r.connection, r.stream)).collect::<Vec<_>>(), [(0, 1), (0, 3)], "one connection");
    (first, second, server, manager)
}

fn headers_only(stream: u32) -> Vec<u8> {
    raw_h2::headers(stream, &[(b":status", b"200")], false)
}

#[tokio::test]
async fn an_endless_run_of_empty_data_frames_ends_in_a_protocol_failure() {
    let (result, manager) = attacked(vec![], |s| {
        vec![
            H2Action::Write(headers_only(s)),
            H2Action::Repeat(raw_h2::data(s, b"", false), 100_000),
            H2Action::Write(raw_h2::data(s, b"end", true)),
        ]
    })
    .await;
    // h2 counts empty non-final DATA frames (its `too_many_data_frames`), RUSTSEC-2026-0258's class.
    assert_eq!(result, Err(NetworkErrorKind::ProtocolFailure));
    still_serves(&manager).await;
}

#[tokio::test]
async fn a_flood_of_one_byte_data_frames_is_delivered_whole() {
    let (result, manager) = attacked(vec![], |s| {
        vec![
            H2Action::Write(headers_only(s)),
            H2Action::Repeat(raw_h2::data(s, b"x", false), 60_000),
            H2Action::Write(raw_h2::data(s, b"end", true)),
        ]
    })
    .await;
    assert_eq!(result, Ok(60_003));
    still_serves(&manager).await;
}

#[tokio::test]
async fn a_push_promise_although_push_is_off_is_a_protocol_failure() {
    let (result, manager) = attacked(vec![], |s| {
        vec![H2Action::Write([headers_only(s), raw_h2::push_promise(s, 2), raw_h2::data(s, b"body", true)].concat())]
    })
    .await;
    // RFC 9113 §8.4: a client that disabled push treats PUSH_PROMISE as a connection error.
    assert_eq!(result, Err(NetworkErrorKind::ProtocolFailure));
    still_serves(&manager).await;
}

#[tokio::test]
async fn a_hundred_thousand_early_hints_are_passed_over_to_the_final_answer() {
    let (result, manager) = attacked(vec![], |s| {
        vec![
            H2Action::Repeat(
                raw_h2::headers(s, &[(b":status", b"103"), (b"link", b"</a.css>; rel=preload")], false),
                100_000,
            ),
            H2Action::Write([headers_only(s), raw_h2::data(s, b"final", true)].concat()),
        ]
    })
    .await;
    assert_eq!(result, Ok(5));
    still_serves(&manager).await;
}

#[tokio::test]
async fn a_connection_window_past_two_to_the_31_is_a_protocol_failure() {
    let (result, manager) = attacked(vec![], |s| {
        let overflow = [raw_h2::window_update(0, 0x7fff_ffff), raw_h2::window_update(0, 0x7fff_ffff)].concat();
        vec![H2Action::Write([overflow, raw_h2::ok(s, b"x")].concat())]
    })
    .await;
    // RFC 9113 §6.9.1: FLOW_CONTROL_ERROR on the connection.
    assert_eq!(result, Err(NetworkErrorKind::ProtocolFailure));
    still_serves(&manager).await;
}

#[tokio::test]
async fn data_beyond_the_window_the_client_gave_is_a_protocol_failure() {
    // 3 MiB at once to a reply nobody reads yet: past its 1 MiB stream window, for which the
    // client gives credit only as the reply is read.
    let server = RawH2Server::start(vec![], |r: H2Request| {
        vec![
            H2Action::Write(headers_only(r.stream)),
            H2Action::Repeat(raw_h2::data(r.stream, &[b'a'; 16_384], false), 192),
            H2Action::Write(raw_h2::data(r.stream, b"end", true)),
        ]
    })
    .await;
    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(h2c(server.url("/unread")));
    timeout(LIMIT, reply.head()).await.expect("a head").expect("the head is fine");
    let resets = server.resets_once_seen(LIMIT).await;
    assert!(resets.iter().any(|(stream, _)| *stream == 1), "the overflowing stream is reset: {resets:?}");
    assert_eq!(outcome(reply).await, Err(NetworkErrorKind::ProtocolFailure));
    still_serves(&manager).await;
}

#[tokio::test]
async fn an_initial_window_setting_past_two_to_the_31_is_a_protocol_failure() {
    let (result, manager) =
        attacked(vec![(raw_h2::INITIAL_WINDOW_SIZE, 0x8000_0000)], |s| vec![H2Action::Write(raw_h2::ok(s, b"x"))])
            .await;
    assert_eq!(result, Err(NetworkErrorKind::ProtocolFailure));
    still_serves(&manager).await;
}

#[tokio::test]
async fn frames_on_stream_zero_or_on_an_even_stream_are_protocol_failures() {
    let (on_zero, manager) =
        attacked(vec![], |s| vec![H2Action::Write([raw_h2::data(0, b"zero", false), raw_h2::ok(s, b"x")].concat())])
            .await;
    assert_eq!(on_zero, Err(NetworkErrorKind::ProtocolFailure));
    still_serves(&manager).await;
    let (on_even, manager) = attacked(vec![], |s| {
        vec![H2Action::Write([raw_h2::headers(2, &[(b":status", b"200")], true), raw_h2::ok(s, b"x")].concat())]
    })
    .await;
    assert_eq!(on_even, Err(NetworkErrorKind::ProtocolFailure));
    still_serves(&manager).await;
}

#[tokio::test]
async fn a_content_length_that_disagrees_with_the_data_fails_that_stream_only() {
    let (guilty, innocent, server, manager) = guilty_and_innocent(|s| {
        [raw_h2::headers(s, &[(b":status", b"200"), (b"content-length", b"10")], false), raw_h2::data(s, b"abc", true)]
            .concat()
    })
    .await;
    assert_eq!(guilty, Err(NetworkErrorKind::ProtocolFailure));
    assert_eq!(innocent, Ok(8), "the other stream of the connection is answered");
    let resets = server.resets_once_seen(LIMIT).await;
    assert!(resets.contains(&(1, PROTOCOL_ERROR)), "the guilty stream is reset: {resets:?}");
    still_serves(&manager).await;
}

#[tokio::test]
async fn a_connection_specific_header_fails_that_stream_only() {
    let (guilty, innocent, server, manager) = guilty_and_innocent(|s| {
        [
            raw_h2::headers(s, &[(b":status", b"200"), (b"connection", b"keep-alive")], false),
            raw_h2::data(s, b"abc", true),
        ]
        .concat()
    })
    .await;
    assert_eq!(guilty, Err(NetworkErrorKind::ProtocolFailure));
    assert_eq!(innocent, Ok(8));
    let resets = server.resets_once_seen(LIMIT).await;
    assert!(resets.contains(&(1, PROTOCOL_ERROR)), "{resets:?}");
    still_serves(&manager).await;
}

#[tokio::test]
async fn a_head_without_status_fails_that_stream_only() {
    let (guilty, innocent, _server, manager) =
        guilty_and_innocent(|s| raw_h2::headers(s, &[(b"x-a", b"1")], true)).await;
    assert_eq!(guilty, Err(NetworkErrorKind::ProtocolFailure));
    assert_eq!(innocent, Ok(8));
    still_serves(&manager).await;
}

#[tokio::test]
async fn a_malformed_status_or_an_upper_case_name_fails_the_guilty_request_in_bounded_time() {
    let attacks: [fn(u32) -> Vec<u8>; 3] = [
        |s| raw_h2::headers(s, &[(b":status", b"abc")], true),
        |s| raw_h2::headers(s, &[(b":status", b"2000")], true),
        |s| {
            [raw_h2::headers(s, &[(b":status", b"200"), (b"X-Upper", b"1")], false), raw_h2::data(s, b"a", true)]
                .concat()
        },
    ];
    for attack in attacks {
        let (guilty, innocent, _server, manager) = guilty_and_innocent(attack).await;
        assert_eq!(guilty, Err(NetworkErrorKind::ProtocolFailure));
        // RFC 9113 makes these stream errors; h2 closes the connection, so the innocent request
        // fails with it today (a finding of the hostile-peers issue): it ends, typed.
        assert!(matches!(innocent, Ok(8) | Err(NetworkErrorKind::ProtocolFailure)), "{innocent:?}");
        still_serves(&manager).await;
    }
}

#[tokio::test]
async fn a_stream_limit_of_zero_holds_the_requests_until_the_server_raises_it() {
    let raise = raw_h2::settings_frame(&[(raw_h2::MAX_CONCURRENT_STREAMS, 100)]);
    let options = H2Options {
        settings: vec![(raw_h2::MAX_CONCURRENT_STREAMS, 0)],
        later: Some((Duration::from_millis(300), raise)),
        ..H2Options::default()
    };
    let server =
        RawH2Server::start_with(options, |r: H2Request| vec![H2Action::Write(raw_h2::ok(r.stream, b"let in"))]).await;
    let manager = NetworkAccessManager::new();
    let started = std::time::Instant::now();
    let replies: Vec<Reply> = (0..3).map(|i| manager.get(h2c(server.url(&format!("/{i}"))))).collect();
    let outcomes = futures::future::join_all(replies.into_iter().map(outcome)).await;
    assert_eq!(outcomes, vec![Ok(6); 3]);
    assert!(started.elapsed() >= Duration::from_millis(250), "nothing went before the limit was raised");
    assert_eq!(server.seen().len(), 3);
    assert_eq!(server.connections.load(std::sync::atomic::Ordering::SeqCst), 1, "they waited for the one connection");
}

#[tokio::test]
async fn settings_never_acknowledged_do_not_stop_the_requests() {
    let options = H2Options { ignore_settings: true, ..H2Options::default() };
    let server =
        RawH2Server::start_with(options, |r: H2Request| vec![H2Action::Write(raw_h2::ok(r.stream, b"unacked"))]).await;
    let manager = NetworkAccessManager::new();
    let replies: Vec<Reply> = (0..3).map(|i| manager.get(h2c(server.url(&format!("/{i}"))))).collect();
    let outcomes = futures::future::join_all(replies.into_iter().map(outcome)).await;
    // Our settings are small and safe to assume unacknowledged (h2 sets no SETTINGS_TIMEOUT):
    // the answers come, as curl takes them.
    assert_eq!(outcomes, vec![Ok(7); 3]);
    still_serves(&manager).await;
}
