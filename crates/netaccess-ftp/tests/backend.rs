//! The backend on its own, without the manager.

use futures::StreamExt;
use netaccess_core::{Backend, BackendRequest, Body, Operation};
use netaccess_ftp::FtpBackend;
use netaccess_tests::FtpServer;

#[tokio::test]
async fn download_and_upload_without_the_manager() {
    let server = FtpServer::start(None).await;
    std::fs::write(server.root().join("hello.txt"), "hello over ftp").unwrap();
    let backend = FtpBackend::default();

    let url = url::Url::parse(&server.url("", "/hello.txt")).unwrap();
    let mut response = backend.send(BackendRequest::new(Operation::Get, url)).await.unwrap();
    assert_eq!(response.expected_length, Some(14));
    let mut body = Vec::new();
    while let Some(chunk) = response.body.next().await {
        body.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(body, b"hello over ftp");

    let target = url::Url::parse(&server.url("", "/stored.txt")).unwrap();
    let request = BackendRequest::new(Operation::Put, target).with_body(Body::from("stored"));
    backend.send(request).await.unwrap();
    assert_eq!(std::fs::read_to_string(server.root().join("stored.txt")).unwrap(), "stored");
}
