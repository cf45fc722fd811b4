//! Cookie files: the Netscape `cookies.txt` import (curl's `-b`) and the jar's own JSON file.
//!
//! Properties: no panic; a jar never holds more cookies than its limit, however many lines
//! the file has; what was imported exports and re-imports to the same count.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netaccess_cookie::{CookieJar, DefaultCookieJar, MAX_COOKIES};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let jar = DefaultCookieJar::new();
    jar.import_netscape(text);
    let held = jar.all_cookies().len();
    assert!(held <= MAX_COOKIES);
    let again = DefaultCookieJar::new();
    again.import_netscape(&jar.export_netscape());
    assert_eq!(again.all_cookies().len(), held, "export and import disagree for {text:?}");

    let path = std::env::temp_dir().join(format!("netaccess-fuzz-jar-{}.json", std::process::id()));
    if std::fs::write(&path, data).is_ok() {
        let _ = DefaultCookieJar::new().load(&path);
    }
});
