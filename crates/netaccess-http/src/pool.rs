//! The connection pool: at most N connections per key, a priority queue beyond that, idle
//! connections kept for reuse.
//!
//! # Design
//!
//! A request first acquires a [`Slot`] for its key (scheme, host, port, the proxy and the
//! accepted certificate problems). A key has at most `max_per_host` slots; a request beyond
//! that waits in a queue ordered by priority, then by when it was *issued* (its
//! [`Place`]'s sequence, taken by `get()`, not by when its task reached the pool). The place
//! is dropped once the request is in the queue (or holds a slot), which lets the next request
//! issued to the host come: so requests of one priority are served in issue order. With a slot, it takes an idle
//! connection that passes the liveness check, or opens a new one. Because the idle check and
//! the decision to connect happen under the same lock, connections in use plus idle ones never
//! exceed the limit. A finished exchange puts a reusable connection back as idle, then drops its
//! slot, which goes to the best waiter (a slot is a value with a `Drop`: one lost in a channel
//! whose receiver was dropped is returned, never leaked). Idle connections expire after
//! `idle_timeout`.
//!
//! The pool is protocol-neutral: a key's connections either carry one request each (HTTP/1.1:
//! up to `max_per_host` of them, idle ones kept) or one connection carries every request of the
//! key up to its capacity (HTTP/2: the server's stream limit), known to the pool only through
//! the [`Shared`] trait (its id and capacity). One queue per key orders the waiting requests
//! by priority, then issue sequence, whatever the protocol; a key that may share a connection
//! lets one request open while the others wait to learn what the server speaks. The pool
//! imports no protocol module: `exchange` (HTTP/1.1) and `http2` import it, and neither imports
//! the other (what both send is `outgoing`'s).
//!
//! The pool reads no clock: [`Pool::take_idle`] and [`Pool::give_back`] take the time, so idle
//! expiry is tested with made-up instants. Every connection it closes is logged (`tracing`,
//! debug) with the reason: the exchange's [`CloseReason`]s, or the pool's own
//! ([`PoolCloseReason`]).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use futures::FutureExt;
use netaccess_core::order::Place;
use netaccess_core::Priority;
use tokio::io::AsyncReadExt;
use tokio::sync::{oneshot, watch};

use netaccess_http1::CloseReason;

use crate::connection::Connection;

/// What connections are pooled by. Built for every request: the common case (direct, no
/// certificate exceptions) allocates only the host. Its hash is computed once, when it is built,
/// so the pool's lookups (four per request) hash eight bytes instead of every field.
#[derive(Debug, Clone)]
pub(crate) struct PoolKey {
    /// `https` (else `http`).
    secure: bool,
    host: String,
    port: u16,
    /// The certificate problems the request accepts in advance: a connection opened under an
    /// exception serves only requests that accept the same.
    tls_exceptions: String,
    /// The proxy the connection goes through, as its label; empty when direct.
    proxy: String,
    /// Whether and how its connections may speak HTTP/2.
    pub(crate) http2: Http2Mode,
    /// The fields' hash, with a per-process random key (as `HashMap`'s own).
    hash: u64,
}

impl PoolKey {
    pub(crate) fn new(
        secure: bool,
        host: &str,
        port: u16,
        tls_exceptions: String,
        proxy: String,
        http2: Http2Mode,
    ) -> Self {
        static KEYS: OnceLock<RandomState> = OnceLock::new();
        let hash = KEYS.get_or_init(RandomState::new).hash_one((secure, host, port, &tls_exceptions, &proxy, http2));
        Self { secure, host: host.to_owned(), port, tls_exceptions, proxy, http2, hash }
    }
}

impl PartialEq for PoolKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && (self.secure, &self.host, self.port, &self.tls_exceptions, &self.proxy, self.http2)
                == (other.secure, &other.host, other.port, &other.tls_exceptions, &other.proxy, other.http2)
    }
}

impl Eq for PoolKey {}

impl std::hash::Hash for PoolKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

struct Waiter {
    priority: Priority,
    seq: u64,
    grant: oneshot::Sender<Slot>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Waiter {}
impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiter {
    /// The heap's greatest is served first: the highest priority (lowest number), then the
    /// earliest arrival.
    fn cmp(&self, other: &Self) -> Ordering {
        other.priority.cmp(&self.priority).then(other.seq.cmp(&self.seq))
    }
}

/// Whether a key's connections may speak HTTP/2, and how they come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Http2Mode {
    /// HTTP/1.1 only.
    Off,
    /// Offered by ALPN over TLS; the server chooses.
    Negotiate,
    /// Spoken from the first byte (prior knowledge: h2c, or h2 over TLS whatever ALPN says).
    Direct,
}

