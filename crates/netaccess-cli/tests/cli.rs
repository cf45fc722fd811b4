//! The `netaccess` command, run as a user runs it.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn netaccess() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_netaccess"));
    command.arg("--no-progress");
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("run netaccess")
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn summaries(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout).lines().map(|line| serde_json::from_str(line).expect("JSON line")).collect()
}

#[test]
fn summary_has_the_contract_keys_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.txt");
    std::fs::write(&path, "abc").unwrap();
    let output = run(netaccess().args([&file_url(&path), "-o", "/dev/null", "--summary", "-"]));
    assert_eq!(output.status.code(), Some(0));
    let line = String::from_utf8(output.stdout).unwrap();
    let keys: Vec<String> =
        serde_json::from_str::<serde_json::Map<String, Value>>(&line).map(|m| m.keys().cloned().collect()).unwrap();
    let mut in_text_order = keys.clone();
    in_text_order.sort_by_key(|k| line.find(&format!("\"{k}\":")).unwrap());
    assert_eq!(
        in_text_order,
        [
            "url",
            "final_url",
            "operation",
            "status",
            "reason",
            "error",
            "error_code",
            "error_message",
            "from_cache",
            "bytes",
            "sha256",
            "headers",
            "redirects",
            "encrypted",
            "ssl_errors",
            "proxy",
            "elapsed_ms",
            "timings",
            "remote_address",
            "reused",
            "http_version",
            "tls",
            "retries"
        ]
    );
    let record: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(record["bytes"], 3);
    assert_eq!(record["sha256"], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(record["error"], Value::Null);
    assert!(record["headers"].as_array().unwrap().iter().any(|h| h[0] == "content-length" && h[1] == "3"));
}

#[test]
fn several_urls_keep_their_order_on_stdout_and_in_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    std::fs::write(&big, vec![b'x'; 3_000_000]).unwrap();
    let summary = dir.path().join("summary.jsonl");
    let output =
        run(netaccess().args([file_url(&big).as_str(), "data:,second", "data:,third"]).arg("--summary").arg(&summary));
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let mut expected = vec![b'x'; 3_000_000];
    expected.extend_from_slice(b"secondthird");
    assert!(output.stdout == expected, "bodies in URL order");
    let lines: Vec<Value> =
        std::fs::read_to_string(&summary).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let urls: Vec<&str> = lines.iter().map(|l| l["url"].as_str().unwrap()).collect();
    assert_eq!(urls, [file_url(&big).as_str(), "data:,second", "data:,third"]);
}

#[test]
fn exit_status_is_the_first_failures_group() {
    let cases: [(&[&str], i32); 5] = [
        (&["data:,fine"], 0),
        (&["data:,fine", "file:///no/such/file", "gopher://x/"], 5),
        (&["gopher://x/", "file:///no/such/file"], 6),
        (&["-d", "a=1", "file:///tmp/netaccess-never-written"], 6),
        (&["-H", "no colon here", "data:,x"], 2),
    ];
    for (args, code) in cases {
        let output = run(netaccess().args(args).args(["-o", "/dev/null"]));
        assert_eq!(output.status.code(), Some(code), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }
    let no_url = run(&mut netaccess());
    assert_eq!(no_url.status.code(), Some(2));
}

#[test]
fn errors_are_reported_on_stderr_with_url_and_kind() {
    let output = run(netaccess().arg("file:///no/such/file"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("file:///no/such/file"), "{stderr}");
    assert!(stderr.contains("ContentNotFoundError"), "{stderr}");
}

#[test]
fn output_dir_and_output_files() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("report.txt");
    std::fs::write(&source, "report body").unwrap();
    let out_dir = dir.path().join("downloads");
    std::fs::create_dir(&out_dir).unwrap();
    let named = dir.path().join("named.out");
    let output = run(netaccess()
        .arg(file_url(&source))
        .arg("data:,inline")
        .arg("-o")
        .arg(&named)
        .arg("--output-dir")
        .arg(&out_dir));
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&named).unwrap(), "report body");
    assert_eq!(std::fs::read_to_string(out_dir.join("download-2")).unwrap(), "inline");
}

#[test]
fn include_and_head_print_headers() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("page.html");
    std::fs::write(&source, "<p>").unwrap();
    let included = run(netaccess().arg("-i").arg(file_url(&source)));
    let text = String::from_utf8(included.stdout).unwrap();
    assert!(text.contains("content-length: 3\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n<p>"), "{text:?}");
    let head = run(netaccess().arg("-I").arg(file_url(&source)));
    let text = String::from_utf8(head.stdout).unwrap();
    assert!(text.contains("content-type: text/html\r\n") && text.ends_with("\r\n\r\n"), "{text:?}");
}

