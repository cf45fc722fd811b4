//! `netaccess`: the netaccess library from a shell, in curl's habits.
//!
//! ```text
//! netaccess [OPTIONS] <URL>...
//! ```
//!
//! Several URLs are fetched concurrently through one manager; their bodies, `--summary` lines
//! and errors come out in the order the URLs were given. Exit status: 0 when every reply
//! finished without error; else by the first failing reply's error group: 3 network, 4 proxy,
//! 5 content, 6 protocol, 7 server, 1 anything else (such as an output that cannot be written);
//! 2 for bad usage; 33 (curl's) when a resumed download's answer does not continue the file.

#![forbid(unsafe_code)]

mod args;
mod disposition;
mod generated;
mod netrc;
mod plan;
mod proxies;
mod summary;
mod transfer;
mod upload;
mod write_out;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::FromArgMatches;
use futures::stream::{FuturesOrdered, StreamExt};
use futures::FutureExt;
use netaccess::NetworkAccessManager;

use crate::args::Args;
use crate::transfer::{Display, Outcome};

fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().collect();
    if let Some(status) = generated::run_if_asked(&raw) {
        return status;
    }
    let args = match Args::from_arg_matches(&generated::command().get_matches()) {
        Ok(args) => args,
        Err(error) => error.exit(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("netaccess: cannot start the runtime: {err}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(run(args))
}

async fn run(args: Args) -> ExitCode {
    let planned = plan::targets(&args).and_then(|targets| {
        let planner = plan::Planner::new(&args, targets.len())?;
        Ok((targets, planner))
    });
    let (targets, planner) = match planned {
        Ok(pair) => pair,
        Err(plan::UsageError(message)) => {
            eprintln!("netaccess: {message}");
            return ExitCode::from(2);
        }
    };
    let (summary_out, header_out) = match open_report(args.summary.as_deref(), "summary")
        .and_then(|summary| Ok((summary, open_report(args.dump_header.as_deref(), "header dump")?)))
    {
        Ok(outs) => outs,
        Err(message) => {
            eprintln!("netaccess: {message}");
            return ExitCode::from(2);
        }
    };
    let quiet = args.silent && !args.show_error;
    let (jar, jar_format) = match cookie_jar(&args, quiet) {
        Ok(pair) => pair,
        Err(message) => {
            eprintln!("netaccess: {message}");
            return ExitCode::from(2);
        }
    };
    let mut builder = NetworkAccessManager::builder();
    if let Some(directory) = &args.cache_dir {
        match netaccess::DiskCache::new(directory) {
            Ok(cache) => builder = builder.cache(std::sync::Arc::new(cache)),
            Err(err) => {
                eprintln!("netaccess: cannot use the cache directory {}: {err}", directory.display());
                return ExitCode::from(2);
            }
        }
    }
    for (host, port, addresses) in &args.resolve {
        let sockets = addresses.iter().map(|ip| std::net::SocketAddr::new(*ip, *port));
        builder = builder.resolve_addresses(host, *port, sockets);
    }
    if args.ipv4 {
        builder = builder.ip_family(netaccess::IpFamily::V4Only);
    } else if args.ipv6 {
        builder = builder.ip_family(netaccess::IpFamily::V6Only);
    }
    let write_out = match write_out_format(args.write_out.as_deref()) {
        Ok(format) => format,
        Err(message) => {
            eprintln!("netaccess: {message}");
            return ExitCode::from(2);
        }
    };
    builder = builder.proxy_factory(std::sync::Arc::new(proxies::CliProxies::new(&args)));
    if let Some(user) = &args.proxy_user {
        let (name, password) = user.split_once(':').unwrap_or((user, ""));
        builder =
            builder.proxy_authentication_handler(proxies::FixedProxyCredentials(name.to_owned(), password.to_owned()));
    }
    if let Some(user) = &args.user {
        let (name, password) = user.split_once(':').unwrap_or((user, ""));
        builder = builder.authentication_handler(FixedCredentials(netaccess::Credentials::new(name, password)));
    } else if let Some(path) = netrc::path(&args) {
        match netrc::Netrc::load(&path) {
            Ok(netrc) => builder = builder.authentication_handler(netrc),
            Err(message) => {
                eprintln!("netaccess: {message}");
                return ExitCode::from(2);
            }
        }
    }
    let mut body_retry = None;
    if args.retry > 0 {
        let mut policy = netaccess::RetryPolicy::new(args.retry);
        policy.fixed_delay = (args.retry_delay > 0.0).then(|| args::seconds(args.retry_delay));
        policy.max_elapsed = (args.retry_max_time > 0.0).then(|| args::seconds(args.retry_max_time));
        policy.all_errors = args.retry_all_errors;
        body_retry = Some(transfer::BodyRetry { policy: policy.clone() });
        builder = builder.retry_policy(policy);
    }
    if let Some(path) = &args.hsts {
        // A file that exists but cannot be read is a usage error, as a bad cookie file is; a
        // line that does not parse costs only itself (curl's rule), with a warning.
        match std::fs::read(path).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(Vec::new()),
            _ => Err(e),
        }) {
            Ok(bytes) => {
                let (_, skipped) = netaccess::hsts::parse_file(&bytes, std::time::SystemTime::now());
                warn_skipped("the HSTS file", path, &skipped, quiet);
            }
            Err(err) => {
                eprintln!("netaccess: cannot read the HSTS file {}: {err}", path.display());
                return ExitCode::from(2);
            }
        }
        builder = builder.strict_transport_security_store(path);
    }
    let recorder = args.har.as_ref().map(|_| {
        let mut options = netaccess::HarOptions::default();
        options.body_limit = args.har_body_limit;
        options.redact.clone_from(&args.har_redact);
        std::sync::Arc::new(netaccess::HarRecorder::with_options(options))
    });
    if let Some(recorder) = &recorder {
        builder = builder.har_recorder(recorder.clone());
    }
    if let Some(path) = &args.replay {
        match netaccess::HarReplay::from_file(path) {
            Ok(replay) => builder = builder.har_replay(replay),
            Err(message) => {
                eprintln!("netaccess: cannot replay {message}");
                return ExitCode::from(2);
            }
        }
    }
    if let Some(agent) = &args.user_agent {
        builder = builder.user_agent(agent.clone());
    }
    // `-i`, `-D` and `-v` show header names as the server spelled them, as curl does.
    builder = builder.preserve_header_case(args.include || args.dump_header.is_some() || args.verbose);
    // `-v` shows the request head as it was sent; `-w` may count its bytes.
    let counts_request = write_out.as_deref().is_some_and(|f| f.contains("%{size_request}") || f.contains("%{json}"));
    builder = builder.keep_request_heads(args.verbose || counts_request);
    let manager = builder
        .cookie_jar(jar.clone())
        .network_accessible(!args.offline)
        .redirect_policy(args.redirect_policy.policy())
        .max_redirects(args.max_redirs)
        .transfer_timeout(args::seconds(args.timeout))
        .connect_timeout(args::seconds(args.connect_timeout))
        .deadline(args::seconds(args.max_time))
        .max_connections_per_host(args.max_host_connections)
        .max_body_size((args.max_filesize > 0).then_some(args.max_filesize))
        .auto_decompress(!args.no_compressed)
        .tls(tls_config(&args))
        .build();
    let show_progress =
        !args.silent && (args.progress_bar || (!args.no_progress && !args.verbose && std::io::stderr().is_terminal()));
    let display = Display {
        verbose: args.verbose,
        show_headers: args.include || args.head,
        progress: show_progress.then(indicatif::MultiProgress::new),
        numbered: targets.len() > 1,
        insecure: args.insecure,
        quiet,
        fail: args.fail,
        create_dirs: args.create_dirs,
        headers_to_stdout: args.dump_header.as_deref() == Some("-"),
    };

    // Issued one after the other, in the order given; each transfer is planned only as its
    // turn to be issued comes, and what is done already is delivered between two issues, so
    // finished transfers do not pile up while a long list is issued. Two transfers never write
    // one file at once: one whose file an earlier transfer still writes waits for it (and so
    // for those before it), so the later URL's body is the one the file ends with, as curl's.
    let mut transfers = FuturesOrdered::new();
    let mut exit = 0u8;
    let mut report = Report { summary_out, header_out, write_out, unknown: Vec::new(), quiet };
    let mut concluded = 0usize;
    let mut writers: std::collections::HashMap<std::path::PathBuf, usize> = std::collections::HashMap::new();
    for (index, target) in targets.iter().enumerate() {
        let plan = match planner.plan(index, target) {
            Ok(plan) => plan,
            Err(plan::UsageError(message)) => {
                eprintln!("netaccess: {message}");
                return ExitCode::from(2);
            }
        };
        if let plan::Destination::File(path) = &plan.destination {
            if let Some(earlier) = writers.insert(plan::same_file_key(path), index) {
                while concluded <= earlier {
                    let Some(outcome) = transfers.next().await else { break };
                    conclude(&outcome, &mut report, &mut exit);
                    concluded += 1;
                }
            }
        }
        let start = transfer::start(&manager, index, plan).await;
        transfers.push_back(transfer::run(start, &display, &manager, body_retry.as_ref()));
        while let Some(Some(outcome)) = transfers.next().now_or_never() {
            conclude(&outcome, &mut report, &mut exit);
            concluded += 1;
        }
    }
    drop(targets);
    while let Some(outcome) = transfers.next().await {
        conclude(&outcome, &mut report, &mut exit);
    }
    if let Some(path) = &args.cookie_jar {
        if let Err(err) = jar.save_as(path, jar_format) {
            if !quiet {
                eprintln!("netaccess: cannot save the cookie jar {}: {err}", path.display());
            }
            exit = if exit == 0 { 1 } else { exit };
        }
    }
    if let (Some(path), Err(err)) = (&args.hsts, manager.save_strict_transport_security_store()) {
        if !quiet {
            eprintln!("netaccess: cannot save the HSTS file {}: {err}", path.display());
        }
        exit = if exit == 0 { 1 } else { exit };
    }
    if let (Some(path), Some(recorder)) = (&args.har, &recorder) {
        if let Err(err) = recorder.save(path) {
            if !quiet {
                eprintln!("netaccess: cannot write the HAR file {}: {err}", path.display());
            }
            exit = if exit == 0 { 1 } else { exit };
        }
        let left_out = recorder.bodies_left_out();
        if left_out > 0 && !quiet {
            eprintln!(
                "netaccess: warning: {left_out} bodies over {} bytes were left out of {} (a replay of their \
                 entries fails); --har-body-limit BYTES raises the limit",
                args.har_body_limit,
                path.display()
            );
        }
    }
    ExitCode::from(exit)
}

