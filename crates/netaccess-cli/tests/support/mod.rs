//! Running the command and curl side by side, for the test files that compare them.

#![allow(dead_code)] // each test file uses the part it needs

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `program` with `args` (netaccess without its progress bar), off the async threads.
pub(crate) async fn run(program: &'static str, args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(program);
        if program != "curl" {
            command.arg("--no-progress");
        }
        command.args(args).stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("run {program}: {e}"))
    })
    .await
    .unwrap()
}

/// The command under test.
pub(crate) async fn netaccess(args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_netaccess"), args.iter().map(|a| (*a).to_owned()).collect()).await
}

/// curl, when this machine has it; in CI (`CI=true`) it must.
pub(crate) async fn curl(args: &[&str]) -> Option<Output> {
    if Command::new("curl").arg("--version").stdout(Stdio::null()).status().is_err() {
        assert!(std::env::var_os("CI").is_none(), "curl is part of the image CI runs on");
        eprintln!("SKIPPED LOUDLY: curl is not installed; the curl side of this comparison did not run");
        return None;
    }
    Some(run("curl", args.iter().map(|a| (*a).to_owned()).collect()).await)
}

/// One side of a comparison: netaccess, or curl when it is there (`None` otherwise).
pub(crate) async fn side(program: &str, args: &[&str]) -> Option<Output> {
    match program {
        "netaccess" => Some(netaccess(args).await),
        _ => curl(args).await,
    }
}

/// What a run printed on stderr.
pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// What a run printed on stdout.
pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A path as an argument.
pub(crate) fn text(path: &Path) -> String {
    path.display().to_string()
}
