//! Handshakes against a TLS server on loopback with certificates from rcgen: every problem
//! class is named right, and sessions resume only after a connection without problems.

use netaccess_core::SslErrorKind;
use netaccess_tests::pki::{self_signed, Pki, Validity};
use netaccess_tests::{HttpServer, Identity};
use netaccess_tls::{Handshake, TlsConfig, TlsConnector, Trust};
use tokio::net::TcpStream;

fn connector(pki: &Pki) -> TlsConnector {
    TlsConnector::new(TlsConfig::default().with_trust(Trust::None).with_ca_certificate(pki.ca_der().to_vec()))
        .expect("connector")
}

async fn handshake(connector: &TlsConnector, server: &HttpServer, host: &str) -> Handshake<TcpStream> {
    let tcp = TcpStream::connect(server.addr).await.expect("connect");
    connector.connect(tcp, host).await.expect("handshake")
}

async fn kinds_for(identity: &Identity, pki: &Pki, host: &str) -> Vec<SslErrorKind> {
    let server = HttpServer::start_tls(identity).await;
    let handshake = handshake(&connector(pki), &server, host).await;
    handshake.errors.iter().map(|e| e.kind).collect()
}

#[tokio::test]
async fn each_problem_is_named() {
    let pki = Pki::new("netaccess test CA");
    let names = ["localhost", "127.0.0.1"];
    let other = Pki::new("someone else's CA");
    let cases: Vec<(&str, Identity, &str, Vec<SslErrorKind>)> = vec![
        ("valid", pki.server(&names, Validity::Current), "localhost", vec![]),
        ("valid by IP", pki.server(&names, Validity::Current), "127.0.0.1", vec![]),
        ("expired", pki.server(&names, Validity::Expired), "localhost", vec![SslErrorKind::CertificateExpired]),
        (
            "not yet valid",
            pki.server(&names, Validity::NotYetValid),
            "localhost",
            vec![SslErrorKind::CertificateNotYetValid],
        ),
        (
            "wrong host",
            pki.server(&["elsewhere.example"], Validity::Current),
            "localhost",
            vec![SslErrorKind::HostNameMismatch],
        ),
        ("self-signed", self_signed(&names), "localhost", vec![SslErrorKind::SelfSignedCertificate]),
        (
            "unknown CA",
            other.server(&names, Validity::Current),
            "localhost",
            vec![SslErrorKind::UnableToGetLocalIssuerCertificate],
        ),
        (
            "missing intermediate",
            pki.server_via_intermediate(&names, false),
            "localhost",
            vec![SslErrorKind::UnableToGetLocalIssuerCertificate],
        ),
        ("intermediate sent", pki.server_via_intermediate(&names, true), "localhost", vec![]),
        (
            "expired, unknown CA and wrong host",
            other.server(&["elsewhere.example"], Validity::Expired),
            "localhost",
            vec![
                SslErrorKind::CertificateExpired,
                SslErrorKind::UnableToGetLocalIssuerCertificate,
                SslErrorKind::HostNameMismatch,
            ],
        ),
    ];
    for (what, identity, host, expected) in cases {
        assert_eq!(kinds_for(&identity, &pki, host).await, expected, "{what}");
    }
}

#[tokio::test]
async fn problems_carry_the_offending_certificate_and_the_chain() {
    let pki = Pki::new("netaccess test CA");
    let identity = pki.server(&["elsewhere.example"], Validity::Current);
    let server = HttpServer::start_tls(&identity).await;
    let handshake = handshake(&connector(&pki), &server, "localhost").await;
    assert_eq!(handshake.chain.len(), 1);
    assert_eq!(handshake.chain[0], identity.chain[0].as_ref());
    assert_eq!(handshake.errors[0].certificate.as_deref(), Some(identity.chain[0].as_ref()));
    assert!(handshake.errors[0].message.contains("localhost"), "{}", handshake.errors[0].message);
    assert_eq!(handshake.alpn_protocol(), Some(&b"http/1.1"[..]));
}