/// A connection that carries several requests at once (an HTTP/2 connection; an HTTP/3 one
/// would be another): all the pool needs to know of it. The pool knows no protocol module;
/// they know the pool.
pub(crate) trait Shared: std::any::Any + Send + Sync {
    /// Its id, unique in the process (the key forgets only the connection it holds).
    fn id(&self) -> u64;
    /// How many requests it may carry at once now (the server's stream limit).
    fn capacity(&self) -> usize;
}

/// What a key's server speaks, as far as its connections have shown.
#[derive(Default)]
enum Protocol {
    /// No connection has told yet: while one opens, the others wait for it.
    #[default]
    Unknown,
    /// One request per connection (HTTP/1.1): up to `max_per_host` connections.
    Exclusive,
    /// Every request shares this connection, up to its capacity.
    Shared(Arc<dyn Shared>),
}

struct Host {
    idle: Vec<Connection>,
    /// Slots held: requests on HTTP/1.1 connections, or streams on the HTTP/2 one.
    busy: usize,
    /// Which slots `busy` counts: those granted since the key's shared connection was last
    /// forgotten (its streams then stop counting, so new requests need not wait for a long
    /// download on a connection that is going away). Unique in the process.
    generation: u64,
    waiters: BinaryHeap<Waiter>,
    /// Only for keys whose connections may carry several requests (may speak HTTP/2).
    protocol: Protocol,
    /// A slot holder is opening a connection that may turn out to speak HTTP/2.
    opening: bool,
    /// Told when that opening ends, however it ends.
    opened: Option<watch::Sender<()>>,
}

impl Default for Host {
    fn default() -> Self {
        Self {
            idle: Vec::new(),
            busy: 0,
            generation: next_generation(),
            waiters: BinaryHeap::new(),
            protocol: Protocol::Unknown,
            opening: false,
            opened: None,
        }
    }
}

fn next_generation() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Host {
    /// A slot of this host's current generation.
    fn slot(&self, pool: &Arc<Pool>, key: &PoolKey) -> Slot {
        Slot { pool: Some(pool.clone()), key: key.clone(), generation: self.generation }
    }

    /// Stops using the key's shared connection: its requests finish on it, uncounted, so the
    /// next request opens a new connection now, not when the last of them ends.
    fn retire_shared(&mut self) {
        self.protocol = Protocol::Unknown;
        self.generation = next_generation();
        self.busy = 0;
    }

    /// How many slots the key may have now.
    fn limit(&self, key: &PoolKey, max_per_host: usize) -> usize {
        if key.http2 == Http2Mode::Off {
            return max_per_host;
        }
        match &self.protocol {
            Protocol::Unknown => 1,
            Protocol::Exclusive => max_per_host,
            Protocol::Shared(connection) => connection.capacity(),
        }
    }
}

/// What a slot holder of a key that may speak HTTP/2 does when it finds no connection.
pub(crate) enum Opening {
    /// Open one; the guard, when the protocol is not known yet, tells the others when the
    /// opening ends.
    Open(Option<OpeningGuard>),
    /// Another holder is opening one: wait for it, then look again.
    Wait(watch::Receiver<()>),
}

/// Held while a connection of an HTTP/2-capable key opens; dropping it wakes the waiters.
pub(crate) struct OpeningGuard {
    pool: Arc<Pool>,
    key: PoolKey,
}

impl Drop for OpeningGuard {
    fn drop(&mut self) {
        let mut hosts = self.pool.hosts();
        if let Some(host) = hosts.get_mut(&self.key) {
            host.opening = false;
            if let Some(opened) = &host.opened {
                opened.send_replace(());
            }
        }
    }
}

/// The pool; shared by every request of one backend.
pub(crate) struct Pool {
    hosts: Mutex<HashMap<PoolKey, Host>>,
    max_per_host: usize,
    idle_timeout: Duration,
}

/// The right to use one connection of a key; given back on drop.
pub(crate) struct Slot {
    pool: Option<Arc<Pool>>,
    key: PoolKey,
    /// The host's generation when it was granted (see `Host::generation`).
    generation: u64,
}

