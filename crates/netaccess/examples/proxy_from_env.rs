//! Fetch through the proxy the environment names (`http_proxy`, `https_proxy`, `all_proxy`,
//! `no_proxy`, as curl reads them).
//!
//! ```text
//! https_proxy=http://proxy.example:3128 cargo run -p netaccess --example proxy_from_env -- https://example.com/
//! ```
//!
//! The manager uses the environment's proxies by default; this example only makes it visible.

use netaccess::{NetworkAccessManager, ProxyFactory, ProxyQuery, Request, SystemProxyFactory, Url};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "https://example.com/".to_owned());

    // What the environment says for this URL: proxies in the order they are tried.
    let environment = SystemProxyFactory::from_env();
    let parsed = Url::parse(&url)?;
    for proxy in environment.query_proxy(&ProxyQuery::for_url(&parsed)) {
        println!("proxy for {url}: {:?} {}:{}", proxy.kind, proxy.host, proxy.port);
    }

    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(Request::new(&url));
    let body = reply.bytes().await?;
    println!("status {:?}, {} bytes", reply.status(), body.len());
    Ok(())
}