/// Says on stderr which lines of a store file were left out, and why.
fn warn_skipped(what: &str, path: &std::path::Path, skipped: &[netaccess::SkippedLine], quiet: bool) {
    if quiet {
        return;
    }
    for line in skipped {
        eprintln!("netaccess: warning: {what} {}: {line}: left out", path.display());
    }
}

/// The jar: loaded from `--cookie-jar` when the file exists, plus `-b` files, each in either
/// format (curl's cookies.txt or our JSON), bad lines skipped with a warning; and the format the
/// jar is saved in: the `-c` file's, or curl's for a new file.
fn cookie_jar(
    args: &Args,
    quiet: bool,
) -> Result<(std::sync::Arc<netaccess::DefaultCookieJar>, netaccess::JarFormat), String> {
    let jar = netaccess::DefaultCookieJar::new();
    let mut format = netaccess::JarFormat::Netscape;
    if let Some(path) = args.cookie_jar.as_ref().filter(|p| p.exists()) {
        let report = jar.read_file(path).map_err(|e| format!("cannot load the cookie jar {}: {e}", path.display()))?;
        warn_skipped("the cookie jar", path, &report.skipped, quiet);
        format = report.format;
    }
    for file in args.cookie.iter().filter(|c| !c.contains('=')) {
        let report = jar.read_file(file).map_err(|e| format!("cannot read the cookie file {e}"))?;
        warn_skipped("the cookie file", std::path::Path::new(file), &report.skipped, quiet);
    }
    Ok((std::sync::Arc::new(jar), format))
}

