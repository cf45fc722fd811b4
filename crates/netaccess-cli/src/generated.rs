//! What is made from the argument definitions, so it never drifts from `--help`: shell
//! completions (`netaccess completions bash|zsh|fish`), the man page (`netaccess manpage`,
//! written by `cargo xtask man`), and `--version`'s list of protocols and features.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::args::Args;

/// The command's definition, with `--version` telling what was compiled in.
pub(crate) fn command() -> clap::Command {
    Args::command().long_version(long_version())
}

/// curl's `-V` in netaccess's terms: the versions, then the protocols and features.
fn long_version() -> String {
    let schemes = netaccess::NetworkAccessManager::builder().build().supported_schemes();
    let mut features = vec![
        "cookies",
        "disk-cache",
        "happy-eyeballs",
        "http-proxy",
        "socks5",
        "multipart",
        "gzip",
        "deflate",
        "HTTP2",
        "hsts",
    ];
    features.extend(netaccess::compiled_features());
    format!(
        "{} (netaccess {}; HTTP/1.1 of its own, HTTP/2 by h2, TLS by rustls)\nProtocols: {}\nFeatures: {}",
        env!("CARGO_PKG_VERSION"),
        netaccess::VERSION,
        schemes.join(" "),
        features.join(" ")
    )
}

/// Runs `completions SHELL` or `manpage` when the command line asks for one; `None` otherwise.
pub(crate) fn run_if_asked(args: &[String]) -> Option<ExitCode> {
    match args.get(1).map(String::as_str) {
        Some("completions") => Some(completions(args.get(2).map(String::as_str))),
        Some("manpage") => Some(manpage()),
        _ => None,
    }
}

fn completions(shell: Option<&str>) -> ExitCode {
    let shell = match shell {
        Some("bash") => clap_complete::Shell::Bash,
        Some("zsh") => clap_complete::Shell::Zsh,
        Some("fish") => clap_complete::Shell::Fish,
        other => {
            eprintln!("netaccess: completions for bash, zsh or fish, not {other:?}");
            return ExitCode::from(2);
        }
    };
    clap_complete::generate(shell, &mut command(), "netaccess", &mut std::io::stdout());
    ExitCode::SUCCESS
}

/// The man page: clap_mangen's sections, with EXIT STATUS in place of its generic EXTRA one.
fn render_manpage(page: &mut Vec<u8>) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(command());
    man.render_title(page)?;
    man.render_name_section(page)?;
    man.render_synopsis_section(page)?;
    man.render_description_section(page)?;
    man.render_options_section(page)?;
    page.extend_from_slice(b".SH \"EXIT STATUS\"\nThe status of the first transfer that failed, by its error group:\n");
    for (code, meaning) in crate::args::EXIT_STATUSES {
        page.extend_from_slice(format!(".TP\n{code}\n{}\n", meaning.replace('-', "\\-")).as_bytes());
    }
    man.render_version_section(page)
}

fn manpage() -> ExitCode {
    let mut page = Vec::new();
    if let Err(err) = render_manpage(&mut page) {
        eprintln!("netaccess: cannot render the man page: {err}");
        return ExitCode::from(1);
    }
    match std::io::stdout().write_all(&page) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("netaccess: cannot write the man page: {err}");
            ExitCode::from(1)
        }
    }
}
