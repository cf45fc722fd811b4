//! The HTTP/1.1 response reader, fed responses built from a vocabulary rather than raw bytes:
//! interim responses, a status, header fields that drive the logic (framing, connection
//! management) and neutral ones, a body framed by length, chunks or the end of the connection,
//! bytes behind the response, and at most one damage from the list smugglers and broken servers
//! use. Raw-byte fuzzing (`http1_response`) rarely builds a chunked body whose sizes add up; this
//! target starts from responses that are right and checks the answer exactly.
//!
//! Properties, for every case: no panic; the outcome does not depend on how the bytes were cut
//! into reads; the body never holds more bytes than arrived. For an undamaged case: exactly the
//! interim events, the status, the body and the reuse verdict that the case describes, and the
//! bytes behind a delimited response are left unread and, read along with it, forbid reuse (a
//! later request never reads them). For the
//! framing damages whose answer RFC 9112 fixes: conflicting `Content-Length` values fail,
//! `chunked` not last fails, and `Content-Length` beside `chunked` decodes the chunks but never
//! lets the connection be reused.
#![no_main]

use bytes::BytesMut;
use http::Method;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use netaccess_http1::{Call, Event, RequestFraming};

#[derive(Arbitrary, Debug)]
struct Case {
    head_request: bool,
    http10: bool,
    interim: Vec<Interim>,
    status: Status,
    fields: Vec<Field>,
    framing: BodyFraming,
    body: Vec<u8>,
    behind: Vec<u8>,
    damage: Option<Damage>,
    cut: u8,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Interim {
    Continue,
    Processing,
    EarlyHints,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Status {
    Ok,
    Created,
    NoContent,
    PartialContent,
    MovedPermanently,
    NotModified,
    NotFound,
    ServerError,
    Other(u16),
}

impl Status {
    fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::Created => 201,
            Status::NoContent => 204,
            Status::PartialContent => 206,
            Status::MovedPermanently => 301,
            Status::NotModified => 304,
            Status::NotFound => 404,
            Status::ServerError => 500,
            Status::Other(n) => 200 + n % 400,
        }
    }
}

/// Header fields that do not decide the framing.
#[derive(Arbitrary, Debug, Clone)]
enum Field {
    ContentType,
    Date,
    CacheControl(u8),
    SetCookie(u8),
    ConnectionClose,
    ConnectionKeepAlive,
    KeepAliveTimeout(u8),
    ContentEncodingGzip,
    Custom(u8, Vec<u8>),
}

impl Field {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Field::ContentType => out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n"),
            Field::Date => out.extend_from_slice(b"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"),
            Field::CacheControl(n) => out.extend_from_slice(format!("Cache-Control: max-age={n}\r\n").as_bytes()),
            Field::SetCookie(n) => out.extend_from_slice(format!("Set-Cookie: id={n}; Path=/\r\n").as_bytes()),
            Field::ConnectionClose => out.extend_from_slice(b"Connection: close\r\n"),
            Field::ConnectionKeepAlive => out.extend_from_slice(b"Connection: keep-alive\r\n"),
            Field::KeepAliveTimeout(n) => out.extend_from_slice(format!("Keep-Alive: timeout={n}\r\n").as_bytes()),
            // Decoding is the caller's: the reader passes the bytes on as they are.
            Field::ContentEncodingGzip => out.extend_from_slice(b"Content-Encoding: gzip\r\n"),
            Field::Custom(n, value) => {
                out.extend_from_slice(format!("X-Field-{n}: ").as_bytes());
                // Visible characters and inner spaces only: what a field value may hold.
                let value: Vec<u8> = value.iter().map(|b| b' ' + 1 + b % 94).collect();
                out.extend_from_slice(&value);
                out.extend_from_slice(b"\r\n");
            }
        }
    }

    fn connection(&self) -> Option<bool> {
        match self {
            Field::ConnectionClose => Some(false),
            Field::ConnectionKeepAlive => Some(true),
            _ => None,
        }
    }
}

