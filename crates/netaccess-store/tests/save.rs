//! `save` against what a path may name: nothing yet, a file with its own mode, a symlink, a
//! dangling symlink, a FIFO, a character device made with mknod, a directory; and a planted
//! link at the old predictable temporary name.

#![cfg(unix)]

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use netaccess_store::{save, RealFs, SaveFs};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The names in `dir` other than those given (temporary files left behind show up here).
fn leftovers(dir: &Path, expected: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !expected.contains(&n.as_str()))
        .collect();
    names.sort();
    names
}

#[test]
fn a_new_file_is_private_and_an_existing_one_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let jar = dir.path().join("jar");
    save(&jar, b"one").unwrap();
    assert_eq!(mode(&jar), 0o600, "a new store file carries secrets");
    std::fs::set_permissions(&jar, std::fs::Permissions::from_mode(0o640)).unwrap();
    save(&jar, b"two").unwrap();
    assert_eq!((std::fs::read(&jar).unwrap(), mode(&jar)), (b"two".to_vec(), 0o640), "the user's mode is kept");
    assert_eq!(leftovers(dir.path(), &["jar"]), Vec::<String>::new());
}

#[test]
fn a_symlink_saves_to_its_target_and_stays_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("real");
    std::fs::create_dir(&elsewhere).unwrap();
    let target = elsewhere.join("cookies.txt");
    std::fs::write(&target, "old").unwrap();
    let link = dir.path().join("jar");
    std::os::unix::fs::symlink("real/cookies.txt", &link).unwrap();
    save(&link, b"new").unwrap();
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
    assert_eq!(std::fs::read(&target).unwrap(), b"new", "the link's target has the new contents");

    // A dangling link: its target is created.
    let dangling = dir.path().join("hsts");
    std::os::unix::fs::symlink(elsewhere.join("hsts.txt"), &dangling).unwrap();
    save(&dangling, b"x").unwrap();
    assert_eq!(std::fs::read(elsewhere.join("hsts.txt")).unwrap(), b"x");
    assert!(std::fs::symlink_metadata(&dangling).unwrap().file_type().is_symlink());

    // A loop is an error naming the path, not a hang.
    let a = dir.path().join("a");
    std::os::unix::fs::symlink("b", &a).unwrap();
    std::os::unix::fs::symlink("a", dir.path().join("b")).unwrap();
    let error = save(&a, b"y").unwrap_err();
    assert!(error.to_string().contains("symbolic links"), "{error}");
}

#[test]
fn a_fifo_is_written_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    save(&fifo, b"through the pipe").unwrap();
    assert_eq!(reader.join().unwrap(), b"through the pipe");
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "still a FIFO");
    assert_eq!(leftovers(dir.path(), &["pipe"]), Vec::<String>::new());
}

#[test]
fn a_character_device_is_written_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let null = dir.path().join("null");
    // A null device of our own (major 1, minor 3), never the system's.
    let made = Command::new("mknod").arg(&null).args(["c", "1", "3"]).status().expect("mknod runs");
    if !made.success() {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root: mknod must work there");
        eprintln!("SKIPPED LOUDLY: mknod needs root here; the character-device case was not run");
        return;
    }
    save(&null, b"into the void").unwrap();
    let kind = std::fs::symlink_metadata(&null).unwrap().file_type();
    assert!(kind.is_char_device(), "the device node is still a device, not a regular file");
    assert_eq!(leftovers(dir.path(), &["null"]), Vec::<String>::new());
}

#[test]
fn a_link_planted_at_the_old_temporary_name_is_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    // The old saver wrote `.NAME.PID.tmp`: a planted link there would have been followed.
    let planted = dir.path().join(format!(".jar.{}.tmp", std::process::id()));
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let jar = dir.path().join("jar");
    save(&jar, b"cookies").unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert_eq!(std::fs::read(&jar).unwrap(), b"cookies");
}

#[test]
fn a_directory_is_refused_and_a_failed_save_keeps_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let error = save(dir.path(), b"x").unwrap_err();
    assert!(error.to_string().contains("directory"), "{error}");

    // The temporary file cannot be made (its directory is a file): the old file stays whole.
    let file = dir.path().join("jar");
    std::fs::write(&file, "good").unwrap();
    let through_a_file = file.join("inner");
    let error = save(&through_a_file, b"x").unwrap_err();
    assert!(error.to_string().contains("jar"), "the message names the path: {error}");
    assert_eq!(std::fs::read(&file).unwrap(), b"good");
}

#[test]
fn orphans_of_dead_savers_are_removed_and_live_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    // A pid above the kernel's pid_max (4194304) never runs.
    let dead = format!(".jar.{}.0123456789abcdef.tmp", 4_194_305);
    let live = format!(".jar.{}.fedcba9876543210.tmp", std::process::id());
    std::fs::write(dir.path().join(&dead), "torn").unwrap();
    std::fs::write(dir.path().join(&live), "mine").unwrap();
    save(&dir.path().join("jar"), b"whole").unwrap();
    assert_eq!(leftovers(dir.path(), &["jar"]), vec![live]);
}

