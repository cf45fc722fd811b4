//! Runs one planned transfer: sends it, writes its body, reports its events.

use std::io::{Seek as _, Write as _};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use netaccess::{NetworkAccessManager, NetworkError, NetworkErrorKind, Reply, ReplyEvent};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::plan::{Destination, Plan};
use crate::summary::Summary;

/// How a transfer ended.
pub(crate) struct Outcome {
    pub(crate) summary: Summary,
    /// The reply's error.
    pub(crate) error: Option<NetworkError>,
    /// A local failure (the output could not be written, the upload file could not be read,
    /// a resumed download's range does not continue the file).
    pub(crate) local_failure: Option<String>,
    /// The exit status of the local failure: 1, or curl's 33 for a range that does not continue
    /// the file.
    pub(crate) local_exit: u8,
    /// The response head as `-D` writes it.
    pub(crate) header_block: Option<Vec<u8>>,
    /// The body, spooled to a temporary file, for stdout after the transfers before it.
    pub(crate) spool: Option<std::fs::File>,
}

impl Outcome {
    fn local_failure(url: &str, operation: &str, message: String) -> Self {
        let summary = Summary { error_message: Some(message.clone()), ..Summary::new(url, operation) };
        Self { summary, error: None, local_failure: Some(message), local_exit: 1, spool: None, header_block: None }
    }
}

/// How the user wants to see what happens.
#[derive(Clone)]
pub(crate) struct Display {
    pub(crate) verbose: bool,
    pub(crate) show_headers: bool,
    pub(crate) progress: Option<indicatif::MultiProgress>,
    /// Several transfers: prefix verbose lines with the URL's number.
    pub(crate) numbered: bool,
    /// `-k`: certificate problems are ignored, and each is printed.
    pub(crate) insecure: bool,
    /// `-s` without `-S`: nothing on stderr but `-v`'s lines.
    pub(crate) quiet: bool,
    /// `-f`: no body for an HTTP error status.
    pub(crate) fail: bool,
    /// `--create-dirs`.
    pub(crate) create_dirs: bool,
    /// `-D -`: the head goes to stdout before the body.
    pub(crate) headers_to_stdout: bool,
}

/// A transfer whose request was issued: what [`run`] needs to see it through, and no more. A
/// long list's transfers wait as these, a few hundred bytes each; the output, the hash, the
/// summary are made when the first event comes.
pub(crate) struct Started {
    index: usize,
    started: Instant,
    reply: Reply,
    destination: Destination,
    resume_from: Option<u64>,
    header_named_in: Option<std::path::PathBuf>,
    /// A transfer without a request body may be sent again when its body is cut off.
    resendable: bool,
}

/// `--retry` for a body cut off after its head: the manager retries only before a head is
/// delivered, so the command starts such a download again itself (see [`run`]).
#[derive(Clone)]
pub(crate) struct BodyRetry {
    pub(crate) policy: netaccess::RetryPolicy,
}

/// Reads the upload and issues the request. Called for each URL in turn, before any is run, so
/// the requests to one host leave in the order of the command line (the manager keeps the
/// order of issue).
pub(crate) async fn start(
    manager: &NetworkAccessManager,
    index: usize,
    plan: Plan,
) -> Result<Box<Started>, Box<Outcome>> {
    let started = Instant::now();
    let body = match plan.upload.body().await {
        Ok(body) => body,
        Err(err) => {
            let url = netaccess::redact_password(plan.request.url_text()).into_owned();
            let message = format!("cannot read the upload: {err}");
            return Err(Box::new(Outcome::local_failure(&url, plan.operation.verb(), message)));
        }
    };
    let resendable = matches!(plan.upload, crate::upload::Upload::None);
    let reply = manager.send(plan.request, plan.operation, body);
    Ok(Box::new(Started {
        index,
        started,
        reply,
        destination: plan.destination,
        resume_from: plan.resume_from,
        header_named_in: plan.header_named_in,
        resendable,
    }))
}

