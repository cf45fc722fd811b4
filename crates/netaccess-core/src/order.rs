//! Issue order: the place a request takes among its host's requests when it is issued, and
//! when it may start.
//!
//! # Design
//!
//! Qt sends the requests to one host in the order they were issued (within one priority): its
//! connection's queues are filled by `get()` itself. Here each reply is carried by a task, and
//! tasks run in whatever order the scheduler picks (tokio's LIFO slot runs the last one spawned
//! first), so the order must be fixed before any task runs. Three pieces do it:
//!
//! - [`IssueOrder::issue`] is called synchronously by `get()`/`post()`/…: it gives the request a
//!   process-wide [sequence number](Place::sequence) and a [`Place`] in its host's line. The
//!   line is keyed by an FNV-1a hash of scheme, host and port (two hosts whose hashes collide
//!   share a line: harmless, they only keep each other's order), and the lines' map uses that
//!   hash as it is: per request, a few dozen instructions where SipHash twice cost 600.
//! - [`Place::start`] lets a request *start*: at most [`IssueOrder::start_limit`] requests of
//!   one line run at once, and the others wait, best first (the highest priority, then the
//!   earliest issued). A request that may be multiplexed (an HTTP/2 stream) is issued with
//!   [`IssueOrder::issue_multiplexed`], which raises its line's limit to what one connection
//!   may carry: the backend's queue then holds the requests its host cannot take yet, in the
//!   same order. A waiting request is a small record (its sequence, its priority, a
//!   waker): whatever a running request needs (its state machine, buffers, a connection's
//!   queue entry) is made only when it starts, so ten thousand requests issued at once cost
//!   a few KiB each, not a running transfer each. A started request counts until its
//!   [`Running`] guard is dropped, when its transfer ends.
//! - [`Place::wait_turn`] lets a started request go on once every request started before it
//!   in the same line has *left the line*, and a place leaves the line when it is dropped. A
//!   backend that queues requests (the HTTP pool) drops the place once the request holds its
//!   place in the queue, and orders that queue by priority, then [`Place::sequence`]; a backend
//!   that does not know about places drops it when it starts the request. A request that never
//!   reaches a backend (served from the cache, failed, aborted) drops its place too, so nobody
//!   waits for it.
//!
//! Everything between starting and queueing (cookie and cache lookups, proxy choice) therefore
//! runs one request at a time per host, in start order; it is short and never waits for the
//! network. The waiting requests are kept in a B-tree by (priority, sequence) and the started
//! ones, at most the limit, in a short deque: per request, a few locks and `O(log n)` work
//! however long the line, where a scan of one deque of every issued request made ten thousand
//! requests cost fifty million comparisons. Wakers are stored in place (no channel per wait),
//! and only a request that really waited is woken.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::poll_fn;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::attributes::Priority;

/// The next sequence number, process-wide: a request issued later has a larger one.
pub fn next_sequence() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The lines of every host of one manager.
#[derive(Debug)]
pub struct IssueOrder {
    lines: Mutex<Lines>,
    start_limit: usize,
}

impl Default for IssueOrder {
    fn default() -> Self {
        Self { lines: Mutex::default(), start_limit: usize::MAX }
    }
}

/// Lines by their key, which is already a hash: used as it is.
type Lines = HashMap<u64, Line, BuildHasherDefault<KeyIsHash>>;

/// How many empty lines are kept for reuse before they are dropped (a request to a host that
/// has a line, even an empty one, allocates nothing).
const EMPTY_LINES_KEPT: usize = 64;

/// A hasher for keys that are hashes already.
#[derive(Debug, Default)]
struct KeyIsHash(u64);

impl Hasher for KeyIsHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// Where a waiting place sorts: the highest priority (lowest number) first, then the earliest.
type Rank = (u8, u64);

#[derive(Debug, Default)]
struct Line {
    /// The places not started yet, best first, and the waker of each that waits.
    waiting: BTreeMap<Rank, Option<Waker>>,
    /// The started places still in the line, in the order they started, and the waker of each
    /// that waits for its turn.
    started: VecDeque<(u64, Option<Waker>)>,
    /// Started requests whose [`Running`] guard is alive.
    running: usize,
    /// The line's own start limit, when a request raised it above the order's (see
    /// [`IssueOrder::issue_multiplexed`]).
    raised: Option<usize>,
}

