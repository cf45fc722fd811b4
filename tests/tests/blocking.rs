//! `netaccess::blocking` from plain threads, and the async API used outside a runtime.

use std::io::Read;

use netaccess::{NetworkErrorKind, Request};
use netaccess_tests::{pattern, HttpServer};

/// The servers run on a runtime of their own; the test's thread has none.
fn server_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap()
}

#[test]
fn a_blocking_manager_reads_replies_as_std_io_read() {
    let runtime = server_runtime();
    let server = runtime.block_on(HttpServer::start());
    let manager = netaccess::blocking::NetworkAccessManager::new().unwrap();

    let mut reply = manager.get(Request::new(server.url("/hello")));
    let head = reply.head().unwrap();
    assert_eq!(head.status, http::StatusCode::OK);
    let mut text = String::new();
    reply.read_to_string(&mut text).unwrap();
    assert_eq!(text, "Hello, world!");

    let mut large = manager.get(Request::new(server.url("/bytes/1000000")));
    let mut body = Vec::new();
    std::io::copy(&mut large, &mut body).unwrap();
    assert_eq!(body, pattern(1_000_000), "a large body through Read, chunk by chunk");

    let echoed = manager.post(Request::new(server.url("/echo")), "posted").bytes().unwrap();
    assert_eq!(echoed, "posted");
    let value: serde_json::Value =
        manager.post(Request::new(server.url("/echo")), "{\"n\":1}").json().expect("JSON back");
    assert_eq!(value["n"], 1);

    // A failure is an error of Read, carrying the reply's error: never a silent end.
    let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = refused.local_addr().unwrap().port();
    drop(refused);
    let mut failing = manager.get(Request::new(format!("http://127.0.0.1:{port}/")));
    let error = failing.read_to_end(&mut Vec::new()).unwrap_err();
    let inner = error.get_ref().and_then(|e| e.downcast_ref::<netaccess::NetworkError>()).expect("the reply's error");
    assert_eq!(inner.kind(), NetworkErrorKind::ConnectionRefusedError);
}

#[test]
fn the_async_api_outside_a_runtime_fails_the_reply_instead_of_panicking() {
    let manager = netaccess::NetworkAccessManager::new();
    let mut reply = manager.get(Request::new("data:,hello"));
    let error = futures::executor::block_on(reply.finished()).unwrap_err();
    assert!(error.message().contains("Tokio runtime"), "{error}");
    assert!(error.message().contains("netaccess::blocking"), "says what to do instead: {error}");
    assert!(reply.is_finished());
}