/// Sees a transfer through: writes its body, reports its events, sums it up. Boxed ends in,
/// so the future of a transfer that waits holds two pointers and the next event's wait.
///
/// A download to a file whose body is cut off after its head (a reset, a timeout) is started
/// again under `--retry` as curl's is: from the start, the file rewritten, or with `-C` from
/// where the file now ends. The policy decides whether and when, as for failures before a
/// head, counting the manager's retries of the same transfer.
pub(crate) async fn run(
    start: Result<Box<Started>, Box<Outcome>>,
    display: &Display,
    manager: &NetworkAccessManager,
    retry: Option<&BodyRetry>,
) -> Outcome {
    let mut transfer = match start {
        Ok(transfer) => transfer,
        Err(failed) => return *failed,
    };
    // Waits small: the rest of the transfer's state is made once it has something to do.
    let mut first = transfer.reply.next_event().await;
    let mut retries = 0u32;
    loop {
        // What another attempt needs, taken before this one consumes the transfer.
        // (Only with --retry: without it a transfer clones nothing.)
        let resend = (retry.is_some() && transfer.resendable && matches!(transfer.destination, Destination::File(_)))
            .then(|| {
                let request = (transfer.reply.request().clone(), transfer.reply.operation().clone());
                (request, transfer.destination.clone(), transfer.header_named_in.clone())
            });
        let (index, started, resume_from) = (transfer.index, transfer.started, transfer.resume_from);
        let (mut outcome, cut_off) = Box::pin(see_through(*transfer, first, display)).await;
        outcome.summary.retries += retries;
        let decision = match (retry, resend, cut_off) {
            (Some(retry), Some(((request, operation), destination, named_in)), Some(kind)) => retry
                .policy
                .decide(outcome.summary.retries, &operation, netaccess::RetryTrigger::Failure(kind), started.elapsed())
                .map(|delay| (delay, request, operation, destination, named_in)),
            _ => None,
        };
        let Some((delay, mut request, operation, destination, header_named_in)) = decision else { return outcome };
        retries += 1;
        if !display.quiet {
            eprintln!(
                "netaccess: {}: the body was cut off ({}); trying again in {} ms",
                outcome.summary.url,
                outcome.summary.error_message.as_deref().unwrap_or("an error"),
                delay.as_millis()
            );
        }
        tokio::time::sleep(delay).await;
        // -C: what arrived before the cut continued the file; the next attempt goes on from there.
        let resume_from = match (&destination, resume_from) {
            (Destination::File(path), Some(_)) => Some(std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)),
            _ => None,
        };
        if let Some(value) =
            resume_from.and_then(|offset| http::HeaderValue::from_str(&format!("bytes={offset}-")).ok())
        {
            request.headers_mut().insert(http::header::RANGE, value);
        }
        let reply = manager.send(request, operation, netaccess::Body::empty());
        *transfer = Started { index, started, reply, destination, resume_from, header_named_in, resendable: true };
        first = transfer.reply.next_event().await;
    }
}

