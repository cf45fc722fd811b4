//! Issue order: the place a request takes among its host's requests when it is issued.
//!
//! # Design
//!
//! Qt sends the requests to one host in the order they were issued (within one priority): its
//! connection's queues are filled by `get()` itself. Here each reply is carried by a task, and
//! tasks run in whatever order the scheduler picks (tokio's LIFO slot runs the last one spawned
//! first), so the order must be fixed before any task runs. Two pieces do it:
//!
//! - [`IssueOrder::issue`] is called synchronously by `get()`/`post()`/…: it gives the request a
//!   process-wide [sequence number](Place::sequence) and a [`Place`] in its host's line. The
//!   line is keyed by an FNV-1a hash of scheme, host and port (two hosts whose hashes collide
//!   share a line: harmless, they only keep each other's order), and the lines' map uses that
//!   hash as it is: per request, a few dozen instructions where SipHash twice cost 600.
//! - [`Place::wait_turn`] lets the request go on once every request issued before it to the
//!   same host has *left the line*, and a place leaves the line when it is dropped. A backend
//!   that queues requests (the HTTP pool) drops the place once the request holds its place in
//!   the queue, and orders that queue by priority, then [`Place::sequence`]; a backend that does
//!   not know about places drops it when it starts the request. A request that never reaches a
//!   backend (served from the cache, failed, aborted) drops its place too, so nobody waits for
//!   it.
//!
//! Everything between issuing and queueing (cookie and cache lookups, proxy choice) therefore
//! runs one request at a time per host, in issue order; it is short and never waits for the
//! network. A request waits only when an earlier one to its host has not queued yet: one mutex
//! lock and a hash per request, and a wake-up only for a request that really waited.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

/// The next sequence number, process-wide: a request issued later has a larger one.
pub fn next_sequence() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The lines of every host of one manager.
#[derive(Debug, Default)]
pub struct IssueOrder {
    lines: Mutex<Lines>,
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

#[derive(Debug, Default)]
struct Line {
    /// The places in the line, in issue order: their sequence and, for one that waits, how to
    /// wake it.
    places: VecDeque<(u64, Option<oneshot::Sender<()>>)>,
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
    /// An order with no lines.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lines(&self) -> MutexGuard<'_, Lines> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place at the end of the line `key` (see [`line_key`]).
    ///
    /// ```
    /// use netaccess_core::order::{line_key, IssueOrder};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let order = IssueOrder::new();
    /// let key = line_key("http", "example.com", 80);
    /// let first = order.issue(key);
    /// let second = order.issue(key);
    /// assert!(first.sequence() < second.sequence());
    /// let first = first.wait_turn().await; // first in line: goes at once
    /// drop(first); // queued (or done): the second may go
    /// second.wait_turn().await;
    /// # });
    /// ```
    pub fn issue(self: &Arc<Self>, key: u64) -> Place {
        let sequence = next_sequence();
        self.lines().entry(key).or_default().places.push_back((sequence, None));
        Place { sequence, line: Some((self.clone(), key)) }
    }

    /// How many places wait in all lines (for tests and diagnostics).
    pub fn waiting(&self) -> usize {
        self.lines().values().map(|line| line.places.len()).sum()
    }

    fn leave(&self, key: u64, sequence: u64) {
        let mut lines = self.lines();
        let Some(line) = lines.get_mut(&key) else { return };
        let Some(at) = line.places.iter().position(|(s, _)| *s == sequence) else { return };
        line.places.remove(at);
        if at == 0 {
            // The next place, if it waits, may go now.
            if let Some((_, wake)) = line.places.front_mut() {
                if let Some(wake) = wake.take() {
                    let _ = wake.send(());
                }
            }
        }
        // Past the bound, a line that empties goes at once (constant time, however many lines
        // are busy); below it, it stays for the host's next request.
        if line.places.is_empty() && lines.len() > EMPTY_LINES_KEPT {
            lines.remove(&key);
        }
    }
}

/// A request's place in its host's line; dropping it lets the next request of the line go on.
#[derive(Debug)]
pub struct Place {
    sequence: u64,
    line: Option<(Arc<IssueOrder>, u64)>,
}

impl Place {
    /// A place in no line: only a sequence number, for a request that must keep the order of
    /// its issue without waiting for anyone (a retry of a request already under way), or a
    /// backend used without a manager.
    pub fn detached(sequence: u64) -> Self {
        Self { sequence, line: None }
    }

    /// When the request was issued, as a process-wide number: queues serve smaller first
    /// within one priority.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// Waits until every request issued earlier to the same host has left the line; gives the
    /// place back, still in the line, so the caller chooses when it leaves (by dropping it).
    pub async fn wait_turn(self) -> Self {
        if let Some(woken) = self.waiting() {
            // A sender dropped unsent means its line went away: nobody is ahead any more.
            let _ = woken.await;
        }
        self
    }

    /// How this place is told its turn came, or `None` when it is first in its line now.
    fn waiting(&self) -> Option<oneshot::Receiver<()>> {
        let (order, key) = self.line.as_ref()?;
        let mut lines = order.lines();
        let line = lines.get_mut(key)?;
        match line.places.iter().position(|(s, _)| *s == self.sequence) {
            Some(0) | None => None,
            Some(at) => {
                let (wake, woken) = oneshot::channel();
                line.places[at].1 = Some(wake);
                Some(woken)
            }
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Some((order, key)) = self.line.take() {
            order.leave(key, self.sequence);
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
        let places: Vec<Place> = (0..50).map(|_| order.issue(key)).collect();
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
        let (first, second, third) = (order.issue(key), order.issue(key), order.issue(key));
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
        let held = order.issue(line_key("http", "a", 80));
        let other = order.issue(line_key("http", "b", 80));
        tokio::time::timeout(Duration::from_secs(5), other.wait_turn()).await.expect("not held up");
        drop(held);
    }

    #[test]
    fn empty_lines_are_kept_up_to_a_bound() {
        let order = IssueOrder::new();
        for host in 0..(EMPTY_LINES_KEPT * 3) {
            drop(order.issue(line_key("http", &format!("h{host}"), 80)));
        }
        assert!(order.lines().len() <= EMPTY_LINES_KEPT + 1, "{} lines kept", order.lines().len());
        let keys: std::collections::HashSet<u64> =
            ["a", "b", "c"].iter().flat_map(|h| [80, 443].map(|p| line_key("http", h, p))).collect();
        assert_eq!(keys.len(), 6, "hosts and ports make distinct keys");
    }

    #[test]
    fn sequences_grow_and_a_detached_place_keeps_its_own() {
        let (a, b) = (next_sequence(), next_sequence());
        assert!(a < b);
        assert_eq!(Place::detached(a).sequence(), a);
    }
}
