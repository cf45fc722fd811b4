//! Turns the command line into one planned transfer per URL.

use std::io::Read;
use std::path::{Path, PathBuf};

use http::header::{HeaderName, HeaderValue};
use netaccess::{Operation, Request};

use crate::args::Args;
use crate::upload::{file_name, Sending, Upload};

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
    /// `-C`: the byte the download resumes from (the destination file's first byte not yet
    /// there); the Range header asks for the rest.
    pub(crate) resume_from: Option<u64>,
    /// `-J`: the directory a Content-Disposition name goes into, when the destination's name
    /// came from the URL.
    pub(crate) header_named_in: Option<PathBuf>,
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
    let mut targets: Vec<Target> =
        args.urls.iter().map(|url| Target { url: with_scheme(url), listed: false }).collect();
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
                targets.extend(listed_urls(&text).map(|url| Target { url: with_scheme(url), listed: true }));
            }
            None => targets.push(Target { url: with_scheme(item), listed: false }),
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

/// A URL without `scheme://` gets curl's guess: `ftp://` for a host that starts with `ftp.`,
/// `http://` for any other (`example.com/x`, `localhost:8080`). `file:` and `data:` URLs, which
/// need no `//`, are kept.
pub(crate) fn with_scheme(url: &str) -> String {
    let has_scheme = url.contains("://")
        || ["file:", "data:"]
            .iter()
            .any(|scheme| url.get(..scheme.len()).is_some_and(|s| s.eq_ignore_ascii_case(scheme)));
    if has_scheme || url.is_empty() {
        return url.to_owned();
    }
    let host = url.rsplit_once('@').map_or(url, |(_, rest)| rest);
    let scheme = if host.get(..4).is_some_and(|start| start.eq_ignore_ascii_case("ftp.")) { "ftp" } else { "http" };
    format!("{scheme}://{url}")
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
    sending: Sending,
    operation: Operation,
    manual_cookies: Option<String>,
}

impl<'a> Planner<'a> {
    pub(crate) fn new(args: &'a Args, targets: usize) -> Result<Self, UsageError> {
        let mut headers = parse_headers(&args.headers)?;
        let sending = crate::upload::sending(args)?;
        if matches!(sending.upload, Upload::Stdin) && targets > 1 {
            return Err(UsageError("-T - reads standard input once: give one URL".into()));
        }
        let operation = match &args.request {
            Some(verb) => Operation::from_verb(verb),
            None => sending.operation.clone(),
        };
        let inline: Vec<&str> = args.cookie.iter().filter(|c| c.contains('=')).map(String::as_str).collect();
        let manual_cookies = (!inline.is_empty()).then(|| inline.join("; "));
        // A CR or LF (or another control byte) would end the header and start another: refused
        // as for `-H`, never dropped in silence.
        if let Some(cookies) = &manual_cookies {
            HeaderValue::from_str(cookies).map_err(|_| {
                UsageError(format!("-b {cookies:?}: a cookie cannot hold a line break or control byte"))
            })?;
        }
        if let Some(agent) = &args.user_agent {
            HeaderValue::from_str(agent).map_err(|_| {
                UsageError(format!("-A {agent:?}: a User-Agent cannot hold a line break or control byte"))
            })?;
        }
        let mut implied: Vec<(HeaderName, String)> =
            sending.implied_headers.iter().map(|(name, value)| (name.clone(), (*value).to_owned())).collect();
        implied.extend(args.referer.as_ref().map(|r| (http::header::REFERER, r.clone())));
        implied.extend(args.range.as_ref().map(|r| (http::header::RANGE, format!("bytes={r}"))));
        // `-u` sends Basic on the first request, as curl does; a server that challenges for
        // Digest instead gets its answer from the same credentials on the 401.
        if let Some(user) = &args.user {
            use base64::Engine as _;
            let pair = if user.contains(':') { user.clone() } else { format!("{user}:") };
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair.as_bytes());
            implied.push((http::header::AUTHORIZATION, format!("Basic {encoded}")));
        }
        // curl sends `Accept: */*` unless told otherwise (`--json` asks for JSON above).
        implied.push((http::header::ACCEPT, "*/*".to_owned()));
        for (name, value) in implied {
            if headers.iter().all(|(given, _, _)| *given != name) {
                let mut value = HeaderValue::from_str(&value)
                    .map_err(|_| UsageError(format!("{value:?} cannot be sent as the {name} header")))?;
                value.set_sensitive(name == http::header::AUTHORIZATION);
                // No spelling of the user's: the name goes out canonical (`Content-Type`).
                headers.push((name, String::new(), value));
            }
        }
        if args.continue_at.is_some() && args.range.is_some() {
            return Err(UsageError("use only one of -C and -r".into()));
        }
        Ok(Self { args, headers, sending, operation, manual_cookies })
    }

    /// The transfer of the `index`th URL.
    pub(crate) fn plan(&self, index: usize, target: &Target) -> Result<Plan, UsageError> {
        let args = self.args;
        let mut url = match (&args.upload_file, target.url.ends_with('/')) {
            (Some(file), true) if file.as_os_str() != "-" => format!("{}{}", target.url, file_name(file)),
            _ => target.url.clone(),
        };
        if let Some(query) = &self.sending.query {
            url = with_query(&url, query);
        }
        let mut request = Request::new(&url);
        request.attributes_mut().cache_load_control = args.cache_load.control();
        request.attributes_mut().http2_allowed = !args.http1_1;
        request.attributes_mut().http2_direct = args.http2_prior_knowledge;
        request.attributes_mut().ignore_ssl_errors = if args.insecure {
            netaccess::IgnoredSslErrors::All
        } else if args.ignore_ssl_error.is_empty() {
            netaccess::IgnoredSslErrors::None
        } else {
            netaccess::IgnoredSslErrors::Listed(args.ignore_ssl_error.clone())
        };
        for (name, typed, value) in &self.headers {
            request.headers_mut().append(name.clone(), value.clone());
            if !typed.is_empty() {
                request.keep_name_as_written(typed);
            }
        }
        if let Some(cookies) = &self.manual_cookies {
            if let Ok(value) = HeaderValue::from_str(cookies) {
                request.headers_mut().insert(http::header::COOKIE, value);
            }
        }
        let (destination, header_named_in) = destination(args, index, target.listed, request.url());
        let resume_from = match (&args.continue_at, &destination) {
            (None, _) => None,
            (Some(_), Destination::Stdout) => return Err(UsageError("-C resumes into a file: give -o or -O".into())),
            (Some(at), Destination::File(path)) => Some(resume_offset(at, path)?),
        };
        if let Some(offset) = resume_from.filter(|offset| *offset > 0) {
            if let Ok(value) = HeaderValue::from_str(&format!("bytes={offset}-")) {
                request.headers_mut().insert(http::header::RANGE, value);
            }
        }
        Ok(Plan {
            destination,
            header_named_in: header_named_in.filter(|_| args.remote_header_name),
            resume_from,
            request,
            operation: self.operation.clone(),
            upload: self.sending.upload.clone(),
        })
    }
}