/// Sees one attempt through; beside the outcome, the error kind when its body was cut off after
/// a 2xx head (what a retry may recover).
async fn see_through(
    transfer: Started,
    first: Option<ReplyEvent>,
    display: &Display,
) -> (Outcome, Option<NetworkErrorKind>) {
    let Started { index, started, mut reply, destination, resume_from, header_named_in, resendable: _ } = transfer;
    // Everything shown (verbose lines, the bar, the summary) goes without the URL's password.
    let url = netaccess::redact_password(reply.request().url_text()).into_owned();
    let tag = if display.numbered { format!("[{}] ", index + 1) } else { String::new() };
    if display.verbose {
        eprintln!("* {tag}{} {url}", reply.operation());
    }
    let bar = display.progress.as_ref().map(|multi| multi.add(new_bar(&url)));

    let mut sink = Sink::new(destination, index, display.create_dirs);
    let mut hasher = Sha256::new();
    let mut ssl_errors = Vec::new();
    let mut write_failure = None;
    let mut header_dump = None;
    // `-f` on an error status, or `-C` on a range the file already has: the body is not kept.
    let mut discard = false;
    let mut resume_complete = false;
    // `-C`: the answer does not continue the file (curl's exit 33); the file stays as it was.
    let mut range_failure = None;
    let mut uploaded = 0u64;
    // The response head's size, for `-w %{size_header}`: the block `-i` prints.
    let mut size_header = 0u64;
    let mut next = first;
    while let Some(event) = next {
        if display.verbose {
            verbose_line(&tag, &event, &reply);
        }
        match event {
            ReplyEvent::MetaDataChanged => {
                let status = reply.status().unwrap_or(0);
                discard = display.fail && status >= 400;
                if let Some(offset) = resume_from {
                    match status {
                        416 => {
                            resume_complete = range_is_complete(&reply, offset);
                            discard = true;
                        }
                        200..=299 => match resume_refusal(&reply, status, offset) {
                            None => sink.append = offset > 0,
                            Some(why) => {
                                range_failure = Some(why);
                                discard = true;
                                reply.abort();
                            }
                        },
                        _ => {}
                    }
                }
                if let Some(directory) = &header_named_in {
                    match crate::disposition::file_name(&reply.headers()) {
                        Ok(Some(name)) => sink.destination = Destination::File(directory.join(name)),
                        Ok(None) => {}
                        Err(refused) if !display.quiet => eprintln!("netaccess: {url}: {refused}"),
                        Err(_) => {}
                    }
                }
                let block = header_block(&reply);
                // A scheme without a response head (file:, data:, ftp:) has none to count.
                size_header = if reply.status().is_some() { block.len() as u64 } else { 0 };
                // `-D -` with the body on stdout: the head goes just before the body.
                let dump_in_body = display.headers_to_stdout && sink.destination == Destination::Stdout;
                if (display.show_headers || dump_in_body) && range_failure.is_none() {
                    if let Err(err) = sink.write_all(&block).await {
                        write_failure.get_or_insert(err);
                    }
                }
                header_dump = (!dump_in_body).then_some(block);
            }
            ReplyEvent::SslErrors(errors) => {
                for error in &errors {
                    if display.insecure && !display.verbose && !display.quiet {
                        eprintln!("netaccess: {url}: ignoring a certificate problem: {error}");
                    }
                    ssl_errors.push(error.kind.name().to_owned());
                }
            }
            ReplyEvent::ReadyRead(chunk) => {
                hasher.update(&chunk);
                if write_failure.is_none() && !discard {
                    if let Err(err) = sink.write_all(&chunk).await {
                        write_failure = Some(err);
                        reply.abort();
                    }
                }
            }
            ReplyEvent::UploadProgress { sent, .. } => {
                uploaded = uploaded.max(sent);
                if let Some(bar) = &bar {
                    bar.set_position(sent);
                }
            }
            ReplyEvent::DownloadProgress { received, total } => {
                if let Some(bar) = &bar {
                    if total >= 0 {
                        bar.set_length(total.unsigned_abs());
                    }
                    bar.set_position(received);
                }
            }
            _ => {}
        }
        next = reply.next_event().await;
    }
    let mut error = reply.error();
    let aborted_here = write_failure.is_some() || range_failure.is_some();
    if aborted_here && error.as_ref().is_some_and(|e| e.kind() == NetworkErrorKind::OperationCanceledError) {
        // Aborted here, because the output failed or the range was wrong: that is the failure
        // to report.
        error = None;
    }
    let status = reply.status().unwrap_or(0);
    let cut_off = error.as_ref().filter(|_| (200..300).contains(&status) && !aborted_here).map(NetworkError::kind);
    if resume_complete {
        // 416 for the range after the file's end, and the file has every byte: done already.
        error = None;
    }
    // A reply that got a response gets its file even when the body is empty (as curl's -o),
    // unless its body was not wanted.
    let answered = (reply.status().is_some() || error.is_none()) && !discard;
    let spool = match sink.finish(answered).await {
        Ok(spool) => spool,
        Err(err) => {
            write_failure.get_or_insert(err);
            None
        }
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }

    let mut summary = Summary::new(&url, reply.operation().verb());
    fill_summary(&mut summary, &reply);
    summary.more.size_upload = uploaded;
    summary.more.size_header = size_header;
    if let Some(head) = reply.attributes().wire_heads.and_then(|heads| heads.request_head) {
        summary.more.size_request = Some(head.len() as u64 + uploaded);
    }
    summary.ssl_errors = ssl_errors;
    summary.sha256 = hex(&hasher.finalize());
    summary.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if let Some(error) = &error {
        summary.set_error(error);
    }
    let local_exit = if range_failure.is_some() { RANGE_ERROR_EXIT } else { 1 };
    let local_failure = range_failure.or_else(|| write_failure.map(|err| format!("cannot write the output: {err}")));
    if let Some(message) = &local_failure {
        summary.error_message.get_or_insert_with(|| message.clone());
    }
    (Outcome { summary, error, local_failure, local_exit, spool, header_block: header_dump }, cut_off)
}

