//! The `disk` step of `cargo xtask ci`: enough free space for the build before it starts.
//!
//! # Design
//!
//! A build that runs out of space fails deep inside rustc or the linker with a message about an
//! output stream; this step fails first, saying how much is free where, and frees what is only a
//! cache when space is short. Incremental-compilation data goes first (it is regenerated as
//! needed); under `CI=true` the whole target directory may go too, since a CI run that builds
//! cold is slower but green, while a full disk is red. On a developer's machine the target
//! directory is left alone and the step says what to remove.

use std::path::Path;
use std::process::Command;

use crate::shell::target_dir;

/// What a cold `cargo xtask ci` wrote into an empty target directory (5.1 GiB measured on a
/// clean clone, 2026-11-27: debug, release and fuzz builds), with room to spare.
const COLD_NEEDS: u64 = 6 << 30;
/// What a warm run may add (the workspace's own crates rebuilt in each profile).
const WARM_NEEDS: u64 = 2 << 30;

const GIB: f64 = (1u64 << 30) as f64;

pub(crate) fn run() -> Result<(), String> {
    let target = target_dir();
    let mut needs = if target.join("debug").join("deps").exists() { WARM_NEEDS } else { COLD_NEEDS };
    let free = free_bytes(&target)?;
    eprintln!(
        "disk: {:.1} GiB free for {} (this run needs about {:.0} GiB)",
        free as f64 / GIB,
        target.display(),
        needs as f64 / GIB
    );
    if free >= needs {
        return Ok(());
    }
    for profile in ["debug", "release", "fuzz/x86_64-unknown-linux-gnu/release"] {
        remove_cache(&target.join(profile).join("incremental"))?;
    }
    let mut free = free_bytes(&target)?;
    if free >= needs {
        return Ok(());
    }
    if std::env::var_os("CI").is_some_and(|value| value == "true") && target.exists() {
        eprintln!("disk: still short under CI=true: removing the whole target directory (the run builds cold)");
        remove_cache(&target)?;
        needs = COLD_NEEDS;
        free = free_bytes(&target)?;
        if free >= needs {
            return Ok(());
        }
    }
    Err(format!(
        "only {:.1} GiB free for {}; cargo xtask ci needs about {:.0} GiB (remove old target \
         directories, e.g. `cargo clean`, or point CARGO_TARGET_DIR at a larger disk)",
        free as f64 / GIB,
        target.display(),
        needs as f64 / GIB
    ))
}

/// Bytes available to this user on the file system holding `path` (or its nearest existing
/// ancestor), from POSIX `df -Pk`.
fn free_bytes(path: &Path) -> Result<u64, String> {
    let existing = path.ancestors().find(|p| p.exists()).unwrap_or(Path::new("/"));
    let output = Command::new("df").args(["-Pk"]).arg(existing).output().map_err(|e| format!("cannot run df: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let available_kib = text
        .lines()
        .nth(1)
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|field| field.parse::<u64>().ok())
        .ok_or_else(|| format!("cannot read the free space from df's output: {text:?}"))?;
    Ok(available_kib * 1024)
}

fn remove_cache(directory: &Path) -> Result<(), String> {
    if !directory.exists() {
        return Ok(());
    }
    eprintln!("disk: removing {} (a build cache)", directory.display());
    std::fs::remove_dir_all(directory).map_err(|e| format!("cannot remove {}: {e}", directory.display()))
}
