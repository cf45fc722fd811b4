//! The jar file: round trips, session cookies, Netscape format, and a save killed at any moment.

use std::process::Command;
use std::time::Duration;

use netaccess_cookie::{Cookie, CookieJar, DefaultCookieJar};
use url::Url;

fn jar_with(prefix: &str, count: usize) -> DefaultCookieJar {
    let jar = DefaultCookieJar::new();
    for i in 0..count {
        let domain = format!("d{}.example.com", i % 100);
        let line = format!("{prefix}{i}={}; Domain={domain}; Max-Age=86400", "v".repeat(200));
        let mut cookie = Cookie::parse(&line, netaccess_cookie::date::now()).unwrap();
        cookie.domain = domain;
        cookie.host_only = false;
        cookie.path = "/".into();
        jar.insert_cookie(cookie);
    }
    jar
}

#[test]
fn save_and_load_round_trip_without_session_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jar.json");
    let jar = DefaultCookieJar::new();
    let url = Url::parse("https://example.com/a/b").unwrap();
    let now = netaccess_cookie::date::now();
    let cookies =
        ["keep=1; Max-Age=3600; Secure; HttpOnly", "session=2"].iter().filter_map(|s| Cookie::parse(s, now)).collect();
    assert!(jar.set_cookies_from_url(cookies, &url));
    jar.save(&path, false).unwrap();
    let loaded = DefaultCookieJar::new();
    assert_eq!(loaded.load(&path).unwrap(), 1);
    let cookie = &loaded.all_cookies()[0];
    assert_eq!(
        (cookie.name.as_str(), cookie.path.as_str(), cookie.secure, cookie.http_only),
        ("keep", "/a", true, true)
    );
    jar.save(&path, true).unwrap();
    assert_eq!(loaded.load(&path).unwrap(), 2, "session cookies when asked");

    std::fs::write(&path, b"{\"version\": 99, \"cookies\": []}").unwrap();
    assert!(loaded.load(&path).unwrap_err().to_string().contains("format 99"));
    std::fs::write(&path, b"{\"version\": 1, \"cook").unwrap();
    assert!(loaded.load(&path).is_err());
}

#[test]
fn netscape_round_trip() {
    let text = "# Netscape HTTP Cookie File\n.example.com\tTRUE\t/\tFALSE\t4102444800\tpref\tdark\n#HttpOnly_host.example\tFALSE\t/app\tTRUE\t0\tsid\tx1\nbroken line\n";
    let jar = DefaultCookieJar::new();
    assert_eq!(jar.import_netscape(text), 2);
    let sent: Vec<String> =
        jar.cookies_for_url(&Url::parse("https://host.example/app/x").unwrap()).iter().map(Cookie::pair).collect();
    assert_eq!(sent, ["sid=x1"]);
    let again = DefaultCookieJar::new();
    assert_eq!(again.import_netscape(&jar.export_netscape()), 2);
    assert!(jar.export_netscape().contains("#HttpOnly_host.example\tFALSE\t/app\tTRUE\t0\tsid\tx1"));
}

/// Found by the `cookie_files` fuzz target: a line whose domain started with `#` was imported,
/// then exported as a comment and lost on the next import.
#[test]
fn lines_that_would_not_survive_a_round_trip_are_refused() {
    let text = ".#15\u{1}\t\t\t\t[\t\u{c}=1\t\0\n\
                #evil\tFALSE\t/\tFALSE\t0\tn\tv\n\
                host.example\tFALSE\t/\tFALSE\t0\tbad=name\tv\n\
                host.example\tFALSE\t/\tFALSE\t0\tn\tsemi;colon\n\
                host.example\tFALSE\t/\tFALSE\t0\tgood\tv\n";
    let jar = DefaultCookieJar::new();
    assert_eq!(jar.import_netscape(text), 1, "only the last line is a cookie");
    let again = DefaultCookieJar::new();
    assert_eq!(again.import_netscape(&jar.export_netscape()), 1);
}

const CHILD: &str = "NETACCESS_COOKIE_SAVE_LOOP";

/// A child process saves two different jars in turn, forever; it is killed (SIGKILL) at
/// varying moments. Every time, the file must load whole: one jar or the other.
#[test]
fn a_save_killed_at_any_moment_leaves_a_loadable_file() {
    if let Some(path) = std::env::var_os(CHILD) {
        let (a, b) = (jar_with("a", 2000), jar_with("b", 1500));
        loop {
            a.save(&path, true).unwrap();
            b.save(&path, true).unwrap();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jar.json");
    jar_with("a", 2000).save(&path, true).unwrap();
    for round in 0..20u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "a_save_killed_at_any_moment_leaves_a_loadable_file", "--nocapture"])
            .env(CHILD, &path)
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(40 + round * 13));
        child.kill().unwrap();
        child.wait().unwrap();
        let loaded = DefaultCookieJar::new();
        let count = loaded.load(&path).unwrap_or_else(|e| panic!("round {round}: the file is torn: {e}"));
        assert!(count == 2000 || count == 1500, "round {round}: {count} cookies");
    }
    jar_with("c", 10).save(&path, true).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, ["jar.json"], "the next save removed what the killed ones left");
}
