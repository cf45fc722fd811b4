//! One request on one connection: write the head and the body, read the response head, then
//! stream the body and give the connection back.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http::Method;
use netaccess_core::{Body, BodyStream, EventSink, NetworkError, NetworkErrorKind, UploadProgress};
use netaccess_http1::{
    encode_chunk_header, CloseReason, Event, Framing, Http1Error, RequestFraming, ResponseHead, ResponseReader,
    CHUNK_END, LAST_CHUNK,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::connection::{Connection, READ_BUFFER};
use crate::decompress::Decompressor;
use crate::errors::{protocol_error, transfer_error};
use crate::pool::{Pool, Slot};

/// How long a request with `Expect: 100-continue` waits for the server's go-ahead before
/// sending its body anyway (curl waits 1 s).
pub const EXPECT_CONTINUE_WAIT: Duration = Duration::from_secs(1);

/// What a request sends.
#[derive(Clone, Copy)]
pub(crate) struct Outgoing<'a> {
    pub(crate) url: &'a str,
    pub(crate) method: &'a Method,
    pub(crate) head: &'a [u8],
    pub(crate) framing: RequestFraming,
    pub(crate) expect_continue: bool,
    pub(crate) close_after: bool,
    pub(crate) events: &'a EventSink,
    pub(crate) emit_all_upload_progress: bool,
    pub(crate) limits: netaccess_http1::Limits,
}

/// A failed exchange, and whether it may be retried on a fresh connection: nothing of a
/// response arrived and the failure was the connection's.
pub(crate) struct Failed {
    pub(crate) error: NetworkError,
    pub(crate) before_response: bool,
}

impl From<NetworkError> for Failed {
    fn from(error: NetworkError) -> Self {
        Failed { error, before_response: false }
    }
}

/// A response head and what is needed to read its body.
pub(crate) struct Incoming {
    pub(crate) head: ResponseHead,
    connection: Connection,
    reader: ResponseReader,
}

impl Incoming {
    /// What the connection's TLS showed, if it is encrypted.
    pub(crate) fn tls(&self) -> Option<&crate::connection::TlsInfo> {
        self.connection.tls.as_ref()
    }

    /// How the body is delimited, as the reader decided from the head.
    pub(crate) fn framing(&self) -> Framing {
        self.reader.body_framing().unwrap_or(Framing::CloseDelimited)
    }
}

pub(crate) async fn exchange(mut connection: Connection, out: Outgoing<'_>, body: Body) -> Result<Incoming, Failed> {
    let mut reader = ResponseReader::with_limits(out.method.clone(), out.limits);
    if out.close_after {
        reader.close_after(CloseReason::ClientClose);
    }
    let connection_failed =
        |error: NetworkError, reader: &ResponseReader| Failed { error, before_response: !reader.saw_response_bytes() };

    connection
        .io
        .write_all(out.head)
        .await
        .map_err(|e| connection_failed(transfer_error(out.url, "sending the request", e), &reader))?;
    let mut early_head = None;
    if out.framing != RequestFraming::None {
        let send_body = if out.expect_continue {
            connection
                .io
                .flush()
                .await
                .map_err(|e| connection_failed(transfer_error(out.url, "sending the request", e), &reader))?;
            match tokio::time::timeout(EXPECT_CONTINUE_WAIT, read_head(&mut connection, &mut reader, out.url, true))
                .await
            {
                Err(_elapsed) => true,
                Ok(Ok(None)) => true,
                Ok(Ok(Some(head))) => {
                    early_head = Some(head);
                    false
                }
                Ok(Err(error)) => return Err(connection_failed(error, &reader)),
            }
        } else {
            true
        };
        if send_body {
            upload(&mut connection, &out, body).await.map_err(|failed| Failed {
                before_response: failed.before_response && !reader.saw_response_bytes(),
                ..failed
            })?;
        } else {
            reader.close_after(CloseReason::RequestBodyUnfinished);
        }
    }
    connection
        .io
        .flush()
        .await
        .map_err(|e| connection_failed(transfer_error(out.url, "sending the request", e), &reader))?;
    let head = match early_head {
        Some(head) => head,
        None => match read_head(&mut connection, &mut reader, out.url, false).await {
            Ok(Some(head)) => head,
            Ok(None) => unreachable!("read_head without stop_at_continue returns a head or fails"),
            Err(error) => return Err(connection_failed(error, &reader)),
        },
    };
    Ok(Incoming { head, connection, reader })
}

