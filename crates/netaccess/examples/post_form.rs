//! POST an HTML form (`application/x-www-form-urlencoded`) and print the answer.
//!
//! ```text
//! cargo run -p netaccess --example post_form -- https://httpbin.org/post
//! ```

use netaccess::{Body, NetworkAccessManager, Request};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "https://httpbin.org/post".to_owned());
    let manager = NetworkAccessManager::new();

    // Pairs are percent-encoded as browsers do; the Content-Type is set for you.
    let form = Body::from_form([("name", "netaccess"), ("kind", "network library"), ("stars", "5")]);
    let mut reply = manager.post(Request::new(&url), form);

    let head = reply.head().await?;
    println!("status: {}", head.status);
    println!("{}", reply.text().await?);
    Ok(())
}
