//! Show a client certificate to a server that asks for one (mutual TLS), trusting a private CA.
//!
//! ```text
//! cargo run -p netaccess --example client_certificate -- https://mtls.example/ ca.pem client.pem client.key
//! ```
//!
//! The chain and key are PEM files; the key may be PKCS#8, PKCS#1 (RSA) or SEC1 (EC).

use netaccess::{NetworkAccessManager, Request, TlsConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, ca, chain, key] = args.as_slice() else {
        return Err("usage: client_certificate URL CA_PEM CERT_PEM KEY_PEM".into());
    };

    // The system's trust store plus the private CA, and the client identity.
    let tls = TlsConfig::default().with_ca_file(ca).with_client_certificate(chain, key);
    let manager = NetworkAccessManager::builder().tls(tls).build();

    let mut reply = manager.get(Request::new(url));
    let head = reply.head().await?;
    println!("status: {}", head.status);
    if let Some(tls) = reply.attributes().connection.and_then(|c| c.tls) {
        println!("TLS: {} {}", tls.version, tls.cipher);
    }
    println!("{}", reply.text().await?);
    Ok(())
}
