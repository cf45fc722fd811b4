//! The `contained` step of `cargo xtask ci`: no file of the repository refers to a path outside it.
//!
//! # Design
//!
//! A clone with nothing beside it must pass `cargo xtask ci`, so a test that reads
//! a sibling folder of the checkout is a defect even where the machine it was written on had it. The
//! step reads every tracked text file (sources, manifests, documents, scripts; the fuzz corpora
//! and the third-party data under `tests/data` are data, not references), finds each relative
//! path that climbs (`../`), and resolves it against the place it is meant from: the package's
//! folder on a line that names `CARGO_MANIFEST_DIR` (and in a manifest, whose folder is the
//! package's), else the file's own folder (`include_str!`, links in documents). A path that
//! leaves the repository is reported with its file and line.
//!
//! Absolute paths to the machine's shared folder (`/work/shared`) are reported too.

use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// Extensions (or whole names) of the files whose text is read for references.
const TEXT_FILES: &[&str] = &["rs", "toml", "md", "sh", "yml", "yaml", "txt", "run", "cfg"];

/// Folders whose files are data written elsewhere, not references of ours, and this file, whose
/// tests hold examples of what it reports.
const DATA_FOLDERS: &[&str] = &["fuzz/corpus/", "fuzz/artifacts/", "tests/data/", "xtask/src/contained.rs"];

pub(crate) fn run() -> Result<(), String> {
    let root = repository_root()?;
    let listing = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(&root)
        .output()
        .map_err(|e| format!("git ls-files: {e}"))?;
    if !listing.status.success() {
        return Err(format!("git ls-files failed: {}", String::from_utf8_lossy(&listing.stderr)));
    }
    let mut problems = Vec::new();
    let mut checked = 0usize;
    for name in listing.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let relative = String::from_utf8_lossy(name).into_owned();
        if !is_checked(&relative) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(root.join(&relative)) else { continue };
        checked += 1;
        problems.extend(outside_references(&root, Path::new(&relative), &text));
    }
    if problems.is_empty() {
        eprintln!("contained: {checked} files read, none refers to a path outside the repository");
        Ok(())
    } else {
        for problem in &problems {
            eprintln!("  {problem}");
        }
        Err(format!("{} reference(s) to paths outside the repository (a clone alone must pass)", problems.len()))
    }
}

/// The repository's root folder (the parent of `xtask/`).
pub(crate) fn repository_root() -> Result<PathBuf, String> {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().map(Path::to_path_buf).ok_or_else(|| "xtask has no parent folder".to_owned())
}

fn is_checked(relative: &str) -> bool {
    if DATA_FOLDERS.iter().any(|folder| relative.starts_with(folder)) {
        return false;
    }
    let file_name = relative.rsplit('/').next().unwrap_or(relative);
    let extension = file_name.rsplit_once('.').map_or(file_name, |(_, ext)| ext);
    TEXT_FILES.contains(&extension)
}

/// Every reference in `text` (the content of `file`, relative to `root`) that leaves `root`.
fn outside_references(root: &Path, file: &Path, text: &str) -> Vec<String> {
    let folder = file.parent().unwrap_or(Path::new(""));
    let package = package_folder(root, folder);
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.contains("/work/shared") {
            found.push(format!("{}:{}: an absolute path to the shared folder", file.display(), number + 1));
        }
        let base = if line.contains("CARGO_MANIFEST_DIR") { package.as_path() } else { folder };
        for reference in climbing_paths(line) {
            if normalized_depth(base, reference).is_none_or(|depth| depth < 0) {
                found.push(format!("{}:{}: `{reference}` leaves the repository", file.display(), number + 1));
            }
        }
    }
    found
}

/// The nearest folder at or above `folder` that holds a `Cargo.toml` (the repository root if none).
fn package_folder(root: &Path, folder: &Path) -> PathBuf {
    let mut candidate = folder.to_path_buf();
    loop {
        if root.join(&candidate).join("Cargo.toml").exists() || candidate.as_os_str().is_empty() {
            return candidate;
        }
        candidate = candidate.parent().map(Path::to_path_buf).unwrap_or_default();
    }
}

/// The path-like words of `line` that climb somewhere (hold `../`).
fn climbing_paths(line: &str) -> Vec<&str> {
    let is_path_char = |c: char| c.is_ascii_alphanumeric() || "._-/".contains(c);
    let mut paths = Vec::new();
    let mut rest = line;
    let mut offset = 0;
    while let Some(at) = rest.find("../") {
        let start = offset + at;
        // Back up over path characters, so `a/../../b` is one word.
        let word_start = line[..start].rfind(|c: char| !is_path_char(c)).map_or(0, |i| i + 1);
        let word_end = line[start..].find(|c: char| !is_path_char(c)).map_or(line.len(), |i| start + i);
        let word = &line[word_start..word_end];
        if !paths.contains(&word) {
            paths.push(word);
        }
        offset = word_end.max(start + 3);
        rest = &line[offset..];
    }
    paths
}

/// How deep below the repository root `base/reference` ends (negative: above it; `None`: the
/// path is absolute).
fn normalized_depth(base: &Path, reference: &str) -> Option<i64> {
    let mut depth: i64 = 0;
    for component in base.join(reference).components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return Some(depth);
                }
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(depth)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(file: &str, text: &str) -> Vec<String> {
        let root = repository_root().unwrap();
        outside_references(&root, Path::new(file), text)
    }

    #[test]
    fn a_path_that_climbs_out_of_the_repository_is_reported() {
        let text = r#"let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../elsewhere/conformance");"#;
        let found = problems("crates/netaccess-cookie/tests/dates.rs", text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("../../../elsewhere/conformance"), "{found:?}");
        assert_eq!(problems("README.md", "The map is `../notes/design.md`.").len(), 1);
        assert_eq!(problems("xtask/src/x.rs", "see /work/shared/qt-semantics.md").len(), 1);
    }

    #[test]
    fn a_path_that_stays_inside_is_not() {
        let inside = r#"join("../../tests/data/conformance/cookies/dates")"#;
        assert!(problems("crates/netaccess-cookie/tests/dates.rs", inside).is_empty());
        assert!(problems("crates/netaccess/Cargo.toml", r#"x = { path = "../netaccess-core" }"#).is_empty());
        assert!(problems("README.md", "a range like 1..3 or `a../b`").is_empty());
        let include = r#"#[doc = include_str!("../../../README.md")]"#;
        assert!(problems("crates/netaccess/src/lib.rs", include).is_empty());
    }

    #[test]
    fn climbing_words_are_found_whole() {
        assert_eq!(climbing_paths("(\"../a/b\") and ../../c.md"), vec!["../a/b", "../../c.md"]);
        assert_eq!(climbing_paths("x/../y"), vec!["x/../y"]);
        assert!(problems("README.md", "x/../y").is_empty());
        assert_eq!(problems("README.md", "x/../../y").len(), 1);
    }
}