impl Slot {
    pub(crate) fn key(&self) -> &PoolKey {
        &self.key
    }

    fn disarm(mut self) {
        self.pool = None;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            Pool::release(&pool, &self.key, self.generation);
        }
    }
}

impl Pool {
    pub(crate) fn new(max_per_host: usize, idle_timeout: Duration) -> Arc<Self> {
        Arc::new(Self { hosts: Mutex::new(HashMap::new()), max_per_host: max_per_host.max(1), idle_timeout })
    }

    fn hosts(&self) -> MutexGuard<'_, HashMap<PoolKey, Host>> {
        self.hosts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a slot for `key`, served by `priority`, then `sequence` (smaller first). The
    /// `place` is released once the request is queued or holds its slot.
    pub(crate) async fn acquire(
        self: &Arc<Self>,
        key: PoolKey,
        priority: Priority,
        sequence: u64,
        place: Option<Place>,
    ) -> Slot {
        let waiting = self.enqueue(key, priority, sequence);
        drop(place);
        match waiting {
            Ok(slot) => slot,
            // The pool outlives its waiters (they hold an Arc), so the sender is never dropped unsent.
            Err(granted) => granted.await.expect("the pool grants or returns every slot"),
        }
    }

    /// A slot at once, or the promise of one in the queue.
    fn enqueue(
        self: &Arc<Self>,
        key: PoolKey,
        priority: Priority,
        sequence: u64,
    ) -> Result<Slot, oneshot::Receiver<Slot>> {
        let waiting = {
            let mut hosts = self.hosts();
            // Looked up before inserting, so a key already pooled is not copied.
            if !hosts.contains_key(&key) {
                hosts.insert(key.clone(), Host::default());
            }
            let host = hosts.get_mut(&key).expect("inserted above");
            if host.busy < host.limit(&key, self.max_per_host) {
                host.busy += 1;
                return Ok(host.slot(self, &key));
            }
            let (grant, granted) = oneshot::channel();
            host.waiters.push(Waiter { priority, seq: sequence, grant });
            granted
        };
        Err(waiting)
    }

    fn release(pool: &Arc<Self>, key: &PoolKey, generation: u64) {
        let mut hosts = pool.hosts();
        let Some(host) = hosts.get_mut(key) else { return };
        if generation == host.generation {
            host.busy -= 1;
        }
        Self::grant_waiters(pool, host, key);
        if host.busy == 0 && host.idle.is_empty() && !host.opening && !matches!(host.protocol, Protocol::Shared(_)) {
            hosts.remove(key);
        }
    }

    /// Hands free slots to the best waiters while the key's limit allows.
    fn grant_waiters(pool: &Arc<Self>, host: &mut Host, key: &PoolKey) {
        while host.busy < host.limit(key, pool.max_per_host) {
            let Some(waiter) = host.waiters.pop() else { return };
            match waiter.grant.send(host.slot(pool, key)) {
                Ok(()) => host.busy += 1,
                Err(unwanted) => unwanted.disarm(),
            }
        }
    }

    /// The shared connection of the slot's key, if it has one of type `S`.
    pub(crate) fn shared<S: Shared>(&self, slot: &Slot) -> Option<Arc<S>> {
        if slot.key.http2 == Http2Mode::Off {
            return None;
        }
        match &self.hosts().get(&slot.key)?.protocol {
            Protocol::Shared(connection) => {
                let any: Arc<dyn std::any::Any + Send + Sync> = connection.clone();
                any.downcast().ok()
            }
            _ => None,
        }
    }

    /// Opens or waits: only one connection of a key that may speak HTTP/2 opens at a time,
    /// since it may be the only one the key needs.
    pub(crate) fn open_or_wait(self: &Arc<Self>, slot: &Slot) -> Opening {
        let mut hosts = self.hosts();
        let host = hosts.entry(slot.key.clone()).or_default();
        if matches!(host.protocol, Protocol::Exclusive) {
            return Opening::Open(None);
        }
        if host.opening {
            let opened = host.opened.get_or_insert_with(|| watch::channel(()).0);
            return Opening::Wait(opened.subscribe());
        }
        host.opening = true;
        Opening::Open(Some(OpeningGuard { pool: self.clone(), key: slot.key.clone() }))
    }

    /// Records that a new connection of the slot's key carries one request at a time
    /// (HTTP/1.1), and lets up to `max_per_host` waiters in.
    pub(crate) fn learned_exclusive(self: &Arc<Self>, slot: &Slot) {
        self.learned(&slot.key, Protocol::Exclusive);
    }

