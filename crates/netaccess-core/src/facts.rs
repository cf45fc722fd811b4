//! What a reply can tell about its connection and where its time went.
//!
//! # Design
//!
//! A backend notes *moments* ([`Milestones`]: monotonic instants, as it sees them happen) and
//! the facts of the connection it used ([`ConnectionFacts`]); the manager turns the moments into
//! [`Timings`], durations from the moment the request started (left its host's waiting line),
//! when it stores the reply's attributes. Durations are cumulative, as curl's `-w` times are:
//! `connect` is "from the start until the TCP connection was up", so the phases of a fresh
//! https connection keep the order `dns ≤ connect ≤ tls ≤ sent ≤ first_byte ≤ total`. A phase
//! that did not happen is `None`: a reused connection has no `dns`, `connect` or `tls`; a
//! request to an address literal or an overridden name has no `dns`; http has no `tls`. For a
//! redirected reply the facts and phases are the last hop's, measured from the reply's start.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The moments of one hop, as its backend saw them (each `None` when the phase did not happen).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Milestones {
    /// The host name was resolved.
    pub resolved: Option<Instant>,
    /// The TCP connection (to the server or the first proxy) was up, and any tunnel through
    /// the proxy was open.
    pub connected: Option<Instant>,
    /// The TLS handshake ended.
    pub secured: Option<Instant>,
    /// The whole request (head and body) was written.
    pub sent: Option<Instant>,
    /// The first byte of the response arrived.
    pub first_byte: Option<Instant>,
}

/// Where a reply's time went: durations from the request's start to the end of each phase
/// (curl's `time_namelookup`, `time_connect`, `time_appconnect`, `time_pretransfer`,
/// `time_starttransfer`, `time_total`). See the [module docs](self) for what `None` means.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    /// Name resolution ended.
    pub dns: Option<Duration>,
    /// The connection was up.
    pub connect: Option<Duration>,
    /// The TLS handshake ended.
    pub tls: Option<Duration>,
    /// The request was sent.
    pub sent: Option<Duration>,
    /// The first response byte arrived.
    pub first_byte: Option<Duration>,
    /// The reply finished (set when its body is in, or it failed).
    pub total: Option<Duration>,
}

impl Timings {
    /// The phases of `milestones` measured from `start` (a moment before `start` counts as 0).
    pub fn since(start: Instant, milestones: &Milestones) -> Self {
        let since = |moment: Option<Instant>| moment.map(|m| m.saturating_duration_since(start));
        Self {
            dns: since(milestones.resolved),
            connect: since(milestones.connected),
            tls: since(milestones.secured),
            sent: since(milestones.sent),
            first_byte: since(milestones.first_byte),
            total: None,
        }
    }
}

/// What the negotiated TLS session was.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFacts {
    /// The protocol version, as rustls names it (`TLSv1_3`).
    pub version: String,
    /// The cipher suite, as IANA names it (`TLS13_AES_256_GCM_SHA384`).
    pub cipher: String,
    /// The protocol agreed by ALPN (`http/1.1`), if any.
    pub alpn: Option<String>,
}

impl TlsFacts {
    /// Facts of a session.
    pub fn new(version: impl Into<String>, cipher: impl Into<String>, alpn: Option<String>) -> Self {
        Self { version: version.into(), cipher: cipher.into(), alpn }
    }
}

/// The connection a reply used (for ftp, its control connection).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionFacts {
    /// The peer's address: the server's, or the first proxy's when one was used.
    pub remote_address: SocketAddr,
    /// Our end of the connection.
    pub local_address: SocketAddr,
    /// Whether the connection had carried a request before this one.
    pub reused: bool,
    /// The TLS session with the server, if the connection is encrypted.
    pub tls: Option<TlsFacts>,
    /// A number for the connection, unique in this process (the HAR format's `connection`).
    pub id: u64,
    /// The addresses tried to open it, in the order the attempts started (curl's `Trying`
    /// lines); empty for a reused connection.
    pub attempts: Vec<SocketAddr>,
}

impl ConnectionFacts {
    /// Facts of a fresh connection, with a new id.
    pub fn new(remote_address: SocketAddr, local_address: SocketAddr) -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Self {
            remote_address,
            local_address,
            reused: false,
            tls: None,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            attempts: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_measured_from_the_start_and_absent_ones_stay_absent() {
        let start = Instant::now();
        let milestones = Milestones {
            connected: Some(start + Duration::from_millis(3)),
            first_byte: Some(start + Duration::from_millis(9)),
            ..Milestones::default()
        };
        let timings = Timings::since(start, &milestones);
        assert_eq!(timings.dns, None);
        assert_eq!(timings.connect, Some(Duration::from_millis(3)));
        assert_eq!(timings.tls, None);
        assert_eq!(timings.first_byte, Some(Duration::from_millis(9)));
        // A moment before the start (a connection opened for an earlier hop) counts as zero.
        let late = Timings::since(start + Duration::from_millis(5), &milestones);
        assert_eq!(late.connect, Some(Duration::ZERO));
    }

    #[test]
    fn every_connection_gets_its_own_id() {
        let address: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let first = ConnectionFacts::new(address, address);
        let second = ConnectionFacts::new(address, address);
        assert_ne!(first.id, second.id);
        assert!(!first.reused);
    }
}