fn tls_config(args: &Args) -> netaccess::TlsConfig {
    let mut tls = netaccess::TlsConfig::default();
    for file in &args.cacert {
        tls = tls.with_ca_file(file);
    }
    if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
        tls = tls.with_client_certificate(cert, key);
    }
    tls
}

/// `-u`: answers the first challenge of a realm, and gives up when those credentials are
/// rejected (asking again would get the same answer).
struct FixedCredentials(netaccess::Credentials);

impl netaccess::AuthenticationHandler for FixedCredentials {
    fn credentials(
        &self,
        challenge: netaccess::AuthenticationChallenge,
    ) -> futures::future::BoxFuture<'static, Option<netaccess::Credentials>> {
        let answer = (!challenge.retry).then(|| self.0.clone());
        Box::pin(async move { answer })
    }
}

/// Where each transfer's report goes once its body is out.
struct Report {
    /// `--summary`'s destination.
    summary_out: Option<Box<dyn Write>>,
    /// `-D`'s destination (`-D -` with the body on stdout writes the head with the body).
    header_out: Option<Box<dyn Write>>,
    /// `-s`: no error text.
    quiet: bool,
    /// `-w`'s format.
    write_out: Option<String>,
    /// `-w` variables already reported unknown.
    unknown: Vec<String>,
}

