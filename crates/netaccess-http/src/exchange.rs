//! One request on one connection: a pump for [`Call`], the HTTP/1.1 core's state machine.
//!
//! # Design
//!
//! Every rule of the exchange is the call's: the upload's framing and announced length, the
//! wait for `100 Continue` and its deadline, interim responses, the response's framing and the
//! verdict on the connection. This module moves bytes between the socket and the call, and
//! turns the call's deadline into a timer: it holds no HTTP/1.1 rule of its own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use netaccess_core::{Body, BodyStream, NetworkError, NetworkErrorKind, ReplyEvent, UploadProgress};
use netaccess_http1::{Call, CallState, CloseReason, Event, Framing, Http1Error, ResponseHead};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::connection::{Connection, READ_BUFFER};
use crate::decompress::Decompressor;
use crate::errors::{protocol_error, transfer_error};
use crate::outgoing::{Failed, Outgoing};
use crate::pool::{Pool, Slot};

/// How long a request with `Expect: 100-continue` waits for the server's go-ahead before
/// sending its body anyway (curl waits 1 s).
pub const EXPECT_CONTINUE_WAIT: Duration = Duration::from_secs(1);

/// A response head and what is needed to read its body.
pub(crate) struct Incoming {
    pub(crate) head: ResponseHead,
    connection: Connection,
    call: Call,
    /// When the whole request was written (`None` when the server answered before the body
    /// was sent).
    pub(crate) sent: Option<Instant>,
}

impl Incoming {
    /// What the connection's TLS showed, if it is encrypted.
    pub(crate) fn tls(&self) -> Option<&crate::connection::TlsInfo> {
        self.connection.tls.as_ref()
    }

    /// The connection's facts, as this request found it, and the moments of this exchange
    /// (the opening ones only when this request opened the connection).
    pub(crate) fn facts(&self) -> (Option<netaccess_core::ConnectionFacts>, netaccess_core::Milestones) {
        let mut milestones = self.connection.opened;
        milestones.sent = self.sent;
        milestones.first_byte = self.connection.first_byte;
        let mut facts = self.connection.facts.clone();
        if let Some(facts) = &mut facts {
            facts.reused = self.connection.reused;
        }
        (facts, milestones)
    }

    /// How the body is delimited, as the call decided from the head.
    pub(crate) fn framing(&self) -> Framing {
        self.call.body_framing().unwrap_or(Framing::CloseDelimited)
    }
}

/// Sends the request on `connection` and reads until the final response head.
pub(crate) async fn exchange(
    mut connection: Connection,
    out: Outgoing<'_>,
    head: Vec<u8>,
    body: Body,
) -> Result<Incoming, Failed> {
    let mut call = Call::new(out.method.clone(), head, out.framing).with_limits(out.limits);
    if out.expect_continue {
        call = call.expect_continue(EXPECT_CONTINUE_WAIT);
    }
    if out.close_after {
        call.close_after(CloseReason::ClientClose);
    }
    // The connection is dropped with a failed exchange: say why, as the pool does.
    let failed = |error: NetworkError, call: &Call| {
        tracing::debug!(url = out.url, reasons = ?call.close_reasons(), %error, "closing a connection");
        Failed { error, before_response: !call.saw_response_bytes() }
    };
    let sending = |e| transfer_error(out.url, "sending the request", e);

    connection.first_byte = None;
    let head = call.transmit_head(Instant::now()).map_err(|e| Failed::from(protocol_error(out.url, e)))?;
    connection.io.write_all(&head).await.map_err(|e| failed(sending(e), &call))?;
    let mut early_head = None;
    if call.state() == CallState::AwaitContinue {
        connection.io.flush().await.map_err(|e| failed(sending(e), &call))?;
        early_head = await_continue(&mut connection, &mut call, out.url).await.map_err(|e| failed(e, &call))?;
    }
    if call.state() == CallState::SendBody {
        if let Err(failure) = upload(&mut connection, &mut call, &out, body).await {
            let before_response = failure.before_response && !call.saw_response_bytes();
            return Err(Failed { before_response, ..failed(failure.error, &call) });
        }
    }
    connection.io.flush().await.map_err(|e| failed(sending(e), &call))?;
    let mut sent = None;
    let head = match early_head {
        Some(head) => head,
        None => {
            sent = Some(Instant::now());
            out.events.send_quietly(ReplyEvent::RequestSent).await;
            let reading = read_head(&mut connection, &mut call, out.url);
            let limit = out.head_timeout;
            netaccess_core::within_limit(limit, reading, || {
                NetworkError::new(
                    NetworkErrorKind::TimeoutError,
                    out.url,
                    format!("no response head within {} ms of sending (the response head timeout)", limit.as_millis()),
                )
            })
            .await
            .map_err(|e| failed(e, &call))?
        }
    };
    Ok(Incoming { head, connection, call, sent })
}

