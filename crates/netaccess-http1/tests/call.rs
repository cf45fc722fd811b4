//! [`Call`] scenario by scenario, in ureq-proto's manner: each test builds a call, drives it
//! with bytes and made-up instants, and checks its states, what it wrote and its verdict. One
//! test per [`CloseReason`] (`close_due_to_*`) and per state transition (`transition_*`).

use std::time::{Duration, Instant};

use bytes::BytesMut;
use http::Method;
use netaccess_http1::{Call, CallState, CloseReason, Event, Http1Error, RequestFraming, Reuse};

const HEAD: &[u8] = b"(the prepared head)";

/// A scenario: a call, the bytes it wrote, and what it read.
struct Scenario {
    call: Call,
    written: Vec<u8>,
    statuses: Vec<u16>,
    body: Vec<u8>,
    now: Instant,
}

impl Scenario {
    fn new(method: Method, framing: RequestFraming) -> Self {
        Self::with(Call::new(method, HEAD.to_vec(), framing))
    }

    fn with(call: Call) -> Self {
        Self { call, written: Vec::new(), statuses: Vec::new(), body: Vec::new(), now: Instant::now() }
    }

    fn get() -> Self {
        Self::new(Method::GET, RequestFraming::None)
    }

    fn send_head(mut self) -> Self {
        let head = self.call.transmit_head(self.now).expect("head");
        self.written.extend_from_slice(&head);
        self
    }

    fn send_body(mut self, chunks: &[&[u8]]) -> Self {
        for chunk in chunks {
            let suffix = self.call.frame_body_chunk(chunk.len(), &mut self.written).expect("framed");
            self.written.extend_from_slice(chunk);
            self.written.extend_from_slice(suffix);
        }
        self.call.finish_body(&mut self.written).expect("finished");
        self
    }

    /// Feeds `response` whole and reads every event; `closed` says the peer closed after it.
    fn receive(mut self, response: &[u8], closed: bool) -> Result<Self, Http1Error> {
        let mut input = BytesMut::from(response);
        loop {
            match self.call.read(&mut input)? {
                Some(Event::Head(head)) => self.statuses.push(head.status.as_u16()),
                Some(Event::Continue) => self.statuses.push(100),
                Some(Event::Informational(status)) => self.statuses.push(status.as_u16()),
                Some(Event::Data(data)) => self.body.extend_from_slice(&data),
                Some(Event::End { .. }) => return Ok(self),
                Some(_) => {}
                None if closed => {
                    if let Some(Event::End { .. }) = self.call.end_of_input(&mut input)? {
                        return Ok(self);
                    }
                    return Ok(self);
                }
                None => return Ok(self),
            }
        }
    }

