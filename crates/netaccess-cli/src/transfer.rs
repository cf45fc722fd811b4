//! Runs one planned transfer: sends it, writes its body, reports its events.

use std::io::Write as _;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use netaccess::{NetworkAccessManager, NetworkError, Reply, ReplyEvent};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::plan::{Destination, Plan};
use crate::summary::Summary;

/// How a transfer ended.
pub(crate) struct Outcome {
    pub(crate) summary: Summary,
    /// The reply's error.
    pub(crate) error: Option<NetworkError>,
    /// A local failure (the output could not be written, the upload file could not be read).
    pub(crate) local_failure: Option<String>,
    /// The body, spooled to a temporary file, for stdout after the transfers before it.
    pub(crate) spool: Option<std::fs::File>,
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
}

/// A transfer whose request was issued: what [`run`] needs to see it through.
pub(crate) struct Started {
    index: usize,
    started: Instant,
    url: String,
    summary: Summary,
    reply: Reply,
    sink: Sink,
    spool: Option<std::fs::File>,
}

/// Reads the upload, opens the output and issues the request. Called for each URL in turn,
/// before any is run, so the requests to one host leave in the order of the command line (the
/// manager keeps the order of issue).
pub(crate) async fn start(manager: &NetworkAccessManager, index: usize, plan: Plan) -> Result<Started, Outcome> {
    let started = Instant::now();
    // Everything shown (verbose lines, the bar, the summary) goes without the URL's password.
    let url = netaccess::redact_password(plan.request.url_text()).into_owned();
    let summary = Summary::new(&url, plan.operation.verb());
    let local_failure = |summary: Summary, message: String| Outcome {
        summary: Summary { error_message: Some(message.clone()), ..summary },
        error: None,
        local_failure: Some(message),
        spool: None,
    };

    let body = match plan.upload.body().await {
        Ok(body) => body,
        Err(err) => return Err(local_failure(summary, format!("cannot read the upload: {err}"))),
    };
    let (sink, spool) = match open_sink(&plan.destination, index).await {
        Ok(pair) => pair,
        Err(message) => return Err(local_failure(summary, message)),
    };
    let reply = manager.send(plan.request, plan.operation, body);
    Ok(Started { index, started, url, summary, reply, sink, spool })
}

/// Sees a started transfer through: writes its body, reports its events, sums it up.
pub(crate) async fn run(transfer: Started, display: &Display) -> Outcome {
    let Started { index, started, url, mut summary, mut reply, mut sink, spool } = transfer;
    let tag = if display.numbered { format!("[{}] ", index + 1) } else { String::new() };
    if display.verbose {
        eprintln!("* {tag}{} {url}", reply.operation());
    }
    let bar = display.progress.as_ref().map(|multi| multi.add(new_bar(&url)));

    let mut hasher = Sha256::new();
    let mut ssl_errors = Vec::new();
    let mut write_failure = None;
    while let Some(event) = reply.next_event().await {
        if display.verbose {
            verbose_line(&tag, &event, &reply);
        }
        match event {
            ReplyEvent::MetaDataChanged if display.show_headers => {
                if let Err(err) = sink.write_all(&header_block(&reply)).await {
                    write_failure.get_or_insert(err);
                }
            }
            ReplyEvent::SslErrors(errors) => {
                for error in &errors {
                    if display.insecure && !display.verbose {
                        eprintln!("netaccess: {url}: ignoring a certificate problem: {error}");
                    }
                    ssl_errors.push(error.kind.name().to_owned());
                }
            }
            ReplyEvent::ReadyRead(chunk) => {
                hasher.update(&chunk);
                if write_failure.is_none() {
                    if let Err(err) = sink.write_all(&chunk).await {
                        write_failure = Some(err);
                        reply.abort();
                    }
                }
            }
            ReplyEvent::DownloadProgress { received, total } | ReplyEvent::UploadProgress { sent: received, total } => {
                if let Some(bar) = &bar {
                    if total >= 0 {
                        bar.set_length(total.unsigned_abs());
                    }
                    bar.set_position(received);
                }
            }
            _ => {}
        }
    }
    if let Err(err) = sink.flush().await {
        write_failure.get_or_insert(err);
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }

    fill_summary(&mut summary, &reply);
    summary.ssl_errors = ssl_errors;
    summary.sha256 = hex(&hasher.finalize());
    summary.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let error = reply.error();
    if let Some(error) = &error {
        summary.set_error(error);
    }
    let local_failure = write_failure.map(|err| format!("cannot write the output: {err}"));
    if let Some(message) = &local_failure {
        summary.error_message.get_or_insert_with(|| message.clone());
    }
    Outcome { summary, error, local_failure, spool }
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
    summary.headers = reply
        .headers()
        .iter()
        .map(|(name, value)| (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
}

type Sink = Box<dyn AsyncWrite + Unpin + Send>;

/// The writer for a destination; the first transfer to stdout writes straight through, later
/// ones spool to a temporary file so the output keeps the order of the URLs.
async fn open_sink(destination: &Destination, index: usize) -> Result<(Sink, Option<std::fs::File>), String> {
    match destination {
        Destination::File(path) => {
            let file =
                tokio::fs::File::create(path).await.map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            Ok((Box::new(file), None))
        }
        Destination::Stdout if index == 0 => Ok((Box::new(tokio::io::stdout()), None)),
        Destination::Stdout => {
            let spool = tempfile::tempfile().map_err(|e| format!("cannot create a spool file: {e}"))?;
            let writer = spool.try_clone().map_err(|e| format!("cannot open the spool file: {e}"))?;
            Ok((Box::new(tokio::fs::File::from_std(writer)), Some(spool)))
        }
    }
}

fn header_block(reply: &Reply) -> Vec<u8> {
    let mut block = Vec::new();
    if let Some(status) = reply.status() {
        let _ = write!(block, "HTTP/1.1 {status} {}\r\n", reply.reason().unwrap_or_default());
    }
    for (name, value) in &reply.headers() {
        let _ = write!(block, "{name}: ");
        block.extend_from_slice(value.as_bytes());
        block.extend_from_slice(b"\r\n");
    }
    block.extend_from_slice(b"\r\n");
    block
}

fn verbose_line(tag: &str, event: &ReplyEvent, reply: &Reply) {
    match event {
        ReplyEvent::MetaDataChanged => {
            if let Some(status) = reply.status() {
                eprintln!("< {tag}{status} {}", reply.reason().unwrap_or_default());
            }
            for (name, value) in &reply.headers() {
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
