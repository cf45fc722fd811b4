//! The request driver: one task per reply, from the scheme check to the last event.
//!
//! # Design
//!
//! `start` creates the reply's shared state and event channel and spawns the task at once, so
//! the caller gets the reply while the request is already under way. The task races the
//! transfer against the reply's cancellation token; whichever way it ends, the task alone emits
//! the closing `Error` and `Finished` events and the manager's `Finished`, so every reply ends
//! with exactly one `Finished`. The event channel is bounded ([`EVENT_QUEUE`]): a reply nobody
//! reads holds its transfer back rather than buffering the whole body.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use netaccess_core::{
    progress_total, Backend, BackendRequest, Body, EventSink, NetworkError, NetworkErrorKind, Operation, ReplyEvent,
    Request, RequestAttributes,
};
use tokio::sync::mpsc;
use url::Url;

use crate::manager::{ManagerEvent, ManagerInner};
use crate::reply::{Reply, ReplyShared};

/// How many events may wait in a reply's queue before the transfer waits for the reader.
pub const EVENT_QUEUE: usize = 64;

pub(crate) fn start(manager: Arc<ManagerInner>, request: Request, operation: Operation, body: Body) -> Reply {
    let shared = Arc::new(ReplyShared::new(&request));
    let (sender, receiver) = mpsc::channel(EVENT_QUEUE);
    let reply = Reply::new(shared.clone(), receiver, request.clone(), operation.clone());
    let transfer = Transfer {
        manager,
        shared,
        events: sender,
        request,
        operation,
    };
    tokio::spawn(transfer.run(body));
    reply
}

struct Transfer {
    manager: Arc<ManagerInner>,
    shared: Arc<ReplyShared>,
    events: mpsc::Sender<ReplyEvent>,
    request: Request,
    operation: Operation,
}

impl Transfer {
    async fn run(self, body: Body) {
        let cancel = self.shared.cancel.clone();
        let outcome = tokio::select! {
            biased;
            () = cancel.cancelled() => Err(NetworkError::canceled(self.request.url_text())),
            outcome = self.drive(body) => outcome,
        };
        self.finish(outcome).await;
    }

    async fn finish(&self, outcome: Result<(), NetworkError>) {
        let error = {
            let mut state = self.shared.state();
            if !state.finished {
                state.finished = true;
                state.error = outcome.err();
            }
            state.error.clone()
        };
        if let Some(error) = &error {
            tracing::debug!(url = self.request.url_text(), %error, "reply failed");
            self.emit(ReplyEvent::Error(error.clone())).await;
        }
        self.emit(ReplyEvent::Finished).await;
        let _ = self.manager.events.send(ManagerEvent::Finished {
            url: self.request.url_text().to_owned(),
            operation: self.operation.clone(),
            error,
        });
    }

    async fn emit(&self, event: ReplyEvent) {
        // A dropped reply aborts the transfer by itself; its events have nobody to go to.
        let _ = self.events.send(event).await;
    }

    fn backend_for(&self) -> Result<(Url, Arc<dyn Backend>), NetworkError> {
        let url_text = self.request.url_text();
        let unknown = |scheme: &str| {
            NetworkError::new(
                NetworkErrorKind::ProtocolUnknownError,
                url_text,
                format!("Protocol \"{scheme}\" is unknown"),
            )
        };
        let url = self.request.url().ok_or_else(|| unknown(""))?;
        let backend = {
            let backends = self.manager.backends.read().unwrap_or_else(|e| e.into_inner());
            backends.get(url.scheme()).cloned()
        };
        let backend = backend.ok_or_else(|| unknown(url.scheme()))?;
        if !backend.is_local() && !self.manager.is_accessible() {
            return Err(NetworkError::new(
                NetworkErrorKind::UnknownNetworkError,
                url_text,
                "Network access is disabled.",
            ));
        }
        Ok((url.clone(), backend))
    }

    fn attributes(&self) -> RequestAttributes {
        let mut attributes = self.request.attributes().clone();
        let defaults = &self.manager.defaults;
        attributes.redirect_policy.get_or_insert(defaults.redirect_policy);
        attributes.max_redirects.get_or_insert(defaults.max_redirects);
        attributes.transfer_timeout.get_or_insert(defaults.transfer_timeout);
        attributes
    }

    async fn drive(&self, body: Body) -> Result<(), NetworkError> {
        let (url, backend) = self.backend_for()?;
        let attributes = self.attributes();
        let timeout = attributes.transfer_timeout.unwrap_or(Duration::ZERO);
        let mut hop = BackendRequest::new(self.operation.clone(), url.clone())
            .with_body(body)
            .with_events(EventSink::new(self.events.clone()));
        hop.headers = self.request.headers().clone();
        hop.attributes = attributes;
        let response = within(timeout, &url, backend.send(hop)).await??;

        let status_error = {
            let mut state = self.shared.state();
            state.url_text = url.to_string();
            state.url = Some(url.clone());
            state.headers = response.headers;
            state.attributes = response.attributes;
            state.attributes.http_status_code.and_then(|status| {
                let kind = NetworkErrorKind::from_http_status(status)?;
                let reason = state.attributes.http_reason_phrase.clone().unwrap_or_default();
                Some(NetworkError::new(
                    kind,
                    url.as_str(),
                    format!("the server replied {status} {reason}"),
                ))
            })
        };
        self.emit(ReplyEvent::MetaDataChanged).await;

        let total = progress_total(response.expected_length);
        let mut body = response.body;
        let mut received = 0u64;
        while let Some(chunk) = within(timeout, &url, body.next()).await? {
            let chunk = chunk?;
            received += chunk.len() as u64;
            self.shared.state().bytes_received = received;
            self.emit(ReplyEvent::ReadyRead(chunk)).await;
            self.emit(ReplyEvent::DownloadProgress { received, total }).await;
        }
        if i64::try_from(received).ok() != Some(total) || received == 0 {
            let received_total = i64::try_from(received).unwrap_or(i64::MAX);
            self.emit(ReplyEvent::DownloadProgress {
                received,
                total: received_total,
            })
            .await;
        }
        status_error.map_or(Ok(()), Err)
    }
}

/// Runs `future` with a limit on how long it may take; `Duration::ZERO` is no limit.
async fn within<F: std::future::Future>(limit: Duration, url: &Url, future: F) -> Result<F::Output, NetworkError> {
    if limit.is_zero() {
        return Ok(future.await);
    }
    tokio::time::timeout(limit, future).await.map_err(|_| {
        NetworkError::new(
            NetworkErrorKind::TimeoutError,
            url.as_str(),
            format!("no progress for {} ms (the transfer timeout)", limit.as_millis()),
        )
    })
}
