//! GET a JSON document over https and read it as typed data.
//!
//! ```text
//! cargo run -p netaccess --features json --example get_json -- https://httpbin.org/json
//! ```
//!
//! Certificates are checked against the system's trust store (`SSL_CERT_FILE` names another
//! bundle, as for curl and OpenSSL).

use netaccess::{NetworkAccessManager, Request};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "https://httpbin.org/json".to_owned());
    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(Request::new(&url).with_header("accept", "application/json"));

    // The head arrives first: the status and headers, as `http` types.
    let head = reply.head().await?;
    println!("{} {:?}", head.status, head.headers.get("content-type"));
    if !head.status.is_success() {
        return Err(format!("{url} answered {}", head.status).into());
    }

    // Then the body, parsed as JSON (any `serde::Deserialize` type works).
    let document: serde_json::Value = reply.json().await?;
    println!("{document:#}");
    Ok(())
}
