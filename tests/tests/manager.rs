//! The manager and reply contract: routing, accessibility, abort, drop, timeouts, events.

use std::time::Duration;

use netaccess::{ManagerEvent, NetworkAccessManager, NetworkErrorKind, ReplyEvent, Request};
use netaccess_tests::{StallingBackend, StatusBackend};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn manager_is_clone_send_sync() {
    fn check<T: Clone + Send + Sync + 'static>() {}
    check::<NetworkAccessManager>();
}

#[tokio::test]
async fn unknown_empty_and_bare_urls_are_protocol_unknown() {
    let manager = NetworkAccessManager::new();
    for (url, scheme) in [("gopher://host/", "gopher"), ("", ""), ("/etc/hosts", ""), ("relative/path", "")] {
        let error = manager.get(Request::new(url)).finished().await.unwrap_err();
        assert_eq!(error.kind(), NetworkErrorKind::ProtocolUnknownError, "{url:?}");
        // Qt's words first; for a text without a scheme, the cause after them.
        assert!(error.message().starts_with(&format!("Protocol \"{scheme}\" is unknown")), "{url:?}: {error}");
    }
}

#[tokio::test]
async fn supported_schemes_and_replacing_a_backend() {
    let manager = NetworkAccessManager::new();
    assert_eq!(manager.supported_schemes(), ["data", "file", "ftp", "ftps", "http", "https"]);
    manager.register_backend("DATA", StatusBackend { status: 200, reason: "OK", body: "canned" });
    assert_eq!(manager.get(Request::new("data:,real")).text().await.unwrap(), "canned");
    let clone = manager.clone();
    clone.register_backend("x-test", StatusBackend { status: 200, reason: "OK", body: "shared" });
    assert_eq!(
        manager.supported_schemes(),
        ["data", "file", "ftp", "ftps", "http", "https", "x-test"],
        "clones share the router"
    );
}

#[tokio::test]
async fn offline_manager_serves_only_local_schemes_and_signals_once_per_change() {
    let manager = NetworkAccessManager::new();
    manager.register_backend("remote", StatusBackend { status: 200, reason: "OK", body: "net" });
    let mut events = manager.events();

    manager.set_network_accessible(false);
    manager.set_network_accessible(false);
    let mut reply = manager.get(Request::new("remote://host/x"));
    let error = reply.finished().await.unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::UnknownNetworkError);
    assert_eq!(error.message(), "Network access is disabled.");
    assert_eq!(manager.get(Request::new("data:,local")).text().await.unwrap(), "local");

    manager.set_network_accessible(true);
    assert_eq!(manager.get(Request::new("remote://host/x")).text().await.unwrap(), "net");

    let mut changes = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let ManagerEvent::NetworkAccessibleChanged(on) = event {
            changes.push(on);
        }
    }
    assert_eq!(changes, [false, true]);
}

#[tokio::test]
async fn abort_cancels_and_finishes_once() {
    let backend = StallingBackend::new(b"first bytes");
    let manager = NetworkAccessManager::new();
    manager.register_backend("stall", backend.clone());
    let mut reply = manager.get(Request::new("stall://host/"));
    assert_eq!(timeout(LIMIT, reply.chunk()).await.unwrap().unwrap(), "first bytes");
    reply.abort();
    assert!(reply.is_finished());
    assert_eq!(reply.error().unwrap().kind(), NetworkErrorKind::OperationCanceledError);
    assert_eq!(reply.error().unwrap().message(), "Operation canceled");

    let mut rest = Vec::new();
    while let Some(event) = timeout(LIMIT, reply.next_event()).await.unwrap() {
        rest.push(event);
    }
    // Events queued before the abort may still come; the reply ends with the cancellation.
    let tail = &rest[rest.len().saturating_sub(2)..];
    assert!(
        matches!(tail, [ReplyEvent::Error(e), ReplyEvent::Finished] if e.kind() == NetworkErrorKind::OperationCanceledError),
        "{rest:?}"
    );
    assert_eq!(rest.iter().filter(|e| matches!(e, ReplyEvent::Finished)).count(), 1);
    assert_eq!(backend.drops.dropped(), 1, "the transfer was released");
}

