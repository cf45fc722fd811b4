//! file: and data: through the manager's public API.

use std::time::Duration;

use bytes::Bytes;
use futures::stream;
use netaccess::{Body, KnownHeaders, NetworkAccessManager, NetworkErrorKind, ReplyEvent, Request};
use netaccess_tests::{file_url, pattern, write_file};

#[tokio::test]
async fn file_get_streams_in_chunks_with_progress_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(1_000_000);
    let url = write_file(dir.path(), "big.bin", &data);
    let mtime = std::fs::metadata(dir.path().join("big.bin")).unwrap().modified().unwrap();

    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(Request::new(&url));
    let (mut body, mut chunks, mut progress) = (Vec::new(), 0, Vec::new());
    let mut saw_metadata_first = None;
    while let Some(event) = reply.next_event().await {
        match event {
            ReplyEvent::MetaDataChanged => {
                saw_metadata_first.get_or_insert(true);
            }
            ReplyEvent::ReadyRead(chunk) => {
                saw_metadata_first.get_or_insert(false);
                chunks += 1;
                body.extend_from_slice(&chunk);
            }
            ReplyEvent::DownloadProgress { received, total } => progress.push((received, total)),
            _ => {}
        }
    }
    assert_eq!(saw_metadata_first, Some(true));
    assert_eq!(body, data);
    assert!(chunks >= 15, "a 1 MB file comes in 64 KiB chunks, got {chunks}");
    assert!(progress.windows(2).all(|w| w[0].0 <= w[1].0), "progress only grows");
    assert!(progress.iter().all(|(_, total)| *total == 1_000_000));
    assert_eq!(progress.last(), Some(&(1_000_000, 1_000_000)));

    let headers = reply.headers();
    assert_eq!(headers.content_length(), Some(1_000_000));
    let last_modified = headers.last_modified().unwrap();
    let skew = mtime.duration_since(last_modified).unwrap_or_default();
    assert!(skew < Duration::from_secs(1), "Last-Modified is the mtime to the second");
    assert_eq!(headers.content_type(), Some("application/octet-stream"));
    assert_eq!(reply.status(), None, "file: has no HTTP status");
    assert!(reply.error().is_none());
    assert_eq!(reply.url().unwrap().as_str(), url);
}

#[tokio::test]
async fn file_head_gives_headers_without_body() {
    let dir = tempfile::tempdir().unwrap();
    let url = write_file(dir.path(), "page.html", b"<p>hi</p>");
    let mut reply = NetworkAccessManager::new().head(Request::new(&url));
    assert!(reply.bytes().await.unwrap().is_empty());
    assert_eq!(reply.headers().content_length(), Some(9));
    assert_eq!(reply.headers().content_type(), Some("text/html"));
}

#[tokio::test]
async fn empty_file_reports_zero_progress() {
    let dir = tempfile::tempdir().unwrap();
    let url = write_file(dir.path(), "empty", b"");
    let mut reply = NetworkAccessManager::new().get(Request::new(&url));
    let mut last = None;
    while let Some(event) = reply.next_event().await {
        if let ReplyEvent::DownloadProgress { received, total } = event {
            last = Some((received, total));
        }
    }
    assert_eq!(last, Some((0, 0)));
}

#[tokio::test]
async fn file_put_writes_bytes_files_and_streams_with_upload_progress() {
    let dir = tempfile::tempdir().unwrap();
    let manager = NetworkAccessManager::new();
    let source = dir.path().join("source.bin");
    std::fs::write(&source, pattern(300_000)).unwrap();

    let bodies: Vec<(Body, Vec<u8>)> = vec![
        (Body::from("small text"), b"small text".to_vec()),
        (Body::from_file(&source).await.unwrap(), pattern(300_000)),
        (
            Body::from_stream(stream::iter([Ok(Bytes::from_static(b"one,")), Ok(Bytes::from_static(b"two"))]), None),
            b"one,two".to_vec(),
        ),
    ];
    for (index, (body, expected)) in bodies.into_iter().enumerate() {
        let target = dir.path().join(format!("upload-{index}"));
        let mut request = Request::new(file_url(&target));
        request.attributes_mut().emit_all_upload_progress = true;
        let mut reply = manager.put(request, body);
        let mut uploads = Vec::new();
        while let Some(event) = reply.next_event().await {
            if let ReplyEvent::UploadProgress { sent, total } = event {
                uploads.push((sent, total));
            }
        }
        assert!(reply.error().is_none(), "{:?}", reply.error());
        assert_eq!(std::fs::read(&target).unwrap(), expected);
        let (sent, _) = *uploads.last().expect("upload progress");
        assert_eq!(sent, expected.len() as u64);

        let read_back = manager.get(Request::new(file_url(&target))).bytes().await.unwrap();
        assert_eq!(read_back, expected);
    }
}

