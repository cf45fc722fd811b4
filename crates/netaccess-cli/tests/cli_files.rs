//! Files and stores through the command, each against a server that records what it saw and,
//! where curl has the feature, with curl 7.88 run beside it on the same server: a resumed
//! download is never silently wrong, two URLs with one name never write one file at once, a save
//! never replaces what its path names, the stores read what curl writes and what they wrote.

mod support;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};

use support::{curl, netaccess, side, stderr, text};

use netaccess_tests::{pattern, HttpServer, RawServer, Script};
use serde_json::Value;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_download_appends_only_a_range_that_continues_the_file() {
    let server = HttpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    for (program, file) in [("netaccess", dir.path().join("ours.bin")), ("curl", dir.path().join("curls.bin"))] {
        // 206 with `Content-Range: bytes 0-99/5000` to `Range: bytes=1000-`: curl exits 33
        // ("HTTP server doesn't seem to support byte ranges"), the file alone.
        std::fs::write(&file, pattern(1000)).unwrap();
        let args = ["-s", "-C", "-", "-o", &text(&file), &server.url("/misranged")];
        let Some(output) = side(program, &args).await else { continue };
        assert_eq!(output.status.code(), Some(33), "{program}: {}", stderr(&output));
        assert_eq!(std::fs::read(&file).unwrap(), pattern(1000), "{program} left the file as it was");
    }
    let ranges: Vec<_> = server.seen.requests().into_iter().map(|r| r.target).collect();
    assert!(ranges.iter().all(|t| t == "/misranged"), "{ranges:?}");

    // The message says why, and the right range still appends.
    let file = dir.path().join("ours.bin");
    let wrong = netaccess(&["-C", "-", "-o", &text(&file), &server.url("/misranged")]).await;
    assert!(stderr(&wrong).contains("does not start at the file's end (1000)"), "{}", stderr(&wrong));
    let right = netaccess(&["-C", "-", "-o", &text(&file), &server.url("/ranged/5000")]).await;
    assert_eq!(right.status.code(), Some(0), "{}", stderr(&right));
    assert_eq!(std::fs::read(&file).unwrap(), pattern(5000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_with_one_output_name_write_the_file_one_after_the_other_and_the_last_wins() {
    let server = HttpServer::start().await;
    // The first data.json answers after 300 ms, the second at once: at the same time they would
    // both write the file, the first last. Other names run beside them.
    let urls = [
        server.url("/versioned/300/data.json"),
        server.url("/versioned/1/other.json"),
        server.url("/versioned/0/data.json"),
        server.url("/versioned/2/list?page=1"),
        server.url("/versioned/3/list?page=2"),
    ];
    let expected =
        |version: &str| format!("version {version}\n").repeat(256 * 1024 / format!("version {version}\n").len());
    for program in ["netaccess", "curl"] {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["-s", "--remote-name-all", "--output-dir", dir.path().to_str().unwrap()];
        if program == "netaccess" {
            // Ours is -O for every URL (curl's --remote-name-all).
            args = vec!["-s", "-O", "--output-dir", dir.path().to_str().unwrap()];
        }
        args.extend(urls.iter().map(String::as_str));
        let Some(output) = side(program, &args).await else { continue };
        assert_eq!(output.status.code(), Some(0), "{program}: {}", stderr(&output));
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert!(read("data.json") == expected("0"), "{program}: the later URL's body, whole");
        assert!(read("list") == expected("3"), "{program}: ?page=2 is the later");
        assert!(read("other.json") == expected("1"), "{program}");
    }
    // netaccess's requests: the second data.json only after the first was answered.
    let targets = server.seen.targets();
    let first = targets.iter().position(|t| t == "/versioned/300/data.json").unwrap();
    let second = targets.iter().position(|t| t == "/versioned/0/data.json").unwrap();
    assert!(first < second, "{targets:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saves_keep_devices_fifos_links_and_modes() {
    let server = HttpServer::start().await;
    server.script("/login", 200, vec![("set-cookie".into(), b"sid=abc; Path=/; Max-Age=3600".to_vec())]);
    let dir = tempfile::tempdir().unwrap();

    // --har to a null device of our own (never the system's): it stays a device.
    let device = dir.path().join("null");
    let made = Command::new("mknod").arg(&device).args(["c", "1", "3"]).status().unwrap();
    if made.success() {
        let output = netaccess(&["-s", "--har", &text(&device), "-o", "/dev/null", &server.url("/hello")]).await;
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(std::fs::symlink_metadata(&device).unwrap().file_type().is_char_device(), "still a device node");
    } else {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root: mknod must work there");
        eprintln!("SKIPPED LOUDLY: mknod needs root; the device-node case did not run");
    }

    // -c through a symlink: the link stays, its target holds the jar, 0600 as a new file.
    let real = dir.path().join("real-jar.txt");
    let link = dir.path().join("jar");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let output = netaccess(&["-s", "-c", &text(&link), "-o", "/dev/null", &server.url("/login")]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(&real).unwrap().contains("\tsid\tabc"), "curl's format for a new jar");
    assert_eq!(mode(&real), 0o600, "a new jar is private");

    // An existing file keeps its mode; new HAR and HSTS files are private.
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    let (har, hsts) = (dir.path().join("s.har"), dir.path().join("hsts.txt"));
    let output = netaccess(&[
        "-s",
        "-c",
        &text(&link),
        "--har",
        &text(&har),
        "--hsts",
        &text(&hsts),
        "-o",
        "/dev/null",
        &server.url("/login"),
    ])
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!((mode(&real), mode(&har)), (0o640, 0o600));

    // A FIFO gets the HAR written into it, and stays a FIFO.
    let fifo = dir.path().join("pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let output = netaccess(&["-s", "--har", &text(&fifo), "-o", "/dev/null", &server.url("/hello")]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let written: Value = serde_json::from_str(&reader.join().unwrap()).unwrap();
    assert_eq!(written["log"]["entries"].as_array().map(Vec::len), Some(1));
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());

    // A save that cannot happen says so, naming the file, and the exit status is not 0.
    let nowhere = dir.path().join("no-such-directory");
    let (jar, hsts) = (nowhere.join("jar"), nowhere.join("hsts.txt"));
    let output =
        netaccess(&["-c", &text(&jar), "--hsts", &text(&hsts), "-o", "/dev/null", &server.url("/login")]).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    for what in ["cannot save the cookie jar", "cannot save the HSTS file"] {
        assert!(stderr(&output).contains(what) && stderr(&output).contains("no-such-directory"), "{}", stderr(&output));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_files_curl_users_have_are_read() {
    let server = HttpServer::start().await;
    server.script("/login", 200, vec![("set-cookie".into(), b"sid=abc; Path=/; Max-Age=3600".to_vec())]);
    let dir = tempfile::tempdir().unwrap();
    let cookies_sent = |output: &Output| String::from_utf8_lossy(&output.stdout).into_owned();

    // An empty file and /dev/null are empty jars (curl's `-c /dev/null` idiom).
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    for jar in [text(&empty), "/dev/null".to_owned()] {
        let output = netaccess(&["-s", "-c", &jar, "-o", "/dev/null", &server.url("/login")]).await;
        assert_eq!(output.status.code(), Some(0), "-c {jar}: {}", stderr(&output));
    }
    assert!(std::fs::read_to_string(&empty).unwrap().contains("\tsid\tabc"));

    // A jar curl wrote, given to our -c; ours given to curl's -b.
    let curls = dir.path().join("curls.txt");
    if curl(&["-s", "-c", &text(&curls), "-o", "/dev/null", &server.url("/login")]).await.is_some() {
        let output = netaccess(&["-s", "-c", &text(&curls), &server.url("/cookies")]).await;
        assert_eq!(
            (output.status.code(), cookies_sent(&output)),
            (Some(0), "sid=abc".to_owned()),
            "{}",
            stderr(&output)
        );
        let ours = dir.path().join("ours.txt");
        netaccess(&["-s", "-c", &text(&ours), "-o", "/dev/null", &server.url("/login")]).await;
        let output = curl(&["-s", "-b", &text(&ours), &server.url("/cookies")]).await.unwrap();
        assert_eq!(cookies_sent(&output), "sid=abc", "curl reads the jar we wrote");
    }

    // -c in one run, -b in the next, in both of our formats.
    let json = dir.path().join("jar.json");
    std::fs::write(&json, r#"{"version": 1, "cookies": []}"#).unwrap();
    for jar in [&json, &empty] {
        let output = netaccess(&["-s", "-c", &text(jar), "-o", "/dev/null", &server.url("/login")]).await;
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let output = netaccess(&["-s", "-b", &text(jar), &server.url("/cookies")]).await;
        assert_eq!(cookies_sent(&output), "sid=abc", "-b {}: {}", jar.display(), stderr(&output));
    }
    assert!(std::fs::read_to_string(&json).unwrap().starts_with('{'), "a JSON jar stays JSON");

    // A cookies.txt with a byte that is not UTF-8: the good lines are sent, the bad one named.
    let mixed = dir.path().join("mixed.txt");
    let mut bytes = b"127.0.0.1\tFALSE\t/\tFALSE\t0\tgood\tyes\n".to_vec();
    bytes.extend_from_slice(b"127.0.0.1\tFALSE\t/\tFALSE\t0\tbad\t\xff\n");
    bytes.extend_from_slice(b"127.0.0.1\tFALSE\t/\tFALSE\t0\talso\tyes\n");
    std::fs::write(&mixed, bytes).unwrap();
    let output = netaccess(&["-b", &text(&mixed), &server.url("/cookies")]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let sent = cookies_sent(&output);
    assert!(sent.contains("good=yes") && sent.contains("also=yes") && !sent.contains("bad"), "{sent}");
    assert!(stderr(&output).contains("line 2: not UTF-8"), "{}", stderr(&output));
    // curl sends the valid cookies too.
    if let Some(output) = curl(&["-s", "-b", &text(&mixed), &server.url("/cookies")]).await {
        assert!(cookies_sent(&output).contains("good=yes"), "{}", cookies_sent(&output));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_line_in_the_hsts_file_costs_only_itself() {
    let pki = netaccess_tests::pki::Pki::new("netaccess test CA");
    let server = HttpServer::start_tls(&pki.server(&["hsts.test"], netaccess_tests::pki::Validity::Current)).await;
    let port = server.addr.port();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pki.ca_pem()).unwrap();
    let hsts = dir.path().join("hsts.txt");
    let mut file = b"# Your HSTS cache.\nbad\xff.test \"unlimited\"\n".to_vec();
    file.extend_from_slice(b"hsts.test \"unlimited\"\n");
    std::fs::write(&hsts, file).unwrap();
    let resolve = format!("hsts.test:{port}:127.0.0.1");
    let output = netaccess(&[
        "--cacert",
        &text(&ca),
        "--hsts",
        &text(&hsts),
        "--resolve",
        &resolve,
        "--summary",
        "-",
        "-o",
        "/dev/null",
        &format!("http://hsts.test:{port}/hello"),
    ])
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary: Value =
        String::from_utf8_lossy(&output.stdout).lines().find_map(|l| serde_json::from_str(l).ok()).unwrap();
    assert_eq!(summary["url"], format!("https://hsts.test:{port}/hello"), "upgraded: {summary}");
    assert_eq!(server.seen.targets(), ["/hello"], "the TLS server answered");
    assert!(stderr(&output).contains("line 2: not UTF-8"), "{}", stderr(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn har_redacts_common_secrets_and_a_redacted_record_replays() {
    let server = HttpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let har = dir.path().join("s.har");
    // /hello: the body is not echoed (response bodies are recorded as they came).
    let recorded = netaccess(&[
        "-s",
        "--har",
        &text(&har),
        "--har-redact",
        "X-Session",
        "-H",
        "X-Api-Key: k3y",
        "-H",
        "X-Session: s3ss",
        "-d",
        "user=ann&password=pa55",
        "-o",
        "/dev/null",
        &server.url("/hello?page=2&token=t0k3n&access_token=acc3ss"),
    ])
    .await;
    assert_eq!(recorded.status.code(), Some(0), "{}", stderr(&recorded));
    let written = std::fs::read_to_string(&har).unwrap();
    for secret in ["t0k3n", "acc3ss", "k3y", "s3ss", "pa55"] {
        assert!(!written.contains(secret), "{secret} reached the record");
    }
    assert!(written.contains("page=2") && written.contains("user=ann"), "the rest is kept");
    let asked = server.seen.targets().len();

    // Redacted values match whatever is sent now; the rest must still agree.
    let replay = |password: &'static str, page: &'static str| {
        let har = text(&har);
        let url = server.url(&format!("/hello?page={page}&token=new&access_token=new"));
        async move {
            let data = format!("user=ann&password={password}");
            netaccess(&["-s", "--replay", &har, "-d", &data, "-o", "/dev/null", "-w", "%{http_code}", &url]).await
        }
    };
    let output = replay("whatever", "2").await;
    assert_eq!((output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned()), (Some(0), "200".into()));
    let output = replay("whatever", "3").await;
    assert_eq!(output.status.code(), Some(5), "another page is another request: {}", stderr(&output));
    assert_eq!(server.seen.targets().len(), asked, "the replays never reached the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_left_out_of_the_har_warns_once_and_fails_its_replay() {
    let server = HttpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let har = dir.path().join("big.har");
    let big = server.url("/bytes/1200000");
    let recorded =
        netaccess(&["--har", &text(&har), "-o", "/dev/null", &big, "-o", "/dev/null", &server.url("/bytes/1500000")])
            .await;
    assert_eq!(recorded.status.code(), Some(0), "{}", stderr(&recorded));
    let warning = stderr(&recorded);
    assert_eq!(warning.matches("--har-body-limit").count(), 1, "one warning naming the option: {warning}");
    assert!(warning.contains("2 bodies"), "{warning}");

    // curl has no HAR; the replay fails where it used to answer 200 and an empty body.
    let replayed = netaccess(&["-S", "-s", "--replay", &text(&har), "-o", "/dev/null", &big]).await;
    assert_eq!(replayed.status.code(), Some(5), "{}", stderr(&replayed));
    assert!(stderr(&replayed).contains("--har-body-limit"), "{}", stderr(&replayed));

    // Recorded under a higher limit, it replays whole.
    let recorded =
        netaccess(&["-s", "--har", &text(&har), "--har-body-limit", "2000000", "-o", "/dev/null", &big]).await;
    assert_eq!(recorded.status.code(), Some(0));
    let replayed = netaccess(&["-s", "--replay", &text(&har), "--summary", "-", "-o", "/dev/null", &big]).await;
    assert_eq!(replayed.status.code(), Some(0), "{}", stderr(&replayed));
    let summary: Value = serde_json::from_slice(&replayed.stdout).unwrap();
    assert_eq!(summary["bytes"], 1_200_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_all_errors_recovers_a_body_cut_off_in_the_middle() {
    let whole = pattern(300_000);
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", whole.len()).into_bytes();
    let cut = [head.clone(), whole[..100_000].to_vec()].concat();
    let full = [head, whole.clone()].concat();
    let dir = tempfile::tempdir().unwrap();
    for program in ["netaccess", "curl"] {
        // The first connection sends a third of the body and closes; the next answers whole.
        // curl 7.88: "transfer closed with 200000 bytes remaining", retried, the file whole.
        let server = RawServer::start(Script::Replies(vec![vec![cut.clone()], vec![full.clone()]])).await;
        let file = dir.path().join(format!("{program}.bin"));
        let args =
            ["-s", "--retry", "2", "--retry-delay", "0", "--retry-all-errors", "-o", &text(&file), &server.url("/f")];
        let Some(output) = side(program, &args).await else { continue };
        assert_eq!(output.status.code(), Some(0), "{program}: {}", stderr(&output));
        assert!(std::fs::read(&file).unwrap() == whole, "{program}: the output ends whole");
        assert_eq!(server.connections(), 2, "{program}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_filesize_caps_a_download() {
    let server = HttpServer::start().await;
    let output =
        netaccess(&["-S", "-s", "--max-filesize", "1000", "-o", "/dev/null", &server.url("/bytes/5000")]).await;
    // curl exits 63 ("Maximum file size exceeded"); ours is the content group's 5.
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    assert!(stderr(&output).contains("limit of 1000 bytes"), "{}", stderr(&output));
    if let Some(output) = curl(&["-s", "--max-filesize", "1000", "-o", "/dev/null", &server.url("/bytes/5000")]).await {
        assert_eq!(output.status.code(), Some(63));
    }
    let output = netaccess(&["-s", "--max-filesize", "5000", "-o", "/dev/null", &server.url("/bytes/5000")]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}