/// curl's exit status for a resumed download whose answer does not continue the file.
pub(crate) const RANGE_ERROR_EXIT: u8 = 33;

/// Why a 2xx answer to `-C`'s range request cannot be appended to the file of `offset` bytes,
/// if it cannot (curl's rule): a 206 whose `Content-Range` does not start at `offset` (or whose
/// end and total disagree with it), or a whole body (200) where the file already has bytes.
fn resume_refusal(reply: &Reply, status: u16, offset: u64) -> Option<String> {
    if status != 206 {
        return (offset > 0).then(|| {
            format!("the server answered {status} to a range request: it does not support byte ranges, cannot resume")
        });
    }
    let range = reply.header("content-range").unwrap_or_default();
    let parsed = range.trim().strip_prefix("bytes ").and_then(|rest| {
        let (span, total) = rest.split_once('/')?;
        let (first, last) = span.split_once('-')?;
        let total = if total.trim() == "*" { None } else { Some(total.trim().parse::<u64>().ok()?) };
        Some((first.trim().parse::<u64>().ok()?, last.trim().parse::<u64>().ok()?, total))
    });
    match parsed {
        Some((first, last, total)) if first == offset && last >= first && total.is_none_or(|t| last < t) => None,
        Some((first, ..)) if first != offset => Some(format!(
            "the server sent the range {range:?}, which does not start at the file's end ({offset}): cannot resume"
        )),
        _ => Some(format!(
            "the server's Content-Range {range:?} does not continue the file of {offset} bytes: cannot resume"
        )),
    }
}

/// Whether a 416's `Content-Range: bytes */LENGTH` says the resource is `offset` bytes long:
/// the file being resumed is complete.
fn range_is_complete(reply: &Reply, offset: u64) -> bool {
    reply
        .header("content-range")
        .and_then(|range| range.trim().strip_prefix("bytes */").and_then(|length| length.trim().parse::<u64>().ok()))
        == Some(offset)
}

