//! The SOCKS5 client against scripted proxy answers, the fuzz target's findings among them.

use netaccess_core::NetworkErrorKind;
use netaccess_proxy::{socks5_connect, ConnectFailure, Target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Runs the handshake against a proxy that sends `answer` (whatever it is asked) and returns
/// the outcome, as the error kind the manager would report.
async fn against(answer: &[u8], credentials: Option<(&str, &str)>) -> Result<(), NetworkErrorKind> {
    let (mut client, mut proxy) = tokio::io::duplex(4096);
    proxy.write_all(answer).await.unwrap();
    proxy.shutdown().await.unwrap(); // the proxy says nothing more: a short answer ends in EOF
    let drain = tokio::spawn(async move {
        let mut sink = Vec::new();
        let _ = proxy.read_to_end(&mut sink).await;
    });
    let outcome = socks5_connect(&mut client, Target::Name("example.com", 443), credentials).await;
    drop(client);
    drain.await.unwrap();
    outcome
        .map_err(|failure: ConnectFailure| failure.into_network_error("http://example.com/", "socks5h://proxy").kind())
}

#[tokio::test]
async fn every_reply_code_maps_to_an_error_and_none_panics() {
    let reply = |code: u8| [5, 0, 5, code, 0, 1, 0, 0, 0, 0, 0, 0];
    assert_eq!(against(&reply(0), None).await, Ok(()));
    assert_eq!(against(&reply(2), None).await, Err(NetworkErrorKind::ProxyConnectionRefusedError));
    assert_eq!(against(&reply(4), None).await, Err(NetworkErrorKind::HostNotFoundError));
    assert_eq!(against(&reply(5), None).await, Err(NetworkErrorKind::ConnectionRefusedError));
    // fast-socks5, used before, panicked on the codes RFC 1928 does not define (fuzz finding).
    for code in 9..=255 {
        assert_eq!(against(&reply(code), None).await, Err(NetworkErrorKind::UnknownProxyError), "code {code}");
    }
}

#[tokio::test]
async fn malformed_answers_are_protocol_failures() {
    for answer in [
        &[4, 0][..],                               // not SOCKS5
        &[5, 0x80][..],                            // a method never offered
        &[5, 0, 5, 0, 0, 9, 0, 0][..],             // an unknown address type
        &[5, 0, 6, 0, 0, 1, 0, 0, 0, 0, 0, 0][..], // the wrong version in the reply
    ] {
        assert_eq!(against(answer, None).await, Err(NetworkErrorKind::UnknownProxyError), "{answer:?}");
    }
    assert_eq!(
        against(&[5, 0, 5, 0, 0, 3, 20, b'x'][..], None).await,
        Err(NetworkErrorKind::ProxyConnectionClosedError)
    );
}

#[tokio::test]
async fn logins_and_their_refusal() {
    let accepted = [5, 2, 1, 0, 5, 0, 0, 3, 3, b'a', b'b', b'c', 1, 187];
    assert_eq!(against(&accepted, Some(("user", "secret"))).await, Ok(()));
    let rejected = [5, 2, 1, 1];
    assert_eq!(
        against(&rejected, Some(("user", "wrong"))).await,
        Err(NetworkErrorKind::ProxyAuthenticationRequiredError)
    );
    assert_eq!(against(&[5, 0xFF], None).await, Err(NetworkErrorKind::ProxyAuthenticationRequiredError));
    assert_eq!(against(&[5, 0xFF], Some(("u", "p"))).await, Err(NetworkErrorKind::ProxyConnectionRefusedError));
    let long = "x".repeat(256);
    assert_eq!(
        against(&[5, 2], Some((long.as_str(), "p"))).await,
        Err(NetworkErrorKind::ProxyConnectionRefusedError),
        "credentials longer than RFC 1929 allows are refused before sending"
    );
}
