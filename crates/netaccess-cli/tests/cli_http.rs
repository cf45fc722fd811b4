//! The `netaccess` command against an HTTP server on loopback: statuses, redirects, timeouts
//! and their exit codes.

use std::process::{Command, Output};

use netaccess_tests::{HttpServer, RawServer, Script};
use serde_json::Value;

async fn netaccess(args: Vec<String>) -> (Output, Vec<Value>) {
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_netaccess"))
            .arg("--no-progress")
            .args(["--summary", "-", "-o", "/dev/null"])
            .args(args)
            .output()
            .expect("run netaccess")
    })
    .await
    .unwrap();
    let summaries = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect();
    (output, summaries)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_get_reports_status_and_body() {
    let server = HttpServer::start().await;
    let (output, lines) = netaccess(vec![server.url("/hello")]).await;
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(lines[0]["status"], 200);
    assert_eq!(lines[0]["reason"], "OK");
    assert_eq!(lines[0]["bytes"], 13);
    assert_eq!(lines[0]["sha256"], "315f5bdb76d078c43b8ac0064e4a0164612b1fce77c869345bfc94c75894edd3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_and_their_flags() {
    let server = HttpServer::start().await;
    let (output, lines) = netaccess(vec![server.url("/chain/2")]).await;
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(lines[0]["final_url"], server.url("/chain/0"));
    assert_eq!(lines[0]["redirects"].as_array().unwrap().len(), 2);

    let (output, lines) = netaccess(vec!["--redirect-policy".into(), "manual".into(), server.url("/chain/2")]).await;
    assert_eq!(output.status.code(), Some(0), "a 3xx not followed is no error");
    assert_eq!(lines[0]["status"], 302);

    let (output, lines) = netaccess(vec!["--max-redirs".into(), "1".into(), server.url("/chain/3")]).await;
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(lines[0]["error"], "TooManyRedirectsError");
    assert_eq!(lines[0]["error_code"], 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_by_error_group() {
    let server = HttpServer::start().await;
    let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let cases = [
        (vec![server.url("/status/404")], 5, "ContentNotFoundError"),
        (vec![server.url("/status/500")], 7, "InternalServerError"),
        (vec![format!("http://{refused}/")], 3, "ConnectionRefusedError"),
        (vec!["--timeout".into(), "0.2".into(), server.url("/slow/3000")], 3, "TimeoutError"),
        (vec!["--offline".into(), server.url("/hello")], 3, "UnknownNetworkError"),
    ];
    for (args, code, error) in cases {
        let (output, lines) = netaccess(args.clone()).await;
        assert_eq!(output.status.code(), Some(code), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(lines[0]["error"], error, "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_framing_is_a_protocol_error() {
    let server =
        RawServer::start(Script::Replies(vec![vec![b"HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\nhello".to_vec()]]))
            .await;
    let (output, lines) = netaccess(vec![server.url("/")]).await;
    assert_eq!(output.status.code(), Some(6));
    assert_eq!(lines[0]["error"], "ProtocolFailure");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_data_and_max_host_connections() {
    let server = HttpServer::start().await;
    let urls: Vec<String> = (0..4).map(|_| server.url("/echo")).collect();
    let mut args = vec!["-d".to_owned(), "a=1".to_owned(), "--max-host-connections".to_owned(), "1".to_owned()];
    for _ in 1..4 {
        args.extend(["-o".to_owned(), "/dev/null".to_owned()]);
    }
    args.extend(urls);
    let (output, lines) = netaccess(args).await;
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(lines.len(), 4);
    for line in &lines {
        assert_eq!(line["operation"], "POST");
        assert_eq!(line["bytes"], 3);
        let headers = line["headers"].as_array().unwrap();
        assert!(headers.iter().any(|h| h[0] == "x-echo-content-type" && h[1] == "application/x-www-form-urlencoded"));
    }
    assert_eq!(server.connections(), 1, "one connection allowed, reused by all four");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_flags() {
    use netaccess_tests::pki::{Pki, Validity};
    let pki = Pki::new("netaccess test CA");
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pki.ca_pem()).unwrap();
    let ca = ca.display().to_string();
    let good = HttpServer::start_tls(&pki.server(&["localhost"], Validity::Current)).await;
    let wrong = HttpServer::start_tls(&pki.server(&["elsewhere.example"], Validity::Current)).await;

    let (output, lines) = netaccess(vec!["--cacert".into(), ca.clone(), good.localhost_url("/hello")]).await;
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(lines[0]["encrypted"], true);
    assert_eq!(lines[0]["ssl_errors"], serde_json::json!([]));

    let (output, lines) = netaccess(vec![good.localhost_url("/hello")]).await;
    assert_eq!(output.status.code(), Some(3), "an unknown CA fails");
    assert_eq!(lines[0]["error"], "SslHandshakeFailedError");
    assert_eq!(lines[0]["error_code"], 6);
    assert_eq!(lines[0]["ssl_errors"], serde_json::json!(["UnableToGetLocalIssuerCertificate"]));

    let (output, lines) = netaccess(vec!["-k".into(), good.localhost_url("/hello")]).await;
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(lines[0]["ssl_errors"], serde_json::json!(["UnableToGetLocalIssuerCertificate"]));
    assert!(String::from_utf8_lossy(&output.stderr).contains("UnableToGetLocalIssuerCertificate"), "-k prints them");

    let args = vec![
        "--cacert".into(),
        ca.clone(),
        "--ignore-ssl-error".into(),
        "HostNameMismatch".into(),
        wrong.localhost_url("/hello"),
    ];
    let (output, lines) = netaccess(args).await;
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(lines[0]["ssl_errors"], serde_json::json!(["HostNameMismatch"]));

    let (output, _) = netaccess(vec!["--ignore-ssl-error".into(), "NoSuchProblem".into(), good.url("/")]).await;
    assert_eq!(output.status.code(), Some(2));

    let needs_client =
        HttpServer::start_tls_with_client_auth(&pki.server(&["localhost"], Validity::Current), pki.ca_der()).await;
    let client = pki.client("cli client");
    let (cert, key) = (dir.path().join("client.pem"), dir.path().join("client.key"));
    std::fs::write(&cert, &client.chain_pem).unwrap();
    std::fs::write(&key, &client.key_pem).unwrap();
    let args = vec![
        "--cacert".into(),
        ca,
        "--cert".into(),
        cert.display().to_string(),
        "--key".into(),
        key.display().to_string(),
        needs_client.localhost_url("/hello"),
    ];
    let (output, lines) = netaccess(args).await;
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(lines[0]["bytes"], 13);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_jar_cookie_and_resolve_flags() {
    let server = HttpServer::start().await;
    server.script("/login", 200, vec![("set-cookie".into(), b"sid=abc; Path=/; Max-Age=3600".to_vec())]);
    let dir = tempfile::tempdir().unwrap();
    let jar = dir.path().join("jar.json").display().to_string();

    let (output, _) = netaccess(vec!["--cookie-jar".into(), jar.clone(), server.url("/login")]).await;
    assert_eq!(output.status.code(), Some(0));
    // A new jar is written in curl's cookies.txt format, as curl's -c writes it.
    assert!(std::fs::read_to_string(&jar).unwrap().contains("\tsid\tabc"), "the jar was saved");
    let (_, lines) = netaccess(vec!["--cookie-jar".into(), jar, server.url("/cookies")]).await;
    assert_eq!(lines[0]["bytes"], 7, "sid=abc came back from the saved jar");

    let (_, lines) =
        netaccess(vec!["-b".into(), "a=1".into(), "-b".into(), "b=2".into(), server.url("/cookies")]).await;
    assert_eq!(lines[0]["bytes"], 8, "a=1; b=2");

    let port = server.addr.port();
    let args = vec![
        "--resolve".into(),
        format!("netaccess.test:{port}:127.0.0.1"),
        format!("http://netaccess.test:{port}/hello"),
    ];
    let (output, lines) = netaccess(args).await;
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(lines[0]["bytes"], 13);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_answers_challenges_and_a_401_names_the_realm() {
    let server = HttpServer::start().await;
    let (output, lines) = netaccess(vec!["-u".into(), "alice:secret".into(), server.url("/digest/SHA-256/auth")]).await;
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(lines[0]["status"], 200);

    let (output, lines) = netaccess(vec!["-u".into(), "alice:wrong".into(), server.url("/basic/members")]).await;
    assert_eq!(output.status.code(), Some(5), "a rejected -u gives up instead of asking forever");
    assert_eq!(lines[0]["error"], "AuthenticationRequiredError");

    let (output, _) = netaccess(vec![server.url("/basic/members")]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Basic") && stderr.contains("\"members\""), "the realm and scheme are named: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_flags() {
    use netaccess_tests::TestProxy;
    let server = HttpServer::start().await;
    let http_proxy = TestProxy::http(Some(("pu", "pp"))).await;
    let socks = TestProxy::socks5(None).await;

    let args = vec!["-x".into(), http_proxy.url("http"), "--proxy-user".into(), "pu:pp".into(), server.url("/hello")];
    let (output, lines) = netaccess(args).await;
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(lines[0]["proxy"], format!("http://pu@{}", http_proxy.addr));

    let (output, lines) = netaccess(vec!["-x".into(), http_proxy.url("http"), server.url("/hello")]).await;
    assert_eq!(output.status.code(), Some(4), "a proxy error is exit 4");
    assert_eq!(lines[0]["error"], "ProxyAuthenticationRequiredError");

    let (_, lines) = netaccess(vec!["-x".into(), socks.url("socks5h"), server.localhost_url("/hello")]).await;
    assert_eq!(lines[0]["proxy"], format!("socks5h://{}", socks.addr));
    assert_eq!(lines[0]["bytes"], 13);

    let args =
        vec!["-x".into(), socks.url("socks5h"), "--noproxy".into(), "localhost".into(), server.localhost_url("/hello")];
    let (_, lines) = netaccess(args).await;
    assert_eq!(lines[0]["proxy"], serde_json::Value::Null, "--noproxy sends it direct");
    assert_eq!(socks.log.requests().len(), 1);

    let (output, _) = netaccess(vec!["-x".into(), "ftp://nope".into(), server.url("/hello")]).await;
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ftp_download_upload_and_login() {
    use netaccess_tests::FtpServer;
    let server = FtpServer::start(Some(("fred", "flint"))).await;
    std::fs::write(server.root().join("notes.txt"), "ftp notes").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let upload = dir.path().join("report.txt");
    std::fs::write(&upload, "uploaded by -T").unwrap();

    let (output, lines) = netaccess(vec!["-u".into(), "fred:flint".into(), server.url("", "/notes.txt")]).await;
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(lines[0]["bytes"], 9);

    let args = vec!["-T".into(), upload.display().to_string(), server.url("fred:flint@", "/")];
    let (output, _) = netaccess(args).await;
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(std::fs::read_to_string(server.root().join("report.txt")).unwrap(), "uploaded by -T");

    let (output, lines) = netaccess(vec![server.url("", "/notes.txt")]).await;
    assert_eq!(output.status.code(), Some(5), "anonymous is refused and nobody answers");
    assert_eq!(lines[0]["error"], "AuthenticationRequiredError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_never_reach_the_output() {
    let server = HttpServer::start().await;
    let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let with_password = server.url("/redirect/302?to=/hello").replacen("http://", "http://alice:sesame@", 1);
    let to_password =
        format!("http%3A%2F%2Fdan%3Aredirsecret@{}%2Fhello", server.url("").trim_start_matches("http://"));
    let cases = [
        vec!["-v".into(), "-u".into(), "bob:hunter2".into(), with_password.clone()],
        vec!["-v".into(), format!("http://alice:sesame@{refused}/")],
        vec!["-v".into(), server.url(&format!("/redirect/302?to={to_password}"))],
        vec!["-v".into(), "-x".into(), format!("http://carol:proxysecret@{refused}"), server.url("/hello")],
        vec![
            "-v".into(),
            "--proxy-user".into(),
            "carol:proxysecret".into(),
            "-x".into(),
            format!("socks5h://{refused}"),
            server.url("/hello"),
        ],
    ];
    for args in cases {
        let (output, lines) = netaccess(args.clone()).await;
        let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        // A URL typed without userinfo is echoed as typed, even when its query names a secret.
        let printed = args
            .iter()
            .filter(|a| a.contains("%3A"))
            .fold(printed, |p, typed| p.replace(typed.as_str(), "<typed URL>"));
        assert!(printed.contains("* GET"), "verbose output was printed: {printed}");
        for secret in ["sesame", "hunter2", "proxysecret", "redirsecret"] {
            assert!(!printed.contains(secret), "{args:?} printed {secret:?}:\n{printed}");
        }
        assert!(!lines.is_empty(), "{args:?}: a summary line");
    }
    let (_, lines) = netaccess(vec![with_password]).await;
    assert_eq!(lines[0]["url"], server.url("/redirect/302?to=/hello").replacen("http://", "http://alice@", 1));
    assert_eq!(lines[0]["status"], 200, "the credentials were still used: {:?}", lines[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_dir_and_cache_load_flags() {
    let origin = netaccess_tests::CacheOrigin::start().await;
    let fresh = serde_json::json!({"response_headers": [["Cache-Control", "max-age=600"]], "response_body": "cached"});
    origin.configure("cli", vec![fresh.clone(), fresh.clone(), fresh]);
    let directory = tempfile::tempdir().unwrap();
    let cache = directory.path().display().to_string();
    let with_cache = |extra: &[&str]| {
        let mut args = vec!["--cache-dir".to_owned(), cache.clone()];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        args.push(origin.test_url("cli"));
        args
    };
    let (output, lines) = netaccess(with_cache(&["--cache-load", "always-cache"])).await;
    assert_eq!(output.status.code(), Some(5), "a miss with always-cache is a content error");
    assert_eq!(lines[0]["error"], "ContentNotFoundError");

    let (_, lines) = netaccess(with_cache(&[])).await;
    assert_eq!((lines[0]["status"].as_u64(), lines[0]["from_cache"].as_bool()), (Some(200), Some(false)));
    let (output, lines) = netaccess(with_cache(&[])).await;
    assert_eq!(output.status.code(), Some(0));
    assert_eq!((lines[0]["bytes"].as_u64(), lines[0]["from_cache"].as_bool()), (Some(6), Some(true)));
    let (_, lines) = netaccess(with_cache(&["--cache-load", "always-network"])).await;
    assert_eq!(lines[0]["from_cache"], false);
    assert_eq!(origin.seen("cli").len(), 2, "the origin saw the first fetch and the always-network one");
}

/// The finding that opened the request's-way redesign: three URLs to one host over one
/// connection left in another order in 6 of 8 runs. Twenty runs of the command, each must keep
/// the order of its arguments; and four URLs behind `-u` make five requests, not eight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_to_one_host_leave_in_the_order_given_and_share_an_answered_challenge() {
    let server = HttpServer::start().await;
    for run in 0..20 {
        let urls: Vec<String> = ["a", "b", "c"].iter().map(|p| server.url(&format!("/hello?{run}{p}"))).collect();
        let mut args = vec!["--max-host-connections".to_owned(), "1".to_owned()];
        // The helper's `-o` is the first URL's; each other URL gets its own.
        for (index, url) in urls.into_iter().enumerate() {
            if index > 0 {
                args.extend(["-o".to_owned(), "/dev/null".to_owned()]);
            }
            args.push(url);
        }
        let (output, _) = netaccess(args).await;
        assert_eq!(output.status.code(), Some(0));
    }
    let expected: Vec<String> = (0..20).flat_map(|run| ["a", "b", "c"].map(|p| format!("/hello?{run}{p}"))).collect();
    assert_eq!(server.seen.targets(), expected);

    let auth = HttpServer::start().await;
    let mut args =
        vec!["--max-host-connections".to_owned(), "1".to_owned(), "-u".to_owned(), "alice:secret".to_owned()];
    for i in 0..4 {
        if i > 0 {
            args.extend(["-o".to_owned(), "/dev/null".to_owned()]);
        }
        args.push(auth.url(&format!("/basic/office?{i}")));
    }
    let (output, lines) = netaccess(args).await;
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(lines.iter().all(|line| line["status"] == 200), "{lines:?}");
    // `-u` sends Basic with every request from the first, as curl does: four requests, no 401.
    let requests = auth.seen.requests();
    assert_eq!(requests.len(), 4, "{requests:#?}");
    assert!(requests.iter().all(|r| r.authorization.is_some()), "{requests:#?}");
}

/// A list of a thousand URLs through two connections: every body saved under its own name,
/// the summary lines in the list's order and each a whole JSON object, and the server saw
/// them in that order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_urls_from_a_list_keep_their_order_and_whole_summary_lines() {
    let server = HttpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let count = 1000;
    let list: String = (0..count).map(|i| format!("{}\n", server.url(&format!("/hello/{i}")))).collect();
    let list_path = dir.path().join("urls.txt");
    std::fs::write(&list_path, list).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let summary = dir.path().join("summary.jsonl");
    let output = Command::new(env!("CARGO_BIN_EXE_netaccess"))
        .args(["--no-progress", "--max-host-connections", "1", "--url"])
        .arg(format!("@{}", list_path.display()))
        .arg("--output-dir")
        .arg(&out)
        .arg("--summary")
        .arg(&summary)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<Value> = std::fs::read_to_string(&summary)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("a torn line? {e}: {line:?}")))
        .collect();
    assert_eq!(lines.len(), count);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["url"], server.url(&format!("/hello/{i}")));
        assert_eq!(line["status"], 200);
    }
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), count);
    assert_eq!(std::fs::read_to_string(out.join("999")).unwrap(), "Hello, world!");
    let expected: Vec<String> = (0..count).map(|i| format!("/hello/{i}")).collect();
    assert_eq!(server.seen.targets(), expected);
}