    /// Records the key's connection every request shares (HTTP/2), and lets as many waiters in
    /// as its capacity allows.
    pub(crate) fn learned_shared(self: &Arc<Self>, key: &PoolKey, connection: Arc<dyn Shared>) {
        self.learned(key, Protocol::Shared(connection));
    }

    fn learned(self: &Arc<Self>, key: &PoolKey, protocol: Protocol) {
        if key.http2 == Http2Mode::Off {
            return;
        }
        let mut hosts = self.hosts();
        let host = hosts.entry(key.clone()).or_default();
        host.protocol = protocol;
        Self::grant_waiters(self, host, key);
    }

    /// Forgets the key's shared connection `id` (it is going away or closed): the next request
    /// opens a new one.
    pub(crate) fn forget_shared(self: &Arc<Self>, key: &PoolKey, id: u64) {
        let mut hosts = self.hosts();
        let Some(host) = hosts.get_mut(key) else { return };
        if matches!(&host.protocol, Protocol::Shared(connection) if connection.id() == id) {
            tracing::debug!(key = ?key, "forgetting a shared connection");
            host.retire_shared();
            Self::grant_waiters(self, host, key);
        }
    }

    /// An idle connection for the slot's key that is still usable at `now`, if any. Expired
    /// ones and ones that fail the liveness check are closed, each with its reason logged.
    pub(crate) fn take_idle(&self, slot: &Slot, now: Instant) -> Option<Connection> {
        loop {
            let mut connection = {
                let mut hosts = self.hosts();
                let host = hosts.get_mut(slot.key())?;
                let timeout = self.idle_timeout;
                host.idle.retain(|c| {
                    let fresh = now.saturating_duration_since(c.idle_since) < timeout;
                    if !fresh {
                        log_close(slot.key(), PoolCloseReason::IdleExpired);
                    }
                    fresh
                });
                host.idle.pop()?
            };
            match liveness(&mut connection) {
                None => return Some(connection),
                Some(reason) => log_close(slot.key(), reason),
            }
        }
    }

    /// Gives a connection back when its exchange ended: kept idle from `now` for the next
    /// request when nothing forbids it, else closed; `reasons` are the exchange's (see
    /// [`CloseReason`]), and the pool adds its own. Every close is logged (`tracing`, debug,
    /// with the reason). The slot is freed after, so its next holder finds the connection.
    pub(crate) fn give_back(&self, slot: Slot, mut connection: Connection, reasons: &[CloseReason], now: Instant) {
        if let Some(reason) = reasons.first() {
            tracing::debug!(key = ?slot.key(), reason = %reason, all = ?reasons, "closing a connection");
        } else if !connection.poolable {
            log_close(slot.key(), PoolCloseReason::NotPoolable);
        } else {
            connection.reused = true;
            connection.opened = netaccess_core::Milestones::default();
            if let Some(facts) = &mut connection.facts {
                facts.reused = true;
                facts.attempts = Vec::new();
            }
            connection.idle_since = now;
            let mut hosts = self.hosts();
            match hosts.get_mut(slot.key()) {
                Some(host) if host.idle.len() < self.max_per_host => host.idle.push(connection),
                _ => log_close(slot.key(), PoolCloseReason::PoolFull),
            }
        }
        drop(slot);
    }

    /// Closes every idle connection (`clear_connection_cache`) and retires the shared ones.
    pub(crate) fn clear_idle(self: &Arc<Self>) {
        for (key, host) in self.hosts().iter_mut() {
            for _ in host.idle.drain(..) {
                log_close(key, PoolCloseReason::Cleared);
            }
            // A shared connection closes once its requests end and nothing holds it.
            if matches!(host.protocol, Protocol::Shared(_)) {
                log_close(key, PoolCloseReason::Cleared);
                host.retire_shared();
                Self::grant_waiters(self, host, key);
            }
        }
    }

    /// How many idle connections the pool holds.
    pub(crate) fn idle_count(&self) -> usize {
        self.hosts().values().map(|h| h.idle.len()).sum()
    }
}