/// `-w`'s format: as given, or read from @FILE (@- stdin).
fn write_out_format(given: Option<&str>) -> Result<Option<String>, String> {
    match given.map(|g| (g, g.strip_prefix('@'))) {
        None => Ok(None),
        Some((_, Some("-"))) => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .map_err(|e| format!("cannot read the -w format from stdin: {e}"))?;
            Ok(Some(text))
        }
        Some((_, Some(path))) => {
            std::fs::read_to_string(path).map(Some).map_err(|e| format!("cannot read the -w format file {path}: {e}"))
        }
        Some((format, None)) => Ok(Some(format.to_owned())),
    }
}

/// Delivers a transfer's outcome and keeps the exit status of the first failure.
fn conclude(outcome: &Outcome, report: &mut Report, exit: &mut u8) {
    if let Err(err) = deliver(outcome, report) {
        if !report.quiet {
            eprintln!("netaccess: {err}");
        }
        if *exit == 0 {
            *exit = 1;
        }
    }
    if *exit == 0 {
        *exit = exit_code(outcome);
    }
}

fn exit_code(outcome: &Outcome) -> u8 {
    match (&outcome.error, &outcome.local_failure) {
        (Some(error), _) => summary::exit_code_for(error),
        (None, Some(_)) => outcome.local_exit,
        (None, None) => 0,
    }
}

/// Copies a spooled body to stdout, reports the error and writes the summary line, whole, in
/// one write (a line is never torn or interleaved with another).
fn deliver(outcome: &Outcome, report: &mut Report) -> std::io::Result<()> {
    if let (Some(out), Some(block)) = (report.header_out.as_mut(), &outcome.header_block) {
        out.write_all(block)?;
        out.flush()?;
    }
    if let Some(spool) = &outcome.spool {
        let mut spool = spool;
        std::io::copy(&mut spool, &mut std::io::stdout().lock())?;
    }
    if let Some(format) = &report.write_out {
        let known_before = report.unknown.len();
        let text = write_out::render(format, &outcome.summary, exit_code(outcome), &mut report.unknown);
        for name in &report.unknown[known_before..] {
            eprintln!("netaccess: unknown --write-out variable: '{name}'");
        }
        std::io::stdout().lock().write_all(text.as_bytes())?;
    }
    std::io::stdout().flush()?;
    if let Some(error) = outcome.error.as_ref().filter(|_| !report.quiet) {
        eprintln!("netaccess: {error}");
        if let Some(hint) = tls_hint(error) {
            eprintln!("netaccess: {hint}");
        }
    }
    if let Some(message) = outcome.local_failure.as_ref().filter(|_| !report.quiet) {
        eprintln!("netaccess: {}: {message}", outcome.summary.url);
    }
    if let Some(out) = report.summary_out.as_mut() {
        let mut line = serde_json::to_vec(&outcome.summary)?;
        line.push(b'\n');
        out.write_all(&line)?;
        out.flush()?;
    }
    Ok(())
}

/// What the user can do about a refused certificate, in the command's flags: the library's message
/// says the cause in words and names the problems.
fn tls_hint(error: &netaccess::NetworkError) -> Option<String> {
    use netaccess::SslErrorKind;
    if error.kind() != netaccess::NetworkErrorKind::SslHandshakeFailedError {
        return None;
    }
    let message = error.message();
    let named: Vec<&str> =
        SslErrorKind::ALL.iter().map(|kind| kind.name()).filter(|name| message.contains(name)).collect();
    let first = named.first()?;
    Some(format!(
        "to trust this server, name its certificate or its CA with --cacert FILE; to accept {} for this \
         transfer, add --ignore-ssl-error {first}{}; -k accepts any certificate (no protection)",
        if named.len() == 1 { "this problem" } else { "these problems" },
        named[1..].iter().map(|name| format!(" --ignore-ssl-error {name}")).collect::<String>(),
    ))
}

/// A report's destination: a file, created (emptied) now, or stdout for `-`.
fn open_report(path: Option<&str>, what: &str) -> Result<Option<Box<dyn Write>>, String> {
    match path {
        None => Ok(None),
        Some("-") => Ok(Some(Box::new(std::io::stdout()))),
        Some(path) => std::fs::File::create(path)
            .map(|file| Some(Box::new(file) as Box<dyn Write>))
            .map_err(|e| format!("cannot create the {what} file {path}: {e}")),
    }
}
