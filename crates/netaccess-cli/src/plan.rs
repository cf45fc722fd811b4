//! Turns the command line into one planned transfer per URL.

use std::io::Read;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use netaccess::{Body, Operation, Request};

use crate::args::Args;

/// What to upload, kept in a form each transfer can open anew.
#[derive(Debug, Clone)]
pub(crate) enum Upload {
    None,
    Bytes(Bytes),
    File(PathBuf),
}

impl Upload {
    pub(crate) async fn body(&self) -> std::io::Result<Body> {
        match self {
            Upload::None => Ok(Body::empty()),
            Upload::Bytes(bytes) => Ok(Body::from_bytes(bytes.clone())),
            Upload::File(path) => Body::from_file(path).await,
        }
    }
}

/// Where a transfer's body goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    Stdout,
    File(PathBuf),
}

/// One URL's transfer.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) request: Request,
    pub(crate) operation: Operation,
    pub(crate) upload: Upload,
    pub(crate) destination: Destination,
}

/// A mistake on the command line (exit status 2).
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

/// A URL to fetch, as given.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) url: String,
    /// Listed in a `--url @FILE`: saved under its remote name, as `-O` does.
    pub(crate) listed: bool,
}

/// Every URL of the command line, in order: the arguments, then each `--url` (a list file's
/// URLs in their order).
pub(crate) fn targets(args: &Args) -> Result<Vec<Target>, UsageError> {
    let mut targets: Vec<Target> = args.urls.iter().map(|url| Target { url: url.clone(), listed: false }).collect();
    for item in &args.url {
        match item.strip_prefix('@') {
            Some(source) => {
                let text = if source == "-" {
                    let mut text = String::new();
                    std::io::stdin()
                        .read_to_string(&mut text)
                        .map_err(|e| UsageError(format!("cannot read URLs from stdin: {e}")))?;
                    text
                } else {
                    std::fs::read_to_string(source)
                        .map_err(|e| UsageError(format!("cannot read the URL list {source}: {e}")))?
                };
                targets.extend(listed_urls(&text).map(|url| Target { url: url.to_owned(), listed: true }));
            }
            None => targets.push(Target { url: item.clone(), listed: false }),
        }
    }
    if targets.is_empty() {
        return Err(UsageError("no URL given".into()));
    }
    if args.output.len() > targets.len() {
        return Err(UsageError(format!("{} -o options for {} URLs", args.output.len(), targets.len())));
    }
    Ok(targets)
}

/// The URLs of a list: one per line, surrounding blanks trimmed, blank lines and `#` comments
/// skipped (curl 8.13's `--url @FILE`).
fn listed_urls(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// What every transfer shares, worked out once; [`Planner::plan`] makes each URL's transfer when
/// its turn to be issued comes, so a long list is never held as requests all at once.
pub(crate) struct Planner<'a> {
    args: &'a Args,
    headers: Vec<(HeaderName, String, HeaderValue)>,
    upload: Upload,
    operation: Operation,
    form_type: bool,
    manual_cookies: Option<String>,
}

impl<'a> Planner<'a> {
    pub(crate) fn new(args: &'a Args) -> Result<Self, UsageError> {
        let headers = parse_headers(&args.headers)?;
        let (upload, default_operation, form_type) = upload_of(args)?;
        let operation = match &args.request {
            Some(verb) => Operation::from_verb(verb),
            None => default_operation,
        };
        let inline: Vec<&str> = args.cookie.iter().filter(|c| c.contains('=')).map(String::as_str).collect();
        let manual_cookies = (!inline.is_empty()).then(|| inline.join("; "));
        Ok(Self { args, headers, upload, operation, form_type, manual_cookies })
    }