fn fill_summary(summary: &mut Summary, reply: &Reply) {
    let attributes = reply.attributes();
    summary.final_url = netaccess::redact_password(&reply.url_text()).into_owned();
    summary.status = attributes.http_status_code;
    summary.reason = attributes.http_reason_phrase.clone();
    summary.from_cache = attributes.source_is_from_cache;
    summary.encrypted = attributes.connection_encrypted;
    summary.proxy = attributes.proxy.clone();
    summary.bytes = reply.bytes_received();
    summary.redirects = reply.redirects().iter().map(|u| netaccess::redact_password(u.as_str()).into_owned()).collect();
    summary.http_version = attributes.http_version.map(crate::summary::version_name);
    summary.timings = attributes.timings.as_ref().map(crate::summary::TimingsMs::of);
    summary.retries = attributes.retries;
    if let Some(connection) = &attributes.connection {
        summary.remote_address = Some(connection.remote_address.to_string());
        summary.reused = connection.reused;
        summary.tls = connection.tls.as_ref().map(|tls| crate::summary::TlsSummary {
            version: tls.version.clone(),
            cipher: tls.cipher.clone(),
            alpn: tls.alpn.clone(),
        });
    }
    summary.headers = reply
        .headers()
        .iter()
        .map(|(name, value)| (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    let more = &mut summary.more;
    more.content_type = reply.header("content-type");
    more.redirect_url = attributes.redirection_target.as_deref().and_then(|location| {
        let base = reply.url()?;
        Some(netaccess::redact_password(base.join(location).ok()?.as_str()).into_owned())
    });
    if let Some(connection) = &attributes.connection {
        more.num_connects = u32::from(!connection.reused);
        more.local_address = Some(connection.local_address.to_string());
    }
    more.ssl_verify_result = attributes.ssl_errors.first().map_or(0, |error| openssl_verify_code(error.kind));
}

/// The OpenSSL `X509_V_ERR_*` code curl's `ssl_verify_result` reports for a certificate problem.
fn openssl_verify_code(kind: netaccess::SslErrorKind) -> u32 {
    use netaccess::SslErrorKind::*;
    match kind {
        CertificateSignatureFailed => 7,
        CertificateNotYetValid => 9,
        CertificateExpired => 10,
        SelfSignedCertificate => 18,
        SelfSignedCertificateInChain => 19,
        UnableToGetLocalIssuerCertificate => 20,
        CertificateRevoked => 23,
        InvalidPurpose => 26,
        CertificateUntrusted => 27,
        HostNameMismatch => 62,
        _ => 1,
    }
}

/// Where a transfer's body goes, opened when its first byte comes.
///
/// # Design
///
/// Files are written with blocking calls in the transfer's task: a write to a local file lands
/// in the page cache and takes microseconds for a chunk, where sending each through Tokio's
/// blocking pool took a thread per transfer writing at once (514 threads for a thousand small
/// downloads). Only standard output, which may be a pipe that blocks, goes through Tokio; the
/// first transfer to it writes straight through, later ones spool to a temporary file so the
/// output keeps the order of the URLs.
struct Sink {
    destination: Destination,
    index: usize,
    open: Option<Open>,
    /// Append to the file (`-C` got the rest of it) instead of rewriting it.
    append: bool,
    /// Create the file's missing directories.
    create_dirs: bool,
}

enum Open {
    File(std::fs::File),
    Stdout(tokio::io::Stdout),
    Spool(std::fs::File),
}

impl Sink {
    fn new(destination: Destination, index: usize, create_dirs: bool) -> Self {
        Self { destination, index, open: None, append: false, create_dirs }
    }

    fn open(&mut self) -> std::io::Result<&mut Open> {
        let open = match self.open.take() {
            Some(open) => open,
            None => match &self.destination {
                Destination::File(path) => {
                    let failed = |e: std::io::Error| {
                        std::io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display()))
                    };
                    if let Some(parent) = path.parent().filter(|p| self.create_dirs && !p.as_os_str().is_empty()) {
                        std::fs::create_dir_all(parent).map_err(failed)?;
                    }
                    let mut options = std::fs::OpenOptions::new();
                    options.write(true).create(true);
                    if self.append {
                        options.append(true);
                    } else {
                        options.truncate(true);
                    }
                    Open::File(options.open(path).map_err(failed)?)
                }
                Destination::Stdout if self.index == 0 => Open::Stdout(tokio::io::stdout()),
                Destination::Stdout => Open::Spool(
                    tempfile::tempfile()
                        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot create a spool file: {e}")))?,
                ),
            },
        };
        Ok(self.open.insert(open))
    }

    async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self.open()? {
            Open::File(file) | Open::Spool(file) => file.write_all(bytes),
            Open::Stdout(stdout) => stdout.write_all(bytes).await,
        }
    }

    /// Flushes what was written; creates the file of a destination that got no byte when
    /// `create_empty`. Returns the spool to copy to stdout, rewound.
    async fn finish(mut self, create_empty: bool) -> std::io::Result<Option<std::fs::File>> {
        if self.open.is_none() && create_empty {
            self.open()?;
        }
        match self.open {
            None | Some(Open::File(_)) => Ok(None),
            Some(Open::Stdout(mut stdout)) => stdout.flush().await.map(|()| None),
            Some(Open::Spool(mut spool)) => {
                spool.rewind()?;
                Ok(Some(spool))
            }
        }
    }
}

fn header_block(reply: &Reply) -> Vec<u8> {
    let mut block = Vec::new();
    if let Some(line) = status_line(reply) {
        let _ = write!(block, "{line}\r\n");
    }
    for (name, value) in &reply.raw_header_pairs() {
        let _ = write!(block, "{name}: ");
        block.extend_from_slice(value.as_bytes());
        block.extend_from_slice(b"\r\n");
    }
    block.extend_from_slice(b"\r\n");
    block
}

