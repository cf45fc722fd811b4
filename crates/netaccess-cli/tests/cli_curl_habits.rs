//! curl's habits the command keeps (the third round of black-box findings), each against a
//! server that records what it saw, with curl 7.88 run beside it on the same server where curl
//! has the feature; each test says what curl does.

mod support;

use netaccess_tests::auth_server::{PASSWORD, USER};
use netaccess_tests::{HttpServer, RawServer, Script};
use serde_json::Value;
use support::{netaccess, side, stderr, stdout, text};

const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-MiXed-Case: 1\r\ncontent-TYPE: text/plain\r\n\r\nok";

/// A byte-level server that answers every request with [`ANSWER`] and keeps each head as it came.
async fn recording_server() -> RawServer {
    RawServer::start(Script::Replies(vec![vec![ANSWER.to_vec()]])).await
}

/// The head a run sent: the last one the server read.
fn last_head(server: &RawServer) -> String {
    server.heads().last().cloned().expect("the server read a request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_headers_go_out_canonical_and_accept_anything() {
    let server = recording_server().await;
    let url = server.url("/added");
    let cases: [(&[&str], &str); 3] = [
        (&["-d", "a=b"], "Content-Type: application/x-www-form-urlencoded\r\n"),
        (&["--json", "{\"a\":1}"], "Content-Type: application/json\r\n"),
        (&[], "Accept: */*\r\n"),
    ];
    for program in ["netaccess", "curl"] {
        for (flags, expected) in cases {
            let mut args = vec!["-s", "-o", "/dev/null"];
            args.extend_from_slice(flags);
            args.push(&url);
            let Some(output) = side(program, &args).await else { continue };
            assert_eq!(output.status.code(), Some(0), "{program} {flags:?}: {}", stderr(&output));
            let head = last_head(&server);
            // curl writes `Content-Type` and `Accept: */*` (`--json` asks for application/json).
            assert!(head.contains(expected), "{program} {flags:?} sent:\n{head}");
            if flags.is_empty() {
                assert!(!head.to_ascii_lowercase().contains("content-type"), "{program}: no body, no type:\n{head}");
            }
        }
    }
    // A type the user writes keeps the user's spelling; `-H Accept:` replaces the default.
    let output = netaccess(&[
        "-s",
        "-o",
        "/dev/null",
        "-H",
        "content-type: text/x-mine",
        "-H",
        "Accept: text/html",
        "-d",
        "x",
        &url,
    ])
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let head = last_head(&server);
    assert!(head.contains("content-type: text/x-mine\r\n") && head.contains("Accept: text/html\r\n"), "{head}");
    assert!(!head.contains("*/*"), "{head}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn include_prints_header_names_as_the_server_spelled_them() {
    let server = recording_server().await;
    let url = server.url("/spelled");
    let dir = tempfile::tempdir().unwrap();
    for program in ["netaccess", "curl"] {
        let dumped = dir.path().join(format!("{program}.headers"));
        let Some(output) = side(program, &["-s", "-i", "-D", &text(&dumped), &url]).await else { continue };
        assert_eq!(output.status.code(), Some(0), "{program}: {}", stderr(&output));
        // curl prints the status line and every field as it came: `X-MiXed-Case`, `content-TYPE`.
        let shown = stdout(&output);
        for printed in [shown.clone(), std::fs::read_to_string(&dumped).unwrap()] {
            assert!(printed.starts_with("HTTP/1.1 200 OK\r\n"), "{program}: {printed:?}");
            assert!(printed.contains("\r\nX-MiXed-Case: 1\r\n"), "{program}: {printed:?}");
            assert!(printed.contains("\r\ncontent-TYPE: text/plain\r\n"), "{program}: {printed:?}");
        }
        assert!(shown.ends_with("\r\n\r\nok"), "{program}: {shown:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_without_a_scheme_is_http() {
    let server = HttpServer::start().await;
    let bare = format!("127.0.0.1:{}/hello", server.addr.port());
    let mut sides = 0;
    for program in ["netaccess", "curl"] {
        // curl guesses http:// for a host that does not start with `ftp.`.
        let Some(output) = side(program, &["-s", &bare]).await else { continue };
        sides += 1;
        assert_eq!(output.status.code(), Some(0), "{program}: {}", stderr(&output));
        assert_eq!(stdout(&output), "Hello, world!", "{program}");
    }
    let output = netaccess(&["-s", "-o", "/dev/null", "--summary", "-", &bare]).await;
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["url"], format!("http://{bare}"));
    assert_eq!(server.seen.targets(), vec!["/hello"; sides + 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dash_u_sends_basic_on_the_first_request() {
    let server = HttpServer::start().await;
    let credentials = format!("{USER}:{PASSWORD}");
    let url = server.url("/basic/realm/page");
    let mut sides = 0;
    for program in ["netaccess", "curl"] {
        // curl sends `Authorization: Basic` with the first request: one request, no 401.
        let Some(output) = side(program, &["-s", "-u", &credentials, &url]).await else { continue };
        sides += 1;
        assert_eq!(output.status.code(), Some(0), "{program}: {}", stderr(&output));
        assert_eq!(stdout(&output), format!("welcome {USER}"), "{program}");
    }
    let requests = server.seen.requests();
    assert_eq!(requests.len(), sides, "one request each, no 401 round: {requests:?}");
    assert!(requests.iter().all(|r| r.authorization.as_deref().is_some_and(|a| a.starts_with("Basic "))));

    // A Digest server challenges the Basic: the same credentials answer it.
    let digest = server.url("/digest/SHA-256/auth");
    let output = netaccess(&["-s", "-u", &credentials, &digest]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), format!("welcome {USER}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_file_parts_carry_a_content_type() {
    let server = HttpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.html");
    let blob = dir.path().join("blob.bin");
    let typed = dir.path().join("notes.txt");
    for path in [&page, &blob, &typed] {
        std::fs::write(path, "content").unwrap();
    }
    let fields = [
        format!("page=@{}", text(&page)),
        format!("blob=@{}", text(&blob)),
        format!("typed=@{};type=text/x-mine", text(&typed)),
        "plain=value".to_owned(),
    ];
    let url = server.url("/multipart");
    for program in ["netaccess", "curl"] {
        let mut args: Vec<&str> = vec!["-s"];
        for field in &fields {
            args.extend(["-F", field.as_str()]);
        }
        args.push(&url);
        let Some(output) = side(program, &args).await else { continue };
        assert_eq!(output.status.code(), Some(0), "{program}: {}", stderr(&output));
        let parts: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{program}: {e}"));
        let type_of = |name: &str| {
            let parts = parts.as_array().unwrap();
            parts.iter().find(|p| p["name"] == name).unwrap()["content_type"].clone()
        };
        // curl: text/html by the extension, application/octet-stream for one it does not know,
        // `;type=` as given, no type on a plain field.
        assert_eq!(type_of("page"), "text/html", "{program}");
        assert_eq!(type_of("blob"), "application/octet-stream", "{program}");
        assert_eq!(type_of("typed"), "text/x-mine", "{program}");
        assert_eq!(type_of("plain"), Value::Null, "{program}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_break_in_the_agent_or_a_cookie_is_refused() {
    let server = recording_server().await;
    let url = server.url("/injected");
    // curl 7.88 sends both as given: the CR LF ends its header and `X-Injected: 1` goes out as
    // a header of its own. The command refuses them as it refuses them in `-H`.
    for flags in [["-A", "agent\r\nX-Injected: 1"], ["-b", "a=b\r\nX-Injected: 1"], ["-H", "X-A: b\r\nX-Injected: 1"]] {
        let output = netaccess(&[flags[0], flags[1], &url]).await;
        assert_eq!(output.status.code(), Some(2), "{flags:?}: {}", stderr(&output));
        assert!(stderr(&output).contains(flags[0]) || flags[0] == "-H", "{flags:?}: {}", stderr(&output));
    }
    assert!(server.heads().is_empty(), "nothing was sent: {:?}", server.heads());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_url_names_its_cause() {
    for (url, cause) in [
        ("http://127.0.0.1:99999/", "port 99999 is out of range"),
        ("http://[::1/x", "unclosed IPv6 literal"),
        ("http://exa mple.com/", "cannot have"),
    ] {
        let output = netaccess(&["-s", "-S", url]).await;
        // curl: exit 3, "URL using bad/illegal format or missing URL" (the cause not named).
        assert_ne!(output.status.code(), Some(0), "{url}");
        assert!(stderr(&output).contains(cause), "{url}: {}", stderr(&output));
        assert!(!stderr(&output).contains("Protocol \"\" is unknown"), "{url}: {}", stderr(&output));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_certificate_named_with_cacert_is_trusted() {
    let identity = netaccess_tests::pki::self_signed_ca_marked(&["localhost"]);
    let server = HttpServer::start_tls(&identity).await;
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("server.pem");
    std::fs::write(&pem, &identity.chain_pem).unwrap();
    let url = server.localhost_url("/hello");
    for program in ["netaccess", "curl"] {
        // curl (OpenSSL) trusts the certificate `openssl req -x509` made, for its own names.
        let Some(output) = side(program, &["-s", "-S", "--cacert", &text(&pem), &url]).await else { continue };
        assert_eq!(output.status.code(), Some(0), "{program}: {}", stderr(&output));
        assert_eq!(stdout(&output), "Hello, world!", "{program}");
    }
    // For another name it is still refused; without it, the message says what to do.
    let other = url.replace("localhost", "127.0.0.1");
    let output = netaccess(&["-s", "-S", "--cacert", &text(&pem), &other]).await;
    assert_ne!(output.status.code(), Some(0));
    assert!(
        stderr(&output).contains("HostNameMismatch (the certificate was issued for another name"),
        "{}",
        stderr(&output)
    );
    let output = netaccess(&["-s", "-S", &url]).await;
    assert_ne!(output.status.code(), Some(0));
    let said = stderr(&output);
    assert!(said.contains("SelfSignedCertificate (the certificate signed itself"), "{said}");
    assert!(said.contains("--cacert FILE") && said.contains("--ignore-ssl-error SelfSignedCertificate"), "{said}");
    assert!(said.contains("-k"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_shows_the_request_head_as_sent_with_secrets_masked() {
    let server = recording_server().await;
    let url = server.url("/verbose");
    for program in ["netaccess", "curl"] {
        let args = ["-s", "-v", "-o", "/dev/null", "-u", "alice:secret", "-b", "session=abc", "-d", "x=y", &url];
        let Some(output) = side(program, &args).await else { continue };
        assert_eq!(output.status.code(), Some(0), "{program}: {}", stderr(&output));
        let said = stderr(&output);
        let shown: Vec<&str> =
            said.lines().filter_map(|line| line.strip_prefix("> ")).map(|line| line.trim_end_matches('\r')).collect();
        let sent = last_head(&server);
        let sent: Vec<&str> = sent.split("\r\n").filter(|line| !line.is_empty()).collect();
        // curl prints every line it sent with `> ` (and the credentials in clear); the command
        // prints the same lines, the values of Authorization and Cookie hidden.
        for line in &sent {
            let expected = if line.starts_with("Authorization:") {
                "Authorization: Basic <hidden>".to_owned()
            } else if line.starts_with("Cookie:") {
                "Cookie: <hidden>".to_owned()
            } else {
                (*line).to_owned()
            };
            let expected = if program == "curl" { (*line).to_owned() } else { expected };
            assert!(shown.contains(&expected.as_str()), "{program}: {expected:?} not in {shown:#?}");
        }
        assert!(sent[0] == "POST /verbose HTTP/1.1", "{program}: {sent:?}");
        for name in ["Host:", "User-Agent:", "Accept: */*", "Content-Length: 3", "Content-Type:"] {
            assert!(sent.iter().any(|line| line.starts_with(name)), "{program} sent no {name}: {sent:?}");
        }
        assert!(
            shown.iter().all(|line| !line.contains("secret") && !line.contains("YWxpY2U6c2VjcmV0"))
                || program == "curl"
        );
        assert!(said.contains("< HTTP/1.1 200 OK"), "{program}: {said}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_out_prints_what_curl_prints_for_the_same_transfer() {
    let server = HttpServer::start().await;
    let format = "%{response_code}|%{content_type}|%{size_download}|%{size_upload}|%{size_header}|%{num_redirects}|\
                  %{num_connects}|%{redirect_url}|%{url_effective}|%{scheme}|%{method}|%{remote_ip}|%{remote_port}|\
                  %{local_ip}|%{http_version}|%{ssl_verify_result}|%{exitcode}";
    let redirect = server.url("/redirect/302?to=/hello");
    let json = server.url("/json");
    let echo = server.url("/upload");
    // The command follows redirects unless told not to; curl follows them with -L.
    let not_followed = ["--redirect-policy", "manual"];
    let cases: [(&[&str], &[&str]); 3] =
        [(&[&json], &[]), (&["-d", "abcdef", &echo], &[]), (&[&redirect], &not_followed)];
    for (case, ours_only) in cases {
        let mut printed = Vec::new();
        for program in ["netaccess", "curl"] {
            let mut args = vec!["-s", "-o", "/dev/null", "-w", format];
            if program == "netaccess" {
                args.extend_from_slice(ours_only);
            }
            args.extend_from_slice(case);
            let Some(output) = side(program, &args).await else { continue };
            assert_eq!(output.status.code(), Some(0), "{program} {case:?}: {}", stderr(&output));
            assert!(stderr(&output).is_empty(), "{program}: every variable is known: {}", stderr(&output));
            printed.push(stdout(&output));
        }
        // curl prints the same values for the same transfer: status, type, sizes of the body,
        // the upload and the response head, redirects, connections, where a redirect not
        // followed points, the URL, scheme (`HTTP`), method, addresses, version, verification.
        if let [ours, curls] = &printed[..] {
            assert_eq!(ours, curls, "{case:?}");
        }
        let fields: Vec<&str> = printed[0].split('|').collect();
        assert_eq!(fields[11], "127.0.0.1", "{case:?}");
    }

    // Followed (curl with -L): one redirect, the final URL, nothing left to point at.
    let followed = "%{response_code}|%{size_download}|%{num_redirects}|%{url_effective}|%{redirect_url}";
    let ours = netaccess(&["-s", "-o", "/dev/null", "-w", followed, &redirect]).await;
    assert_eq!(stdout(&ours), format!("200|13|1|{}|", server.url("/hello")));
    if let Some(curls) = side("curl", &["-s", "-L", "-o", "/dev/null", "-w", followed, &redirect]).await {
        assert_eq!(stdout(&ours), stdout(&curls));
    }

    // size_request: the head and the body as the server read them.
    let raw = recording_server().await;
    let output =
        netaccess(&["-s", "-o", "/dev/null", "-w", "%{size_request} %{size_upload}", "-d", "abc", &raw.url("/r")])
            .await;
    let sent = last_head(&raw).len() + 3;
    assert_eq!(stdout(&output), format!("{sent} 3"));
    // A failure: the command's exit status and its message.
    let output = netaccess(&["-s", "-w", "%{exitcode} %{errormsg}", "http://127.0.0.1:1/"]).await;
    let code = output.status.code().unwrap();
    assert!(stdout(&output).starts_with(&format!("{code} http://127.0.0.1:1/: ")), "{}", stdout(&output));
    // header_json: the fields by lower-case name, a list of values each, as curl writes it.
    let output = netaccess(&["-s", "-o", "/dev/null", "-w", "%{header_json}", &raw.url("/h")]).await;
    let fields: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(fields["x-mixed-case"], serde_json::json!(["1"]));
    assert_eq!(fields["content-type"], serde_json::json!(["text/plain"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_groups_every_flag_wraps_to_the_terminal_and_explains_the_exit_statuses() {
    let run = |arg: &'static str| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_netaccess")).arg(arg).env("COLUMNS", "72").output().unwrap()
        })
    };
    let help = stdout(&run("--help").await.unwrap());
    // The generic block holds only --help and --version; every other flag is under a heading.
    let generic = help.split("\nOptions:\n").nth(1).unwrap().split("\n\nRequest:").next().unwrap();
    let generic_flags: Vec<&str> = generic.lines().filter(|l| l.trim_start().starts_with('-')).map(str::trim).collect();
    assert_eq!(generic_flags, ["-h, --help", "-V, --version"], "{help}");
    for heading in ["Request:", "Output:", "Connection:", "TLS:", "Proxy:", "Credentials and cookies:"] {
        assert!(help.contains(&format!("\n{heading}\n")), "{heading} in {help}");
    }
    assert!(help.lines().all(|line| line.chars().count() <= 72), "wrapped to 72 columns:\n{help}");
    for (code, meaning) in ["0  every transfer", "2  bad usage", "5  a content error", "33  -C"].map(|l| (l, l)) {
        assert!(help.contains(code), "{meaning} in {help}");
    }
    let page = stdout(&run("manpage").await.unwrap());
    assert!(page.contains(".SH \"EXIT STATUS\"") && page.contains(".TP\n33\n"), "{page}");
}
