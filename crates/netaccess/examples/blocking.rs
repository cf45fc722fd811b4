//! The same manager without async: for scripts and programs with no Tokio runtime of their own.
//!
//! ```text
//! cargo run -p netaccess --features blocking --example blocking -- https://www.rust-lang.org/
//! ```

use std::io::Read;

use netaccess::blocking::NetworkAccessManager;
use netaccess::Request;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "https://www.rust-lang.org/".to_owned());
    // The manager runs on a runtime thread of its own; every call here blocks.
    let manager = NetworkAccessManager::new()?;

    let mut reply = manager.get(Request::new(&url));
    let head = reply.head()?;
    println!("status: {}", head.status);

    // The reply is a `std::io::Read`; a failed transfer is a read error, never a silent end.
    let mut body = Vec::new();
    reply.read_to_end(&mut body)?;
    println!("{} bytes", body.len());
    Ok(())
}