impl Line {
    fn is_idle(&self) -> bool {
        self.waiting.is_empty() && self.started.is_empty() && self.running == 0
    }

    /// The line's start limit: its own, else the order's.
    fn limit(&self, order_limit: usize) -> usize {
        self.raised.map_or(order_limit, |raised| raised.max(order_limit))
    }

    /// Wakes the best waiting place when it could start now.
    fn wake_next_to_start(&mut self, order_limit: usize) {
        if self.running < self.limit(order_limit) {
            if let Some(waker) = self.waiting.values_mut().next().and_then(Option::take) {
                waker.wake();
            }
        }
    }
}

/// The line a request for `scheme://host:port` takes: an FNV-1a hash of the three.
pub fn line_key(scheme: &str, host: &str, port: u16) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in scheme.bytes().chain([b':']).chain(host.bytes()).chain(port.to_le_bytes()) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(PRIME);
    }
    hash
}

impl IssueOrder {
    /// An order with no lines, where every request starts at once.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// An order with no lines, where at most `limit` requests of one line run at once (at
    /// least one).
    pub fn with_start_limit(limit: usize) -> Arc<Self> {
        Arc::new(Self { lines: Mutex::default(), start_limit: limit.max(1) })
    }

    /// How many requests of one line may run at once.
    pub fn start_limit(&self) -> usize {
        self.start_limit
    }

    fn lines(&self) -> MutexGuard<'_, Lines> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place at the end of the line `key` (see [`line_key`]) for a request of `priority`.
    ///
    /// ```
    /// use netaccess_core::order::{line_key, IssueOrder};
    /// use netaccess_core::Priority;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let order = IssueOrder::with_start_limit(6);
    /// let key = line_key("http", "example.com", 80);
    /// let first = order.issue(key, Priority::Normal);
    /// let second = order.issue(key, Priority::Normal);
    /// assert!(first.sequence() < second.sequence());
    /// let (first, running) = first.start().await; // fewer than 6 run: starts at once
    /// let first = first.wait_turn().await; // first in line: goes at once
    /// drop(first); // queued (or done): the second may go
    /// let (second, _running) = second.start().await;
    /// second.wait_turn().await;
    /// drop(running); // the first request's transfer ended
    /// # });
    /// ```
    pub fn issue(self: &Arc<Self>, key: u64, priority: Priority) -> Place {
        self.issue_in(key, priority, None)
    }

    /// As [`issue`](Self::issue), for a request that may share one connection with many others
    /// (HTTP/2 streams): its line lets up to `limit` requests run at once from now on, while the
    /// line lasts, so the backend's own queue (which knows what the host speaks) decides how
    /// many go at once, by priority then issue order.
    ///
    /// ```
    /// use netaccess_core::order::{line_key, IssueOrder};
    /// use netaccess_core::Priority;
    /// let order = IssueOrder::with_start_limit(6);
    /// let key = line_key("https", "example.com", 443);
    /// let _places: Vec<_> = (0..100).map(|_| order.issue_multiplexed(key, Priority::Normal, 100)).collect();
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # let mut started = Vec::new();
    /// # for place in _places { started.push(place.start().await); }
    /// assert_eq!(order.running(), 100);
    /// # });
    /// ```
    pub fn issue_multiplexed(self: &Arc<Self>, key: u64, priority: Priority, limit: usize) -> Place {
        self.issue_in(key, priority, Some(limit))
    }

    fn issue_in(self: &Arc<Self>, key: u64, priority: Priority, limit: Option<usize>) -> Place {
        let sequence = next_sequence();
        let rank = (priority as u8, sequence);
        let mut lines = self.lines();
        let line = lines.entry(key).or_default();
        if let Some(limit) = limit {
            line.raised = Some(line.raised.map_or(limit, |raised| raised.max(limit)));
        }
        line.waiting.insert(rank, None);
        drop(lines);
        Place { rank, line: Some((self.clone(), key)), started: false, keeps_running: None }
    }

