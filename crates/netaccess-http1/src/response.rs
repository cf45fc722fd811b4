//! [`ResponseReader`]: the response side of one request on a connection, as a state machine
//! over bytes. [`Call`](crate::Call) drives it for a whole request; it is usable alone for a
//! response whose request was sent some other way.
//!
//! ```text
//!                  1xx head: Continue (100) or Informational event, headers dropped
//!                 ┌─────┐
//!                 ▼     │
//!   new ──▶ ┌──────────────┐  final head   ┌──────────┐  Data events
//!           │ AwaitingHead │ ────────────▶ │   Body   │ ──────┐
//!           └──────────────┘  Head event   └──────────┘ ◀─────┘
//!                 │ malformed                   │ end of framing (or of input,
//!                 ▼                             ▼ for a close-delimited body)
//!           ┌──────────────┐              ┌──────────┐
//!           │    Failed    │ ◀─────────── │   Done   │  End event: trailers + Reuse
//!           └──────────────┘  malformed   └──────────┘
//! ```
//!
//! # Design
//!
//! The caller owns the socket and the buffer: it appends what it reads to a `BytesMut`, calls
//! [`ResponseReader::read`] until it returns `Ok(None)` (more bytes needed), and calls
//! [`ResponseReader::end_of_input`] when the peer closed. There is no clock: timeouts are the
//! caller's.
//!
//! ```
//! use bytes::BytesMut;
//! use http::Method;
//! use netaccess_http1::{Event, ResponseReader};
//!
//! let mut reader = ResponseReader::new(Method::GET);
//! let mut input = BytesMut::from(&b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"[..]);
//! assert!(matches!(reader.read(&mut input), Ok(Some(Event::Continue))));
//! let Ok(Some(Event::Head(head))) = reader.read(&mut input) else { panic!() };
//! assert_eq!(head.status, 200);
//! let Ok(Some(Event::Data(data))) = reader.read(&mut input) else { panic!() };
//! assert_eq!(&data[..], b"hi");
//! let Ok(Some(Event::End { reuse, .. })) = reader.read(&mut input) else { panic!() };
//! assert!(reuse.is_reusable());
//! ```

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, StatusCode};

use crate::close_reason::{CloseReason, Reuse};
use crate::decode::{BodyDecoder, Decoded};
use crate::error::Http1Error;
use crate::parse::{framing, keep_alive, parse_head, Framing, Limits, ResponseHead};

/// Something the reader found in the input.
#[non_exhaustive]
#[derive(Debug)]
pub enum Event {
    /// `100 Continue`: the request body may be sent.
    Continue,
    /// Another 1xx response (102, 103, ...): skipped; its headers are not exposed.
    Informational(StatusCode),
    /// The final response head.
    Head(ResponseHead),
    /// A piece of the body (after transfer decoding).
    Data(Bytes),
    /// The response is complete.
    End {
        /// The chunked trailers, if any.
        trailers: HeaderMap,
        /// Whether the connection may carry another request.
        reuse: Reuse,
    },
}

#[derive(Debug)]
enum Phase {
    AwaitingHead,
    Body(Option<BodyDecoder>),
    Done,
    Failed,
}

/// Reads one response: see the [module docs](self).
#[derive(Debug)]
pub struct ResponseReader {
    method: Method,
    limits: Limits,
    phase: Phase,
    /// Every reason the connection may not carry another request, in the order they appeared.
    reasons: Vec<CloseReason>,
    saw_bytes: bool,
    body_framing: Option<Framing>,
}

impl ResponseReader {
    /// A reader for the response to a request with `method`, with default [`Limits`].
    pub fn new(method: Method) -> Self {
        Self::with_limits(method, Limits::default())
    }

    /// A reader with the given limits.
    pub fn with_limits(method: Method, limits: Limits) -> Self {
        Self { method, limits, phase: Phase::AwaitingHead, reasons: Vec::new(), saw_bytes: false, body_framing: None }
    }

    /// Records that the request said `Connection: close` (or could not be sent whole): the
    /// connection will not be reused whatever the response says.
    pub fn close_after(&mut self, reason: CloseReason) {
        if !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
    }

    fn close_if(&mut self, reuse: Reuse) {
        if let Reuse::Close(reason) = reuse {
            self.close_after(reason);
        }
    }

