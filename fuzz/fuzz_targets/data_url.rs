//! `data:` URLs, which arrive from pages and redirects.
//!
//! Properties: no panic; the decoded bytes are never longer than the URL text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netaccess_file::data::decode_data_url;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let url = format!("data:{text}");
    if let Ok(decoded) = decode_data_url(&url) {
        assert!(decoded.data.len() <= url.len(), "{url:?} decoded to more bytes than it has");
    }
});