#[tokio::test]
async fn sessions_resume_only_after_a_clean_connection() {
    let pki = Pki::new("netaccess test CA");
    let clean = HttpServer::start_tls(&pki.server(&["localhost"], Validity::Current)).await;
    let connector = connector(&pki);
    let first = handshake(&connector, &clean, "localhost").await;
    assert!(!first.resumed());
    let mut stream = first.accept();
    exchange(&mut stream).await;
    let second = handshake(&connector, &clean, "localhost").await;
    assert!(second.resumed(), "a clean connection's session is resumed");
    assert!(second.errors.is_empty());

    let wrong = HttpServer::start_tls(&pki.server(&["elsewhere.example"], Validity::Current)).await;
    let first = handshake(&connector, &wrong, "localhost").await;
    assert_eq!(first.errors.len(), 1);
    let mut stream = first.accept();
    exchange(&mut stream).await;
    let second = handshake(&connector, &wrong, "localhost").await;
    assert!(!second.resumed(), "a connection with problems leaves no session to resume");
    assert_eq!(second.errors.len(), 1, "so the problem is seen again");
}

/// One request, so the server's session tickets arrive and are read.
async fn exchange(stream: &mut tokio_rustls::client::TlsStream<TcpStream>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(b"GET /hello HTTP/1.1\r\nhost: localhost\r\n\r\n").await.unwrap();
    let mut response = vec![0u8; 4096];
    let mut read = 0;
    while !response[..read].ends_with(b"Hello, world!") {
        let n = stream.read(&mut response[read..]).await.unwrap();
        assert!(n > 0, "the server answered");
        read += n;
    }
}

#[tokio::test]
async fn client_certificates_are_shown() {
    let pki = Pki::new("netaccess test CA");
    let server =
        HttpServer::start_tls_with_client_auth(&pki.server(&["localhost"], Validity::Current), pki.ca_der()).await;
    let dir = tempfile_dir();
    let client = pki.client("netaccess client");
    std::fs::write(dir.join("client.pem"), &client.chain_pem).unwrap();
    std::fs::write(dir.join("client.key"), &client.key_pem).unwrap();
    std::fs::write(dir.join("ca.pem"), pki.ca_pem()).unwrap();
    let with_identity = TlsConnector::new(
        TlsConfig::default()
            .with_trust(Trust::None)
            .with_ca_file(dir.join("ca.pem"))
            .with_client_certificate(dir.join("client.pem"), dir.join("client.key")),
    )
    .unwrap();
    let mut stream = handshake(&with_identity, &server, "localhost").await.accept();
    exchange(&mut stream).await;

    let without = connector(&pki);
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let refused = match without.connect(tcp, "localhost").await {
        Err(_) => true,
        Ok(handshake) => {
            // TLS 1.3 reports a refused client certificate on the first read.
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut stream = handshake.accept();
            let _ = stream.write_all(b"GET /hello HTTP/1.1\r\nhost: localhost\r\n\r\n").await;
            let mut buffer = [0u8; 64];
            !matches!(stream.read(&mut buffer).await, Ok(n) if n > 0)
        }
    };
    assert!(refused, "a server that requires a client certificate refuses a client without one");
    std::fs::remove_dir_all(dir).unwrap();
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("netaccess-tls-{}-{:?}", std::process::id(), std::thread::current().id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn unreadable_files_are_setup_errors() {
    let error = TlsConnector::new(TlsConfig::default().with_ca_file("/no/such/ca.pem")).unwrap_err();
    assert!(error.to_string().contains("/no/such/ca.pem"), "{error}");
}

#[tokio::test]
async fn the_system_store_is_trusted_by_default() {
    // A CA installed on the system (here through SSL_CERT_FILE, which the system store honours,
    // as it honours /etc/ssl/certs) is trusted without configuration.
    let pki = Pki::new("a company CA");
    let dir = tempfile_dir();
    let bundle = dir.join("company-ca.pem");
    std::fs::write(&bundle, pki.ca_pem()).unwrap();
    std::env::set_var("SSL_CERT_FILE", &bundle);
    let connector = TlsConnector::new(TlsConfig::default()).unwrap();
    std::env::remove_var("SSL_CERT_FILE");
    assert!(connector.root_count() >= 1);
    let server = HttpServer::start_tls(&pki.server(&["localhost"], Validity::Current)).await;
    assert!(handshake(&connector, &server, "localhost").await.errors.is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}
