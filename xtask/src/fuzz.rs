//! `cargo xtask fuzz [--minutes N]`: every `cargo fuzz` target in `fuzz/`, first replaying its
//! saved corpus, then fuzzing for N minutes each. `cargo xtask ci` runs it as a smoke test: the
//! replay and a few seconds per target.
//!
//! # Design
//!
//! The fuzz package lives outside the workspace because libFuzzer needs nightly and the
//! sanitizer flags; the workspace builds on stable. Nightly and cargo-fuzz are installed when
//! missing (rustup and crates.io); when that fails the task fails, it never skips. New inputs go
//! to `target/fuzz-corpus/<target>`, so a run does not touch the committed corpus; a crash lands
//! in `fuzz/artifacts/<target>` and fails the task with the command that reproduces it. Each
//! crash found becomes a regression test in the crate it hit. The sanitizer build goes to
//! `<target>/fuzz`, beside the workspace's, so clones sharing one target directory (CI's) build it
//! once.

use std::path::Path;
use std::process::Command;

use crate::shell::{cargo, have, root, run as run_command, target_dir};

/// The targets, each with its dictionary if it has one.
const TARGETS: &[(&str, Option<&str>)] = &[
    ("http1_response", Some("dict/http1.dict")),
    ("http1_structured", None),
    ("set_cookie", None),
    ("cookie_files", None),
    ("data_url", None),
    ("no_proxy", None),
    ("cache_entry", None),
    ("decompress", None),
    ("proxy_reply", None),
    ("ftp_replies", None),
    ("hsts", None),
    ("har_replay", None),
    ("netrc", None),
    ("write_out", None),
];

/// Seconds per target in the `ci` smoke run.
pub(crate) const SMOKE_SECONDS: u64 = 8;

/// Replays every corpus, then fuzzes each target for `seconds` (0: the replay only; libFuzzer
/// would take 0 as "no limit").
pub(crate) fn run(seconds: u64) -> Result<(), String> {
    ensure_tools()?;
    run_command(&mut fuzz_command(&["build".into(), "-O".into()]))?;
    for (target, dictionary) in TARGETS {
        let saved = path(&root().join("fuzz").join("corpus").join(target));
        let fresh = fresh_corpus(target)?;
        let inputs = count_files(&saved);
        // An empty or missing corpus would "replay" nothing and pass.
        if inputs == 0 {
            return Err(format!("{target}: the saved corpus {saved} is empty: nothing to replay"));
        }
        eprintln!("fuzz {target}: replaying the saved corpus ({inputs} inputs)");
        let replay = ["run", "-O", target, &saved, "--", "-runs=0"].map(String::from);
        run_command(&mut fuzz_command(&replay))
            .map_err(|e| format!("{target}: the saved corpus no longer passes: {e}"))?;
        if seconds == 0 {
            continue;
        }
        eprintln!("fuzz {target}: fuzzing for {seconds} s");
        let mut args = ["run", "-O", target, &fresh, &saved, "--"].map(String::from).to_vec();
        args.push(format!("-max_total_time={seconds}"));
        if let Some(file) = dictionary {
            args.push(format!("-dict={}", path(&root().join("fuzz").join(file))));
        }
        run_command(&mut fuzz_command(&args)).map_err(|e| {
            format!(
                "{target} found a crash, saved in fuzz/artifacts/{target} (reproduce in fuzz/ with \
                 `cargo +nightly fuzz run {target} <file>`): {e}"
            )
        })?;
    }
    Ok(())
}

/// `cargo xtask fuzz --minutes N`: N minutes per target (default 1; 0 replays the corpus only).
pub(crate) fn run_from_args(args: &[String]) -> Result<(), String> {
    let minutes = match args.iter().position(|a| a == "--minutes") {
        Some(at) => {
            args.get(at + 1).and_then(|m| m.parse::<u64>().ok()).ok_or("--minutes takes a whole number of minutes")?
        }
        None => 1,
    };
    run(minutes * 60)
}

fn ensure_tools() -> Result<(), String> {
    let nightly = Command::new("rustup").args(["run", "nightly", "rustc", "--version"]).output();
    if !nightly.is_ok_and(|out| out.status.success()) {
        eprintln!("the nightly toolchain is missing: installing it with rustup (libFuzzer needs it)");
        run_command(Command::new("rustup").args(["toolchain", "install", "nightly", "--profile", "minimal"]))?;
    }
    if !have("cargo-fuzz") {
        eprintln!("cargo-fuzz is missing: installing it with cargo install (once per machine)");
        run_command(&mut cargo(&["install", "cargo-fuzz", "--locked"]))?;
    }
    Ok(())
}

/// `cargo fuzz <subcommand> <args>` on nightly, in `fuzz/`, free of the stable toolchain's
/// variables, building into `<target>/fuzz` so that clones sharing a target directory (CI's)
/// share the sanitizer build too.
fn fuzz_command(args: &[String]) -> Command {
    let mut command = Command::new("rustup");
    command.args(["run", "nightly", "cargo", "fuzz"]).current_dir(root().join("fuzz"));
    if let Some((subcommand, rest)) = args.split_first() {
        command.arg(subcommand).arg("--target-dir").arg(target_dir().join("fuzz")).args(rest);
    }
    for variable in ["CARGO", "RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN", "CARGO_TARGET_DIR", "RUSTFLAGS"] {
        command.env_remove(variable);
    }
    command
}

/// Where a run puts the inputs it found, away from the committed corpus.
fn fresh_corpus(target: &str) -> Result<String, String> {
    let directory = target_dir().join("fuzz-corpus").join(target);
    std::fs::create_dir_all(&directory).map_err(|e| format!("cannot create {}: {e}", directory.display()))?;
    Ok(path(&directory))
}

fn count_files(directory: &str) -> usize {
    std::fs::read_dir(directory).map(|entries| entries.count()).unwrap_or(0)
}

fn path(path: &Path) -> String {
    path.display().to_string()
}