/// Reads while the call waits for `100 Continue`, until its deadline: returns the final head
/// when the server answered at once (the body is then not sent), else `None`.
async fn await_continue(
    connection: &mut Connection,
    call: &mut Call,
    url: &str,
) -> Result<Option<ResponseHead>, NetworkError> {
    while call.state() == CallState::AwaitContinue {
        if let Some(event) = call.read(&mut connection.buffer).map_err(|e| protocol_error(url, e))? {
            if let Event::Head(head) = event {
                return Ok(Some(head));
            }
            continue;
        }
        let Some(deadline) = call.poll_timeout() else { break };
        match tokio::time::timeout_at(deadline.into(), fill(connection)).await {
            Err(_elapsed) => {
                call.handle_timeout(Instant::now());
            }
            Ok(read) => {
                if read.map_err(|e| transfer_error(url, "reading the response", e))? == 0 {
                    return Err(closed_before_head(connection, call, url));
                }
            }
        }
    }
    Ok(None)
}

/// Reads until the final response head.
async fn read_head(connection: &mut Connection, call: &mut Call, url: &str) -> Result<ResponseHead, NetworkError> {
    loop {
        match call.read(&mut connection.buffer).map_err(|e| protocol_error(url, e))? {
            Some(Event::Head(head)) => return Ok(head),
            Some(_) => {}
            None => {
                if fill(connection).await.map_err(|e| transfer_error(url, "reading the response", e))? == 0 {
                    return Err(closed_before_head(connection, call, url));
                }
            }
        }
    }
}

/// The peer closed before the final head: what the call makes of the end.
fn closed_before_head(connection: &mut Connection, call: &mut Call, url: &str) -> NetworkError {
    let error = call.end_of_input(&mut connection.buffer).err().unwrap_or(Http1Error::IncompleteHead);
    protocol_error(url, error)
}

async fn fill(connection: &mut Connection) -> std::io::Result<usize> {
    let room = connection.read_size;
    if connection.buffer.capacity() - connection.buffer.len() < room / 4 {
        connection.buffer.reserve(room);
    }
    let spare = connection.buffer.capacity() - connection.buffer.len();
    let read = connection.io.read_buf(&mut connection.buffer).await?;
    if connection.first_byte.is_none() && read > 0 {
        connection.first_byte = Some(Instant::now());
    }
    if read == spare && room < READ_BUFFER {
        connection.read_size = room * 2;
    }
    Ok(read)
}

/// Writes the body as the call frames it.
async fn upload(connection: &mut Connection, call: &mut Call, out: &Outgoing<'_>, body: Body) -> Result<(), Failed> {
    let mut progress = UploadProgress::new(out.events.clone(), body.len(), out.emit_all_upload_progress);
    let mut chunks = body.into_stream();
    let write_failed =
        |e| Failed { error: transfer_error(out.url, "sending the request body", e), before_response: true };
    let mut frame = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|err| Failed::from(NetworkError::upload_body(out.url, err)))?;
        if chunk.is_empty() {
            continue;
        }
        frame.clear();
        let suffix = call.frame_body_chunk(chunk.len(), &mut frame).map_err(|e| upload_error(out.url, e))?;
        if !frame.is_empty() {
            connection.io.write_all(&frame).await.map_err(write_failed)?;
        }
        connection.io.write_all(&chunk).await.map_err(write_failed)?;
        if !suffix.is_empty() {
            connection.io.write_all(suffix).await.map_err(write_failed)?;
        }
        progress.advance(chunk.len() as u64).await;
    }
    frame.clear();
    call.finish_body(&mut frame).map_err(|e| upload_error(out.url, e))?;
    if !frame.is_empty() {
        connection.io.write_all(&frame).await.map_err(write_failed)?;
    }
    progress.finish().await;
    Ok(())
}