/// `url` with `query` appended to its query (`-G`).
fn with_query(url: &str, query: &str) -> String {
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (url, None),
    };
    let separator = if before_fragment.contains('?') { '&' } else { '?' };
    let mut joined = format!("{before_fragment}{separator}{query}");
    if let Some(fragment) = fragment {
        joined.push('#');
        joined.push_str(fragment);
    }
    joined
}

/// `-C`'s offset: `-` is the file's current size (0 when it does not exist yet).
fn resume_offset(at: &str, path: &Path) -> Result<u64, UsageError> {
    if at == "-" {
        return Ok(std::fs::metadata(path).map(|m| m.len()).unwrap_or(0));
    }
    at.parse().map_err(|_| UsageError(format!("-C {at:?}: give a byte offset or '-'")))
}

/// Where the body goes, and the directory it is in when its name came from the URL (so `-J`
/// may rename it).
fn destination(args: &Args, index: usize, listed: bool, url: Option<&url::Url>) -> (Destination, Option<PathBuf>) {
    if let Some(path) = args.output.get(index) {
        let destination = if path.as_os_str() == "-" { Destination::Stdout } else { Destination::File(path.clone()) };
        return (destination, None);
    }
    if args.output_dir.is_none() && !args.remote_name && !listed {
        return (Destination::Stdout, None);
    }
    let name = url
        .and_then(|u| u.path_segments())
        .and_then(|mut segments| segments.next_back().map(str::to_owned))
        .filter(|segment| !segment.is_empty())
        .unwrap_or_else(|| format!("download-{}", index + 1));
    let directory = args.output_dir.clone().unwrap_or_default();
    (Destination::File(directory.join(name)), Some(directory))
}

/// A key naming the file `path` names, for telling when two destinations are one file: its
/// directory as the file system resolves it (links, `.`, `..`) and its name.
pub(crate) fn same_file_key(path: &Path) -> PathBuf {
    let name = path.file_name().map(PathBuf::from).unwrap_or_default();
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    match std::fs::canonicalize(directory) {
        Ok(directory) => directory.join(name),
        Err(_) => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    }
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

#[cfg(test)]
mod tests {
    use super::with_scheme;

    #[test]
    fn a_url_without_a_scheme_gets_curls_guess() {
        assert_eq!(with_scheme("example.com/x"), "http://example.com/x");
        assert_eq!(with_scheme("localhost:8080"), "http://localhost:8080");
        assert_eq!(with_scheme("ftp.example.com/pub/a"), "ftp://ftp.example.com/pub/a");
        assert_eq!(with_scheme("FTP.example.com"), "ftp://FTP.example.com");
        assert_eq!(with_scheme("https://example.com/"), "https://example.com/");
        assert_eq!(with_scheme("data:,hi"), "data:,hi");
        assert_eq!(with_scheme("file:///etc/hosts"), "file:///etc/hosts");
    }
}
