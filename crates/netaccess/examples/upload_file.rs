//! Upload a file as `multipart/form-data`, showing the upload's progress.
//!
//! ```text
//! cargo run -p netaccess --example upload_file -- https://httpbin.org/post ./Cargo.toml
//! ```
//!
//! The file is read while it is sent, in small chunks: a file of many gigabytes takes no more
//! memory than a small one.

use netaccess::{Multipart, MultipartKind, NetworkAccessManager, Part, ReplyEvent, Request};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "https://httpbin.org/post".to_owned());
    let path = args.next().unwrap_or_else(|| "Cargo.toml".to_owned());
    let file_name = std::path::Path::new(&path).file_name().map_or("upload".into(), |n| n.to_string_lossy());

    let mut form = Multipart::new(MultipartKind::FormData);
    form.append(Part::form_field("description", "a file sent by the netaccess example"));
    form.append(
        Part::from_file(&path)
            .await?
            .with_form_data("file", Some(&file_name))
            .with_header(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/octet-stream")),
    );

    let manager = NetworkAccessManager::new();
    let mut reply = manager.post(Request::new(&url), form);

    // Every Qt signal arrives as an event, in order; the body comes as `ReadyRead` chunks.
    let mut answer = Vec::new();
    while let Some(event) = reply.next_event().await {
        match event {
            ReplyEvent::UploadProgress { sent, total } => eprintln!("uploaded {sent} of {total:?} bytes"),
            ReplyEvent::ReadyRead(chunk) => answer.extend_from_slice(&chunk),
            ReplyEvent::Error(error) => return Err(error.into()),
            _ => {}
        }
    }
    println!("status: {:?}", reply.status());
    println!("{}", String::from_utf8_lossy(&answer));
    Ok(())
}