fn upload_error(url: &str, error: Http1Error) -> Failed {
    Failed::from(NetworkError::new(NetworkErrorKind::UnknownContentError, url, error.to_string()))
}

/// Streams the body of `incoming`, decoding it when asked, and returns the connection to the
/// pool when the response ends cleanly on a reusable connection.
pub(crate) fn body_stream(
    incoming: Incoming,
    decompressor: Option<Decompressor>,
    pool: Arc<Pool>,
    slot: Slot,
    url: String,
) -> BodyStream {
    let state = BodyState {
        connection: Some(incoming.connection),
        call: incoming.call,
        decompressor,
        pool,
        slot: Some(slot),
        url,
    };
    Box::pin(futures::stream::unfold(state, |mut state| async move {
        let item = state.next_chunk().await?;
        Some((item, state))
    }))
}

struct BodyState {
    connection: Option<Connection>,
    call: Call,
    decompressor: Option<Decompressor>,
    pool: Arc<Pool>,
    slot: Option<Slot>,
    url: String,
}

impl BodyState {
    async fn next_chunk(&mut self) -> Option<Result<Bytes, NetworkError>> {
        loop {
            if let Some(decoder) = &mut self.decompressor {
                match decoder.next_output() {
                    Ok(Some(out)) => return Some(Ok(out)),
                    Ok(None) => {}
                    Err(err) => return Some(Err(self.fail(decode_failure(&self.url, &err)))),
                }
            }
            let event = match self.next_event().await {
                Ok(Some(event)) => event,
                Ok(None) => return None,
                Err(error) => return Some(Err(self.fail(error))),
            };
            match event {
                Event::Data(data) => match &mut self.decompressor {
                    None => return Some(Ok(data)),
                    Some(decoder) => decoder.push(data),
                },
                Event::End { .. } => {
                    let tail = self.decompressor.take().map(Decompressor::finish);
                    if let (Some(connection), Some(slot)) = (self.connection.take(), self.slot.take()) {
                        self.pool.give_back(slot, connection, &self.call.close_reasons(), Instant::now());
                    }
                    return match tail {
                        Some(Ok(out)) if !out.is_empty() => Some(Ok(out)),
                        Some(Err(err)) => Some(Err(decode_failure(&self.url, &err))),
                        _ => None,
                    };
                }
                _ => {}
            }
        }
    }

    async fn next_event(&mut self) -> Result<Option<Event>, NetworkError> {
        loop {
            let Some(connection) = self.connection.as_mut() else {
                return Ok(None);
            };
            if let Some(event) = self.call.read(&mut connection.buffer).map_err(|e| protocol_error(&self.url, e))? {
                return Ok(Some(event));
            }
            let read = fill(connection).await.map_err(|e| transfer_error(&self.url, "reading the response body", e))?;
            if read == 0 {
                return self.call.end_of_input(&mut connection.buffer).map_err(|e| protocol_error(&self.url, e));
            }
        }
    }

    /// Closes the connection (its framing is in doubt) and frees the slot.
    fn fail(&mut self, error: NetworkError) -> NetworkError {
        if let (Some(connection), Some(slot)) = (self.connection.take(), self.slot.take()) {
            self.pool.give_back(slot, connection, &[CloseReason::Failed], Instant::now());
        }
        error
    }
}

impl Drop for BodyState {
    /// A body dropped before its end (the reply was aborted): the connection is closed, with
    /// the reason logged ([`CloseReason::Unfinished`] among the call's).
    fn drop(&mut self) {
        if let (Some(connection), Some(slot)) = (self.connection.take(), self.slot.take()) {
            self.pool.give_back(slot, connection, &self.call.close_reasons(), Instant::now());
        }
    }
}

pub(crate) fn decode_failure(url: &str, err: &crate::decompress::DecodeError) -> NetworkError {
    NetworkError::new(NetworkErrorKind::ProtocolFailure, url, err.to_string())
}