#[derive(Arbitrary, Debug, Clone)]
enum BodyFraming {
    Length,
    Chunked { sizes: Vec<u16>, extension: bool, trailers: Vec<Field> },
    CloseDelimited,
}

/// What broken servers and smugglers send.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Damage {
    /// Two `Content-Length` fields that disagree.
    ConflictingLengths(u8),
    /// `Content-Length` beside `Transfer-Encoding: chunked`.
    LengthBesideChunked(u8),
    /// `Transfer-Encoding: chunked, gzip`.
    ChunkedNotLast,
    /// A chunk size that is not hexadecimal.
    BadChunkSize,
    /// A chunk size past `u64`.
    HugeChunkSize,
    /// A chunk without its CRLF.
    MissingChunkEnd,
    /// A header line folded onto the next (obs-fold).
    FoldedField,
    /// Whitespace between a field name and its colon.
    SpaceBeforeColon,
    /// Lines ended by LF alone.
    BareLineFeeds,
    /// The response cut at some byte.
    Truncated(u16),
    /// One byte replaced.
    Flipped(u16, u8),
}

/// What the case says the reader must find.
#[derive(Debug)]
struct Expected {
    interims: Vec<u16>,
    status: u16,
    body: Vec<u8>,
    reusable: bool,
    behind: Vec<u8>,
}

/// A case written out: the bytes, where the final status line and the final head end, whether
/// the framing is consulted (a body may follow), how it is framed, and what must be found.
struct Built {
    bytes: Vec<u8>,
    status_line_end: usize,
    head_end: usize,
    has_body: bool,
    chunked: bool,
    length_framed: bool,
    expected: Expected,
}

fn build(case: &Case) -> Built {
    let status = case.status.code();
    let has_body = !case.head_request && status != 204 && status != 304;
    let version = if case.http10 { "HTTP/1.0" } else { "HTTP/1.1" };
    let mut out = Vec::new();
    let mut interims = Vec::new();
    for interim in case.interim.iter().take(3) {
        let (code, text) = match interim {
            Interim::Continue => (100, "Continue"),
            Interim::Processing => (102, "Processing"),
            Interim::EarlyHints => (103, "Early Hints"),
        };
        out.extend_from_slice(format!("{version} {code} {text}\r\nX-Interim: 1\r\n\r\n").as_bytes());
        interims.push(code);
    }
    out.extend_from_slice(format!("{version} {status} Reason\r\n").as_bytes());
    let status_line_end = out.len();
    let fields: Vec<&Field> = case.fields.iter().take(12).collect();
    for field in &fields {
        field.write(&mut out);
    }
    let body: Vec<u8> = case.body.iter().take(4096).copied().collect();
    // HTTP/1.0 has no chunked coding: such a case is sent delimited by its length.
    let framing = match (&case.framing, case.http10) {
        (BodyFraming::Chunked { .. }, true) => BodyFraming::Length,
        (framing, _) => framing.clone(),
    };
    let mut chunked_body = Vec::new();
    match &framing {
        BodyFraming::Length => {
            if status != 204 {
                out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
            }
        }
        BodyFraming::Chunked { sizes, extension, trailers } => {
            if status != 204 {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
            }
            let mut rest = &body[..];
            let mut sizes = sizes.iter().map(|s| usize::from(*s % 1024) + 1).cycle();
            while !rest.is_empty() {
                let size = sizes.next().unwrap_or(rest.len()).min(rest.len());
                let ext = if *extension { ";name=value" } else { "" };
                chunked_body.extend_from_slice(format!("{size:x}{ext}\r\n").as_bytes());
                chunked_body.extend_from_slice(&rest[..size]);
                chunked_body.extend_from_slice(b"\r\n");
                rest = &rest[size..];
            }
            chunked_body.extend_from_slice(b"0\r\n");
            for trailer in trailers.iter().take(4) {
                trailer.write(&mut chunked_body);
            }
            chunked_body.extend_from_slice(b"\r\n");
        }
        BodyFraming::CloseDelimited => {}
    }
    out.extend_from_slice(b"\r\n");
    let head_end = out.len();
    let chunked = matches!(framing, BodyFraming::Chunked { .. });
    let delimited = !matches!(framing, BodyFraming::CloseDelimited);
    if has_body {
        out.extend_from_slice(if chunked { &chunked_body } else { &body });
    }
    let connection: Vec<bool> = fields.iter().filter_map(|f| f.connection()).collect();
    let keep_alive = if connection.contains(&false) { false } else { !case.http10 || connection.contains(&true) };
    // Bytes behind a response whose end is known stay unread; behind a close-delimited body
    // they would be body, so none are sent.
    let ends_by_itself = delimited || !has_body;
    let behind = if ends_by_itself { case.behind.iter().take(256).copied().collect() } else { Vec::new() };
    let expected = Expected {
        interims,
        status,
        body: if has_body { body } else { Vec::new() },
        reusable: keep_alive && ends_by_itself,
        behind,
    };
    let length_framed = matches!(framing, BodyFraming::Length);
    Built { bytes: out, status_line_end, head_end, has_body, chunked, length_framed, expected }
}

