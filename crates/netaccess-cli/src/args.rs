//! The command line, in curl's spelling. These names are a contract: add, never rename.

use std::path::PathBuf;

use clap::Parser;

/// Fetch URLs with netaccess (http, file, data; more schemes as backends land), in curl's habits.
#[derive(Debug, Parser)]
#[command(name = "netaccess", version, about, max_term_width = 100, after_help = exit_status_help())]
pub(crate) struct Args {
    /// The URLs to fetch; several are fetched concurrently through one manager.
    #[arg(value_name = "URL", required_unless_present = "url")]
    pub(crate) urls: Vec<String>,

    /// A URL to fetch, or @FILE / @- (standard input) for a list: one URL per line, blank lines
    /// and lines starting with '#' skipped, each body saved under its remote name (as -O does);
    /// repeatable. The listed URLs come after those given as arguments, in order.
    #[arg(long = "url", value_name = "URL|@FILE", help_heading = "Request")]
    pub(crate) url: Vec<String>,

    /// Save each body without an -o under the URL's last path segment, in --output-dir or the
    /// current directory (curl's --remote-name-all).
    #[arg(short = 'O', long = "remote-name", visible_alias = "remote-name-all", help_heading = "Output")]
    pub(crate) remote_name: bool,

    /// The request verb (GET, POST, PUT, DELETE, or any other).
    #[arg(short = 'X', long = "request", value_name = "VERB", help_heading = "Request")]
    pub(crate) request: Option<String>,

    /// Fetch the headers only (HEAD) and print them.
    #[arg(short = 'I', long = "head", help_heading = "Request")]
    pub(crate) head: bool,

    /// An extra request header, "Name: value"; repeatable.
    #[arg(short = 'H', long = "header", value_name = "HEADER", help_heading = "Request")]
    pub(crate) headers: Vec<String>,

    /// POST data, or @FILE (line breaks removed) or @- for stdin; several are joined with '&'.
    #[arg(short = 'd', long = "data", value_name = "DATA", help_heading = "Request")]
    pub(crate) data: Vec<String>,

    /// POST data sent as is, or @FILE / @- for stdin.
    #[arg(long = "data-binary", value_name = "DATA", help_heading = "Request")]
    pub(crate) data_binary: Vec<String>,

    /// Upload FILE with PUT ('-' for standard input, sent chunked; a URL ending in '/' gets the
    /// file's name appended).
    #[arg(short = 'T', long = "upload-file", value_name = "FILE", help_heading = "Request")]
    pub(crate) upload_file: Option<PathBuf>,

    /// Write the body to FILE instead of stdout ('-' for stdout); repeat for several URLs, in order.
    #[arg(short = 'o', long = "output", value_name = "FILE", help_heading = "Output")]
    pub(crate) output: Vec<PathBuf>,

    /// Save each body without an -o into DIR, named after the URL's last path segment.
    #[arg(long = "output-dir", value_name = "DIR", help_heading = "Output")]
    pub(crate) output_dir: Option<PathBuf>,

    /// Put the response headers before the body in the output.
    #[arg(short = 'i', long = "include", help_heading = "Output")]
    pub(crate) include: bool,

    /// Print the reply's events on stderr.
    #[arg(short = 'v', long = "verbose", help_heading = "Output")]
    pub(crate) verbose: bool,

    /// Show a progress bar on stderr (the default when stderr is a terminal).
    #[arg(short = '#', long = "progress-bar", overrides_with = "no_progress", help_heading = "Output")]
    pub(crate) progress_bar: bool,

    /// Never show a progress bar.
    #[arg(long = "no-progress", overrides_with = "progress_bar", help_heading = "Output")]
    pub(crate) no_progress: bool,

    /// Disable network access: only local schemes (file, data) work.
    #[arg(long = "offline", help_heading = "Connection")]
    pub(crate) offline: bool,

