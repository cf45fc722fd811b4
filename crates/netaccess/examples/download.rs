//! Stream a large download into a file with `tokio::io::copy`, in bounded memory.
//!
//! ```text
//! cargo run -p netaccess --example download -- https://proof.ovh.net/files/10Mb.dat 10Mb.dat
//! ```

use netaccess::{NetworkAccessManager, Request};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("usage: download URL FILE")?;
    let path = args.next().ok_or("usage: download URL FILE")?;

    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(Request::new(&url));
    let head = reply.head().await?;
    if !head.status.is_success() {
        return Err(format!("{url} answered {}", head.status).into());
    }

    // The reply as `tokio::io::AsyncRead`: a failed transfer is a read error, never a short file
    // that looks complete.
    let mut body = reply.into_async_read();
    let mut file = tokio::fs::File::create(&path).await?;
    let written = tokio::io::copy(&mut body, &mut file).await?;
    file.sync_all().await?;
    println!("wrote {written} bytes to {path}");
    Ok(())
}