/// The status line as curl prints it (`HTTP/1.1 200 OK`; `HTTP/2 200 `, HTTP/2 having no reason
/// phrase), for `-i`, `-D` and `-v`; `None` for a reply without a status.
fn status_line(reply: &Reply) -> Option<String> {
    let status = reply.status()?;
    let attributes = reply.attributes();
    let version = attributes.http_version.map_or("1.1", crate::summary::version_name);
    let reason = if attributes.http2_was_used { None } else { reply.reason() };
    Some(format!("HTTP/{version} {status} {}", reason.unwrap_or_default()))
}

fn verbose_line(tag: &str, event: &ReplyEvent, reply: &Reply) {
    match event {
        ReplyEvent::MetaDataChanged => {
            connection_story(tag, reply);
            if let Some(line) = status_line(reply) {
                eprintln!("< {tag}{line}");
            }
            for (name, value) in &reply.raw_header_pairs() {
                eprintln!("< {tag}{name}: {}", String::from_utf8_lossy(value.as_bytes()));
            }
        }
        ReplyEvent::ReadyRead(chunk) => eprintln!("* {tag}readyRead {} bytes", chunk.len()),
        ReplyEvent::DownloadProgress { received, total } => eprintln!("* {tag}downloadProgress {received}/{total}"),
        ReplyEvent::UploadProgress { sent, total } => eprintln!("* {tag}uploadProgress {sent}/{total}"),
        ReplyEvent::Redirected(url) => eprintln!("* {tag}redirected to {}", netaccess::redact_password(url.as_str())),
        ReplyEvent::Encrypted => eprintln!("* {tag}encrypted"),
        ReplyEvent::SslErrors(errors) => {
            for error in errors {
                eprintln!("* {tag}certificate problem: {error}");
            }
        }
        ReplyEvent::Error(error) => eprintln!("* {tag}error: {error}"),
        ReplyEvent::Finished => eprintln!("* {tag}finished"),
        other => eprintln!("* {tag}{other:?}"),
    }
}

/// `-v`'s account of the connection and the request, as curl tells it: the addresses tried,
/// the connection, the TLS session, then the request head as it was sent.
fn connection_story(tag: &str, reply: &Reply) {
    let attributes = reply.attributes();
    let host = reply.url().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
    if let Some(connection) = &attributes.connection {
        for address in &connection.attempts {
            eprintln!("* {tag}Trying {address}...");
        }
        let remote = connection.remote_address;
        if connection.reused {
            eprintln!("* {tag}Re-using the connection to {host} ({}) port {}", remote.ip(), remote.port());
        } else {
            eprintln!("* {tag}Connected to {host} ({}) port {}", remote.ip(), remote.port());
        }
        if let Some(tls) = &connection.tls {
            eprintln!("* {tag}TLS connection using {} / {}", tls.version, tls.cipher);
            if let Some(alpn) = &tls.alpn {
                eprintln!("* {tag}ALPN: the server accepted {alpn}");
            }
        }
    }
    // The request head as it was sent (the manager keeps it under -v), credentials and
    // cookies masked: a verbose log gets pasted into bug reports.
    if let Some(head) = attributes.wire_heads.as_ref().and_then(|heads| heads.request_head.as_ref()) {
        for line in String::from_utf8_lossy(head).split("\r\n") {
            eprintln!("> {tag}{}", masked(line));
        }
    }
}

/// A request head line with the value of a credential or cookie field hidden (the scheme of an
/// `Authorization` kept: `Basic <hidden>`).
fn masked(line: &str) -> std::borrow::Cow<'_, str> {
    let Some((name, value)) = line.split_once(':') else { return line.into() };
    let secret = ["authorization", "proxy-authorization", "cookie"].iter().any(|s| name.eq_ignore_ascii_case(s));
    if !secret {
        return line.into();
    }
    let value = value.trim_start();
    match value.split_once(' ').filter(|_| !name.eq_ignore_ascii_case("cookie")) {
        Some((scheme, _)) => format!("{name}: {scheme} <hidden>").into(),
        None => format!("{name}: <hidden>").into(),
    }
}

fn new_bar(url: &str) -> ProgressBar {
    let bar = ProgressBar::no_length();
    let style = ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(url.to_owned());
    bar
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