/// Why the pool itself closes a connection (the exchange's reasons are [`CloseReason`]s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PoolCloseReason {
    /// It sat idle longer than the idle timeout.
    IdleExpired,
    /// The host already has as many idle connections as it may have.
    PoolFull,
    /// The peer closed it while it was idle (the liveness check read the end).
    PeerClosedWhileIdle,
    /// The peer sent bytes while it was idle: no request asked for them (the check failed).
    UnsolicitedWhileIdle,
    /// Its certificate problems were accepted by a handler for one request only.
    NotPoolable,
    /// `clear_connection_cache`.
    Cleared,
}

impl std::fmt::Display for PoolCloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PoolCloseReason::IdleExpired => "idle longer than the idle timeout",
            PoolCloseReason::PoolFull => "the host's idle connections are at their limit",
            PoolCloseReason::PeerClosedWhileIdle => "the peer closed it while it was idle",
            PoolCloseReason::UnsolicitedWhileIdle => "the peer sent unsolicited bytes while it was idle",
            PoolCloseReason::NotPoolable => "its certificate problems were accepted for one request only",
            PoolCloseReason::Cleared => "the connection cache was cleared",
        })
    }
}

fn log_close(key: &PoolKey, reason: PoolCloseReason) {
    tracing::debug!(key = ?key, reason = %reason, "closing a pooled connection");
}

