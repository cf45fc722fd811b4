//! `cargo xtask ci`'s `design-map` step: every file ARCHITECTURE.md's "The `# Design` sections"
//! names exists and has a `# Design` section, so the map cannot drift from the code unseen.
//!
//! # Design
//!
//! The list names files by their path under `crates/` (`netaccess/src/driver.rs`); a bare file
//! name after one (`read_buffer.rs`) is in the same folder as the last path named before it on
//! that line of the list, as a reader takes it. A path under `xtask/` is the workspace's. The
//! check reads text only: it builds nothing and takes no time.

use std::path::{Path, PathBuf};

use crate::shell::root;

/// The heading of the list in ARCHITECTURE.md.
const LIST_HEADING: &str = "## The `# Design` sections";

pub(crate) fn run() -> Result<(), String> {
    let root = root();
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md"))
        .map_err(|e| format!("cannot read ARCHITECTURE.md: {e}"))?;
    let named = named_files(&map)?;
    let problems: Vec<String> = named.iter().filter_map(|file| problem(&root, file)).collect();
    if problems.is_empty() {
        eprintln!("design-map: the {} files ARCHITECTURE.md names each have a `# Design` section", named.len());
        Ok(())
    } else {
        Err(format!("ARCHITECTURE.md's design map is out of date:\n  {}", problems.join("\n  ")))
    }
}

/// The files the list names, resolved to paths from the workspace root.
fn named_files(map: &str) -> Result<Vec<PathBuf>, String> {
    let start = map.find(LIST_HEADING).ok_or_else(|| format!("ARCHITECTURE.md has no \"{LIST_HEADING}\""))?;
    let list = &map[start + LIST_HEADING.len()..];
    let list = &list[..list.find("\n## ").unwrap_or(list.len())];
    let mut files = Vec::new();
    let mut folder: Option<PathBuf> = None;
    for line in list.lines() {
        if line.starts_with("- ") {
            folder = None; // each entry of the list starts afresh
        }
        for name in list_paths(line) {
            let path = if name.contains('/') {
                let path =
                    if name.starts_with("xtask/") { PathBuf::from(name) } else { Path::new("crates").join(name) };
                folder = path.parent().map(Path::to_path_buf);
                path
            } else {
                let folder = folder.as_ref().ok_or_else(|| format!("`{name}` follows no path in its entry"))?;
                folder.join(name)
            };
            files.push(path);
        }
    }
    Ok(files)
}

/// The `.rs` names quoted in backticks on one line.
fn list_paths(line: &str) -> impl Iterator<Item = &str> {
    line.split('`').skip(1).step_by(2).filter(|quoted| quoted.ends_with(".rs") && !quoted.contains(' '))
}

fn problem(root: &Path, file: &Path) -> Option<String> {
    match std::fs::read_to_string(root.join(file)) {
        Err(error) => Some(format!("{}: {error}", file.display())),
        Ok(text) if !text.lines().any(|line| line.trim() == "//! # Design") => {
            Some(format!("{}: no `//! # Design` section", file.display()))
        }
        Ok(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_names_follow_the_last_path_of_their_entry() {
        let map = "## The `# Design` sections\n\n- The driver: `netaccess/src/driver.rs`, `reply.rs`;\n  \
                   `hop.rs` and `xtask/src/contained.rs`.\n- Core: `netaccess-core/src/order.rs`.\n\n## Next\n`x/y.rs`\n";
        let files = named_files(map).unwrap();
        let shown: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        assert_eq!(
            shown,
            [
                "crates/netaccess/src/driver.rs",
                "crates/netaccess/src/reply.rs",
                "crates/netaccess/src/hop.rs",
                "xtask/src/contained.rs",
                "crates/netaccess-core/src/order.rs"
            ]
        );
        assert!(named_files("- `lonely.rs`").is_err(), "no heading: an error, not an empty list");
    }
}
