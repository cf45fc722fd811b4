//! HTTP Strict Transport Security through the manager, as a user meets it: a policy learnt from
//! an https server sends later http requests (many at once, and redirect targets) to that
//! server over TLS, where the server records them; no policy is learnt over http, from an IP
//! literal or after an ignored certificate error; the policies persist in curl's file format.

use std::net::SocketAddr;
use std::time::Duration;

use netaccess::{IgnoredSslErrors, NetworkAccessManager, NetworkErrorKind, Request, TlsConfig, Trust};
use netaccess_tests::pki::{Pki, Validity};
use netaccess_tests::HttpServer;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);
const HOST: &str = "hsts.test";

fn sts(value: &str) -> Vec<(String, Vec<u8>)> {
    vec![("strict-transport-security".into(), value.as_bytes().to_vec())]
}

/// A manager with HSTS on that trusts `pki` and finds `names` at `addr`.
fn hsts_manager(pki: &Pki, addr: SocketAddr, names: &[&str], store: Option<&std::path::Path>) -> NetworkAccessManager {
    let tls = TlsConfig::default().with_trust(Trust::None).with_ca_certificate(pki.ca_der().to_vec());
    let mut builder = NetworkAccessManager::builder().tls(tls).strict_transport_security_enabled(true);
    for name in names {
        builder = builder.resolve(name, addr.port(), addr);
    }
    if let Some(store) = store {
        builder = builder.strict_transport_security_store(store);
    }
    builder.build()
}