/// Reads until the final response head; with `stop_at_continue`, a `100 Continue` ends the wait
/// with `None`.
async fn read_head(
    connection: &mut Connection,
    reader: &mut ResponseReader,
    url: &str,
    stop_at_continue: bool,
) -> Result<Option<ResponseHead>, NetworkError> {
    loop {
        match reader.read(&mut connection.buffer).map_err(|e| protocol_error(url, e))? {
            Some(Event::Head(head)) => return Ok(Some(head)),
            Some(Event::Continue) if stop_at_continue => return Ok(None),
            Some(_) => {}
            None => {
                if fill(connection).await.map_err(|e| transfer_error(url, "reading the response", e))? == 0 {
                    let error = reader.end_of_input(&mut connection.buffer).err().unwrap_or(Http1Error::IncompleteHead);
                    return Err(protocol_error(url, error));
                }
            }
        }
    }
}

async fn fill(connection: &mut Connection) -> std::io::Result<usize> {
    let room = connection.read_size;
    if connection.buffer.capacity() - connection.buffer.len() < room / 4 {
        connection.buffer.reserve(room);
    }
    let spare = connection.buffer.capacity() - connection.buffer.len();
    let read = connection.io.read_buf(&mut connection.buffer).await?;
    if read == spare && room < READ_BUFFER {
        connection.read_size = room * 2;
    }
    Ok(read)
}

async fn upload(connection: &mut Connection, out: &Outgoing<'_>, body: Body) -> Result<(), Failed> {
    let announced = match out.framing {
        RequestFraming::Length(n) => Some(n),
        _ => None,
    };
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
        if announced.is_some_and(|n| progress.sent() + chunk.len() as u64 > n) {
            return Err(length_mismatch(out.url, announced, "more"));
        }
        if out.framing == RequestFraming::Chunked {
            frame.clear();
            encode_chunk_header(chunk.len(), &mut frame);
            connection.io.write_all(&frame).await.map_err(write_failed)?;
            connection.io.write_all(&chunk).await.map_err(write_failed)?;
            connection.io.write_all(CHUNK_END).await.map_err(write_failed)?;
        } else {
            connection.io.write_all(&chunk).await.map_err(write_failed)?;
        }
        progress.advance(chunk.len() as u64).await;
    }
    if announced.is_some_and(|n| progress.sent() != n) {
        return Err(length_mismatch(out.url, announced, "fewer"));
    }
    if out.framing == RequestFraming::Chunked {
        connection.io.write_all(LAST_CHUNK).await.map_err(write_failed)?;
    }
    progress.finish().await;
    Ok(())
}

fn length_mismatch(url: &str, announced: Option<u64>, which: &str) -> Failed {
    Failed::from(NetworkError::new(
        NetworkErrorKind::UnknownContentError,
        url,
        format!("the upload body produced {which} bytes than its announced length {}", announced.unwrap_or(0)),
    ))
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
        reader: incoming.reader,
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
    reader: ResponseReader,
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
                Event::End { reuse, .. } => {
                    let tail = self.decompressor.take().map(Decompressor::finish);
                    let connection = self.connection.take();
                    let slot = self.slot.take();
                    let poolable = connection.as_ref().is_some_and(|c| c.poolable);
                    if let (Some(mut connection), Some(slot), true) =
                        (connection, slot.as_ref(), reuse.is_reusable() && poolable)
                    {
                        connection.reused = true;
                        self.pool.put_idle(slot, connection);
                    }
                    drop(slot);
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
            if let Some(event) = self.reader.read(&mut connection.buffer).map_err(|e| protocol_error(&self.url, e))? {
                return Ok(Some(event));
            }
            let read = fill(connection).await.map_err(|e| transfer_error(&self.url, "reading the response body", e))?;
            if read == 0 {
                return self.reader.end_of_input(&mut connection.buffer).map_err(|e| protocol_error(&self.url, e));
            }
        }
    }

    /// Drops the connection (its framing is in doubt) and the slot.
    fn fail(&mut self, error: NetworkError) -> NetworkError {
        self.connection = None;
        self.slot = None;
        error
    }
}

fn decode_failure(url: &str, err: &crate::decompress::DecodeError) -> NetworkError {
    NetworkError::new(NetworkErrorKind::ProtocolFailure, url, err.to_string())
}
