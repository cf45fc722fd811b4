//! `cargo xtask notices`: the third-party notices a shipped `netaccess` binary must carry,
//! generated from the lock file; the `notices` step of `cargo xtask ci` fails when the
//! committed `THIRD-PARTY-NOTICES.md` is not what the lock file gives now.
//!
//! # Design
//!
//! The crates compiled into the command are the normal (not build, not dev) dependencies of
//! `netaccess-cli` on this platform, as `cargo metadata --locked` resolves them, less the
//! workspace's own and the procedural macros (they run in the compiler and ship nothing). For
//! each, the licence expression from its manifest and the texts it ships: every file at its
//! root named `LICENSE*`, `LICENCE*`, `COPYING*`, `NOTICE*` or the manifest's `license-file`,
//! and, for the `-sys` crates that bundle C code, the same names one folder down (libzstd's BSD
//! licence sits in `zstd-sys/zstd/`). Identical texts are printed once with every crate that
//! ships them. Bundled data a licence file does not show is added by hand in [`EXTRA`] (the
//! Public Suffix List inside `psl`, under MPL-2.0). A tool of our own rather than cargo-about:
//! the same result from what `cargo metadata` already says, without installing and building
//! another program on every CI machine.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The generated file, at the repository's root.
pub(crate) const FILE: &str = "THIRD-PARTY-NOTICES.md";

/// What licence files do not tell: (crate, note).
const EXTRA: &[(&str, &str)] = &[(
    "psl",
    "`psl` compiles in the Public Suffix List (https://publicsuffix.org/list/), which is under the \
     Mozilla Public License 2.0 (https://mozilla.org/MPL/2.0/). Its source form is the list \
     itself, published at that address; netaccess uses it unchanged to decide which cookie \
     domains are public suffixes.",
)];

/// `cargo xtask notices`: writes the file.
pub(crate) fn write() -> Result<(), String> {
    let text = generate()?;
    let path = crate::contained::repository_root()?.join(FILE);
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("notices: wrote {}", path.display());
    Ok(())
}

/// The `notices` step of `cargo xtask ci`: the committed file is what the lock file gives.
pub(crate) fn check() -> Result<(), String> {
    let text = generate()?;
    let path = crate::contained::repository_root()?.join(FILE);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == text {
        eprintln!("notices: {FILE} matches the lock file");
        Ok(())
    } else {
        Err(format!("{FILE} is stale: run `cargo xtask notices` and commit it"))
    }
}

struct Package {
    name: String,
    version: String,
    license: String,
    directory: PathBuf,
    license_file: Option<String>,
}

fn generate() -> Result<String, String> {
    let host = host_triple()?;
    let root = crate::contained::repository_root()?;
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--filter-platform", &host])
        .current_dir(&root)
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let metadata: Value = serde_json::from_slice(&output.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let shipped = shipped_packages(&metadata)?;
    Ok(render(&shipped))
}

fn host_triple() -> Result<String, String> {
    let output = Command::new("rustc").arg("-vV").output().map_err(|e| format!("rustc -vV: {e}"))?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: ").map(str::to_owned))
        .ok_or_else(|| "rustc -vV named no host".to_owned())
}

/// The registry packages compiled into `netaccess-cli`, sorted by name and version.
fn shipped_packages(metadata: &Value) -> Result<Vec<Package>, String> {
    let packages: HashMap<&str, &Value> = metadata["packages"]
        .as_array()
        .ok_or("no packages")?
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let nodes: HashMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .ok_or("no resolve graph")?
        .iter()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let start = packages
        .iter()
        .find(|(_, p)| p["name"] == "netaccess-cli" && p["source"].is_null())
        .map(|(id, _)| *id)
        .ok_or("netaccess-cli is not in the workspace")?;
    let mut seen = BTreeSet::new();
    let mut stack = vec![start];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let Some(node) = nodes.get(id) else { continue };
        for dep in node["deps"].as_array().into_iter().flatten() {
            let normal = dep["dep_kinds"].as_array().into_iter().flatten().any(|kind| kind["kind"].is_null());
            if let (true, Some(next)) = (normal, dep["pkg"].as_str()) {
                stack.push(next);
            }
        }
    }
    let mut shipped: Vec<Package> = seen
        .into_iter()
        .filter_map(|id| packages.get(id))
        .filter(|p| !p["source"].is_null())
        .filter(|p| {
            let targets = p["targets"].as_array().into_iter().flatten();
            !targets.flat_map(|t| t["kind"].as_array().into_iter().flatten()).any(|k| k == "proc-macro")
        })
        .map(|p| Package {
            name: p["name"].as_str().unwrap_or_default().to_owned(),
            version: p["version"].as_str().unwrap_or_default().to_owned(),
            license: p["license"].as_str().unwrap_or("(none given)").to_owned(),
            directory: Path::new(p["manifest_path"].as_str().unwrap_or_default())
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            license_file: p["license_file"].as_str().map(str::to_owned),
        })
        .collect();
    shipped.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    Ok(shipped)
}