/// The real file system, but the `fail_at`-th call (from 0) fails, and the calls are counted.
struct FailingFs {
    fail_at: usize,
    calls: std::cell::Cell<usize>,
}

impl FailingFs {
    fn new(fail_at: usize) -> Self {
        Self { fail_at, calls: std::cell::Cell::new(0) }
    }

    fn call<T>(&self, step: &str, real: impl FnOnce() -> std::io::Result<T>) -> std::io::Result<T> {
        let n = self.calls.get();
        self.calls.set(n + 1);
        if n == self.fail_at {
            return Err(std::io::Error::other(format!("injected failure of call {n} ({step})")));
        }
        real()
    }
}

impl SaveFs for FailingFs {
    fn symlink_metadata(&self, path: &Path) -> std::io::Result<std::fs::Metadata> {
        self.call("symlink_metadata", || RealFs.symlink_metadata(path))
    }
    fn read_link(&self, path: &Path) -> std::io::Result<std::path::PathBuf> {
        self.call("read_link", || RealFs.read_link(path))
    }
    fn metadata(&self, path: &Path) -> std::io::Result<std::fs::Metadata> {
        self.call("metadata", || RealFs.metadata(path))
    }
    fn open_existing(&self, path: &Path) -> std::io::Result<std::fs::File> {
        self.call("open_existing", || RealFs.open_existing(path))
    }
    fn create_new(&self, path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
        self.call("create_new", || RealFs.create_new(path, mode))
    }
    fn write_all(&self, file: &mut std::fs::File, bytes: &[u8]) -> std::io::Result<()> {
        // A write that fails after writing half, as a full disk does.
        let written = self.call("write_all", || RealFs.write_all(file, bytes));
        if written.is_err() {
            let _ = RealFs.write_all(file, &bytes[..bytes.len() / 2]);
        }
        written
    }
    fn keep_mode_and_owner(&self, file: &std::fs::File, old: &std::fs::Metadata) -> std::io::Result<()> {
        self.call("keep_mode_and_owner", || RealFs.keep_mode_and_owner(file, old))
    }
    fn sync(&self, file: &std::fs::File) -> std::io::Result<()> {
        self.call("sync", || RealFs.sync(file))
    }
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        self.call("rename", || RealFs.rename(from, to))
    }
    fn remove_file(&self, path: &Path) -> std::io::Result<()> {
        self.call("remove_file", || RealFs.remove_file(path))
    }
    fn sync_directory(&self, directory: &Path) -> std::io::Result<()> {
        self.call("sync_directory", || RealFs.sync_directory(directory))
    }
}

/// The names of temporary files left in `directory`.
fn temporary_files(directory: &Path) -> Vec<String> {
    std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect()
}

#[test]
fn every_call_of_a_save_failing_in_turn_leaves_the_old_file_or_the_new_one() {
    // (what is there before: an old file, nothing, or a link to an old file)
    for before in ["old file", "no file", "link"] {
        let mut reached_the_end = false;
        for fail_at in 0..64 {
            let dir = tempfile::tempdir().unwrap();
            let target = dir.path().join("jar.json");
            let path = match before {
                "old file" => {
                    std::fs::write(&target, "old contents").unwrap();
                    target.clone()
                }
                "link" => {
                    std::fs::write(&target, "old contents").unwrap();
                    let link = dir.path().join("link.json");
                    std::os::unix::fs::symlink("jar.json", &link).unwrap();
                    link
                }
                _ => target.clone(),
            };
            let fs = FailingFs::new(fail_at);
            let result = netaccess_store::save_with(&fs, &path, b"new contents, longer than the old");
            let now = std::fs::read_to_string(&target).ok();
            let context = format!("{before}, call {fail_at} failing: {result:?}");
            match &result {
                Ok(()) => assert_eq!(now.as_deref(), Some("new contents, longer than the old"), "{context}"),
                Err(error) => {
                    assert!(
                        error.to_string().contains(dir.path().to_str().unwrap()),
                        "the message names the path: {context}"
                    );
                    let old = (before != "no file").then_some("old contents");
                    assert_eq!(now.as_deref(), old, "{context}");
                }
            }
            assert_eq!(temporary_files(dir.path()), Vec::<String>::new(), "{context}");
            if before == "link" {
                assert!(std::fs::symlink_metadata(&path).unwrap().file_type().is_symlink(), "{context}");
            }
            if fs.calls.get() <= fail_at {
                // The save made fewer calls than the one meant to fail: every call was tried.
                assert!(result.is_ok(), "{context}");
                reached_the_end = true;
                break;
            }
        }
        assert!(reached_the_end, "{before}: a save makes fewer than 64 calls");
    }
}