    fn reasons(&self) -> Vec<CloseReason> {
        self.call.close_reasons()
    }
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";

#[test]
fn a_kept_alive_exchange_is_reusable_with_no_reason() {
    let done = Scenario::get().send_head().receive(OK, false).unwrap();
    assert_eq!(done.call.state(), CallState::Done);
    assert_eq!((done.statuses.as_slice(), done.body.as_slice()), (&[200][..], &b"hi"[..]));
    assert_eq!(done.call.reuse(), Reuse::Reusable);
    assert!(done.reasons().is_empty());
    assert_eq!(done.written, HEAD);
}

#[test]
fn close_due_to_server_close() {
    let done = Scenario::get()
        .send_head()
        .receive(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false)
        .unwrap();
    assert_eq!(done.reasons(), [CloseReason::ServerClose]);
    assert_eq!(done.call.reuse(), Reuse::Close(CloseReason::ServerClose));
}

#[test]
fn close_due_to_client_close() {
    let mut scenario = Scenario::get();
    scenario.call.close_after(CloseReason::ClientClose);
    let done = scenario.send_head().receive(OK, false).unwrap();
    assert_eq!(done.reasons(), [CloseReason::ClientClose]);
}

#[test]
fn close_due_to_http10() {
    let done = Scenario::get().send_head().receive(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", false).unwrap();
    assert_eq!(done.reasons(), [CloseReason::Http10]);
    let kept = Scenario::get()
        .send_head()
        .receive(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi", false)
        .unwrap();
    assert!(kept.reasons().is_empty(), "HTTP/1.0 with keep-alive is reusable");
}

#[test]
fn close_due_to_close_delimited() {
    let open = Scenario::get().send_head().receive(b"HTTP/1.1 200 OK\r\n\r\nuntil the end", false).unwrap();
    assert_eq!(open.call.state(), CallState::RecvBody, "no end yet: the body runs until the close");
    let done = Scenario::get().send_head().receive(b"HTTP/1.1 200 OK\r\n\r\nuntil the end", true).unwrap();
    assert_eq!(done.body, b"until the end");
    assert_eq!(done.reasons(), [CloseReason::CloseDelimited]);
}

#[test]
fn close_due_to_ambiguous_framing() {
    let done = Scenario::get()
        .send_head()
        .receive(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
            false,
        )
        .unwrap();
    assert_eq!(done.body, b"hi", "chunked wins over the length");
    assert_eq!(done.reasons(), [CloseReason::AmbiguousFraming]);
}

#[test]
fn close_due_to_unsolicited_data() {
    let mut response = OK.to_vec();
    response.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    let done = Scenario::get().send_head().receive(&response, false).unwrap();
    assert_eq!(done.reasons(), [CloseReason::UnsolicitedData]);
}

#[test]
fn close_due_to_tunnel() {
    let done = Scenario::new(Method::CONNECT, RequestFraming::None)
        .send_head()
        .receive(b"HTTP/1.1 200 Connection established\r\n\r\n", false)
        .unwrap();
    assert_eq!(done.call.state(), CallState::Done);
    assert_eq!(done.reasons(), [CloseReason::Tunnel]);
    let refused = Scenario::new(Method::CONNECT, RequestFraming::None)
        .send_head()
        .receive(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n", false)
        .unwrap();
    assert!(refused.reasons().is_empty(), "a refused CONNECT with a framed answer may be retried on the connection");
}

#[test]
fn close_due_to_unfinished() {
    let partway =
        Scenario::get().send_head().receive(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhi", false).unwrap();
    assert_eq!(partway.call.state(), CallState::RecvBody);
    assert_eq!(partway.reasons(), [CloseReason::Unfinished]);
    assert_eq!(partway.call.reuse(), Reuse::Close(CloseReason::Unfinished));
}

#[test]
fn close_due_to_request_body_unfinished() {
    let call =
        Call::new(Method::PUT, HEAD.to_vec(), RequestFraming::Length(10)).expect_continue(Duration::from_secs(1));
    let done = Scenario::with(call)
        .send_head()
        .receive(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", false)
        .unwrap();
    assert_eq!(done.statuses, [401]);
    assert_eq!(done.call.state(), CallState::Done);
    assert_eq!(done.call.body_sent(), 0, "the body never went");
    assert_eq!(done.reasons(), [CloseReason::RequestBodyUnfinished]);
}

#[test]
fn close_due_to_failed() {
    let failed = Scenario::get().send_head().receive(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false);
    assert!(matches!(failed, Err(Http1Error::InvalidContentLength(_))));
    let mut call = Call::new(Method::GET, HEAD.to_vec(), RequestFraming::None);
    call.transmit_head(Instant::now()).unwrap();
    let _ = call.read(&mut BytesMut::from(&b"NOT HTTP\r\n\r\n"[..]));
    assert_eq!(call.state(), CallState::Failed);
    assert_eq!(call.close_reasons(), [CloseReason::Failed]);
    assert_eq!(call.reuse(), Reuse::Close(CloseReason::Failed));
}

#[test]
fn transition_send_head_to_recv_head_without_a_body() {
    let mut scenario = Scenario::get();
    assert_eq!(scenario.call.state(), CallState::SendHead);
    scenario = scenario.send_head();
    assert_eq!(scenario.call.state(), CallState::RecvHead);
    assert_eq!(scenario.call.poll_timeout(), None, "nothing to wait for");
}

#[test]
fn transition_send_head_to_send_body_to_recv_head() {
    let mut scenario = Scenario::new(Method::POST, RequestFraming::Length(5)).send_head();
    assert_eq!(scenario.call.state(), CallState::SendBody);
    scenario = scenario.send_body(&[b"he", b"", b"llo"]);
    assert_eq!(scenario.call.state(), CallState::RecvHead);
    assert_eq!(scenario.written, [HEAD, b"hello"].concat(), "a sized body goes as it is");
    let done = scenario.receive(OK, false).unwrap();
    assert_eq!(done.call.state(), CallState::Done);
}

#[test]
fn transition_chunked_body_is_framed_around_the_callers_bytes() {
    let scenario = Scenario::new(Method::PUT, RequestFraming::Chunked).send_head().send_body(&[b"hello", b"", b"!"]);
    assert_eq!(scenario.written, [HEAD, b"5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n"].concat());
}

#[test]
fn transition_await_continue_to_send_body_on_100() {
    let call = Call::new(Method::PUT, HEAD.to_vec(), RequestFraming::Length(2)).expect_continue(Duration::from_secs(1));
    let mut scenario = Scenario::with(call).send_head();
    assert_eq!(scenario.call.state(), CallState::AwaitContinue);
    scenario = scenario.receive(b"HTTP/1.1 100 Continue\r\n\r\n", false).unwrap();
    assert_eq!(scenario.statuses, [100]);
    assert_eq!(scenario.call.state(), CallState::SendBody);
    assert_eq!(scenario.call.poll_timeout(), None, "the deadline is gone");
    let done = scenario.send_body(&[b"hi"]).receive(OK, false).unwrap();
    assert!(done.reasons().is_empty());
}

#[test]
fn transition_await_continue_to_send_body_at_the_deadline_only() {
    let wait = Duration::from_millis(1500);
    let call = Call::new(Method::PUT, HEAD.to_vec(), RequestFraming::Length(2)).expect_continue(wait);
    let mut scenario = Scenario::with(call).send_head();
    let start = scenario.now;
    assert_eq!(scenario.call.poll_timeout(), Some(start + wait));
    assert!(!scenario.call.handle_timeout(start + wait - Duration::from_millis(1)), "a millisecond early");
    assert_eq!(scenario.call.state(), CallState::AwaitContinue);
    assert!(scenario.call.handle_timeout(start + wait));
    assert_eq!(scenario.call.state(), CallState::SendBody);
    assert!(!scenario.call.handle_timeout(start + wait * 2), "a timeout after the wait changes nothing");
    scenario = scenario.send_body(&[b"hi"]);
    // A late 100 after the body is harmless.
    let done = scenario.receive(&[&b"HTTP/1.1 100 Continue\r\n\r\n"[..], OK].concat(), false).unwrap();
    assert_eq!(done.statuses, [100, 200]);
    assert!(done.reasons().is_empty());
}

#[test]
fn transition_expect_continue_without_a_body_is_ignored() {
    let call = Call::new(Method::GET, HEAD.to_vec(), RequestFraming::None).expect_continue(Duration::from_secs(1));
    let scenario = Scenario::with(call).send_head();
    assert_eq!(scenario.call.state(), CallState::RecvHead);
}

#[test]
fn transition_interim_responses_keep_waiting_for_the_head() {
    let mut scenario = Scenario::get().send_head();
    scenario = scenario.receive(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n", false).unwrap();
    assert_eq!(scenario.statuses, [103]);
    assert_eq!(scenario.call.state(), CallState::RecvHead);
    let done = scenario.receive(OK, false).unwrap();
    assert_eq!(done.statuses, [103, 200]);
}

#[test]
fn a_body_breaking_its_announced_length_fails_the_call() {
    let mut call = Call::new(Method::PUT, HEAD.to_vec(), RequestFraming::Length(3));
    call.transmit_head(Instant::now()).unwrap();
    let mut frame = Vec::new();
    call.frame_body_chunk(2, &mut frame).unwrap();
    assert_eq!(call.frame_body_chunk(2, &mut frame), Err(Http1Error::UploadLengthMismatch { announced: 3, sent: 4 }));
    assert_eq!(call.state(), CallState::Failed);

    let mut short = Call::new(Method::PUT, HEAD.to_vec(), RequestFraming::Length(3));
    short.transmit_head(Instant::now()).unwrap();
    short.frame_body_chunk(2, &mut frame).unwrap();
    let error = short.finish_body(&mut frame).unwrap_err();
    assert_eq!(error, Http1Error::UploadLengthMismatch { announced: 3, sent: 2 });
    assert!(error.to_string().contains("fewer bytes (2) than its announced length 3"), "{error}");
}

#[test]
fn steps_out_of_order_are_refused() {
    let mut call = Call::new(Method::PUT, HEAD.to_vec(), RequestFraming::Chunked);
    assert!(matches!(call.read(&mut BytesMut::new()), Err(Http1Error::OutOfOrder { action: "read", .. })));
    assert!(matches!(call.frame_body_chunk(1, &mut Vec::new()), Err(Http1Error::OutOfOrder { .. })));
    call.transmit_head(Instant::now()).unwrap();
    assert!(matches!(call.transmit_head(Instant::now()), Err(Http1Error::OutOfOrder { action: "transmit_head", .. })));
    call.finish_body(&mut Vec::new()).unwrap();
    assert!(matches!(call.finish_body(&mut Vec::new()), Err(Http1Error::OutOfOrder { .. })));
}