    /// Every reason found so far why the connection may not carry another request, first
    /// found first (a response not read to its end adds [`CloseReason::Unfinished`] only in
    /// [`reuse`](Self::reuse)).
    pub fn close_reasons(&self) -> &[CloseReason] {
        &self.reasons
    }

    fn verdict(&self) -> Reuse {
        self.reasons.first().map_or(Reuse::Reusable, |reason| Reuse::Close(*reason))
    }

    /// The method of the request this reader answers.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// Whether any byte of a response arrived. A request that failed before any did may be
    /// retried on a fresh connection when it is replayable.
    pub fn saw_response_bytes(&self) -> bool {
        self.saw_bytes
    }

    /// How the final response's body is delimited, once its head was read.
    pub fn body_framing(&self) -> Option<Framing> {
        self.body_framing
    }

    /// Whether the response is complete.
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// Whether the connection may carry another request now: only once the response is complete
    /// and nothing forbids it.
    pub fn reuse(&self) -> Reuse {
        match self.phase {
            Phase::Done => self.verdict(),
            _ => Reuse::Close(CloseReason::Unfinished),
        }
    }

    /// The next event from `input`, consuming what it used; `Ok(None)` when more bytes are
    /// needed (or the response is done).
    ///
    /// # Errors
    /// The response violates HTTP/1.1; the connection must be closed.
    pub fn read(&mut self, input: &mut BytesMut) -> Result<Option<Event>, Http1Error> {
        let result = self.step(input);
        if result.is_err() {
            self.phase = Phase::Failed;
        }
        result
    }

    fn step(&mut self, input: &mut BytesMut) -> Result<Option<Event>, Http1Error> {
        match &mut self.phase {
            Phase::AwaitingHead => {
                self.saw_bytes |= !input.is_empty();
                let Some(head) = parse_head(input, &self.limits)? else {
                    return Ok(None);
                };
                match head.status.as_u16() {
                    101 => Err(Http1Error::UnexpectedSwitchingProtocols),
                    100 => Ok(Some(Event::Continue)),
                    102..=199 => Ok(Some(Event::Informational(head.status))),
                    _ => {
                        let (framing, framing_reuse) = framing(&self.method, &head)?;
                        self.close_if(framing_reuse);
                        self.close_if(keep_alive(&head));
                        self.body_framing = Some(framing);
                        self.phase = Phase::Body(BodyDecoder::new(framing));
                        Ok(Some(Event::Head(head)))
                    }
                }
            }
            Phase::Body(decoder) => {
                let Some(body) = decoder.as_mut().filter(|d| !d.is_complete()) else {
                    return Ok(Some(self.finish(input, HeaderMap::new())));
                };
                match body.decode(input, &self.limits)? {
                    Decoded::Data(data) => Ok(Some(Event::Data(data))),
                    Decoded::End(trailers) => Ok(Some(self.finish(input, trailers))),
                    Decoded::NeedMore => Ok(None),
                }
            }
            Phase::Done | Phase::Failed => Ok(None),
        }
    }

    fn finish(&mut self, input: &BytesMut, trailers: HeaderMap) -> Event {
        if !input.is_empty() {
            self.close_after(CloseReason::UnsolicitedData);
        }
        self.phase = Phase::Done;
        Event::End { trailers, reuse: self.verdict() }
    }

    /// The peer closed the connection. Call [`read`](Self::read) until it returns `Ok(None)`
    /// first. Returns the `End` of a close-delimited body, or `None` when the response was
    /// already complete.
    ///
    /// # Errors
    /// The response was cut short (`IncompleteHead`, `IncompleteBody`).
    pub fn end_of_input(&mut self, input: &mut BytesMut) -> Result<Option<Event>, Http1Error> {
        let result = match &self.phase {
            Phase::AwaitingHead => Err(Http1Error::IncompleteHead),
            Phase::Body(None) => Ok(Some(self.finish(input, HeaderMap::new()))),
            Phase::Body(Some(decoder)) => match decoder.eof() {
                Ok(()) => Ok(Some(self.finish(input, HeaderMap::new()))),
                Err(err) => Err(err),
            },
            Phase::Done | Phase::Failed => Ok(None),
        };
        if result.is_err() {
            self.phase = Phase::Failed;
        }
        result
    }
}
