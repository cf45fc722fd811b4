//! `DiskCache` storage: what is visible when, damaged and old entries, the bound, sharing, and
//! writers killed at any moment.

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use netaccess_cache::{CacheMetaData, DiskCache, NetworkCache};
use url::Url;

fn url(path: &str) -> Url {
    Url::parse(&format!("http://example.com/{path}")).unwrap()
}

fn meta(url: &Url, headers: &[(&str, &str)]) -> CacheMetaData {
    let mut map = HeaderMap::new();
    map.insert("cache-control", "max-age=3600".parse().unwrap());
    for (name, value) in headers {
        map.insert(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
    }
    CacheMetaData::new(url, &HeaderMap::new(), 200, "OK", &map, SystemTime::now())
}

fn store(cache: &DiskCache, url: &Url, body: &[u8]) {
    let mut writer = cache.prepare(&meta(url, &[])).expect("prepare");
    for piece in body.chunks(1000) {
        writer.write(piece).unwrap();
    }
    writer.commit().unwrap();
}

fn body(cache: &DiskCache, url: &Url) -> Option<Vec<u8>> {
    let mut stored = cache.data(url)?;
    let mut bytes = Vec::new();
    stored.reader.read_to_end(&mut bytes).unwrap();
    assert_eq!(bytes.len() as u64, stored.len);
    Some(bytes)
}

fn temporary_files(directory: &Path) -> usize {
    std::fs::read_dir(directory.join("prepared")).map(|entries| entries.count()).unwrap_or(0)
}

#[test]
fn an_entry_is_visible_only_once_committed_and_an_abandoned_one_leaves_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let cache = DiskCache::new(directory.path()).unwrap();
    let target = url("page");
    let mut writer = cache.prepare(&meta(&target, &[])).unwrap();
    writer.write(b"half of it").unwrap();
    assert!(cache.metadata(&target).is_none(), "not visible while streaming");
    assert_eq!(temporary_files(directory.path()), 1);
    drop(writer);
    assert!(cache.data(&target).is_none());
    assert_eq!(temporary_files(directory.path()), 0, "an abandoned entry leaves no file");

    store(&cache, &target, b"the whole body");
    assert_eq!(body(&cache, &target).unwrap(), b"the whole body");
    assert_eq!(cache.metadata(&target).unwrap().status, 200);
    assert!(cache.remove(&target));
    assert!(cache.data(&target).is_none());
    assert!(!cache.remove(&target));
}

#[test]
fn the_key_drops_password_and_fragment() {
    let directory = tempfile::tempdir().unwrap();
    let cache = DiskCache::new(directory.path()).unwrap();
    store(&cache, &Url::parse("http://user:secret@example.com/a#top").unwrap(), b"x");
    assert!(cache.data(&Url::parse("http://user@example.com/a").unwrap()).is_some());
    assert!(cache.data(&Url::parse("http://user:other@example.com/a#bottom").unwrap()).is_some());
    assert!(cache.data(&Url::parse("http://example.com/a").unwrap()).is_none(), "the user name is part of the key");
}

/// Flips one byte at `offset` from the end of the entry's file.
fn damage(cache: &DiskCache, target: &Url, from_end: u64) {
    let path = cache.file_for(target);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() - usize::try_from(from_end).unwrap();
    bytes[at] ^= 0x55;
    std::fs::write(&path, bytes).unwrap();
}

#[test]
fn a_damaged_entry_is_deleted_on_read_never_served() {
    let directory = tempfile::tempdir().unwrap();
    let cache = DiskCache::new(directory.path()).unwrap();
    let target = url("damaged-body");
    store(&cache, &target, &vec![7u8; 10_000]);
    damage(&cache, &target, 10);
    assert!(cache.metadata(&target).is_some(), "the metadata is intact");
    assert!(cache.data(&target).is_none(), "the body checksum catches the flipped byte");
    assert!(!cache.file_for(&target).exists(), "the damaged entry is gone");

    let truncated = url("truncated");
    store(&cache, &truncated, &vec![1u8; 5000]);
    let path = cache.file_for(&truncated);
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(len - 100).unwrap();
    assert!(cache.metadata(&truncated).is_none(), "a torn file does not match its header");
    assert!(!path.exists());

    let metadata = url("damaged-metadata");
    store(&cache, &metadata, b"body");
    let path = cache.file_for(&metadata);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 0x20;
    std::fs::write(&path, bytes).unwrap();
    assert!(cache.metadata(&metadata).is_none());
    assert!(!path.exists());

    let garbage = url("garbage");
    let path = cache.file_for(&garbage);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"not an entry at all").unwrap();
    assert!(cache.data(&garbage).is_none());
    assert!(!path.exists());
}

#[test]
fn an_entry_of_another_format_version_is_deleted() {
    let directory = tempfile::tempdir().unwrap();
    let cache = DiskCache::new(directory.path()).unwrap();
    let target = url("old");
    store(&cache, &target, b"body");
    let path = cache.file_for(&target);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[4] = 0; // the version field, little-endian
    std::fs::write(&path, bytes).unwrap();
    assert!(cache.data(&target).is_none());
    assert!(!path.exists());
}

