//! A subscriber can follow one request: the transfer's events are inside a `reply` span that
//! names the URL, and opening a connection is inside a `connection` span within it. An own
//! binary: the capturing subscriber is this thread's, and the test runs on one thread.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netaccess::{NetworkAccessManager, Request};
use netaccess_tests::HttpServer;
use tracing::field::{Field, Visit};
use tracing::span;

/// An event's fields, and the spans it was in (outermost first).
type Seen = (String, Vec<String>);

/// Keeps each span's name and fields, and for each event its message and the spans it was in.
#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<Vec<String>>>,
    stack: Arc<Mutex<Vec<u64>>>,
    events: Arc<Mutex<Vec<Seen>>>,
}

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attributes: &span::Attributes<'_>) -> span::Id {
        let mut text = format!("{} ", attributes.metadata().name());
        attributes.record(&mut Fields(&mut text));
        let mut spans = self.spans.lock().unwrap();
        spans.push(text);
        span::Id::from_u64(spans.len() as u64)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = String::new();
        event.record(&mut Fields(&mut text));
        let spans = self.spans.lock().unwrap();
        let inside = self.stack.lock().unwrap().iter().map(|id| spans[*id as usize - 1].clone()).collect();
        self.events.lock().unwrap().push((text, inside));
    }
    fn enter(&self, id: &span::Id) {
        self.stack.lock().unwrap().push(id.into_u64());
    }
    fn exit(&self, _: &span::Id) {
        self.stack.lock().unwrap().pop();
    }
}

#[test]
fn a_requests_connection_events_are_inside_its_reply_and_connection_spans() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let server = HttpServer::start().await;
        let manager = NetworkAccessManager::new();
        let url = server.url("/hello");
        let body = tokio::time::timeout(Duration::from_secs(10), manager.get(Request::new(url.as_str())).bytes())
            .await
            .expect("no hang")
            .expect("the request succeeds");
        assert_eq!(body, "Hello, world!");
        let events = capture.events.lock().unwrap().clone();
        let (_, inside) = events
            .iter()
            .find(|(text, _)| text.contains("message=connected"))
            .unwrap_or_else(|| panic!("no connect event in {events:?}"));
        assert_eq!(inside.len(), 2, "{inside:?}");
        assert!(inside[0].starts_with("reply ") && inside[0].contains(&url), "{inside:?}");
        assert!(inside[1].starts_with("connection ") && inside[1].contains("host=\"127.0.0.1\""), "{inside:?}");
    });
}
