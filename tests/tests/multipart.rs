//! Multipart bodies through the real client, parsed back by `multer` on a hyper server and
//! checked part by part; uploads from an `AsyncRead` and an `http_body::Body`.

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use netaccess::{Body, Multipart, MultipartKind, NetworkAccessManager, Part, ReplyEvent, Request};
use netaccess_tests::{pattern, sha256_hex, HttpServer};
use serde_json::Value;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);

/// Posts `body` to `path` and returns what the server parsed, and the upload progress seen.
async fn post(server: &HttpServer, path: &str, body: Body) -> (Value, Vec<(u64, i64)>) {
    let manager = NetworkAccessManager::new();
    let mut request = Request::new(server.url(path));
    request.attributes_mut().emit_all_upload_progress = true;
    let mut reply = manager.post(request, body);
    let (mut answer, mut progress) = (Vec::new(), Vec::new());
    while let Some(event) = timeout(LIMIT, reply.next_event()).await.expect("no hang") {
        match event {
            ReplyEvent::ReadyRead(chunk) => answer.extend_from_slice(&chunk),
            ReplyEvent::UploadProgress { sent, total } => progress.push((sent, total)),
            _ => {}
        }
    }
    assert!(reply.error().is_none(), "{:?}: {}", reply.error(), String::from_utf8_lossy(&answer));
    let parsed =
        serde_json::from_slice(&answer).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&answer)));
    (parsed, progress)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_with_fields_bytes_and_a_file_arrives_part_by_part() {
    let server = HttpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.bin");
    let file_bytes = pattern(300_000);
    std::fs::write(&file, &file_bytes).unwrap();

    let mut form = Multipart::new(MultipartKind::FormData);
    form.append(Part::form_field("title", "Quarterly \"numbers\""));
    form.append(
        Part::from_bytes(&b"{\"a\":1}"[..])
            .with_form_data("meta", Some("meta.json"))
            .with_header(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
    );
    form.append(
        Part::from_file(&file)
            .await
            .unwrap()
            .with_form_data("report", Some("report.bin"))
            .with_header(HeaderName::from_static("x-part"), HeaderValue::from_static("third")),
    );
    let body = Body::from(form);
    let length = body.len().expect("every part's size is known");
    let (parts, progress) = post(&server, "/multipart", body).await;

    assert_eq!(parts.as_array().unwrap().len(), 3, "{parts}");
    assert_eq!(parts[0]["name"], "title");
    assert_eq!(parts[0]["length"], 19);
    assert_eq!(parts[0]["sha256"], sha256_hex(b"Quarterly \"numbers\""));
    assert_eq!(parts[1]["name"], "meta");
    assert_eq!(parts[1]["file_name"], "meta.json");
    assert_eq!(parts[1]["content_type"], "application/json");
    assert_eq!(parts[2]["name"], "report");
    assert_eq!(parts[2]["file_name"], "report.bin");
    assert_eq!(parts[2]["length"], 300_000);
    assert_eq!(parts[2]["sha256"], sha256_hex(&file_bytes));
    assert!(parts[2]["headers"].to_string().contains("\"x-part\",\"third\""), "{parts}");
    // Upload progress counts the whole body, delimiters and all, and ends at its length.
    assert_eq!(progress.last(), Some(&(length, length as i64)), "{progress:?}");
    assert!(progress.iter().all(|(_, total)| *total == length as i64), "{progress:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayable_multipart_follows_a_307_and_a_stream_part_goes_chunked() {
    let server = HttpServer::start().await;
    let mut form = Multipart::new(MultipartKind::FormData);
    form.append(Part::form_field("kept", "across the redirect"));
    let (parts, _) = post(&server, "/redirect/307?to=/multipart", Body::from(form)).await;
    assert_eq!(parts[0]["name"], "kept", "{parts}");
    assert_eq!(server.seen.targets(), vec!["/redirect/307?to=/multipart".to_owned(), "/multipart".to_owned()]);

    let mut form = Multipart::new(MultipartKind::FormData);
    let chunks = futures::stream::iter((0..4).map(|i| Ok(Bytes::from(vec![b'a' + i; 10_000]))));
    form.append(Part::from_body(Body::from_stream(chunks, None)).with_form_data("streamed", Some("s.txt")));
    let body = Body::from(form);
    assert_eq!(body.len(), None, "a stream of unknown length: the body is sent chunked");
    let (parts, _) = post(&server, "/multipart", body).await;
    assert_eq!(parts[0]["length"], 40_000, "{parts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_related_and_alternative_carry_their_subtype_and_parts() {
    let server = HttpServer::start().await;
    for (kind, subtype) in [
        (MultipartKind::Mixed, "multipart/mixed"),
        (MultipartKind::Related, "multipart/related"),
        (MultipartKind::Alternative, "multipart/alternative"),
    ] {
        let mut multipart = Multipart::new(kind);
        multipart.append(
            Part::from_bytes("plain").with_header(http::header::CONTENT_TYPE, HeaderValue::from_static("text/plain")),
        );
        multipart.append(
            Part::from_bytes("<p>html</p>")
                .with_header(http::header::CONTENT_TYPE, HeaderValue::from_static("text/html")),
        );
        assert!(multipart.content_type().to_str().unwrap().starts_with(subtype));
        let (parts, _) = post(&server, "/multipart", Body::from(multipart)).await;
        assert_eq!(parts[0]["content_type"], "text/plain", "{subtype}: {parts}");
        assert_eq!(parts[1]["content_type"], "text/html", "{subtype}: {parts}");
        assert_eq!(parts[1]["length"], 11, "{subtype}: {parts}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_from_an_async_read_and_an_http_body() {
    let server = HttpServer::start().await;
    let manager = NetworkAccessManager::new();
    let data = pattern(200_000);

    let reader = std::io::Cursor::new(data.clone());
    let mut reply = manager.post(Request::new(server.url("/upload")), Body::from_async_read(reader, None));
    let digest = timeout(LIMIT, reply.bytes()).await.unwrap().unwrap();
    assert_eq!(digest, sha256_hex(&data), "an AsyncRead of unknown length, sent chunked");

    let source = http_body_util::Full::new(Bytes::from(data.clone()));
    let mut reply = manager.post(Request::new(server.url("/upload")), Body::from_http_body(source));
    let digest = timeout(LIMIT, reply.bytes()).await.unwrap().unwrap();
    assert_eq!(digest, sha256_hex(&data), "an http_body::Body with its exact length");
}
