//! `cargo xtask ci`: every check, in order, stopping at the first red one.

use std::time::Instant;

use crate::shell::{cargo, have, run as run_command};

struct Step {
    name: &'static str,
    action: fn() -> Result<(), String>,
}

const STEPS: &[Step] = &[
    Step { name: "disk", action: crate::disk::run },
    Step { name: "contained", action: crate::contained::run },
    Step { name: "design-map", action: crate::design_map::run },
    Step { name: "notices", action: crate::notices::check },
    Step { name: "fmt", action: fmt },
    Step { name: "clippy", action: clippy },
    Step { name: "features", action: without_default_features },
    Step { name: "test", action: test },
    Step { name: "doc", action: doc },
    Step { name: "publish", action: publish_dry_run },
    Step { name: "deny", action: deny },
    Step { name: "interop", action: crate::interop::run },
    Step { name: "demo", action: crate::demo::run },
    Step { name: "examples", action: crate::examples::run },
    Step { name: "man", action: crate::man::run },
    Step { name: "fuzz", action: || crate::fuzz::run(crate::fuzz::SMOKE_SECONDS) },
    Step { name: "bench", action: || crate::bench(&["--quick".to_owned()]) },
];

pub(crate) fn run() -> Result<(), String> {
    let mut report = Vec::new();
    let started = Instant::now();
    for step in STEPS {
        eprintln!("\n==> xtask ci: {}", step.name);
        let step_started = Instant::now();
        let result = (step.action)();
        let seconds = step_started.elapsed().as_secs_f64();
        report.push((step.name, result.is_ok(), seconds));
        if let Err(message) = result {
            print_report(&report);
            return Err(format!("step {} failed: {message}", step.name));
        }
    }
    print_report(&report);
    eprintln!("xtask ci: all {} steps green in {:.0} s", STEPS.len(), started.elapsed().as_secs_f64());
    Ok(())
}

fn print_report(report: &[(&str, bool, f64)]) {
    eprintln!("\nxtask ci steps:");
    for (name, ok, seconds) in report {
        eprintln!("  {:<9} {:<5} {seconds:>7.1} s", name, if *ok { "ok" } else { "FAIL" });
    }
    for step in STEPS.iter().skip(report.len()) {
        eprintln!("  {:<9} not run", step.name);
    }
}

fn fmt() -> Result<(), String> {
    run_command(&mut cargo(&["fmt", "--all", "--", "--check"]))
}

fn clippy() -> Result<(), String> {
    run_command(&mut cargo(&["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"]))
}

/// The library crates with no default feature (no ftp, ftps, br, zstd...), linted: the code
/// behind `not(feature = ...)` is compiled too, not only the default build's.
fn without_default_features() -> Result<(), String> {
    let crates =
        ["netaccess", "netaccess-ftp", "netaccess-http", "netaccess-tls", "netaccess-cookie", "netaccess-cache"];
    let mut args = vec!["clippy", "--no-default-features", "--lib"];
    for name in crates {
        args.extend(["-p", name]);
    }
    args.extend(["--", "-D", "warnings"]);
    run_command(&mut cargo(&args))?;
    // The jar's rule without the bundled list, tested as it is built then.
    run_command(&mut cargo(&["test", "-p", "netaccess-cookie", "--no-default-features", "--lib"]))?;
    // What an HTTP-only program builds: none of the optional parts' crates.
    let output = cargo(&["tree", "-e", "normal", "-p", "netaccess", "--no-default-features", "--prefix", "none"])
        .output()
        .map_err(|e| format!("cargo tree: {e}"))?;
    let tree = String::from_utf8_lossy(&output.stdout);
    let heavy: Vec<&str> = ["suppaftp ", "psl ", "http-cache-semantics ", "x509-parser ", "brotli", "zstd "]
        .into_iter()
        .filter(|name| tree.lines().any(|line| line.starts_with(name)))
        .collect();
    let crates =
        tree.lines().map(|line| line.trim_end_matches(" (*)")).collect::<std::collections::BTreeSet<_>>().len();
    eprintln!("features: netaccess with no default feature builds {crates} crates");
    if !output.status.success() || !heavy.is_empty() || crates == 0 {
        return Err(format!("netaccess --no-default-features still pulls {heavy:?} ({crates} crates)"));
    }
    Ok(())
}

fn test() -> Result<(), String> {
    run_command(&mut cargo(&["test", "--workspace", "--all-targets"]))?;
    run_command(&mut cargo(&["test", "--workspace", "--doc"]))
}

fn doc() -> Result<(), String> {
    let mut command = cargo(&["doc", "--workspace", "--no-deps"]);
    command.env("RUSTDOCFLAGS", "-D warnings");
    run_command(&mut command)
}

/// Every crate packaged and built from its package, in dependency order, as crates.io would
/// take it (nothing is uploaded): manifests complete, path dependencies versioned, no file
/// missing from a package. Uncommitted changes are allowed: what is checked is the packages.
///
/// Its own target directory, with our crates' artifacts removed first: the packages are built
/// as registry crates, which cargo never rebuilds for a version it has built before, so on a
/// warm directory a changed crate of the same version would be checked as it was.
fn publish_dry_run() -> Result<(), String> {
    let dir = crate::shell::target_dir().join("publish-dry-run");
    for sub in ["debug/deps", "debug/.fingerprint", "debug/build", "package"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if ["netaccess", "libnetaccess"].iter().any(|prefix| name.starts_with(prefix)) {
                let path = entry.path();
                let removed = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
                removed.map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
            }
        }
    }
    let dir = dir.display().to_string();
    run_command(&mut cargo(&["publish", "--workspace", "--dry-run", "--allow-dirty", "--target-dir", &dir]))
}

/// Licences, bans and sources. The advisory database lives on a host this network cannot
/// reach, so advisories are checked only when `NETACCESS_DENY_ADVISORIES=1` says it can be.
fn deny() -> Result<(), String> {
    if !have("cargo-deny") {
        eprintln!("cargo-deny is missing: installing it with cargo install (once per machine)");
        run_command(&mut cargo(&["install", "cargo-deny", "--locked"]))?;
    }
    let mut checks = vec!["deny", "--all-features", "check", "bans", "licenses", "sources"];
    if std::env::var_os("NETACCESS_DENY_ADVISORIES").is_some_and(|v| v == "1") {
        checks.push("advisories");
    } else {
        eprintln!(
            "NOTE: cargo-deny advisories NOT checked: the advisory database cannot be fetched from this \
             network (set NETACCESS_DENY_ADVISORIES=1 where it can)"
        );
    }
    run_command(&mut cargo(&checks))
}
