//! Teach the manager a scheme of your own: a backend answers `fortune:` URLs.
//!
//! ```text
//! cargo run -p netaccess --example custom_scheme
//! ```
//!
//! A backend receives each hop of a request and answers with a head and a body stream; the
//! manager does the rest (events, progress, errors, abort) exactly as for http.

use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt};
use netaccess::{
    Backend, BackendRequest, BackendResponse, NetworkAccessManager, NetworkError, NetworkErrorKind, Request,
};

/// Answers `fortune:NUMBER` with a saying, streamed in two chunks.
struct Fortunes;

const SAYINGS: [&str; 3] = ["Measure, then cut.", "Small modules read in one sitting.", "Bound every size."];

impl Backend for Fortunes {
    fn send(&self, request: BackendRequest) -> BoxFuture<'static, Result<BackendResponse, NetworkError>> {
        async move {
            let number: usize = request.url.path().parse().map_err(|_| {
                NetworkError::new(NetworkErrorKind::ProtocolInvalidOperationError, request.url.as_str(), "not a number")
            })?;
            let saying = SAYINGS.get(number).ok_or_else(|| {
                NetworkError::new(NetworkErrorKind::ContentNotFoundError, request.url.as_str(), "no such fortune")
            })?;
            let (first, second) = saying.split_at(saying.len() / 2);
            let chunks = vec![Ok(Bytes::from_static(first.as_bytes())), Ok(Bytes::from_static(second.as_bytes()))];
            let mut response = BackendResponse::new(Box::pin(futures::stream::iter(chunks)), Some(saying.len() as u64));
            response.headers.insert("content-type", "text/plain; charset=utf-8".parse().expect("valid header"));
            Ok(response)
        }
        .boxed()
    }

    fn is_local(&self) -> bool {
        true // no network: it runs even when the manager's network access is off
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manager = NetworkAccessManager::new();
    manager.register_backend("fortune", Fortunes);

    for url in ["fortune:1", "fortune:7"] {
        let mut reply = manager.get(Request::new(url));
        match reply.text().await {
            Ok(text) => println!("{url}: {text}"),
            Err(error) => println!("{url}: {:?}: {error}", error.kind()),
        }
    }
    Ok(())
}