    /// The transfer of the `index`th URL.
    pub(crate) fn plan(&self, index: usize, target: &Target) -> Plan {
        let args = self.args;
        let url = match (&args.upload_file, target.url.ends_with('/')) {
            (Some(file), true) => format!("{}{}", target.url, file_name(file)),
            _ => target.url.clone(),
        };
        let mut request = Request::new(&url);
        request.attributes_mut().cache_load_control = args.cache_load.control();
        request.attributes_mut().ignore_ssl_errors = if args.insecure {
            netaccess::IgnoredSslErrors::All
        } else if args.ignore_ssl_error.is_empty() {
            netaccess::IgnoredSslErrors::None
        } else {
            netaccess::IgnoredSslErrors::Listed(args.ignore_ssl_error.clone())
        };
        for (name, typed, value) in &self.headers {
            request.headers_mut().append(name.clone(), value.clone());
            request.keep_name_as_written(typed);
        }
        if let Some(cookies) = &self.manual_cookies {
            if let Ok(value) = HeaderValue::from_str(cookies) {
                request.headers_mut().insert(http::header::COOKIE, value);
            }
        }
        if self.form_type && !request.headers().contains_key(CONTENT_TYPE) {
            request.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
        }
        Plan {
            destination: destination(args, index, target.listed, request.url()),
            request,
            operation: self.operation.clone(),
            upload: self.upload.clone(),
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn destination(args: &Args, index: usize, listed: bool, url: Option<&url::Url>) -> Destination {
    if let Some(path) = args.output.get(index) {
        return if path.as_os_str() == "-" { Destination::Stdout } else { Destination::File(path.clone()) };
    }
    if args.output_dir.is_none() && !args.remote_name && !listed {
        return Destination::Stdout;
    }
    let name = url
        .and_then(|u| u.path_segments())
        .and_then(|mut segments| segments.next_back().map(str::to_owned))
        .filter(|segment| !segment.is_empty())
        .unwrap_or_else(|| format!("download-{}", index + 1));
    Destination::File(args.output_dir.as_deref().unwrap_or(Path::new("")).join(name))
}

/// Each `-H` line as its name (parsed, and as typed: it goes out spelled so) and value.
fn parse_headers(raw: &[String]) -> Result<Vec<(HeaderName, String, HeaderValue)>, UsageError> {
    raw.iter()
        .map(|line| {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| UsageError(format!("header {line:?} is not of the form \"Name: value\"")))?;
            let typed = name.trim().to_owned();
            let name = HeaderName::from_bytes(typed.as_bytes())
                .map_err(|_| UsageError(format!("{typed:?} is not a valid header name")))?;
            let value = HeaderValue::from_str(value.trim())
                .map_err(|_| UsageError(format!("the value of header {typed} is not valid")))?;
            Ok((name, typed, value))
        })
        .collect()
}

/// The upload, the operation it implies, and whether it is form data (`-d`).
fn upload_of(args: &Args) -> Result<(Upload, Operation, bool), UsageError> {
    let sources = usize::from(args.upload_file.is_some())
        + usize::from(!args.data.is_empty() || !args.data_binary.is_empty())
        + usize::from(args.head);
    if sources > 1 {
        return Err(UsageError("use only one of -T, -d/--data-binary and -I".into()));
    }
    if let Some(file) = &args.upload_file {
        return Ok((Upload::File(file.clone()), Operation::Put, false));
    }
    if args.head {
        return Ok((Upload::None, Operation::Head, false));
    }
    if args.data.is_empty() && args.data_binary.is_empty() {
        return Ok((Upload::None, Operation::Get, false));
    }
    let mut parts = Vec::new();
    for item in &args.data {
        let mut bytes = read_data(item)?;
        if item.starts_with('@') {
            bytes.retain(|b| *b != b'\r' && *b != b'\n');
        }
        parts.push(bytes);
    }
    for item in &args.data_binary {
        parts.push(read_data(item)?);
    }
    Ok((Upload::Bytes(Bytes::from(parts.join(&b'&'))), Operation::Post, !args.data.is_empty()))
}

fn read_data(item: &str) -> Result<Vec<u8>, UsageError> {
    match item.strip_prefix('@') {
        Some("-") => {
            let mut buffer = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buffer)
                .map_err(|e| UsageError(format!("cannot read data from stdin: {e}")))?;
            Ok(buffer)
        }
        Some(path) => std::fs::read(path).map_err(|e| UsageError(format!("cannot read data file {path}: {e}"))),
        None => Ok(item.as_bytes().to_vec()),
    }
}