#[test]
fn the_bound_holds_and_the_oldest_entries_go_first() {
    let directory = tempfile::tempdir().unwrap();
    let cache = DiskCache::new(directory.path()).unwrap().with_maximum_size(100_000);
    for n in 0..40 {
        store(&cache, &url(&format!("{n}")), &vec![n as u8; 9_000]);
        std::thread::sleep(Duration::from_millis(5));
        assert!(cache.cache_size() < 100_000, "after {n}: {} bytes", cache.cache_size());
    }
    let on_disk: u64 = walk(&directory.path().join("data1"));
    assert!(on_disk < 100_000, "{on_disk} bytes on disk");
    assert!(cache.data(&url("0")).is_none(), "the oldest entry was expired");
    assert_eq!(body(&cache, &url("39")).unwrap(), vec![39u8; 9_000], "the newest stays");
}

fn walk(directory: &Path) -> u64 {
    std::fs::read_dir(directory)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| if e.path().is_dir() { walk(&e.path()) } else { e.metadata().map(|m| m.len()).unwrap_or(0) })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn an_entry_above_three_quarters_of_the_bound_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    let cache = DiskCache::new(directory.path()).unwrap().with_maximum_size(40_000);
    let announced = url("announced");
    assert!(cache.prepare(&meta(&announced, &[("content-length", "30001")])).is_none(), "refused up front");
    let streamed = url("streamed");
    let mut writer = cache.prepare(&meta(&streamed, &[])).unwrap();
    writer.write(&[0u8; 20_000]).unwrap();
    assert!(writer.write(&[0u8; 20_000]).is_err(), "refused once it grows past the limit");
    assert!(writer.commit().is_err());
    assert!(cache.data(&streamed).is_none());
    assert_eq!(temporary_files(directory.path()), 0);
    let mut unsaved = meta(&url("unsaved"), &[]);
    unsaved.save_to_disk = false;
    assert!(cache.prepare(&unsaved).is_none());
}

#[test]
fn two_caches_on_one_directory_see_each_other_and_clear_removes_all() {
    let directory = tempfile::tempdir().unwrap();
    let (first, second) = (DiskCache::new(directory.path()).unwrap(), DiskCache::new(directory.path()).unwrap());
    store(&first, &url("shared"), b"from the first");
    assert_eq!(body(&second, &url("shared")).unwrap(), b"from the first");
    store(&second, &url("shared"), b"replaced by the second");
    assert_eq!(body(&first, &url("shared")).unwrap(), b"replaced by the second");
    second.clear();
    assert!(first.data(&url("shared")).is_none());
    assert_eq!(second.cache_size(), 0);
}

#[test]
fn update_metadata_keeps_the_body() {
    let directory = tempfile::tempdir().unwrap();
    let cache = DiskCache::new(directory.path()).unwrap();
    let target = url("refreshed");
    store(&cache, &target, b"kept body");
    let mut refreshed = meta(&target, &[("x-refreshed", "yes")]);
    refreshed.reason = "Fine".into();
    cache.update_metadata(&refreshed);
    let stored = cache.metadata(&target).unwrap();
    assert_eq!(stored.headers.get("x-refreshed").unwrap(), "yes");
    assert_eq!(stored.reason, "Fine");
    assert_eq!(body(&cache, &target).unwrap(), b"kept body");
}

const CHILD: &str = "NETACCESS_CACHE_WRITE_LOOP";

/// A child process writes entries for the same URLs forever, in pieces; it is killed (SIGKILL)
/// at varying moments. Afterwards every entry reads whole and right, or not at all, and the
/// next expiry removes the dead writer's temporary files.
#[test]
fn a_writer_killed_at_any_moment_leaves_a_cache_that_serves_no_damaged_entry() {
    if let Some(directory) = std::env::var_os(CHILD) {
        let cache = DiskCache::new(&directory).unwrap().with_maximum_size(2_000_000);
        for round in 0u64.. {
            let n = round % 8;
            let mut writer = cache.prepare(&meta(&url(&format!("{n}")), &[])).unwrap();
            for _ in 0..40 {
                writer.write(&[u8::try_from(n).unwrap(); 997]).unwrap();
            }
            writer.commit().unwrap();
        }
    }
    let directory = tempfile::tempdir().unwrap();
    for round in 0..20u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_writer_killed_at_any_moment_leaves_a_cache_that_serves_no_damaged_entry",
                "--nocapture",
            ])
            .env(CHILD, directory.path())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(30 + round * 11));
        child.kill().unwrap();
        child.wait().unwrap();
        let cache = DiskCache::new(directory.path()).unwrap();
        for n in 0..8u8 {
            if let Some(bytes) = body(&cache, &url(&format!("{n}"))) {
                assert_eq!(bytes, vec![n; 997 * 40], "round {round}: entry {n}");
            }
        }
    }
    let cache = DiskCache::new(directory.path()).unwrap();
    cache.expire();
    assert_eq!(temporary_files(directory.path()), 0, "the dead writers' temporary files are gone");
    assert!((0..8).any(|n| cache.data(&url(&format!("{n}"))).is_some()), "some entries were complete");
}
