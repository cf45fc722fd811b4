//! The command line, in curl's spelling. These names are a contract: add, never rename.

use std::path::PathBuf;

use clap::Parser;

/// Fetch URLs with netaccess (http, file, data; more schemes as backends land), in curl's habits.
#[derive(Debug, Parser)]
#[command(name = "netaccess", version, about, max_term_width = 100)]
pub(crate) struct Args {
    /// The URLs to fetch; several are fetched concurrently through one manager.
    #[arg(value_name = "URL", required_unless_present = "url")]
    pub(crate) urls: Vec<String>,

    /// A URL to fetch, or @FILE / @- (standard input) for a list: one URL per line, blank lines
    /// and lines starting with '#' skipped, each body saved under its remote name (as -O does);
    /// repeatable. The listed URLs come after those given as arguments, in order.
    #[arg(long = "url", value_name = "URL|@FILE")]
    pub(crate) url: Vec<String>,

    /// Save each body without an -o under the URL's last path segment, in --output-dir or the
    /// current directory (curl's --remote-name-all).
    #[arg(short = 'O', long = "remote-name", visible_alias = "remote-name-all")]
    pub(crate) remote_name: bool,

    /// The request verb (GET, POST, PUT, DELETE, or any other).
    #[arg(short = 'X', long = "request", value_name = "VERB")]
    pub(crate) request: Option<String>,

    /// Fetch the headers only (HEAD) and print them.
    #[arg(short = 'I', long = "head")]
    pub(crate) head: bool,

    /// An extra request header, "Name: value"; repeatable.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub(crate) headers: Vec<String>,

    /// POST data, or @FILE (line breaks removed) or @- for stdin; several are joined with '&'.
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub(crate) data: Vec<String>,

    /// POST data sent as is, or @FILE / @- for stdin.
    #[arg(long = "data-binary", value_name = "DATA")]
    pub(crate) data_binary: Vec<String>,

    /// Upload FILE with PUT (a URL ending in '/' gets the file's name appended).
    #[arg(short = 'T', long = "upload-file", value_name = "FILE")]
    pub(crate) upload_file: Option<PathBuf>,

    /// Write the body to FILE instead of stdout ('-' for stdout); repeat for several URLs, in order.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub(crate) output: Vec<PathBuf>,

    /// Save each body without an -o into DIR, named after the URL's last path segment.
    #[arg(long = "output-dir", value_name = "DIR")]
    pub(crate) output_dir: Option<PathBuf>,

    /// Put the response headers before the body in the output.
    #[arg(short = 'i', long = "include")]
    pub(crate) include: bool,

    /// Print the reply's events on stderr.
    #[arg(short = 'v', long = "verbose")]
    pub(crate) verbose: bool,

    /// Show a progress bar on stderr (the default when stderr is a terminal).
    #[arg(long = "progress-bar", overrides_with = "no_progress")]
    pub(crate) progress_bar: bool,

    /// Never show a progress bar.
    #[arg(long = "no-progress", overrides_with = "progress_bar")]
    pub(crate) no_progress: bool,

    /// Disable network access: only local schemes (file, data) work.
    #[arg(long = "offline")]
    pub(crate) offline: bool,

    /// After each transfer write one JSON line to PATH ('-' for stdout), in the order of the URLs.
    #[arg(long = "summary", value_name = "PATH|-")]
    pub(crate) summary: Option<String>,

    /// Which redirects to follow.
    #[arg(long = "redirect-policy", value_enum, default_value = "no-less-safe", value_name = "POLICY")]
    pub(crate) redirect_policy: RedirectPolicyArg,

    /// The most redirects to follow.
    #[arg(long = "max-redirs", value_name = "N", default_value_t = netaccess::DEFAULT_MAX_REDIRECTS)]
    pub(crate) max_redirs: u32,

    /// Fail a transfer that makes no progress for SECS seconds (0: never).
    #[arg(long = "timeout", value_name = "SECS", default_value_t = 0.0)]
    pub(crate) timeout: f64,

    /// Give up connecting after SECS seconds (0: never).
    #[arg(long = "connect-timeout", value_name = "SECS", default_value_t = netaccess::http_defaults::CONNECT_TIMEOUT_SECS)]
    pub(crate) connect_timeout: f64,

    /// The most connections to one host at a time.
    #[arg(long = "max-host-connections", value_name = "N", default_value_t = netaccess::http_defaults::MAX_CONNECTIONS_PER_HOST)]
    pub(crate) max_host_connections: usize,

