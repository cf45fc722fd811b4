//! The project's tasks, run as `cargo xtask <task>`:
//!
//! - `ci`: the whole test matrix, step by step, stopping at the first red step.
//! - `contained`: no file of the repository refers to a path outside it (a step of `ci`).
//! - `design-map`: every file ARCHITECTURE.md names for a design has its `# Design` section
//!   (a step of `ci`).
//! - `notices`: writes `THIRD-PARTY-NOTICES.md` from the lock file (`ci` checks it is fresh).
//! - `demo`: the `netaccess` CLI at work on every scheme it supports, with a summary table.
//! - `examples`: the facade's examples run against local servers and checked.
//! - `man`: the CLI's man page and shell completions, generated and checked.
//! - `interop`: the library against real servers from Debian (nginx), on loopback.
//! - `bench [--quick]`: the benchmarks, netaccess next to other clients in one run.
//! - `fuzz [--minutes N]`: every fuzz target, its saved corpus replayed, then N minutes each.

#![forbid(unsafe_code)]

mod apache;
mod ci;
mod contained;
mod curl_habits;
mod demo;
mod design_map;
mod disk;
mod examples;
mod ftp;
mod fuzz;
mod interop;
mod man;
mod nginx_h2;
mod notices;
mod processes;
mod proxies;
mod shell;

use std::process::ExitCode;

fn main() -> ExitCode {
    // Every task talks to servers it started on loopback: a proxy from the shell must not capture
    // the tests, the interop clients or the demo's CLI runs.
    for name in shell::PROXY_VARIABLES {
        std::env::remove_var(name);
    }
    // An interrupted task stops the servers it started before it exits.
    processes::stop_all_on_signals();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(),
        Some("contained") => contained::run(),
        Some("design-map") => design_map::run(),
        Some("notices") => notices::write(),
        Some("demo") => demo::run(),
        Some("examples") => examples::run(),
        Some("man") => man::run(),
        Some("interop") => interop::run(),
        Some("bench") => bench(&args[1..]),
        Some("fuzz") => fuzz::run_from_args(&args),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci|demo|examples|man|interop|bench [--quick] [--only NAME]|fuzz [--minutes N]>"
            );
            eprintln!("  ci    disk check, self-containment, the design map, fmt, clippy (also without default features), tests, docs, the publish dry run, cargo-deny, interop, demo, examples, fuzz and bench smoke");
            eprintln!("  examples  the facade's examples against local servers");
            eprintln!("  man   the CLI's man page and shell completions into target/");
            eprintln!("  demo  the netaccess CLI on every scheme, with a summary table");
            eprintln!("  interop  the library against Debian's servers (nginx), installed when missing");
            eprintln!("  bench netaccess next to other clients, in one run (--quick: a short smoke run)");
            eprintln!("  fuzz  every fuzz target: the saved corpus, then N minutes each (default 1)");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Builds the benchmark program in release mode and runs it pinned to CPU 0 (client and server
/// on one core: see `ARCHITECTURE.md`, "Measuring speed on these machines").
/// `args` go to the program: `--quick`, `--only NAME`. Then the criterion benchmarks of the
/// HTTP/1.1 core run (once each, as a test, with `--quick`).
pub(crate) fn bench(args: &[String]) -> Result<(), String> {
    // The command too: the scale scenario runs it beside curl.
    shell::run(&mut shell::cargo(&[
        "build",
        "--release",
        "--quiet",
        "-p",
        "netaccess-benches",
        "-p",
        "netaccess-cli",
    ]))?;
    let program = shell::target_dir().join("release").join("netaccess-bench");
    let mut command = if shell::have("taskset") {
        let mut command = std::process::Command::new("taskset");
        command.arg("-c").arg("0").arg(&program);
        command
    } else {
        eprintln!("NOTE: taskset is missing; the benchmark runs unpinned");
        std::process::Command::new(&program)
    };
    command.args(args);
    shell::run(&mut command)?;
    // The HTTP/1.1 core alone (criterion); `--quick` runs each once, as a test.
    let criterion: &[&str] = if args.iter().any(|a| a == "--quick") {
        &["--test"]
    } else {
        &["--warm-up-time", "1", "--measurement-time", "3"]
    };
    let mut bench_args = vec!["bench", "--quiet", "-p", "netaccess-http1", "--bench", "core", "--"];
    bench_args.extend_from_slice(criterion);
    shell::run(&mut shell::cargo(&bench_args))
}
