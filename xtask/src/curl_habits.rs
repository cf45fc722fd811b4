//! curl's everyday flags, netaccess's command and curl itself side by side: each pair runs with
//! the same flags against the same server (the test suite's hyper server, which records what
//! it read and echoes or parses what it was sent), and what the server saw and what each wrote
//! must be the same.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use netaccess_tests::HttpServer;

type Check = (String, Result<String, String>);

/// The two programs, with the flags that make each quiet and otherwise default.
fn programs() -> [(&'static str, Command); 2] {
    let mut ours = Command::new(crate::shell::target_dir().join("debug").join("netaccess"));
    ours.args(["--no-progress", "-s"]);
    let mut curl = Command::new("curl");
    curl.arg("-s");
    [("netaccess", ours), ("curl", curl)]
}

/// Runs both programs with `args` in `dir` (made per program), `stdin` piped in; returns each
/// one's directory and stdout. Both must succeed (exit 0), or both fail when `expect_failure`:
/// a pair that "both wrote nothing" because both broke does not pass.
fn both(dir: &Path, args: &[String], stdin: Option<&[u8]>) -> Result<Vec<(PathBuf, Vec<u8>)>, String> {
    both_ending(dir, args, stdin, false)
}

fn both_ending(
    dir: &Path,
    args: &[String],
    stdin: Option<&[u8]>,
    expect_failure: bool,
) -> Result<Vec<(PathBuf, Vec<u8>)>, String> {
    let mut results = Vec::new();
    for (name, mut command) in programs() {
        let work = dir.join(name);
        std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
        command.args(args).current_dir(&work).stdout(Stdio::piped()).stderr(Stdio::piped());
        command.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        let mut child = command.spawn().map_err(|e| format!("cannot run {name}: {e}"))?;
        if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
            std::io::Write::write_all(&mut pipe, bytes).map_err(|e| format!("{name}'s stdin: {e}"))?;
        }
        let output = child.wait_with_output().map_err(|e| format!("{name}: {e}"))?;
        if output.status.success() == expect_failure {
            return Err(format!(
                "{name} exited {:?}, expected {} (stderr: {})",
                output.status.code(),
                if expect_failure { "a failure" } else { "success" },
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        results.push((work, output.stdout));
    }
    Ok(results)
}

/// Headers each program sends of its own accord and that differ by design (its name, curl's
/// `Accept: */*`, netaccess's decompression offer): compared only when a flag sets them.
const OWN_DEFAULTS: [&str; 3] = ["user-agent", "accept", "accept-encoding"];

/// The request headers `/echo` reflected in a `-D` dump (as `x-echo-NAME`), by lower-case name,
/// without the defaults of [`OWN_DEFAULTS`] that `flags_set` does not name.
fn echoed(dump: &str, flags_set: &[&str]) -> BTreeMap<String, String> {
    dump.lines()
        .filter_map(|line| line.split_once(':'))
        .filter_map(|(name, value)| {
            let name = name.trim().to_ascii_lowercase();
            Some((name.strip_prefix("x-echo-")?.to_owned(), value.trim().to_owned()))
        })
        .filter(|(name, _)| !OWN_DEFAULTS.contains(&name.as_str()) || flags_set.contains(&name.as_str()))
        .collect()
}

fn same<T: PartialEq + std::fmt::Debug>(what: &str, ours: T, curls: T) -> Result<String, String> {
    if ours == curls {
        Ok(format!("{what}: {ours:?}").chars().take(90).collect())
    } else {
        Err(format!("{what}: netaccess {ours:?}, curl {curls:?}"))
    }
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

/// The request headers `/echo` reflected, and the body it sent back.
type Echoed = (BTreeMap<String, String>, Vec<u8>);

/// What `/echo` said to each program: its echoed headers (from `-D`) and the body.
fn echo_pair(
    dir: &Path,
    server: &HttpServer,
    flags: &[&str],
    flags_set: &[&str],
    stdin: Option<&[u8]>,
) -> Result<[Echoed; 2], String> {
    let mut args = owned(flags);
    args.extend(owned(&["-D", "head.txt", "-o", "body.bin", &server.url("/echo")]));
    let runs = both(dir, &args, stdin)?;
    let read = |work: &PathBuf| -> Result<Echoed, String> {
        let head = std::fs::read_to_string(work.join("head.txt")).map_err(|e| format!("{}: {e}", work.display()))?;
        let body = std::fs::read(work.join("body.bin")).map_err(|e| format!("{}: {e}", work.display()))?;
        Ok((echoed(&head, flags_set), body))
    };
    Ok([read(&runs[0].0)?, read(&runs[1].0)?])
}

pub(crate) fn checks(runtime: &tokio::runtime::Runtime) -> Vec<Check> {
    let server = runtime.block_on(HttpServer::start());
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => return vec![("curl's flags".into(), Err(format!("temporary directory: {e}")))],
    };
    let case = |name: &str| dir.path().join(name);
    let mut checks: Vec<Check> = Vec::new();

    let sent = |flags: &[&str], flags_set: &[&str], stdin: Option<&[u8]>, name: &str| {
        echo_pair(&case(name), &server, flags, flags_set, stdin).and_then(
            |[(ours_head, ours_body), (curl_head, curl_body)]| {
                same("body", ours_body, curl_body)?;
                same("echoed headers", ours_head, curl_head)
            },
        )
    };
    checks.push(("curl: --json".into(), sent(&["--json", r#"{"a":1}"#], &["accept"], None, "json")));
    checks.push((
        "curl: -A -e -r".into(),
        sent(&["-A", "probe/1", "-e", "http://from.example/", "-r", "0-9"], &["user-agent"], None, "agent"),
    ));
    checks.push((
        "curl: --data-raw, --data-urlencode".into(),
        sent(&["--data-raw", "@x", "--data-urlencode", "q=a b&c"], &[], None, "raw"),
    ));
    let stdin = netaccess_tests::pattern(200_000);
    checks.push(("curl: -T -".into(), sent(&["-T", "-"], &[], Some(&stdin), "stdin")));

    checks.push(("curl: -G --data-urlencode".into(), {
        let target = server.url("/echo?x=0");
        let args = owned(&["-G", "-d", "a=1", "--data-urlencode", "q=hello world&x", "-o", "/dev/null", &target]);
        both(&case("get"), &args, None).and_then(|_| {
            let targets = server.seen.targets();
            match &targets[targets.len().saturating_sub(2)..] {
                [ours, curls] => same("request target", ours, curls),
                seen => Err(format!("the server saw {seen:?}, not one request from each")),
            }
        })
    }));

    checks.push(("curl: -F".into(), {
        let work = case("form");
        let file = work.join("notes.txt");
        let prepared = std::fs::create_dir_all(&work).and_then(|()| std::fs::write(&file, "two\nlines\n"));
        let parts = |runs: Vec<(PathBuf, Vec<u8>)>| -> Result<Vec<serde_json::Value>, String> {
            runs.into_iter()
                .map(|(_, out)| {
                    let mut parts: serde_json::Value = serde_json::from_slice(&out).map_err(|e| e.to_string())?;
                    for part in parts.as_array_mut().into_iter().flatten() {
                        // The parts' own headers differ in spelling only; the parsed facts must not.
                        part.as_object_mut().map(|p| p.remove("headers"));
                    }
                    Ok(parts)
                })
                .collect()
        };
        prepared.map_err(|e| e.to_string()).and_then(|()| {
            let upload = format!("doc=@{};type=text/plain;filename=renamed.txt", file.display());
            let args = owned(&["-F", "title=hello", "-F", &upload, &server.url("/multipart")]);
            let parsed = parts(both(&work, &args, None)?)?;
            same("parts", &parsed[0], &parsed[1])
        })
    }));

    checks.push(("curl: -C -".into(), {
        let whole = netaccess_tests::pattern(100_000);
        let args = owned(&["-C", "-", "-o", "part.bin", &server.url("/ranged/100000")]);
        let work = case("resume");
        let prepared = ["netaccess", "curl"].iter().try_for_each(|name| {
            std::fs::create_dir_all(work.join(name))?;
            std::fs::write(work.join(name).join("part.bin"), &whole[..30_000])
        });
        prepared.map_err(|e| e.to_string()).and_then(|()| {
            let runs = both(&work, &args, None)?;
            let files: Vec<bool> = runs
                .iter()
                .map(|(w, _)| std::fs::read(w.join("part.bin")).ok().as_deref() == Some(&whole[..]))
                .collect();
            same("the resumed file is whole", files[0], files[1]).and_then(|detail| {
                if files[0] {
                    Ok(detail)
                } else {
                    Err("neither resumed file is whole".into())
                }
            })
        })
    }));

    checks.push(("curl: -O -J".into(), {
        server.script(
            "/files/get",
            200,
            vec![("content-disposition".into(), b"attachment; filename=\"named.txt\"".to_vec())],
        );
        let args = owned(&["-O", "-J", &server.url("/files/get")]);
        both(&case("named"), &args, None).and_then(|runs| {
            let names: Vec<Vec<String>> = runs
                .iter()
                .map(|(work, _)| {
                    let mut names: Vec<String> = std::fs::read_dir(work)
                        .map(|entries| {
                            entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()
                        })
                        .unwrap_or_default();
                    names.sort();
                    names
                })
                .collect();
            same("files written", &names[0], &names[1])
        })
    }));

    checks.push(("curl: -f on 404".into(), {
        let args = owned(&["-f", "-o", "out.bin", &server.url("/status/404")]);
        both_ending(&case("fail"), &args, None, true).and_then(|runs| {
            let asked = server.seen.targets().iter().filter(|t| t.as_str() == "/status/404").count();
            if asked != 2 {
                return Err(format!("the server saw /status/404 {asked} times, not once from each"));
            }
            let written: Vec<bool> =
                runs.iter().map(|(work, out)| work.join("out.bin").exists() || !out.is_empty()).collect();
            same("anything written", written[0], written[1])
        })
    }));
    checks.push(("curl: --hsts files both ways".into(), hsts_both_ways(runtime, &case("hsts"))));
    checks
}

/// curl's `--hsts` file read by netaccess, and netaccess's read by curl: after one program
/// learnt the policy from an https server, the other sends an http URL of that host to the
/// server over TLS (the TLS server records the request; plain http to it would fail).
fn hsts_both_ways(runtime: &tokio::runtime::Runtime, dir: &Path) -> Result<String, String> {
    let pki = netaccess_tests::pki::Pki::new("netaccess interop CA");
    let identity = pki.server(&["hsts.test"], netaccess_tests::pki::Validity::Current);
    let server = runtime.block_on(HttpServer::start_tls(&identity));
    let port = server.addr.port();
    server.script("/sts", 200, vec![("strict-transport-security".into(), b"max-age=600".to_vec())]);
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, pki.ca_pem()).map_err(|e| e.to_string())?;
    let run = |program: &str, store: &Path, url: String| -> Result<(), String> {
        let program_path = match program {
            "curl" => PathBuf::from("curl"),
            _ => crate::shell::target_dir().join("debug").join("netaccess"),
        };
        let output = Command::new(program_path)
            .args(["-s", "-S", "-o", "/dev/null", "--cacert"])
            .arg(&ca)
            .arg("--resolve")
            .arg(format!("hsts.test:{port}:127.0.0.1"))
            .arg("--hsts")
            .arg(store)
            .arg(&url)
            .output()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!("{program} {url}: {} {}", output.status, String::from_utf8_lossy(&output.stderr).trim()))
        }
    };
    let saw = |target: &str| server.seen.targets().iter().any(|t| t == target);
    let mut lines = Vec::new();
    for (writer, reader) in [("curl", "netaccess"), ("netaccess", "curl")] {
        let store = dir.join(format!("{writer}.hsts"));
        run(writer, &store, format!("https://hsts.test:{port}/sts"))?;
        let text = std::fs::read_to_string(&store).map_err(|e| format!("{writer} wrote no HSTS file: {e}"))?;
        let line = text.lines().find(|l| l.starts_with("hsts.test ")).ok_or(format!("{writer}'s file: {text:?}"))?;
        let target = format!("/echo?reader={reader}");
        run(reader, &store, format!("http://hsts.test:{port}{target}"))?;
        if !saw(&target) {
            return Err(format!("{reader} did not send {target} over TLS after reading {writer}'s {line:?}"));
        }
        lines.push(format!("{writer} wrote {line}"));
    }
    Ok(lines.join("; "))
}