    /// How many places are in all lines, waiting to start or started and not yet gone on (for
    /// tests and diagnostics).
    pub fn waiting(&self) -> usize {
        self.lines().values().map(|line| line.waiting.len() + line.started.len()).sum()
    }

    /// How many requests run in all lines (for tests and diagnostics).
    pub fn running(&self) -> usize {
        self.lines().values().map(|line| line.running).sum()
    }

    /// Past the bound, a line that empties goes at once (constant time, however many lines are
    /// busy); below it, it stays for the host's next request.
    fn forget_if_idle(lines: &mut Lines, key: u64) {
        if lines.len() > EMPTY_LINES_KEPT && lines.get(&key).is_some_and(Line::is_idle) {
            lines.remove(&key);
        }
    }

    fn leave(&self, key: u64, rank: Rank, started: bool) {
        let mut lines = self.lines();
        let Some(line) = lines.get_mut(&key) else { return };
        if started {
            let Some(at) = line.started.iter().position(|(s, _)| *s == rank.1) else { return };
            line.started.remove(at);
            if at == 0 {
                // The next started place, if it waits for its turn, may go now.
                if let Some(waker) = line.started.front_mut().and_then(|(_, waker)| waker.take()) {
                    waker.wake();
                }
            }
        } else {
            line.waiting.remove(&rank);
            // It may have been woken to start, and given up instead: the next one is.
            line.wake_next_to_start(self.start_limit);
        }
        Self::forget_if_idle(&mut lines, key);
    }

    fn stop_running(&self, key: u64) {
        let mut lines = self.lines();
        let Some(line) = lines.get_mut(&key) else { return };
        line.running = line.running.saturating_sub(1);
        line.wake_next_to_start(self.start_limit);
        Self::forget_if_idle(&mut lines, key);
    }
}

/// A request's place in its host's line; dropping it lets the next request of the line go on.
#[derive(Debug)]
pub struct Place {
    rank: Rank,
    line: Option<(Arc<IssueOrder>, u64)>,
    started: bool,
    /// For a place that waited for its turn without being started first: it runs until
    /// dropped.
    keeps_running: Option<Running>,
}

/// A started request, counted against its line's [start limit](IssueOrder::start_limit) until
/// this is dropped (when its transfer ends).
#[derive(Debug)]
#[must_use = "the request counts as running only while this is kept"]
pub struct Running {
    line: Option<(Arc<IssueOrder>, u64)>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some((order, key)) = self.line.take() {
            order.stop_running(key);
        }
    }
}

impl Place {
    /// A place in no line: only a sequence number, for a request that must keep the order of
    /// its issue without waiting for anyone (a retry of a request already under way), or a
    /// backend used without a manager. It starts at once.
    pub fn detached(sequence: u64) -> Self {
        Self { rank: (Priority::Normal as u8, sequence), line: None, started: true, keeps_running: None }
    }

    /// When the request was issued, as a process-wide number: queues serve smaller first
    /// within one priority.
    pub fn sequence(&self) -> u64 {
        self.rank.1
    }

    /// Whether the request has started (see [`start`](Self::start)).
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// Waits until fewer than the line's limit of requests run and no better request waits to
    /// start; gives the place back, started, and the guard that counts it as running.
    pub async fn start(mut self) -> (Self, Running) {
        if self.started {
            return (self, Running { line: None });
        }
        poll_fn(|cx| self.poll_start(cx)).await;
        self.started = true;
        let line = self.line.clone();
        (self, Running { line })
    }

    fn poll_start(&self, cx: &mut Context<'_>) -> Poll<()> {
        let Some((order, key)) = &self.line else { return Poll::Ready(()) };
        let mut lines = order.lines();
        let Some(line) = lines.get_mut(key) else { return Poll::Ready(()) };
        let first = line.waiting.keys().next() == Some(&self.rank);
        if first && line.running < line.limit(order.start_limit) {
            line.waiting.remove(&self.rank);
            line.started.push_back((self.rank.1, None));
            line.running += 1;
            // Several may have stopped at once: the next one starts too if it can.
            line.wake_next_to_start(order.start_limit);
            return Poll::Ready(());
        }
        match line.waiting.get_mut(&self.rank) {
            Some(waker) => {
                waker.replace(cx.waker().clone());
                Poll::Pending
            }
            None => Poll::Ready(()),
        }
    }

