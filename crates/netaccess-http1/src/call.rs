//! [`Call`]: one request and its response on one connection, as a state machine over bytes.
//!
//! ```text
//!             transmit_head(now)
//!   SendHead ─────────────────────┬──────────────────────────────────────▶ RecvHead
//!                 no body         │                                          ▲   │ 1xx: Continue /
//!                                 │ Expect: 100-continue                     │   │ Informational
//!                                 ├──────────▶ AwaitContinue                 │   ▼ final head
//!                                 │             │  │ final head first:       │ RecvBody ──▶ Done
//!                                 │  100, or    │  └─ body not sent ─────────┼──▶ (Head)   End:
//!                                 │  deadline   ▼    (RequestBodyUnfinished) │            Reuse +
//!                                 └──────────▶ SendBody ── finish_body ──────┘            reasons
//!                                                frame_body_chunk (length checked)
//!   any state ── a peer's violation, or the caller's body breaking its length ──▶ Failed
//! ```
//!
//! # Design
//!
//! The caller owns the socket, the buffers and the clock; the call owns every HTTP/1.1 rule of
//! the exchange: the head as prepared, the upload's framing and its announced length, the wait
//! for `100 Continue` and its deadline, interim responses, the response's framing, and the
//! verdict on the connection with every [`CloseReason`] found on the way. An I/O layer is a
//! pump: it writes what the call gives, reads into the buffer the call parses, and tells the
//! call what time it is.
//!
//! Time is an input, as in quinn-proto: [`Call::transmit_head`] takes `now`, [`Call::poll_timeout`]
//! says when the call next needs attention, [`Call::handle_timeout`] tells it the time came. So
//! the 100-continue fallback is tested with made-up instants, never with sleeps.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use bytes::BytesMut;
//! use http::Method;
//! use netaccess_http1::{Call, CallState, Event, RequestFraming};
//!
//! let head = b"PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n".to_vec();
//! let mut call = Call::new(Method::PUT, head, RequestFraming::Length(2))
//!     .expect_continue(Duration::from_secs(1));
//! let start = Instant::now();
//! let _head_bytes = call.transmit_head(start).unwrap();
//! assert_eq!(call.state(), CallState::AwaitContinue);
//! // The server says nothing for a second: the body goes anyway.
//! call.handle_timeout(start + Duration::from_secs(1));
//! assert_eq!(call.state(), CallState::SendBody);
//! let mut frame = Vec::new();
//! let suffix = call.frame_body_chunk(2, &mut frame).unwrap(); // nothing around a sized body
//! assert!(frame.is_empty() && suffix.is_empty());
//! call.finish_body(&mut frame).unwrap();
//! let mut input = BytesMut::from(&b"HTTP/1.1 204 No Content\r\n\r\n"[..]);
//! assert!(matches!(call.read(&mut input), Ok(Some(Event::Head(_)))));
//! assert!(matches!(call.read(&mut input), Ok(Some(Event::End { .. }))));
//! assert!(call.reuse().is_reusable());
//! ```

use std::time::{Duration, Instant};

use bytes::BytesMut;
use http::Method;

use crate::close_reason::{CloseReason, Reuse};
use crate::encode::{encode_chunk_header, RequestFraming, CHUNK_END, LAST_CHUNK};
use crate::error::Http1Error;
use crate::parse::{Framing, Limits};
pub use crate::response::{Event, ResponseReader};

/// Where a [`Call`] is (see the [module docs](self)).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// The head is prepared and not yet handed out.
    SendHead,
    /// The head went with `Expect: 100-continue`; the body waits for `100 Continue` or the
    /// deadline ([`Call::poll_timeout`]).
    AwaitContinue,
    /// The body may be sent, chunk by chunk.
    SendBody,
    /// The request is sent; the response head is awaited (interim responses pass).
    RecvHead,
    /// The final head arrived; the body is read.
    RecvBody,
    /// The response is complete: see [`Call::reuse`].
    Done,
    /// The exchange failed; the connection must be closed.
    Failed,
}

/// One request and its response: see the [module docs](self).
#[derive(Debug)]
pub struct Call {
    state: CallState,
    head: Vec<u8>,
    framing: RequestFraming,
    continue_wait: Option<Duration>,
    deadline: Option<Instant>,
    sent: u64,
    reader: ResponseReader,
}