    /// After each transfer write one JSON line to PATH ('-' for stdout), in the order of the URLs.
    #[arg(long = "summary", value_name = "PATH|-", help_heading = "Output")]
    pub(crate) summary: Option<String>,

    /// Which redirects to follow.
    #[arg(
        long = "redirect-policy",
        value_enum,
        default_value = "no-less-safe",
        value_name = "POLICY",
        help_heading = "Redirects and retries"
    )]
    pub(crate) redirect_policy: RedirectPolicyArg,

    /// The most redirects to follow.
    #[arg(long = "max-redirs", value_name = "N", default_value_t = netaccess::DEFAULT_MAX_REDIRECTS, help_heading = "Redirects and retries")]
    pub(crate) max_redirs: u32,

    /// Fail a transfer that makes no progress for SECS seconds (0: never).
    #[arg(long = "timeout", value_name = "SECS", default_value_t = 0.0, help_heading = "Connection")]
    pub(crate) timeout: f64,

    /// Give up connecting after SECS seconds (0: never).
    #[arg(long = "connect-timeout", value_name = "SECS", default_value_t = netaccess::http_defaults::CONNECT_TIMEOUT_SECS, help_heading = "Connection")]
    pub(crate) connect_timeout: f64,

    /// The most connections to one host at a time.
    #[arg(long = "max-host-connections", value_name = "N", default_value_t = netaccess::http_defaults::MAX_CONNECTIONS_PER_HOST, help_heading = "Connection")]
    pub(crate) max_host_connections: usize,

    /// Ask for compressed replies and decode them (the default).
    #[arg(long = "compressed", overrides_with = "no_compressed", help_heading = "Connection")]
    pub(crate) compressed: bool,

    /// Neither ask for nor decode compressed replies.
    #[arg(long = "no-compressed", overrides_with = "compressed", help_heading = "Connection")]
    pub(crate) no_compressed: bool,

    /// HTTP/1.1 only: do not offer HTTP/2.
    #[arg(long = "http1.1", overrides_with_all = ["http2", "http2_prior_knowledge"], help_heading = "Connection")]
    pub(crate) http1_1: bool,

    /// Offer HTTP/2 over TLS by ALPN, HTTP/1.1 beside it (the default).
    #[arg(long = "http2", overrides_with_all = ["http1_1", "http2_prior_knowledge"], help_heading = "Connection")]
    pub(crate) http2: bool,

    /// Speak HTTP/2 from the first byte, without asking: h2c over http, h2 over https.
    #[arg(long = "http2-prior-knowledge", overrides_with_all = ["http1_1", "http2"], help_heading = "Connection")]
    pub(crate) http2_prior_knowledge: bool,

    /// Also trust the CA certificates in this PEM file.
    #[arg(long = "cacert", value_name = "FILE", help_heading = "TLS")]
    pub(crate) cacert: Vec<PathBuf>,

    /// Show this client certificate chain (PEM); needs --key.
    #[arg(long = "cert", value_name = "FILE", requires = "key", help_heading = "TLS")]
    pub(crate) cert: Option<PathBuf>,

    /// The private key (PEM) of --cert.
    #[arg(long = "key", value_name = "FILE", requires = "cert", help_heading = "TLS")]
    pub(crate) key: Option<PathBuf>,

    /// Go on despite any certificate problem (each is printed on stderr).
    #[arg(short = 'k', long = "insecure", help_heading = "TLS")]
    pub(crate) insecure: bool,

    /// Send USER:PASSWORD as Basic with the first request (as curl does), and answer a Digest
    /// challenge with them.
    #[arg(short = 'u', long = "user", value_name = "USER:PASSWORD", help_heading = "Credentials and cookies")]
    pub(crate) user: Option<String>,

    /// Use this proxy: http://, socks5:// (names resolved here), socks5h:// (by the proxy), with
    /// credentials if needed. Without it, the environment's proxy variables apply.
    #[arg(short = 'x', long = "proxy", value_name = "URL", value_parser = parse_proxy, help_heading = "Proxy")]
    pub(crate) proxy: Option<netaccess::Proxy>,

    /// Hosts that go direct, as no_proxy writes them ("localhost,.internal,10.0.0.0/8"; "*" for all).
    #[arg(long = "noproxy", value_name = "LIST", help_heading = "Proxy")]
    pub(crate) noproxy: Option<String>,

    /// Credentials for the proxy, USER:PASSWORD.
    #[arg(short = 'U', long = "proxy-user", value_name = "USER:PASSWORD", help_heading = "Proxy")]
    pub(crate) proxy_user: Option<String>,

    /// Load cookies from FILE at start (when it exists; curl's cookies.txt or netaccess's JSON
    /// jar, an empty file or /dev/null too) and save the jar there at the end, in the format the
    /// file had (a new file: curl's cookies.txt, mode 0600).
    #[arg(short = 'c', long = "cookie-jar", value_name = "FILE", help_heading = "Credentials and cookies")]
    pub(crate) cookie_jar: Option<PathBuf>,

    /// Record every http and https exchange (each redirect and authentication round too) in
    /// FILE as HAR 1.2 (a new file is mode 0600). Redacted: the values of the Authorization,
    /// Proxy-Authorization, Cookie, Set-Cookie and X-Api-Key headers, of headers, query
    /// parameters, form fields and JSON members whose names contain token, secret, password,
    /// passwd, api-key, api_key or apikey, of names given with --har-redact, cookie values and
    /// URL passwords. Response bodies are recorded as they came.
    #[arg(long = "har", value_name = "FILE", help_heading = "Output")]
    pub(crate) har: Option<PathBuf>,

    /// With --har: record bodies up to BYTES each (default 1048576); a larger one is left out,
    /// and a replay of its entry fails.
    #[arg(long = "har-body-limit", value_name = "BYTES", default_value_t = netaccess::har::DEFAULT_BODY_LIMIT, help_heading = "Output")]
    pub(crate) har_body_limit: usize,

    /// With --har: redact the values of headers, query parameters and form fields named NAME
    /// too (any case); repeatable.
    #[arg(long = "har-redact", value_name = "NAME", help_heading = "Output")]
    pub(crate) har_redact: Vec<String>,

    /// Answer http and https requests from the HAR FILE instead of the network (the first
    /// unused entry with the same method, URL and body); a request with none fails.
    #[arg(long = "replay", value_name = "FILE", help_heading = "Request")]
    pub(crate) replay: Option<PathBuf>,

    /// Keep HSTS policies in FILE (curl's --hsts format): loaded at start, updated from https
    /// replies; http URLs of hosts with a policy go over https.
    #[arg(long = "hsts", value_name = "FILE", help_heading = "TLS")]
    pub(crate) hsts: Option<PathBuf>,

    /// Send this cookie ("name=value; name2=value2"), or load the cookies of FILE (curl's
    /// cookies.txt, or a jar -c saved); lines that do not parse are skipped with a warning.
    #[arg(short = 'b', long = "cookie", value_name = "DATA|FILE", help_heading = "Credentials and cookies")]
    pub(crate) cookie: Vec<String>,

    /// Connect to ADDRESS for HOST:PORT instead of resolving HOST ("example.com:443:127.0.0.1";
    /// several addresses, IPv6 in brackets, are raced in their order: "h:443:[::1],127.0.0.1").
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDR[,ADDR...]", value_parser = netaccess::ResolveOverrides::parse, help_heading = "Connection")]
    pub(crate) resolve: Vec<(String, u16, Vec<std::net::IpAddr>)>,

    /// Use IPv4 addresses only.
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6", help_heading = "Connection")]
    pub(crate) ipv4: bool,

    /// Use IPv6 addresses only.
    #[arg(short = '6', long = "ipv6", help_heading = "Connection")]
    pub(crate) ipv6: bool,

    /// Fail a transfer that takes longer than SECS seconds in all, queued, connecting,
    /// redirected and read to its end (0: never).
    #[arg(short = 'm', long = "max-time", value_name = "SECS", default_value_t = 0.0, help_heading = "Connection")]
    pub(crate) max_time: f64,

    /// After each transfer print FORMAT on stdout, with curl's variables: %{response_code}
    /// (%{http_code}), %{content_type}, %{size_download}, %{size_upload}, %{size_header},
    /// %{size_request}, %{num_redirects}, %{num_connects}, %{redirect_url}, %{url},
    /// %{url_effective}, %{scheme}, %{method}, %{remote_ip}, %{remote_port}, %{local_ip},
    /// %{local_port}, %{exitcode}, %{errormsg}, %{http_version}, %{ssl_verify_result},
    /// %{time_namelookup}, %{time_connect}, %{time_appconnect}, %{time_pretransfer},
    /// %{time_redirect}, %{time_starttransfer}, %{time_total}, %{speed_download},
    /// %{speed_upload}, %{header_json}, %{json}; \n for a line break. @FILE reads the format
    /// from FILE (@- from stdin).
    #[arg(short = 'w', long = "write-out", value_name = "FORMAT", help_heading = "Output")]
    pub(crate) write_out: Option<String>,

    /// Keep an HTTP cache (RFC 9111, private) in DIR, shared with other runs.
    #[arg(long = "cache-dir", value_name = "DIR", help_heading = "Cache")]
    pub(crate) cache_dir: Option<PathBuf>,

    /// Where replies may come from when --cache-dir is set.
    #[arg(
        long = "cache-load",
        value_enum,
        default_value = "prefer-network",
        value_name = "CONTROL",
        help_heading = "Cache"
    )]
    pub(crate) cache_load: CacheLoadArg,

    /// Follow redirects (accepted for curl's habits: redirects are followed by default, under
    /// --redirect-policy and --max-redirs).
    #[arg(short = 'L', long = "location", help_heading = "Redirects and retries")]
    pub(crate) location: bool,

    /// No progress bar and no error text on stderr.
    #[arg(short = 's', long = "silent", help_heading = "Output")]
    pub(crate) silent: bool,

    /// With -s: show the error text again.
    #[arg(short = 'S', long = "show-error", help_heading = "Output")]
    pub(crate) show_error: bool,

    /// On an HTTP error status (400 and above) write no body; the exit status says the error
    /// group either way.
    #[arg(short = 'f', long = "fail", overrides_with = "fail_with_body", help_heading = "Output")]
    pub(crate) fail: bool,

    /// On an HTTP error status write the body anyway (the default; undoes -f).
    #[arg(long = "fail-with-body", overrides_with = "fail", help_heading = "Output")]
    pub(crate) fail_with_body: bool,

    /// With -O: name the file after the Content-Disposition's filename when the server gives
    /// one (a name with a path separator, "..", a control character or a leading dot is
    /// refused: the URL's name is used).
    #[arg(short = 'J', long = "remote-header-name", help_heading = "Output")]
    pub(crate) remote_header_name: bool,

    /// Create the missing directories of -o, -O and --output-dir paths.
    #[arg(long = "create-dirs", help_heading = "Output")]
    pub(crate) create_dirs: bool,

    /// The User-Agent to send.
    #[arg(short = 'A', long = "user-agent", value_name = "NAME", help_heading = "Request")]
    pub(crate) user_agent: Option<String>,

    /// The Referer to send.
    #[arg(short = 'e', long = "referer", value_name = "URL", help_heading = "Request")]
    pub(crate) referer: Option<String>,

    /// Write the response headers of each transfer to FILE ('-' for stdout).
    #[arg(short = 'D', long = "dump-header", value_name = "FILE", help_heading = "Output")]
    pub(crate) dump_header: Option<String>,

    /// Ask for these bytes only ("0-499", "500-", "-200", "0-0,-1"): a Range header.
    #[arg(short = 'r', long = "range", value_name = "RANGE", help_heading = "Request")]
    pub(crate) range: Option<String>,

    /// A multipart/form-data field (POST): "name=value", "name=@file" (a file part),
    /// "name=<file" (the file's text as the value), with ";type=TYPE" and ";filename=NAME";
    /// repeatable.
    #[arg(short = 'F', long = "form", value_name = "NAME=CONTENT", help_heading = "Request")]
    pub(crate) form: Vec<String>,

    /// POST JSON (DATA, @FILE or @-) with "Content-Type: application/json" and
    /// "Accept: application/json"; several are joined.
    #[arg(long = "json", value_name = "DATA", help_heading = "Request")]
    pub(crate) json: Vec<String>,

    /// Send the -d data as the URL's query in a GET (or HEAD with -I) instead of a POST body.
    #[arg(short = 'G', long = "get", help_heading = "Request")]
    pub(crate) get: bool,

    /// POST data percent-encoded: "content", "=content", "name=content", "@file", "name@file".
    #[arg(long = "data-urlencode", value_name = "DATA", help_heading = "Request")]
    pub(crate) data_urlencode: Vec<String>,

    /// POST data as given, '@' included (no file is read).
    #[arg(long = "data-raw", value_name = "DATA", help_heading = "Request")]
    pub(crate) data_raw: Vec<String>,

    /// Resume a download into the -o file: "-" from its current size, or from byte OFFSET. The
    /// answer must be a 206 whose Content-Range starts at OFFSET; anything else (a 200 that
    /// ignored the range, another range) fails with exit 33 and leaves the file as it was, as
    /// curl does. 416 on a complete file is success.
    #[arg(short = 'C', long = "continue-at", value_name = "OFFSET|-", help_heading = "Output")]
    pub(crate) continue_at: Option<String>,

    /// Retry a transient failure (timeout, refused or reset connection, 408, 429, 500, 502,
    /// 503, 504) up to N times, with exponential back-off and Retry-After honoured.
    #[arg(long = "retry", value_name = "N", default_value_t = 0, help_heading = "Redirects and retries")]
    pub(crate) retry: u32,

    /// Wait SECS between retries instead of backing off exponentially.
    #[arg(long = "retry-delay", value_name = "SECS", default_value_t = 0.0, help_heading = "Redirects and retries")]
    pub(crate) retry_delay: f64,

    /// Retry only while the transfer is younger than SECS (0: no limit).
    #[arg(long = "retry-max-time", value_name = "SECS", default_value_t = 0.0, help_heading = "Redirects and retries")]
    pub(crate) retry_max_time: f64,

    /// With --retry: retry every failure and every HTTP error status, whatever the method; a
    /// download cut off mid-body starts again, its output rewritten (resumed with -C).
    #[arg(long = "retry-all-errors", help_heading = "Redirects and retries")]
    pub(crate) retry_all_errors: bool,

    /// Fail a transfer whose body is larger than BYTES, as decoded (exit 5; 0: no limit): a
    /// Content-Length above it fails before the body, a body that grows past it stops there.
    #[arg(long = "max-filesize", value_name = "BYTES", default_value_t = 0, help_heading = "Output")]
    pub(crate) max_filesize: u64,

    /// Take credentials for the URL's host from ~/.netrc.
    #[arg(short = 'n', long = "netrc", help_heading = "Credentials and cookies")]
    pub(crate) netrc: bool,

    /// Take credentials for the URL's host from FILE (netrc format).
    #[arg(long = "netrc-file", value_name = "FILE", help_heading = "Credentials and cookies")]
    pub(crate) netrc_file: Option<PathBuf>,

    /// Go on despite this certificate problem (e.g. HostNameMismatch); repeatable.
    #[arg(long = "ignore-ssl-error", value_name = "NAME", value_parser = parse_ssl_error, help_heading = "TLS")]
    pub(crate) ignore_ssl_error: Vec<netaccess::SslErrorKind>,
}

