//! Keep cookies between runs in a file, as a browser profile does.
//!
//! ```text
//! cargo run -p netaccess --example cookies -- 'https://httpbin.org/cookies/set?session=42' cookies.json
//! cargo run -p netaccess --example cookies -- https://httpbin.org/cookies cookies.json
//! ```
//!
//! The file is written crash-safely (a temporary file renamed over the old one): a crash leaves
//! the old jar or the new one, never half of one.

use std::sync::Arc;

use netaccess::{CookieJar, DefaultCookieJar, NetworkAccessManager, Request};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("usage: cookies URL JAR_FILE")?;
    let jar_file = args.next().ok_or("usage: cookies URL JAR_FILE")?;

    let jar = Arc::new(DefaultCookieJar::new());
    if std::path::Path::new(&jar_file).exists() {
        let loaded = jar.load(&jar_file)?;
        println!("loaded {loaded} cookies from {jar_file}");
    }
    let manager = NetworkAccessManager::builder().cookie_jar(jar.clone()).build();

    let mut reply = manager.get(Request::new(&url));
    let body = reply.text().await?;
    println!("status {:?}: {body}", reply.status());

    // `true`: session cookies (no expiry) are kept too, as a browser restoring a session does.
    jar.save(&jar_file, true)?;
    println!("saved {} cookies to {jar_file}", jar.all_cookies().len());
    Ok(())
}