#[test]
fn upload_file_puts_and_appends_the_name_to_a_directory_url() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("payload.bin");
    std::fs::write(&source, vec![7u8; 200_000]).unwrap();
    let target_dir = dir.path().join("inbox");
    std::fs::create_dir(&target_dir).unwrap();
    let output =
        run(netaccess().arg("-T").arg(&source).arg(format!("{}/", file_url(&target_dir))).args(["--summary", "-"]));
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(summaries(&output)[0]["operation"], "PUT");
    assert_eq!(std::fs::read(target_dir.join("payload.bin")).unwrap(), vec![7u8; 200_000]);
}

#[test]
fn verbose_shows_the_events() {
    let output = run(netaccess().args(["-v", "data:,hi"]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for needle in ["* GET data:,hi", "< content-type: text/plain;charset=US-ASCII", "downloadProgress 2/2", "finished"]
    {
        assert!(stderr.contains(needle), "{needle:?} in {stderr}");
    }
}

#[test]
fn offline_still_reads_local_schemes() {
    let output = run(netaccess().args(["--offline", "data:,local"]));
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(output.stdout, b"local");
}

/// An unreadable file is ContentAccessDenied. Root reads everything, so as root the command
/// runs as `nobody` through setpriv.
#[test]
fn unreadable_file_is_access_denied() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "secret").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();

    let is_root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
    let mut command = if is_root {
        let mut command = Command::new("setpriv");
        command.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_netaccess"),
            "--no-progress",
        ]);
        command
    } else {
        netaccess()
    };
    let output = run(command.arg(file_url(&secret)).args(["--summary", "-"]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(5), "{stderr}");
    assert_eq!(summaries(&output)[0]["error"], "ContentAccessDenied", "{stderr}");
}

#[test]
fn a_url_list_saves_each_body_under_its_remote_name_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let sources = dir.path().join("sources");
    std::fs::create_dir(&sources).unwrap();
    let mut list = String::from("# three files and a comment\n\n");
    for name in ["one.txt", "two.txt", "three.txt"] {
        std::fs::write(sources.join(name), format!("body of {name}")).unwrap();
        list.push_str(&format!("  {}  \n", file_url(&sources.join(name))));
    }
    let list_path = dir.path().join("urls.txt");
    std::fs::write(&list_path, &list).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let output = run(netaccess()
        .arg("--url")
        .arg(format!("@{}", list_path.display()))
        .arg("--output-dir")
        .arg(&out)
        .args(["--summary", "-"]));
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let lines = summaries(&output);
    let names: Vec<&str> = lines.iter().map(|l| l["url"].as_str().unwrap().rsplit('/').next().unwrap()).collect();
    assert_eq!(names, ["one.txt", "two.txt", "three.txt"], "in the list's order");
    for name in ["one.txt", "two.txt", "three.txt"] {
        assert_eq!(std::fs::read_to_string(out.join(name)).unwrap(), format!("body of {name}"));
    }

    // From standard input, into the current directory, after a URL given as an argument.
    let here = dir.path().join("here");
    std::fs::create_dir(&here).unwrap();
    let mut child = netaccess()
        .current_dir(&here)
        .arg("data:,first")
        .args(["-o", "first.out", "--url", "@-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), list.as_bytes()).unwrap();
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(here.join("first.out")).unwrap(), "first");
    assert_eq!(std::fs::read_to_string(here.join("two.txt")).unwrap(), "body of two.txt");

    let missing = run(netaccess().args(["--url", "@/no/such/list"]));
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/no/such/list"));
}

#[test]
fn remote_name_and_when_a_file_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let here = dir.path().join("here");
    std::fs::create_dir(&here).unwrap();
    let output =
        run(netaccess().current_dir(&here).arg("-O").arg(file_url(&empty)).arg(file_url(&dir.path().join("gone.txt"))));
    assert_eq!(output.status.code(), Some(5), "the second is not found");
    assert_eq!(std::fs::read(here.join("empty.txt")).unwrap(), b"", "an empty body still gets its file");
    assert!(!here.join("gone.txt").exists(), "a failed transfer creates no file");

    // An output that cannot be created is a local failure (exit 1), not a canceled transfer.
    let source = dir.path().join("a.txt");
    std::fs::write(&source, "a").unwrap();
    let output = run(netaccess().arg(file_url(&source)).args(["-o", "/no/such/dir/a.out", "--summary", "-"]));
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot create /no/such/dir/a.out"), "{stderr}");
    assert!(!stderr.contains("canceled"), "{stderr}");
    assert!(summaries(&output)[0]["error_message"].as_str().unwrap().contains("cannot create"));
}
