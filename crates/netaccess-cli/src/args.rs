//! The command line, in curl's spelling. These names are a contract: add, never rename.

use std::path::PathBuf;

use clap::Parser;

/// Fetch URLs with netaccess: file, data (and more schemes as backends land), in curl's habits.
#[derive(Debug, Parser)]
#[command(name = "netaccess", version, about, max_term_width = 100)]
pub(crate) struct Args {
    /// The URLs to fetch; several are fetched concurrently through one manager.
    #[arg(required = true, value_name = "URL")]
    pub(crate) urls: Vec<String>,

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
}