fn parse_proxy(text: &str) -> Result<netaccess::Proxy, String> {
    netaccess::Proxy::from_url(text).ok_or_else(|| format!("{text:?} is not an http://, socks5:// or socks5h:// proxy"))
}

fn parse_ssl_error(name: &str) -> Result<netaccess::SslErrorKind, String> {
    netaccess::SslErrorKind::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = netaccess::SslErrorKind::ALL.iter().map(|k| k.name()).collect();
        format!("unknown certificate problem {name:?}; known: {}", known.join(", "))
    })
}

/// The exit statuses, as `--help` and the man page's EXIT STATUS section list them (a
/// contract: scripts rely on them).
pub(crate) const EXIT_STATUSES: [(u8, &str); 9] = [
    (0, "every transfer finished without error"),
    (1, "a failure here: the output could not be written, a file could not be read"),
    (2, "bad usage: an unknown flag, a malformed header, a line break in -A or -b"),
    (3, "a network error: the host not found, refused, timed out, TLS refused"),
    (4, "a proxy error: the proxy not found, refused, or asking for credentials"),
    (5, "a content error: no such resource, access denied, a 4xx status (400: 6), --max-filesize"),
    (6, "a protocol error: the peer broke the protocol, an unknown scheme or a malformed URL"),
    (7, "a server error: a 5xx status"),
    (33, "-C: the server's answer does not continue the file (curl's number)"),
];

