//! Cache entry files: what `DiskCache` reads back from its directory.
//!
//! Two modes, by the first byte. Raw: the input is the entry file; reading it must not panic,
//! and a body served is as long as it says. Damage: a valid entry is stored with the input's
//! tail as its body, then bytes of the file are flipped or the file is cut at positions the
//! input gives; every such entry must be refused (and deleted), never served, and an entry left
//! alone must come back byte for byte.
#![no_main]

use std::io::Read;
use std::sync::OnceLock;

use http::HeaderMap;
use libfuzzer_sys::fuzz_target;
use netaccess_cache::{CacheMetaData, DiskCache, NetworkCache};
use url::Url;

fn cache() -> &'static DiskCache {
    static CACHE: OnceLock<DiskCache> = OnceLock::new();
    CACHE.get_or_init(|| {
        let directory = std::env::temp_dir().join(format!("netaccess-fuzz-cache-{}", std::process::id()));
        DiskCache::new(directory).expect("cache directory")
    })
}

fn read(cache: &DiskCache, url: &Url) -> Option<Vec<u8>> {
    let mut stored = cache.data(url)?;
    let mut body = Vec::new();
    stored.reader.read_to_end(&mut body).expect("a served body reads");
    assert_eq!(body.len() as u64, stored.len, "a served body is as long as it says");
    Some(body)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let cache = cache();
    let url = Url::parse("http://fuzz.example/entry").expect("url");
    let path = cache.file_for(&url);
    if mode % 2 == 0 {
        std::fs::create_dir_all(path.parent().expect("bucket")).expect("bucket");
        std::fs::write(&path, rest).expect("write");
        let _ = cache.metadata(&url);
        let _ = read(cache, &url);
        let _ = std::fs::remove_file(&path);
        return;
    }
    let flips = usize::from(mode >> 1) % 8;
    let (edits, body) = rest.split_at(rest.len().min(flips * 5));
    let mut headers = HeaderMap::new();
    headers.insert("cache-control", http::HeaderValue::from_static("max-age=60"));
    let meta = CacheMetaData::new(&url, &HeaderMap::new(), 200, "OK", &headers, std::time::SystemTime::now());
    let mut writer = cache.prepare(&meta).expect("prepare");
    writer.write(body).expect("write");
    writer.commit().expect("commit");
    let original = std::fs::read(&path).expect("the entry exists");
    let mut file = original.clone();
    for edit in edits.chunks_exact(5) {
        let at = u32::from_le_bytes([edit[0], edit[1], edit[2], edit[3]]) as usize % file.len();
        match edit[4] {
            0 => {}
            0xFF => file.truncate(at),
            xor => file[at] ^= xor,
        }
        if file.is_empty() {
            break;
        }
    }
    // Two flips of one byte undo each other: only a file that differs is damaged.
    let damaged = file != original;
    std::fs::write(&path, &file).expect("rewrite");
    match read(cache, &url) {
        Some(served) => {
            assert!(!damaged, "a damaged entry was served");
            assert_eq!(served, body, "the body came back changed");
        }
        None => assert!(damaged, "an intact entry was refused"),
    }
    cache.remove(&url);
});
