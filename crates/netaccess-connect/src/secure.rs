//! TLS on a fresh connection (https, and any scheme that starts in TLS) and the decision on
//! its certificate problems.
//!
//! # Design
//!
//! The problems a handshake found are reported to the reply (`SslErrors`), then accepted when
//! the request named them all in advance, else put to the connector's [`SslErrorHandler`], else
//! refused with `SslHandshakeFailedError` listing them. A connection accepted by the request's
//! own list is pooled by the HTTP backend under a key that carries that list
//! ([`exceptions_key`]), so only requests accepting the same problems reuse it; one accepted
//! by the handler is not [`Ready::poolable`](crate::Ready::poolable), so the next request is
//! asked again, on a new connection.

use std::sync::Arc;
use std::time::Duration;

use netaccess_core::{
    within_limit, EventSink, IgnoredSslErrors, NetworkError, NetworkErrorKind, ReplyEvent, SslError, SslErrorDecision,
    SslErrorHandler,
};
use netaccess_tls::TlsConnector;
use url::Url;

use crate::transport::{Negotiated, Ready, Stream, TlsInfo};

/// The part of a pool key that says which certificate problems the connections a request may
/// use were allowed to have: requests that accept different problems never share one.
pub fn exceptions_key(ignore: &IgnoredSslErrors) -> String {
    match ignore {
        IgnoredSslErrors::None => String::new(),
        IgnoredSslErrors::All => "*".to_owned(),
        IgnoredSslErrors::Listed(kinds) => {
            let mut names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
            names.sort_unstable();
            names.dedup();
            names.join(",")
        }
        _ => "?".to_owned(),
    }
}

/// What the decision needs to know about the request.
pub(crate) struct Decider<'a> {
    pub(crate) url: &'a Url,
    pub(crate) ignore: &'a IgnoredSslErrors,
    pub(crate) handler: Option<&'a Arc<dyn SslErrorHandler>>,
    pub(crate) events: Option<&'a EventSink>,
}

/// Wraps a connection in TLS, offering `protocols` by ALPN, and decides on its certificate.
/// The handshake must end within `timeout` (the transport's TLS handshake timeout; zero: no
/// limit): a peer that accepts and then says nothing must not hold the request for ever. The
/// decision (the handler may ask a person) is not timed.
pub(crate) async fn secure(
    connector: &TlsConnector,
    tcp: Ready,
    host: &str,
    decider: Decider<'_>,
    timeout: Duration,
    protocols: &[&[u8]],
) -> Result<Ready, NetworkError> {
    let url = decider.url.as_str();
    let handshake = within_limit(
        timeout,
        async {
            connector.connect_offering(tcp.stream.into_transport(), host, protocols).await.map_err(|err| {
                NetworkError::new(NetworkErrorKind::SslHandshakeFailedError, url, err.to_string()).with_source(err)
            })
        },
        || {
            NetworkError::new(
                NetworkErrorKind::TimeoutError,
                url,
                format!(
                    "the TLS handshake with {host} took longer than {} ms (the TLS handshake timeout)",
                    timeout.as_millis()
                ),
            )
        },
    )
    .await?;
    let secured = std::time::Instant::now();
    let errors = handshake.errors.clone();
    let chain = handshake.chain.clone();
    let session = handshake.facts();
    let protocol = match handshake.alpn_protocol() {
        Some(b"h2") => Negotiated::Http2,
        Some(b"http/1.1") => Negotiated::Http1,
        _ => Negotiated::Nothing,
    };
    let mut poolable = true;
    if !errors.is_empty() {
        if let Some(events) = decider.events {
            events.send(ReplyEvent::SslErrors(errors.clone())).await;
        }
        if !decider.ignore.covers(&errors) {
            let decision = match decider.handler {
                Some(handler) => handler.decide(decider.url, &errors, &chain).await,
                None => SslErrorDecision::Refuse,
            };
            if !accepts(&decision, &errors) {
                return Err(refused(url, host, &errors));
            }
            poolable = false;
        }
    }
    let mut facts = tcp.facts;
    facts.tls = Some(session);
    let mut milestones = tcp.milestones;
    milestones.secured = Some(secured);
    Ok(Ready {
        stream: Stream::Tls(Box::new(handshake.accept())),
        facts,
        milestones,
        tls: Some(TlsInfo { chain, errors }),
        protocol,
        poolable,
    })
}

fn accepts(decision: &SslErrorDecision, errors: &[SslError]) -> bool {
    match decision {
        SslErrorDecision::IgnoreAll => true,
        SslErrorDecision::Ignore(kinds) => errors.iter().all(|e| kinds.contains(&e.kind)),
        _ => false,
    }
}

fn refused(url: &str, host: &str, errors: &[SslError]) -> NetworkError {
    let list: Vec<String> =
        errors.iter().map(|e| format!("{} ({}: {})", e.kind, e.kind.explanation(), e.message)).collect();
    NetworkError::new(
        NetworkErrorKind::SslHandshakeFailedError,
        url,
        format!("the certificate of {host} was refused: {}", list.join("; ")),
    )
}