/// The end of `--help`: the exit statuses, one per line.
fn exit_status_help() -> String {
    let mut text = String::from("Exit status (the first failing transfer's; see netaccess(1)):");
    for (code, meaning) in EXIT_STATUSES {
        text.push_str(&format!("\n  {code:>2}  {meaning}"));
    }
    text
}

/// `--redirect-policy` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum RedirectPolicyArg {
    /// Never follow; report the 3xx.
    Manual,
    /// Follow unless https goes to http.
    NoLessSafe,
    /// Follow only within the same scheme, host and port.
    SameOrigin,
}

/// `--cache-load`: Qt's cache load controls.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum CacheLoadArg {
    /// Never read the cache; ask the origin with `Cache-Control: no-cache`.
    AlwaysNetwork,
    /// Serve fresh entries, revalidate stale ones (the default).
    PreferNetwork,
    /// Serve any stored entry, however old; fetch on a miss.
    PreferCache,
    /// Only the cache; a miss fails (ContentNotFoundError, exit 5).
    AlwaysCache,
}

impl CacheLoadArg {
    pub(crate) fn control(self) -> netaccess::CacheLoadControl {
        match self {
            CacheLoadArg::AlwaysNetwork => netaccess::CacheLoadControl::AlwaysNetwork,
            CacheLoadArg::PreferNetwork => netaccess::CacheLoadControl::PreferNetwork,
            CacheLoadArg::PreferCache => netaccess::CacheLoadControl::PreferCache,
            CacheLoadArg::AlwaysCache => netaccess::CacheLoadControl::AlwaysCache,
        }
    }
}

impl RedirectPolicyArg {
    pub(crate) fn policy(self) -> netaccess::RedirectPolicy {
        match self {
            RedirectPolicyArg::Manual => netaccess::RedirectPolicy::Manual,
            RedirectPolicyArg::NoLessSafe => netaccess::RedirectPolicy::NoLessSafe,
            RedirectPolicyArg::SameOrigin => netaccess::RedirectPolicy::SameOrigin,
        }
    }
}

/// Seconds as a duration; negative, NaN or infinite values are no limit.
pub(crate) fn seconds(value: f64) -> std::time::Duration {
    std::time::Duration::try_from_secs_f64(value).unwrap_or(std::time::Duration::ZERO)
}