/// The liveness check: an idle connection must have nothing to read. A closed one reads EOF;
/// one with bytes waiting was sent something no request asked for. `None`: alive.
fn liveness(connection: &mut Connection) -> Option<PoolCloseReason> {
    if !connection.buffer.is_empty() {
        return Some(PoolCloseReason::UnsolicitedWhileIdle);
    }
    let mut probe = [0u8; 1];
    match connection.io.read(&mut probe).now_or_never() {
        None => None,
        Some(Ok(0) | Err(_)) => Some(PoolCloseReason::PeerClosedWhileIdle),
        Some(Ok(_)) => Some(PoolCloseReason::UnsolicitedWhileIdle),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netaccess_core::order::next_sequence;

    fn key() -> PoolKey {
        PoolKey::new(false, "h", 1, String::new(), String::new(), Http2Mode::Off)
    }

    #[tokio::test]
    async fn slots_are_limited_and_granted_by_priority_then_arrival() {
        let pool = Pool::new(1, Duration::from_secs(60));
        let first = pool.acquire(key(), Priority::Normal, next_sequence(), None).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, priority) in [("low", Priority::Low), ("normal", Priority::Normal), ("high", Priority::High)] {
            let (pool, order) = (pool.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let slot = pool.acquire(key(), priority, next_sequence(), None).await;
                order.lock().unwrap().push(name);
                drop(slot);
            }));
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        // Waiters issued earlier come before later ones of their priority, whenever they queued.
        let (late, early) = (next_sequence(), 0);
        for (name, sequence) in [("normal-late", late), ("normal-early", early)] {
            let (pool, order) = (pool.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let slot = pool.acquire(key(), Priority::Normal, sequence, None).await;
                order.lock().unwrap().push(name);
                drop(slot);
            }));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(order.lock().unwrap().is_empty(), "all wait while the only slot is held");
        drop(first);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["high", "normal-early", "normal", "normal-late", "low"]);
    }

    #[tokio::test]
    async fn a_key_that_may_speak_http2_opens_one_connection_until_it_knows() {
        let pool = Pool::new(6, Duration::from_secs(60));
        let h2_key = || PoolKey::new(true, "h", 443, String::new(), String::new(), Http2Mode::Negotiate);
        let first = pool.acquire(h2_key(), Priority::Normal, next_sequence(), None).await;
        let Opening::Open(Some(guard)) = pool.open_or_wait(&first) else { panic!("the first opens") };
        let waiting: Vec<_> = (0..3)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move { pool.acquire(h2_key(), Priority::Normal, next_sequence(), None).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(waiting.iter().all(|w| !w.is_finished()), "the others wait while the protocol is unknown");
        pool.learned_exclusive(&first);
        drop(guard);
        let slots: Vec<Slot> = futures::future::join_all(waiting).await.into_iter().map(Result::unwrap).collect();
        assert_eq!(slots.len(), 3, "HTTP/1.1: up to six at once");
        assert!(matches!(pool.open_or_wait(&slots[0]), Opening::Open(None)), "HTTP/1.1 connections open freely");
    }

    #[tokio::test]
    async fn a_canceled_waiter_does_not_leak_its_slot() {
        let pool = Pool::new(1, Duration::from_secs(60));
        let held = pool.acquire(key(), Priority::Normal, next_sequence(), None).await;
        let canceled = tokio::time::timeout(
            Duration::from_millis(10),
            pool.acquire(key(), Priority::Normal, next_sequence(), None),
        )
        .await;
        assert!(canceled.is_err());
        drop(held);
        let again =
            tokio::time::timeout(Duration::from_secs(5), pool.acquire(key(), Priority::Normal, next_sequence(), None))
                .await;
        assert!(again.is_ok(), "the slot came back");
    }

    /// A connection over an in-memory pipe, and the peer's end.
    fn connection() -> (Connection, tokio::io::DuplexStream) {
        let (ours, theirs) = tokio::io::duplex(64);
        (Connection::new(Box::new(ours)), theirs)
    }

    #[tokio::test]
    async fn idle_connections_expire_by_the_time_given_not_the_clock() {
        let pool = Pool::new(2, Duration::from_secs(30));
        let slot = pool.acquire(key(), Priority::Normal, next_sequence(), None).await;
        let (conn, _peer) = connection();
        let t0 = Instant::now();
        pool.give_back(slot, conn, &[], t0);
        assert_eq!(pool.idle_count(), 1);
        let slot = pool.acquire(key(), Priority::Normal, next_sequence(), None).await;
        let taken = pool.take_idle(&slot, t0 + Duration::from_secs(29)).expect("29 s idle: still fresh");
        assert!(taken.reused);
        pool.give_back(slot, taken, &[], t0 + Duration::from_secs(29));
        let slot = pool.acquire(key(), Priority::Normal, next_sequence(), None).await;
        assert!(pool.take_idle(&slot, t0 + Duration::from_secs(59)).is_none(), "30 s idle: expired, closed");
        assert_eq!(pool.idle_count(), 0);
    }

    #[tokio::test]
    async fn a_connection_with_a_close_reason_is_not_kept() {
        let pool = Pool::new(2, Duration::from_secs(30));
        let slot = pool.acquire(key(), Priority::Normal, next_sequence(), None).await;
        let (conn, _peer) = connection();
        pool.give_back(slot, conn, &[CloseReason::ServerClose], Instant::now());
        assert_eq!(pool.idle_count(), 0);
        let slot = pool.acquire(key(), Priority::Normal, next_sequence(), None).await;
        let (mut conn, _peer) = connection();
        conn.poolable = false;
        pool.give_back(slot, conn, &[], Instant::now());
        assert_eq!(pool.idle_count(), 0, "a connection whose certificate was accepted once is not kept");
    }

    #[tokio::test]
    async fn the_pool_keeps_at_most_its_limit_idle() {
        let pool = Pool::new(1, Duration::from_secs(30));
        let slot = pool.acquire(key(), Priority::Normal, next_sequence(), None).await;
        let (first, _a) = connection();
        let (second, _b) = connection();
        let now = Instant::now();
        // The limit counts slots, so a second slot of the key is not to be had: give the same
        // slot's key two connections in turn.
        pool.give_back(slot, first, &[], now);
        let slot = pool.acquire(key(), Priority::Normal, next_sequence(), None).await;
        pool.give_back(slot, second, &[], now);
        assert_eq!(pool.idle_count(), 1, "the second is closed: pool full");
    }

    #[tokio::test]
    async fn an_idle_connection_the_peer_closed_or_wrote_to_is_not_handed_out() {
        let pool = Pool::new(2, Duration::from_secs(30));
        let now = Instant::now();
        let slot = pool.acquire(key(), Priority::Normal, next_sequence(), None).await;
        let (closed, peer) = connection();
        pool.give_back(slot, closed, &[], now);
        drop(peer);
        let slot = pool.acquire(key(), Priority::Normal, next_sequence(), None).await;
        assert!(pool.take_idle(&slot, now).is_none(), "the peer closed it");
        drop(slot);

        let slot = pool.acquire(key(), Priority::Normal, next_sequence(), None).await;
        let (chatty, mut peer) = connection();
        pool.give_back(slot, chatty, &[], now);
        tokio::io::AsyncWriteExt::write_all(&mut peer, b"HTTP/1.1 200 OK\r\n").await.unwrap();
        let slot = pool.acquire(key(), Priority::Normal, next_sequence(), None).await;
        assert!(pool.take_idle(&slot, now).is_none(), "it sent bytes nobody asked for");
        assert_eq!(liveness(&mut connection().0), None, "a quiet open connection is alive");
    }
}
