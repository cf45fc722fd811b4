//! A disk cache shared by runs: the second fetch of a fresh response never reaches the server.
//!
//! ```text
//! cargo run -p netaccess --example disk_cache -- https://httpbin.org/cache/600 ./http-cache
//! ```
//!
//! The cache follows HTTP's rules (RFC 9111: `Cache-Control`, validators, `Vary`) and Qt's load
//! controls; entries are written crash-safely.

use std::sync::Arc;

use netaccess::{DiskCache, NetworkAccessManager, Request};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("usage: disk_cache URL CACHE_DIRECTORY")?;
    let directory = args.next().ok_or("usage: disk_cache URL CACHE_DIRECTORY")?;

    let cache = DiskCache::new(&directory)?.with_maximum_size(50 * 1024 * 1024);
    let manager = NetworkAccessManager::builder().cache(Arc::new(cache)).build();

    for attempt in ["first", "second"] {
        let mut reply = manager.get(Request::new(&url));
        let body = reply.bytes().await?;
        let from_cache = reply.attributes().source_is_from_cache;
        println!("{attempt} fetch: {} bytes, from cache: {from_cache}", body.len());
    }
    Ok(())
}