    /// Waits until every request started earlier in the same line has left it; gives the place
    /// back, still in the line, so the caller chooses when it leaves (by dropping it). A place
    /// not started yet starts first, and then counts as running until it is dropped.
    pub async fn wait_turn(self) -> Self {
        let place = if self.started {
            self
        } else {
            let (mut place, running) = self.start().await;
            place.keeps_running = Some(running);
            place
        };
        poll_fn(|cx| place.poll_turn(cx)).await;
        place
    }

    fn poll_turn(&self, cx: &mut Context<'_>) -> Poll<()> {
        let Some((order, key)) = &self.line else { return Poll::Ready(()) };
        let mut lines = order.lines();
        let Some(line) = lines.get_mut(key) else { return Poll::Ready(()) };
        match line.started.iter().position(|(s, _)| *s == self.rank.1) {
            Some(0) | None => Poll::Ready(()),
            Some(at) => {
                line.started[at].1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Some((order, key)) = self.line.take() {
            order.leave(key, self.rank, self.started);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn places_go_in_issue_order_whatever_order_their_tasks_run() {
        let order = IssueOrder::new();
        let key = line_key("http", "h", 80);
        let places: Vec<Place> = (0..50).map(|_| order.issue(key, Priority::Normal)).collect();
        let went = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // Spawned last first: the scheduler meets them backwards.
        for (index, place) in places.into_iter().enumerate().rev() {
            let went = went.clone();
            tasks.push(tokio::spawn(async move {
                let place = place.wait_turn().await;
                went.lock().unwrap().push(index);
                tokio::task::yield_now().await;
                drop(place);
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*went.lock().unwrap(), (0..50).collect::<Vec<_>>());
        assert_eq!(order.waiting(), 0, "every line is empty");
    }

    #[tokio::test]
    async fn a_place_dropped_while_waiting_or_ahead_blocks_nobody() {
        let order = IssueOrder::new();
        let key = line_key("http", "h", 80);
        let (first, second, third) = (
            order.issue(key, Priority::Normal),
            order.issue(key, Priority::Normal),
            order.issue(key, Priority::Normal),
        );
        let third = tokio::spawn(third.wait_turn());
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!third.is_finished(), "two places are ahead");
        drop(second); // given up while waiting behind the first
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!third.is_finished(), "the first is still ahead");
        drop(first);
        let third = tokio::time::timeout(Duration::from_secs(5), third).await.expect("woken").unwrap();
        drop(third);
        assert_eq!(order.waiting(), 0);
    }

    #[tokio::test]
    async fn lines_of_other_hosts_do_not_wait_for_each_other() {
        let order = IssueOrder::new();
        let held = order.issue(line_key("http", "a", 80), Priority::Normal);
        let other = order.issue(line_key("http", "b", 80), Priority::Normal);
        tokio::time::timeout(Duration::from_secs(5), other.wait_turn()).await.expect("not held up");
        drop(held);
    }

    #[test]
    fn empty_lines_are_kept_up_to_a_bound() {
        let order = IssueOrder::new();
        for host in 0..(EMPTY_LINES_KEPT * 3) {
            drop(order.issue(line_key("http", &format!("h{host}"), 80), Priority::Normal));
        }
        assert!(order.lines().len() <= EMPTY_LINES_KEPT + 1, "{} lines kept", order.lines().len());
        let keys: std::collections::HashSet<u64> =
            ["a", "b", "c"].iter().flat_map(|h| [80, 443].map(|p| line_key("http", h, p))).collect();
        assert_eq!(keys.len(), 6, "hosts and ports make distinct keys");
    }

    /// Starts `place` in a task that records `name` once it starts and holds its guard until
    /// told to stop.
    fn start_in_task(
        place: Place,
        name: &'static str,
        started: &Arc<Mutex<Vec<&'static str>>>,
    ) -> (tokio::task::JoinHandle<()>, tokio::sync::oneshot::Sender<()>) {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let started = started.clone();
        let task = tokio::spawn(async move {
            let (place, running) = place.start().await;
            started.lock().unwrap().push(name);
            drop(place);
            let _ = stopped.await;
            drop(running);
        });
        (task, stop)
    }

    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn at_most_the_limit_run_and_the_best_waiting_starts_next() {
        let order = IssueOrder::with_start_limit(2);
        let key = line_key("http", "h", 80);
        let started = Arc::new(Mutex::new(Vec::new()));
        let places =
            [("a", Priority::Normal), ("b", Priority::Normal), ("low", Priority::Low), ("c", Priority::Normal)]
                .map(|(name, priority)| (name, order.issue(key, priority)));
        let mut stops = Vec::new();
        let mut tasks = Vec::new();
        // Spawned backwards: the start order must not depend on when each task runs.
        for (name, place) in places.into_iter().rev() {
            let (task, stop) = start_in_task(place, name, &started);
            tasks.push(task);
            stops.push((name, stop));
        }
        settle().await;
        assert_eq!(*started.lock().unwrap(), ["a", "b"], "two run, the rest wait");
        assert_eq!(order.running(), 2);
        // Issued last, while two run: it passes the waiting ones, and preempts nobody.
        let (task, stop) = start_in_task(order.issue(key, Priority::High), "high", &started);
        tasks.push(task);
        stops.push(("high", stop));
        settle().await;
        assert_eq!(started.lock().unwrap().len(), 2);
        for done in ["a", "b", "high", "c", "low"] {
            let at = stops.iter().position(|(name, _)| *name == done).unwrap();
            let _ = stops.remove(at).1.send(());
            settle().await;
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*started.lock().unwrap(), ["a", "b", "high", "c", "low"], "then by priority, then issue order");
        assert_eq!((order.running(), order.waiting()), (0, 0));
    }

    #[tokio::test]
    async fn several_stopping_at_once_let_as_many_start() {
        let order = IssueOrder::with_start_limit(3);
        let key = line_key("http", "h", 80);
        let started = Arc::new(Mutex::new(Vec::new()));
        let names = ["a", "b", "c", "d", "e", "f"];
        let mut stops = Vec::new();
        for name in names {
            let (_, stop) = start_in_task(order.issue(key, Priority::Normal), name, &started);
            stops.push(stop);
        }
        settle().await;
        assert_eq!(started.lock().unwrap().len(), 3);
        // Three stop before any woken task runs: all three waiting ones must start.
        for stop in stops.drain(..3) {
            let _ = stop.send(());
        }
        settle().await;
        assert_eq!(*started.lock().unwrap(), names);
        assert_eq!(order.running(), 3);
        for stop in stops {
            let _ = stop.send(());
        }
        settle().await;
        assert_eq!(order.running(), 0);
    }

    #[tokio::test]
    async fn a_waiting_place_given_up_passes_its_wake_up_on() {
        let order = IssueOrder::with_start_limit(1);
        let key = line_key("http", "h", 80);
        let (first, running) = order.issue(key, Priority::Normal).start().await;
        drop(first);
        let second = order.issue(key, Priority::Normal);
        let third = tokio::spawn(order.issue(key, Priority::Normal).start());
        settle().await;
        drop(running); // wakes the second, which is given up before it runs
        drop(second);
        let (third, _running) = tokio::time::timeout(Duration::from_secs(5), third).await.expect("woken").unwrap();
        assert!(third.is_started());
    }

    #[test]
    fn a_thousand_waiting_places_cost_no_scan() {
        let order = IssueOrder::with_start_limit(6);
        let key = line_key("http", "h", 80);
        let places: Vec<Place> = (0..1000).map(|_| order.issue(key, Priority::Normal)).collect();
        assert_eq!(order.waiting(), 1000);
        assert_eq!(order.lines().get(&key).unwrap().started.len(), 0, "none started: the deque stays short");
        drop(places);
        assert_eq!(order.waiting(), 0);
    }

    #[test]
    fn sequences_grow_and_a_detached_place_keeps_its_own() {
        let (a, b) = (next_sequence(), next_sequence());
        assert!(a < b);
        assert_eq!(Place::detached(a).sequence(), a);
    }
}