#[tokio::test]
async fn file_errors_follow_qt() {
    let dir = tempfile::tempdir().unwrap();
    let manager = NetworkAccessManager::new();
    let existing = write_file(dir.path(), "exists.txt", b"x");
    let cases = [
        (manager.get(Request::new(file_url(&dir.path().join("missing")))), NetworkErrorKind::ContentNotFoundError),
        (manager.get(Request::new(file_url(dir.path()))), NetworkErrorKind::ContentOperationNotPermittedError),
        (manager.get(Request::new("file:///")), NetworkErrorKind::ContentOperationNotPermittedError),
        (manager.put(Request::new(file_url(dir.path())), "x"), NetworkErrorKind::ContentOperationNotPermittedError),
        (
            manager.put(Request::new(file_url(&dir.path().join("no/such/dir/f"))), "x"),
            NetworkErrorKind::ContentNotFoundError,
        ),
        (
            manager.get(Request::new("file://fileserver.example/share/x")),
            NetworkErrorKind::ProtocolInvalidOperationError,
        ),
        (manager.delete_resource(Request::new(&existing)), NetworkErrorKind::ProtocolInvalidOperationError),
    ];
    for (mut reply, expected) in cases {
        let url = reply.url_text();
        let error = reply.finished().await.unwrap_err();
        assert_eq!(error.kind(), expected, "{url}: {error}");
        assert_eq!(error.url(), url, "the error names the URL");
        assert!(!error.message().is_empty());
    }
    assert!(dir.path().join("exists.txt").exists(), "DELETE on file: removes nothing");
    let localhost = format!("file://localhost{}", dir.path().join("exists.txt").display());
    assert_eq!(manager.get(Request::new(localhost)).bytes().await.unwrap(), "x");
}

#[tokio::test]
async fn data_urls_decode_per_rfc2397() {
    let manager = NetworkAccessManager::new();
    let cases: [(&str, &str, &[u8]); 4] = [
        ("data:,A%20brief%20note", "text/plain;charset=US-ASCII", b"A brief note"),
        ("data:text/plain;base64,SGVsbG8sIFdvcmxkIQ==", "text/plain", b"Hello, World!"),
        ("data:;charset=utf-8,caf%C3%A9", "text/plain;charset=utf-8", "café".as_bytes()),
        ("data:application/octet-stream;base64,AAEC", "application/octet-stream", &[0, 1, 2]),
    ];
    for (url, media_type, data) in cases {
        let mut reply = manager.get(Request::new(url));
        assert_eq!(reply.bytes().await.unwrap(), data, "{url}");
        assert_eq!(reply.headers().content_type(), Some(media_type), "{url}");
        assert_eq!(reply.headers().content_length(), Some(data.len() as u64));
    }
    let error = manager.get(Request::new("data:text/plain;base64")).finished().await.unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::ProtocolInvalidOperationError);
    assert!(error.message().contains("comma"), "{error}");
    let error = manager.get(Request::new("data:;base64,%%%%")).finished().await.unwrap_err();
    assert!(error.message().contains("base64"), "{error}");
    let error = manager.post(Request::new("data:,x"), "body").finished().await.unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::ProtocolInvalidOperationError);
}

#[tokio::test]
async fn a_file_body_that_vanished_fails_the_upload() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("gone.bin");
    std::fs::write(&source, b"abc").unwrap();
    let body = Body::from_file(&source).await.unwrap();
    std::fs::remove_file(&source).unwrap();
    let target = file_url(&dir.path().join("target"));
    let error = NetworkAccessManager::new().put(Request::new(target), body).finished().await.unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::UnknownContentError);
    assert!(error.message().contains("upload body"), "{error}");
}