fn is_licence_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["LICENSE", "LICENCE", "COPYING", "NOTICE"].iter().any(|prefix| upper.starts_with(prefix))
}

/// The licence texts a package ships: (file name relative to the package, text).
fn licence_texts(package: &Package) -> Vec<(String, String)> {
    let mut files = BTreeSet::new();
    let mut folders = vec![package.directory.clone()];
    if package.name.ends_with("-sys") {
        if let Ok(entries) = std::fs::read_dir(&package.directory) {
            folders.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
        }
    }
    for folder in folders {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() && path.file_name().and_then(|n| n.to_str()).is_some_and(is_licence_name) {
                files.insert(path);
            }
        }
    }
    if let Some(named) = &package.license_file {
        files.insert(package.directory.join(named));
    }
    files
        .into_iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).ok()?;
            let relative = path.strip_prefix(&package.directory).unwrap_or(&path).display().to_string();
            Some((relative, text.trim_end().to_owned()))
        })
        .collect()
}

fn render(shipped: &[Package]) -> String {
    let mut out = String::new();
    out.push_str("# Third-party notices\n\n");
    out.push_str(
        "The `netaccess` command is built from the crates below (the normal dependencies of \
         `netaccess-cli` on x86_64 Linux, as `Cargo.lock` resolves them). Generated by `cargo \
         xtask notices` from the lock file and the licence files each crate ships; `cargo xtask \
         ci` fails when this file is stale. netaccess itself is under `MIT OR Apache-2.0` \
         (`LICENSE-MIT`, `LICENSE-APACHE`).\n\n",
    );
    out.push_str("| crate | version | licence |\n|---|---|---|\n");
    for package in shipped {
        out.push_str(&format!("| {} | {} | {} |\n", package.name, package.version, package.license));
    }
    let mut extra_notes = String::new();
    for (name, note) in EXTRA {
        if shipped.iter().any(|p| p.name == *name) {
            extra_notes.push_str(&format!("- **{name}**: {note}\n"));
        }
    }
    if !extra_notes.is_empty() {
        out.push_str("\n## Bundled data\n\n");
        out.push_str(&extra_notes);
    }
    // Identical texts once, with every crate and file that ships them.
    let mut by_text: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut without = Vec::new();
    for package in shipped {
        let texts = licence_texts(package);
        if texts.is_empty() {
            without.push(format!("{} {} ({})", package.name, package.version, package.license));
        }
        for (file, text) in texts {
            by_text.entry(text).or_default().push(format!("{} {} (`{file}`)", package.name, package.version));
        }
    }
    if !without.is_empty() {
        out.push_str(
            "\n## Crates that ship no licence file\n\nTheir manifests name the licence; its standard \
             text applies (for MIT and Apache-2.0, the texts below):\n\n",
        );
        for line in &without {
            out.push_str(&format!("- {line}\n"));
        }
    }
    out.push_str("\n## Licence texts\n");
    let mut texts: Vec<(Vec<String>, String)> = by_text.into_iter().map(|(text, users)| (users, text)).collect();
    texts.sort();
    for (users, text) in texts {
        out.push_str(&format!("\n### {}\n\n````text\n{text}\n````\n", users.join(", ")));
    }
    out
}