impl Call {
    /// A call for a request with `method` whose head is `head` (written by
    /// [`encode_request_head`](crate::encode_request_head) or its `_as_written` form, with the
    /// framing header for `framing`).
    pub fn new(method: Method, head: Vec<u8>, framing: RequestFraming) -> Self {
        // A CONNECT answered 2xx makes the connection a tunnel ([`CloseReason::Tunnel`]): the
        // response framing says so.
        let reader = ResponseReader::new(method);
        Self { state: CallState::SendHead, head, framing, continue_wait: None, deadline: None, sent: 0, reader }
    }

    /// The limits on the response (default [`Limits`]); set before anything else.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.reader = ResponseReader::with_limits(self.reader.method().clone(), limits);
        self
    }

    /// The head carries `Expect: 100-continue`: after it, the body waits for `100 Continue`, at
    /// most `wait` (then it goes anyway, as curl does after 1 s). Ignored for a request without
    /// a body.
    #[must_use]
    pub fn expect_continue(mut self, wait: Duration) -> Self {
        if self.framing != RequestFraming::None {
            self.continue_wait = Some(wait);
        }
        self
    }

    /// The connection will be closed after this call whatever the response says: the request
    /// said `Connection: close` ([`CloseReason::ClientClose`]).
    pub fn close_after(&mut self, reason: CloseReason) {
        self.reader.close_after(reason);
    }

    /// Where the call is.
    pub fn state(&self) -> CallState {
        self.state
    }

    /// The request head to write, handed out once; `now` starts the 100-continue wait.
    ///
    /// # Errors
    /// [`Http1Error::OutOfOrder`] when the head was already handed out.
    pub fn transmit_head(&mut self, now: Instant) -> Result<Vec<u8>, Http1Error> {
        if self.state != CallState::SendHead {
            return Err(self.out_of_order("transmit_head"));
        }
        self.state = match (self.framing, self.continue_wait) {
            (RequestFraming::None, _) => CallState::RecvHead,
            (_, Some(wait)) => {
                self.deadline = Some(now + wait);
                CallState::AwaitContinue
            }
            (_, None) => CallState::SendBody,
        };
        Ok(std::mem::take(&mut self.head))
    }

    /// When the call next needs [`handle_timeout`](Self::handle_timeout): the 100-continue
    /// deadline while it waits, else never.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            CallState::AwaitContinue => self.deadline,
            _ => None,
        }
    }

    /// Tells the call the time is `now`. Returns whether that changed its state (the
    /// 100-continue wait ended: the body goes without the server's word).
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        if self.state == CallState::AwaitContinue && self.deadline.is_some_and(|deadline| now >= deadline) {
            self.state = CallState::SendBody;
            self.deadline = None;
            return true;
        }
        false
    }

    /// Frames the next `len` bytes of the body: appends what goes before them to `prefix` (a
    /// chunk-size line when chunked) and returns what goes after them. The bytes themselves are
    /// the caller's to write, uncopied. An empty chunk is skipped (a zero-size chunk would end
    /// a chunked body).
    ///
    /// # Errors
    /// [`Http1Error::UploadLengthMismatch`] when the body grows past its announced length;
    /// [`Http1Error::OutOfOrder`] outside [`CallState::SendBody`].
    pub fn frame_body_chunk(&mut self, len: usize, prefix: &mut Vec<u8>) -> Result<&'static [u8], Http1Error> {
        if self.state != CallState::SendBody {
            return Err(self.out_of_order("frame_body_chunk"));
        }
        if len == 0 {
            return Ok(b"");
        }
        let sent = self.sent + len as u64;
        match self.framing {
            RequestFraming::Length(announced) if sent > announced => {
                self.state = CallState::Failed;
                Err(Http1Error::UploadLengthMismatch { announced, sent })
            }
            RequestFraming::Chunked => {
                self.sent = sent;
                encode_chunk_header(len, prefix);
                Ok(CHUNK_END)
            }
            _ => {
                self.sent = sent;
                Ok(b"")
            }
        }
    }

    /// Ends the body: appends the last chunk when chunked, checks the announced length, and
    /// goes on to the response.
    ///
    /// # Errors
    /// [`Http1Error::UploadLengthMismatch`] when the body fell short of its announced length;
    /// [`Http1Error::OutOfOrder`] outside [`CallState::SendBody`].
    pub fn finish_body(&mut self, out: &mut Vec<u8>) -> Result<(), Http1Error> {
        if self.state != CallState::SendBody {
            return Err(self.out_of_order("finish_body"));
        }
        match self.framing {
            RequestFraming::Length(announced) if self.sent != announced => {
                self.state = CallState::Failed;
                return Err(Http1Error::UploadLengthMismatch { announced, sent: self.sent });
            }
            RequestFraming::Chunked => out.extend_from_slice(LAST_CHUNK),
            _ => {}
        }
        self.state = CallState::RecvHead;
        Ok(())
    }

    /// Body bytes framed so far.
    pub fn body_sent(&self) -> u64 {
        self.sent
    }

    /// The next event from `input`, consuming what it used; `Ok(None)` when more bytes are
    /// needed (or the response is done). Readable from the moment the head is out: a server
    /// may answer before the body is sent, and then the body is not sent at all
    /// ([`CloseReason::RequestBodyUnfinished`]).
    ///
    /// # Errors
    /// The response violates HTTP/1.1 (the call fails; close the connection), or
    /// [`Http1Error::OutOfOrder`] before the head was handed out.
    pub fn read(&mut self, input: &mut BytesMut) -> Result<Option<Event>, Http1Error> {
        match self.state {
            CallState::SendHead => return Err(self.out_of_order("read")),
            CallState::Done | CallState::Failed => return Ok(None),
            _ => {}
        }
        let event = self.reader.read(input);
        self.after(event)
    }

    /// The peer closed the connection; see [`ResponseReader::end_of_input`].
    ///
    /// # Errors
    /// The response was cut short.
    pub fn end_of_input(&mut self, input: &mut BytesMut) -> Result<Option<Event>, Http1Error> {
        if self.state == CallState::SendHead {
            return Err(self.out_of_order("end_of_input"));
        }
        let event = self.reader.end_of_input(input);
        self.after(event)
    }

    fn after(&mut self, event: Result<Option<Event>, Http1Error>) -> Result<Option<Event>, Http1Error> {
        match &event {
            Err(_) => self.state = CallState::Failed,
            Ok(Some(Event::Continue)) if self.state == CallState::AwaitContinue => {
                self.state = CallState::SendBody;
                self.deadline = None;
            }
            Ok(Some(Event::Head(_))) => {
                if matches!(self.state, CallState::AwaitContinue | CallState::SendBody) {
                    // The final answer came before the body went: the server will not read it,
                    // and the connection cannot be trusted with another request.
                    self.reader.close_after(CloseReason::RequestBodyUnfinished);
                }
                self.state = CallState::RecvBody;
            }
            Ok(Some(Event::End { .. })) => self.state = CallState::Done,
            Ok(_) => {}
        }
        event
    }

    /// Whether any byte of a response arrived (a request that failed before any did may be
    /// retried on a fresh connection when it is replayable).
    pub fn saw_response_bytes(&self) -> bool {
        self.reader.saw_response_bytes()
    }

    /// How the final response's body is delimited, once its head was read.
    pub fn body_framing(&self) -> Option<Framing> {
        self.reader.body_framing()
    }

    /// Whether the connection may carry another request: only once the call is done and no
    /// reason forbids it.
    pub fn reuse(&self) -> Reuse {
        match self.state {
            CallState::Done => self.reader.reuse(),
            CallState::Failed => Reuse::Close(CloseReason::Failed),
            _ => Reuse::Close(CloseReason::Unfinished),
        }
    }

    /// Every reason found why the connection may not carry another request, first found
    /// first, with [`CloseReason::Unfinished`] or [`CloseReason::Failed`] at the end when the
    /// call did not complete.
    pub fn close_reasons(&self) -> Vec<CloseReason> {
        let mut reasons = self.reader.close_reasons().to_vec();
        match self.state {
            CallState::Done => {}
            CallState::Failed => reasons.push(CloseReason::Failed),
            _ => reasons.push(CloseReason::Unfinished),
        }
        reasons
    }

    fn out_of_order(&self, action: &'static str) -> Http1Error {
        Http1Error::OutOfOrder { action, state: format!("{:?}", self.state) }
    }
}