    /// Ask for compressed replies and decode them (the default).
    #[arg(long = "compressed", overrides_with = "no_compressed")]
    pub(crate) compressed: bool,

    /// Neither ask for nor decode compressed replies.
    #[arg(long = "no-compressed", overrides_with = "compressed")]
    pub(crate) no_compressed: bool,

    /// Also trust the CA certificates in this PEM file.
    #[arg(long = "cacert", value_name = "FILE")]
    pub(crate) cacert: Vec<PathBuf>,

    /// Show this client certificate chain (PEM); needs --key.
    #[arg(long = "cert", value_name = "FILE", requires = "key")]
    pub(crate) cert: Option<PathBuf>,

    /// The private key (PEM) of --cert.
    #[arg(long = "key", value_name = "FILE", requires = "cert")]
    pub(crate) key: Option<PathBuf>,

    /// Go on despite any certificate problem (each is printed on stderr).
    #[arg(short = 'k', long = "insecure")]
    pub(crate) insecure: bool,

    /// Answer authentication challenges (Basic, Digest) as USER:PASSWORD.
    #[arg(short = 'u', long = "user", value_name = "USER:PASSWORD")]
    pub(crate) user: Option<String>,

    /// Use this proxy: http://, socks5:// (names resolved here), socks5h:// (by the proxy), with
    /// credentials if needed. Without it, the environment's proxy variables apply.
    #[arg(short = 'x', long = "proxy", value_name = "URL", value_parser = parse_proxy)]
    pub(crate) proxy: Option<netaccess::Proxy>,

    /// Hosts that go direct, as no_proxy writes them ("localhost,.internal,10.0.0.0/8"; "*" for all).
    #[arg(long = "noproxy", value_name = "LIST")]
    pub(crate) noproxy: Option<String>,

    /// Credentials for the proxy, USER:PASSWORD.
    #[arg(long = "proxy-user", value_name = "USER:PASSWORD")]
    pub(crate) proxy_user: Option<String>,

    /// Load cookies from FILE at start (when it exists) and save the jar there at the end.
    #[arg(long = "cookie-jar", value_name = "FILE")]
    pub(crate) cookie_jar: Option<PathBuf>,

    /// Send this cookie ("name=value; name2=value2"), or load a Netscape cookies.txt FILE.
    #[arg(short = 'b', long = "cookie", value_name = "DATA|FILE")]
    pub(crate) cookie: Vec<String>,

    /// Connect to ADDRESS for HOST:PORT instead of resolving HOST ("example.com:443:127.0.0.1";
    /// several addresses, IPv6 in brackets, are raced in their order: "h:443:[::1],127.0.0.1").
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDR[,ADDR...]", value_parser = netaccess::ResolveOverrides::parse)]
    pub(crate) resolve: Vec<(String, u16, Vec<std::net::IpAddr>)>,

    /// Use IPv4 addresses only.
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub(crate) ipv4: bool,

    /// Use IPv6 addresses only.
    #[arg(short = '6', long = "ipv6")]
    pub(crate) ipv6: bool,

    /// Fail a transfer that takes longer than SECS seconds in all, queued, connecting,
    /// redirected and read to its end (0: never).
    #[arg(short = 'm', long = "max-time", value_name = "SECS", default_value_t = 0.0)]
    pub(crate) max_time: f64,

    /// After each transfer print FORMAT on stdout, with curl's variables: %{http_code},
    /// %{time_namelookup}, %{time_connect}, %{time_appconnect}, %{time_pretransfer},
    /// %{time_starttransfer}, %{time_total}, %{remote_ip}, %{remote_port}, %{size_download},
    /// %{url_effective}, %{num_redirects}, %{http_version}, %{json}; \n for a line break.
    /// @FILE reads the format from FILE (@- from stdin).
    #[arg(short = 'w', long = "write-out", value_name = "FORMAT")]
    pub(crate) write_out: Option<String>,

    /// Keep an HTTP cache (RFC 9111, private) in DIR, shared with other runs.
    #[arg(long = "cache-dir", value_name = "DIR")]
    pub(crate) cache_dir: Option<PathBuf>,

    /// Where replies may come from when --cache-dir is set.
    #[arg(long = "cache-load", value_enum, default_value = "prefer-network", value_name = "CONTROL")]
    pub(crate) cache_load: CacheLoadArg,

    /// Go on despite this certificate problem (e.g. HostNameMismatch); repeatable.
    #[arg(long = "ignore-ssl-error", value_name = "NAME", value_parser = parse_ssl_error)]
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