fn damage(built: &mut Built, damage: Damage) {
    let (out, field_at, body_at) = (&mut built.bytes, built.status_line_end, built.head_end);
    let mut insert_field = |field: &[u8]| {
        out.splice(field_at..field_at, field.iter().copied());
    };
    match damage {
        Damage::ConflictingLengths(n) => {
            insert_field(format!("Content-Length: {}\r\n", u64::from(n) + 100_000).as_bytes());
        }
        Damage::LengthBesideChunked(n) => insert_field(format!("Content-Length: {n}\r\n").as_bytes()),
        Damage::ChunkedNotLast => insert_field(b"Transfer-Encoding: chunked, gzip\r\n"),
        Damage::BadChunkSize => {
            out.splice(body_at..body_at, b"zz".iter().copied());
        }
        Damage::HugeChunkSize => {
            out.splice(body_at..body_at, b"fffffffffffffffffff".iter().copied());
        }
        Damage::MissingChunkEnd => {
            if let Some(at) = find(&out[body_at..], b"\r\n0\r\n") {
                out.drain(body_at + at..body_at + at + 2);
            }
        }
        Damage::FoldedField => insert_field(b"X-Folded: a\r\n b\r\n"),
        Damage::SpaceBeforeColon => insert_field(b"X-Spaced : a\r\n"),
        Damage::BareLineFeeds => {
            let head: Vec<u8> = out[..body_at].iter().copied().filter(|b| *b != b'\r').collect();
            out.splice(..body_at, head);
        }
        Damage::Truncated(at) => {
            let at = usize::from(at) % (out.len() + 1);
            out.truncate(at);
        }
        Damage::Flipped(at, byte) => {
            if !out.is_empty() {
                let at = usize::from(at) % out.len();
                out[at] = byte;
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// What a run produced, comparable across cuttings.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    interims: Vec<u16>,
    status: Option<u16>,
    body: Vec<u8>,
    ended: bool,
    reusable: Option<bool>,
    failed: bool,
    /// What the reader left unread once the response ended.
    left: Vec<u8>,
}

/// Records one step of the reader; `Some(true)` when the run is over, `Some(false)` when more
/// input is needed.
fn record(step: Result<Option<Event>, netaccess_http1::Http1Error>, outcome: &mut Outcome) -> Option<bool> {
    match step {
        Ok(Some(Event::Continue)) => outcome.interims.push(100),
        Ok(Some(Event::Informational(status))) => outcome.interims.push(status.as_u16()),
        Ok(Some(Event::Head(head))) => outcome.status = Some(head.status.as_u16()),
        Ok(Some(Event::Data(data))) => outcome.body.extend_from_slice(&data),
        Ok(Some(Event::End { reuse, .. })) => {
            outcome.ended = true;
            outcome.reusable = Some(reuse.is_reusable());
            return Some(true);
        }
        Ok(Some(other)) => panic!("an event this target does not know: {other:?}"),
        Ok(None) => return Some(false),
        Err(_) => {
            outcome.failed = true;
            return Some(true);
        }
    }
    None
}

fn run(method: &Method, input: &[u8], cut: usize) -> Outcome {
    // The whole call, as the backend drives it: the head handed out, then the server's bytes.
    let mut reader = Call::new(method.clone(), Vec::new(), RequestFraming::None);
    reader.transmit_head(std::time::Instant::now()).expect("a fresh call hands out its head");
    let mut buffer = BytesMut::new();
    let mut outcome = Outcome {
        interims: Vec::new(),
        status: None,
        body: Vec::new(),
        ended: false,
        reusable: None,
        failed: false,
        left: Vec::new(),
    };
    let mut fed = 0;
    for piece in input.chunks(cut.max(1)) {
        buffer.extend_from_slice(piece);
        fed += piece.len();
        loop {
            match record(reader.read(&mut buffer), &mut outcome) {
                Some(true) => {
                    outcome.left = [&buffer[..], &input[fed..]].concat();
                    return outcome;
                }
                Some(false) => break,
                None => {}
            }
        }
    }
    loop {
        if record(reader.end_of_input(&mut buffer), &mut outcome) == Some(true) {
            outcome.left = buffer.to_vec();
            return outcome;
        }
    }
}

fuzz_target!(|case: Case| {
    let method = if case.head_request { Method::HEAD } else { Method::GET };
    let mut built = build(&case);
    if let Some(damage_done) = case.damage {
        damage(&mut built, damage_done);
    }
    let Built { bytes: mut input, has_body, chunked, length_framed, expected, .. } = built;
    input.extend_from_slice(&expected.behind);
    let cut = usize::from(case.cut) + 1;
    let whole = run(&method, &input, input.len());
    let pieces = run(&method, &input, cut);
    assert!(whole.body.len() <= input.len(), "the body holds more bytes than arrived");
    // Bytes behind the response that are already read when it ends close the connection
    // (unsolicited data); cut finer, they may arrive only after the verdict, when the pool's
    // check before reuse finds them. So the verdict is compared only when nothing was behind.
    let verdict_free = |outcome: &Outcome| {
        let mut outcome = outcome.clone();
        if !outcome.left.is_empty() {
            outcome.reusable = None;
        }
        outcome
    };
    assert_eq!(
        verdict_free(&whole),
        verdict_free(&pieces),
        "the outcome depends on how the input was cut ({cut}-byte reads)"
    );
    let shown = || String::from_utf8_lossy(&input).into_owned();
    match case.damage {
        None => {
            assert!(!whole.failed, "a well-formed response failed: {:?}", shown());
            assert_eq!(whole.interims, expected.interims, "the interim responses of {:?}", shown());
            assert_eq!(whole.status, Some(expected.status));
            assert_eq!(whole.body, expected.body, "the body of {:?}", shown());
            assert!(whole.ended, "{:?} did not end", shown());
            let reusable = expected.reusable && expected.behind.is_empty();
            assert_eq!(whole.reusable, Some(reusable), "the reuse verdict for {:?}", shown());
            assert_eq!(whole.left, expected.behind, "the bytes behind {:?} stay unread", shown());
        }
        Some(Damage::ConflictingLengths(_)) if has_body && length_framed => {
            assert!(whole.failed, "conflicting Content-Length values must fail: {:?}", shown());
        }
        Some(Damage::ChunkedNotLast) if has_body => {
            assert!(whole.failed, "chunked not last must fail: {:?}", shown());
        }
        Some(Damage::LengthBesideChunked(_)) if has_body && chunked => {
            assert_ne!(whole.reusable, Some(true), "reused after Content-Length beside chunked: {:?}", shown());
        }
        Some(_) => {}
    }
});