#[tokio::test]
async fn abort_after_finish_changes_nothing() {
    let manager = NetworkAccessManager::new();
    let mut reply = manager.get(Request::new("data:,done"));
    assert_eq!(reply.text().await.unwrap(), "done");
    reply.abort();
    assert!(reply.error().is_none());
    assert!(reply.next_event().await.is_none());
}

#[tokio::test]
async fn dropping_a_reply_aborts_the_transfer() {
    let backend = StallingBackend::new(b"x");
    let manager = NetworkAccessManager::new();
    manager.register_backend("stall", backend.clone());
    let mut events = manager.events();
    let mut reply = manager.get(Request::new("stall://host/"));
    timeout(LIMIT, reply.chunk()).await.unwrap();
    drop(reply);
    let finished = timeout(LIMIT, events.recv()).await.unwrap().unwrap();
    match finished {
        ManagerEvent::Finished { error: Some(error), url, .. } => {
            assert_eq!(error.kind(), NetworkErrorKind::OperationCanceledError);
            assert_eq!(url, "stall://host/");
        }
        other => panic!("expected a canceled Finished, got {other:?}"),
    }
    assert_eq!(backend.drops.dropped(), 1);
}

#[tokio::test]
async fn transfer_timeout_fails_a_stalled_transfer() {
    let manager = NetworkAccessManager::builder().transfer_timeout(Duration::from_millis(200)).build();
    manager.register_backend("stall", StallingBackend::new(b"partial"));
    let mut reply = manager.get(Request::new("stall://host/"));
    let body = timeout(LIMIT, reply.read_all()).await.unwrap();
    assert_eq!(body, "partial", "what arrived stays readable");
    assert_eq!(reply.error().unwrap().kind(), NetworkErrorKind::TimeoutError);

    let manager = NetworkAccessManager::new();
    manager.register_backend("stall", StallingBackend::new(b"partial"));
    let mut request = Request::new("stall://host/");
    request.attributes_mut().transfer_timeout = Some(Duration::from_millis(100));
    let error = timeout(LIMIT, manager.get(request).finished()).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), NetworkErrorKind::TimeoutError, "the request's timeout wins over none");
}

#[tokio::test]
async fn http_error_status_keeps_the_body_readable() {
    let manager = NetworkAccessManager::new();
    manager.register_backend("fake", StatusBackend { status: 404, reason: "Not Found", body: "no such page" });
    let mut reply = manager.get(Request::new("fake://host/page"));
    assert_eq!(reply.read_all().await, "no such page");
    assert_eq!(reply.status(), Some(404));
    assert_eq!(reply.reason().as_deref(), Some("Not Found"));
    let error = reply.error().unwrap();
    assert_eq!(error.kind(), NetworkErrorKind::ContentNotFoundError);
    assert_eq!(error.kind().code(), 203);
}

#[tokio::test]
async fn manager_finished_event_follows_each_reply() {
    let manager = NetworkAccessManager::new();
    let mut events = manager.events();
    let urls: Vec<String> = (0..20).map(|i| format!("data:,reply-{i}")).collect();
    let mut replies: Vec<_> = urls.iter().map(|url| manager.get(Request::new(url))).collect();
    for (reply, index) in replies.iter_mut().zip(0..) {
        assert_eq!(reply.text().await.unwrap(), format!("reply-{index}"));
    }
    let mut finished = Vec::new();
    for _ in 0..20 {
        if let ManagerEvent::Finished { url, error: None, .. } = timeout(LIMIT, events.recv()).await.unwrap().unwrap() {
            finished.push(url);
        }
    }
    finished.sort();
    let mut expected = urls.clone();
    expected.sort();
    assert_eq!(finished, expected);
}
