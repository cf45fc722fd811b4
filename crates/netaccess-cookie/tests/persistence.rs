//! The jar file: round trips, session cookies, Netscape format, and a save killed at any moment.

use std::process::Command;
use std::time::Duration;

use netaccess_cookie::{Cookie, CookieJar, DefaultCookieJar, JarFormat};
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
        let marker = std::path::PathBuf::from(&path).with_extension("saved");
        loop {
            a.save(&path, true).unwrap();
            b.save(&path, true).unwrap();
            // The positive anchor: this child finished at least one whole save of each jar.
            std::fs::write(&marker, b"").unwrap();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jar.json");
    let marker = path.with_extension("saved");
    jar_with("a", 2000).save(&path, true).unwrap();
    let mut seen_b = false;
    // At least 20 rounds; more, each waiting longer, until a child was seen finishing both
    // saves (a loaded machine starts a child slowly: 20 short rounds may never get that far).
    let mut round = 0u64;
    while round < 20 || (round < 60 && !(marker.exists() && seen_b)) {
        round += 1;
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
        seen_b |= count == 1500;
    }
    assert!(marker.exists(), "no child ever finished a save: the rounds proved nothing");
    assert!(seen_b, "the file never held the child's second jar: the child never saved over it");
    std::fs::remove_file(&marker).unwrap();
    jar_with("c", 10).save(&path, true).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, ["jar.json"], "the next save removed what the killed ones left");
}

/// What curl 7.88 writes for `-c` (its header, a host-only and a domain cookie, an http-only one).
const CURL_JAR: &str = "# Netscape HTTP Cookie File\n\
# https://curl.se/docs/http-cookies.html\n\
# This file was generated by libcurl! Edit at your own risk.\n\
\n\
#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\tabc\n\
.example.com\tTRUE\t/\tTRUE\t4102444800\tpref\tdark\n";

#[test]
fn files_curl_users_have_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cookies.txt");
    std::fs::write(&path, "").unwrap();
    let jar = DefaultCookieJar::new();
    let report = jar.read_file(&path).unwrap();
    assert_eq!((report.loaded, report.skipped.len()), (0, 0), "an empty file is an empty jar");
    assert_eq!(jar.read_file("/dev/null").unwrap().loaded, 0, "curl's -c /dev/null idiom");

    std::fs::write(&path, CURL_JAR).unwrap();
    let report = jar.read_file(&path).unwrap();
    assert_eq!((report.format, report.loaded, report.skipped.len()), (JarFormat::Netscape, 2, 0));
    assert_eq!(jar.load(&path).unwrap(), 2, "load reads cookies.txt too");

    // Ours and curl's, both ways: a file saved in either format reads back the same cookies.
    for format in [JarFormat::Json, JarFormat::Netscape] {
        jar.save_as(&path, format).unwrap();
        let again = DefaultCookieJar::new();
        let report = again.read_file(&path).unwrap();
        assert_eq!((report.format, report.loaded), (format, 2));
        let names: Vec<String> = again.all_cookies().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["sid", "pref"]);
    }
}

/// Deterministic noise (xorshift), so a failure replays.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bad_line(&mut self) -> Vec<u8> {
        let good = b"host.example\tFALSE\t/\tFALSE\t0\tname\tvalue".to_vec();
        let mut line = good.clone();
        match self.next() % 6 {
            // A byte that is not UTF-8 somewhere in the line.
            0 => line.insert((self.next() % good.len() as u64) as usize, 0xff),
            // A field missing or one too many.
            1 => line.truncate(line.iter().rposition(|b| *b == b'\t').unwrap_or(0)),
            2 => line.extend_from_slice(b"\textra"),
            // A date that is not a number.
            3 => line = b"host.example\tFALSE\t/\tFALSE\tnext-week\tname\tvalue".to_vec(),
            // A value over the jar's size limit.
            4 => {
                line = b"host.example\tFALSE\t/\tFALSE\t0\tname\t".to_vec();
                line.extend(std::iter::repeat_n(b'v', 4097 + (self.next() % 10_000) as usize));
            }
            // Random bytes, no tab, no newline.
            _ => {
                line = (0..1 + self.next() % 40).map(|_| (self.next() % 256) as u8).collect();
                line.retain(|b| *b != b'\t' && *b != b'\n' && *b != b'#' && *b != b'\r');
                line.push(0xc3);
            }
        }
        line
    }
}

#[test]
fn random_bad_lines_cost_only_themselves() {
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    for round in 0..200 {
        let mut file = Vec::new();
        let mut good = Vec::new();
        let mut bad = Vec::new();
        for line in 1..=20 {
            if noise.next() % 3 == 0 {
                file.extend(noise.bad_line());
                bad.push(line);
            } else {
                let name = format!("c{round}x{line}");
                file.extend(format!("host{line}.example\tFALSE\t/\tFALSE\t0\t{name}\tv{line}").bytes());
                good.push(name);
            }
            file.push(b'\n');
        }
        let jar = DefaultCookieJar::new();
        let (loaded, skipped) = jar.import_netscape_bytes(&file);
        let mut names: Vec<String> = jar.all_cookies().into_iter().map(|c| c.name).collect();
        names.sort();
        good.sort();
        assert_eq!((loaded, names), (good.len(), good), "round {round}: every good line loads");
        let lines: Vec<usize> = skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, bad, "round {round}: each bad line is reported: {skipped:?}");
    }
}

#[test]
fn the_jars_limits_hold_for_what_a_file_holds() {
    let mut text = String::new();
    // A 10 MB cookie: refused on load as a server's would be.
    text.push_str(&format!("big.example\tFALSE\t/\tFALSE\t0\tbig\t{}\n", "x".repeat(10_000_000)));
    // 60,001 cookies over 1,000 domains.
    for i in 0..60_001 {
        text.push_str(&format!("d{}.example\tFALSE\t/\tFALSE\t0\tc{i}\tv\n", i % 1000));
    }
    let jar = DefaultCookieJar::new();
    let (loaded, skipped) = jar.import_netscape_bytes(text.as_bytes());
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0].reason.contains("over the limit"), "{:?}", skipped[0]);
    let all = jar.all_cookies();
    assert_eq!((loaded, all.len()), (netaccess_cookie::MAX_COOKIES, netaccess_cookie::MAX_COOKIES));
    let newest = all.iter().any(|c| c.name == "c60000");
    assert!(newest, "the newest lines are the ones kept");
    let most_in_a_domain =
        (0..1000).map(|d| all.iter().filter(|c| c.domain == format!("d{d}.example")).count()).max().unwrap();
    assert!(most_in_a_domain <= netaccess_cookie::MAX_COOKIES_PER_DOMAIN);

    // The next cookie a server sets keeps the jar at its limit.
    let url = Url::parse("http://d1.example/").unwrap();
    assert!(jar.set_cookies_from_url(vec![Cookie::parse("fresh=1", 0).unwrap()], &url));
    assert_eq!(jar.all_cookies().len(), netaccess_cookie::MAX_COOKIES);

    // set_all_cookies keeps the limits too.
    let many: Vec<Cookie> = (0..5000)
        .map(|i| {
            let mut cookie = Cookie::new(format!("s{i}"), "v");
            cookie.domain = "one.example".into();
            cookie.path = "/".into();
            cookie.sequence = i;
            cookie
        })
        .collect();
    jar.set_all_cookies(many);
    assert_eq!(jar.all_cookies().len(), netaccess_cookie::MAX_COOKIES_PER_DOMAIN);
}