async fn fetch(manager: &NetworkAccessManager, url: &str) -> netaccess::Reply {
    let mut reply = manager.get(Request::new(url));
    timeout(LIMIT, reply.bytes()).await.expect("in time").ok();
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learnt_policy_sends_http_requests_over_tls_many_at_once_and_redirects_too() {
    let pki = Pki::new("netaccess test CA");
    let server = HttpServer::start_tls(&pki.server(&[HOST, "www.hsts.test"], Validity::Current)).await;
    let port = server.addr.port();
    let manager = hsts_manager(&pki, server.addr, &[HOST, "www.hsts.test"], None);
    server.script("/sts", 200, sts("max-age=600; includeSubDomains"));

    // Before the policy, http goes as http: the TLS server cannot read it.
    let before = fetch(&manager, &format!("http://{HOST}:{port}/hello")).await;
    assert!(before.error().is_some(), "plain http to a TLS port fails");
    assert!(manager.strict_transport_security_hosts().is_empty());

    let learnt = fetch(&manager, &format!("https://{HOST}:{port}/sts")).await;
    assert!(learnt.error().is_none(), "{:?}", learnt.error());
    let hosts = manager.strict_transport_security_hosts();
    assert_eq!(hosts.len(), 1);
    assert_eq!((hosts[0].host.as_str(), hosts[0].include_subdomains), (HOST, true));

    // Twenty http requests in flight at once, to the host and a subdomain: all go over TLS.
    let targets_before = server.seen.targets().len();
    let mut replies: Vec<netaccess::Reply> = (0..20)
        .map(|i| {
            let host = if i % 2 == 0 { HOST } else { "www.hsts.test" };
            manager.get(Request::new(format!("http://{host}:{port}/echo?n={i}")))
        })
        .collect();
    for (i, reply) in replies.iter_mut().enumerate() {
        timeout(LIMIT, reply.bytes()).await.expect("in time").expect("fetched over TLS");
        let url = reply.url().expect("a URL");
        assert_eq!((url.scheme(), url.port()), ("https", Some(port)), "reply {i} shows the https URL");
    }
    let targets = server.seen.targets();
    let asked: Vec<&String> = targets[targets_before..].iter().collect();
    assert_eq!(asked.len(), 20, "the TLS server saw every request: {asked:?}");

    // A redirect from https to an http URL of the host is followed over https, not refused as
    // a downgrade.
    let location = format!("http://{HOST}:{port}/hello");
    let redirected = fetch(&manager, &format!("https://{HOST}:{port}/redirect/302?to={location}")).await;
    assert!(redirected.error().is_none(), "{:?}", redirected.error());
    assert_eq!(redirected.url().unwrap().as_str(), format!("https://{HOST}:{port}/hello"));

    // max-age=0 removes the policy; http is http again.
    server.script("/forget", 200, sts("max-age=0"));
    fetch(&manager, &format!("https://{HOST}:{port}/forget")).await;
    assert!(manager.strict_transport_security_hosts().is_empty());
    let after = fetch(&manager, &format!("http://{HOST}:{port}/hello")).await;
    assert_eq!(after.url().unwrap().scheme(), "http");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_policy_from_http_an_ip_literal_or_an_ignored_certificate_error() {
    let pki = Pki::new("netaccess test CA");
    let plain = HttpServer::start().await;
    plain.script("/sts", 200, sts("max-age=600"));
    let manager = hsts_manager(&pki, plain.addr, &[HOST], None);
    fetch(&manager, &format!("http://{HOST}:{}/sts", plain.addr.port())).await;
    assert!(manager.strict_transport_security_hosts().is_empty(), "never from http");

    // The certificate names another host: accepted by the caller, but never a policy.
    let wrong = HttpServer::start_tls(&pki.server(&["other.test"], Validity::Current)).await;
    wrong.script("/sts", 200, sts("max-age=600"));
    let manager = hsts_manager(&pki, wrong.addr, &[HOST], None);
    let mut request = Request::new(format!("https://{HOST}:{}/sts", wrong.addr.port()));
    request.attributes_mut().ignore_ssl_errors = IgnoredSslErrors::All;
    let mut reply = manager.get(request);
    timeout(LIMIT, reply.bytes()).await.unwrap().expect("accepted with the error ignored");
    assert!(!reply.attributes().ssl_errors.is_empty());
    assert!(manager.strict_transport_security_hosts().is_empty(), "never after an ignored certificate error");

    let by_address = HttpServer::start_tls(&pki.server(&["127.0.0.1"], Validity::Current)).await;
    by_address.script("/sts", 200, sts("max-age=600"));
    let reply = fetch(&manager, &by_address.url("/sts")).await;
    assert!(reply.error().is_none(), "{:?}", reply.error());
    assert!(manager.strict_transport_security_hosts().is_empty(), "never for an IP literal");

    // And with HSTS off, a trusted https response teaches nothing.
    let good = HttpServer::start_tls(&pki.server(&[HOST], Validity::Current)).await;
    good.script("/sts", 200, sts("max-age=600"));
    let manager = hsts_manager(&pki, good.addr, &[HOST], None);
    manager.set_strict_transport_security_enabled(false);
    fetch(&manager, &format!("https://{HOST}:{}/sts", good.addr.port())).await;
    assert!(manager.strict_transport_security_hosts().is_empty(), "HSTS off");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_persist_in_curls_format_and_a_new_manager_upgrades_from_the_file() {
    let pki = Pki::new("netaccess test CA");
    let server = HttpServer::start_tls(&pki.server(&[HOST], Validity::Current)).await;
    let port = server.addr.port();
    server.script("/sts", 200, sts("max-age=31536000"));
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("hsts.txt");
    std::fs::write(&store, "# from curl\n.expired.test \"20200101 00:00:00\"\n").unwrap();

    let first = hsts_manager(&pki, server.addr, &[HOST], Some(&store));
    assert!(first.strict_transport_security_hosts().is_empty(), "the expired entry was dropped on load");
    let reply = fetch(&first, &format!("https://{HOST}:{port}/sts")).await;
    assert!(reply.error().is_none(), "{:?}", reply.error());
    let text = std::fs::read_to_string(&store).unwrap();
    let line = text.lines().find(|l| l.starts_with(HOST)).unwrap_or_else(|| panic!("no line for {HOST}: {text}"));
    let stamp = line.split_once(' ').unwrap().1;
    assert!(stamp.len() == 19 && stamp.starts_with('"') && stamp.ends_with('"'), "curl's stamp: {line}");
    drop(first);

    let second = hsts_manager(&pki, server.addr, &[HOST], Some(&store));
    let reply = fetch(&second, &format!("http://{HOST}:{port}/hello")).await;
    assert!(reply.error().is_none(), "{:?}", reply.error());
    assert_eq!(reply.url().unwrap().scheme(), "https", "upgraded from the file's policy");

    // A store that cannot be read is not replaced.
    let unreadable = dir.path().join("not-a-file");
    std::fs::create_dir(&unreadable).unwrap();
    let third = hsts_manager(&pki, server.addr, &[HOST], Some(&unreadable));
    fetch(&third, &format!("https://{HOST}:{port}/sts")).await;
    drop(third);
    assert!(unreadable.is_dir());
    assert_eq!(
        fetch(&second, "http://127.0.0.1:9/").await.error().map(|e| e.kind()),
        Some(NetworkErrorKind::ConnectionRefusedError),
        "an IP literal is never upgraded"
    );
}
