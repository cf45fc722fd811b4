//! When a failed request is tried again, and after how long: [`RetryPolicy`].
//!
//! # Design
//!
//! The policy is a pure decision (no clock, no sleeping, no I/O): given what went wrong, the
//! attempt number and how long the request has run, it answers "again, after this delay" or
//! "no". The manager's driver asks it before a response head is delivered, so a retried
//! request never shows the caller a body it then takes back; what it may retry:
//!
//! - **Transient failures only**, as curl's `--retry` and the usual client libraries choose:
//!   a timeout, a refused or reset connection, a temporary network failure, and the statuses
//!   408, 429, 500, 502, 503 and 504. A 4xx other than 408 and 429 says the request itself is
//!   wrong: sending it again would get the same answer. [`RetryPolicy::all_errors`] widens this
//!   to every failure and every error status, as curl's `--retry-all-errors`.
//! - **Idempotent methods only** (RFC 9110 §9.2.2: GET, HEAD, PUT, DELETE, OPTIONS, TRACE):
//!   a POST whose connection was reset may have been processed, and sending it again could
//!   order twice. [`RetryPolicy::non_idempotent`] allows the rest, for callers who know.
//! - **Exponential back-off with jitter**: the first retry after [`RetryPolicy::initial_delay`]
//!   (1 s, curl's), each later one twice as long up to [`RetryPolicy::max_delay`], each delay
//!   drawn between half and all of that, so clients that failed together do not come back
//!   together. A fixed delay replaces it when set (`--retry-delay`).
//! - **`Retry-After` honoured** (seconds or an HTTP date) on 429 and 503, up to
//!   [`RetryPolicy::retry_after_cap`]; a server asking for longer is not retried, since waiting
//!   an hour inside one request is not what a caller expects.
//! - **Bounded**: at most [`RetryPolicy::max_retries`] retries, none once
//!   [`RetryPolicy::max_elapsed`] would pass; the manager adds a budget shared by all its
//!   requests so that retries cannot multiply the load on a failing server (see
//!   `NetworkAccessManagerBuilder::retry_policy`).

use std::time::{Duration, SystemTime};

use crate::{NetworkErrorKind, Operation};

/// Which failed requests are sent again, and when (see the [module docs](self)).
///
/// ```
/// use std::time::Duration;
/// use netaccess_core::{Operation, RetryPolicy, RetryTrigger};
///
/// let policy = RetryPolicy::new(3);
/// let after_503 = policy.decide(0, &Operation::Get, RetryTrigger::Status { status: 503, retry_after: Some("2") }, Duration::ZERO);
/// assert_eq!(after_503, Some(Duration::from_secs(2)), "Retry-After is honoured");
/// let post = policy.decide(0, &Operation::Post, RetryTrigger::Status { status: 503, retry_after: None }, Duration::ZERO);
/// assert_eq!(post, None, "a POST is not idempotent");
/// let not_found = policy.decide(0, &Operation::Get, RetryTrigger::Status { status: 404, retry_after: None }, Duration::ZERO);
/// assert_eq!(not_found, None, "a 404 is not transient");
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The most retries after the first attempt; 0 never retries.
    pub max_retries: u32,
    /// The delay before the first retry, doubled for each later one.
    pub initial_delay: Duration,
    /// The longest back-off delay.
    pub max_delay: Duration,
    /// A delay used for every retry instead of the back-off (curl's `--retry-delay`).
    pub fixed_delay: Option<Duration>,
    /// No retry starts once the request has run this long, its delay included (curl's
    /// `--retry-max-time`); `None` is no limit beyond the request's deadline.
    pub max_elapsed: Option<Duration>,
    /// The longest `Retry-After` honoured; a server asking for more is not retried.
    pub retry_after_cap: Duration,
    /// Retry every failure and every HTTP error status, not the transient ones only.
    pub all_errors: bool,
    /// Retry methods that are not idempotent (POST, custom verbs) too.
    pub non_idempotent: bool,
}

/// The default [`RetryPolicy::initial_delay`]: curl's.
pub const DEFAULT_RETRY_INITIAL_DELAY: Duration = Duration::from_secs(1);
/// The default [`RetryPolicy::max_delay`].
pub const DEFAULT_RETRY_MAX_DELAY: Duration = Duration::from_secs(60);
/// The default [`RetryPolicy::retry_after_cap`].
pub const DEFAULT_RETRY_AFTER_CAP: Duration = Duration::from_secs(120);

impl Default for RetryPolicy {
    /// No retries: a request fails as it failed unless the caller asks for retries.
    fn default() -> Self {
        Self::new(0)
    }
}

/// What went wrong with an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryTrigger<'a> {
    /// The attempt failed before a response head arrived.
    Failure(NetworkErrorKind),
    /// The server answered with this status (and maybe a `Retry-After` value).
    Status {
        /// The HTTP status.
        status: u16,
        /// The `Retry-After` header's value.
        retry_after: Option<&'a str>,
    },
}

impl RetryPolicy {
    /// Up to `max_retries` retries of transient failures of idempotent requests, with the
    /// default back-off: 1 s, doubling, at most 60 s; `Retry-After` up to 120 s.
    pub fn new(max_retries: u32) -> Self {
        Self {
            max_retries,
            initial_delay: DEFAULT_RETRY_INITIAL_DELAY,
            max_delay: DEFAULT_RETRY_MAX_DELAY,
            fixed_delay: None,
            max_elapsed: None,
            retry_after_cap: DEFAULT_RETRY_AFTER_CAP,
            all_errors: false,
            non_idempotent: false,
        }
    }

    /// Whether this status is worth another attempt on its own (408, 429, 500, 502, 503, 504).
    pub fn is_transient_status(status: u16) -> bool {
        matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
    }

    /// Whether this failure is worth another attempt on its own: a timeout, a refused or
    /// closed connection (to the server or the proxy), a temporary network failure.
    pub fn is_transient_failure(kind: NetworkErrorKind) -> bool {
        use NetworkErrorKind as K;
        matches!(
            kind,
            K::TimeoutError
                | K::ConnectionRefusedError
                | K::RemoteHostClosedError
                | K::TemporaryNetworkFailureError
                | K::ProxyConnectionRefusedError
                | K::ProxyConnectionClosedError
                | K::ProxyTimeoutError
        )
    }

    /// After the attempt numbered `retries_so_far` (0 for the first) went wrong as `trigger`,
    /// and the request has run `elapsed`: the delay before trying again, or `None`.
    pub fn decide(
        &self,
        retries_so_far: u32,
        operation: &Operation,
        trigger: RetryTrigger<'_>,
        elapsed: Duration,
    ) -> Option<Duration> {
        if retries_so_far >= self.max_retries || !(self.non_idempotent || self.all_errors || is_idempotent(operation)) {
            return None;
        }
        let retry_after = match trigger {
            RetryTrigger::Failure(NetworkErrorKind::OperationCanceledError) => return None,
            RetryTrigger::Failure(kind) if !(self.all_errors || Self::is_transient_failure(kind)) => return None,
            RetryTrigger::Failure(_) => None,
            RetryTrigger::Status { status, .. } if status < 400 => return None,
            RetryTrigger::Status { status, .. } if !(self.all_errors || Self::is_transient_status(status)) => {
                return None
            }
            RetryTrigger::Status { retry_after, .. } => retry_after.and_then(parse_retry_after),
        };
        let delay = match retry_after {
            Some(asked) if asked > self.retry_after_cap => return None,
            Some(asked) => asked,
            None => self.fixed_delay.unwrap_or_else(|| self.back_off(retries_so_far)),
        };
        match self.max_elapsed {
            Some(limit) if elapsed + delay >= limit => None,
            _ => Some(delay),
        }
    }

    /// The back-off before retry number `retries_so_far + 1`: the doubled delay, capped, with
    /// "equal jitter" (between half and all of it).
    fn back_off(&self, retries_so_far: u32) -> Duration {
        let doubled = self.initial_delay.saturating_mul(2u32.saturating_pow(retries_so_far.min(31)));
        let ceiling = doubled.min(self.max_delay);
        let half = ceiling / 2;
        half + half.mul_f64(jitter())
    }
}

/// RFC 9110 §9.2.2's idempotent methods.
fn is_idempotent(operation: &Operation) -> bool {
    match operation {
        Operation::Head | Operation::Get | Operation::Put | Operation::Delete => true,
        Operation::Post => false,
        Operation::Custom(verb) => matches!(verb.to_ascii_uppercase().as_str(), "OPTIONS" | "TRACE"),
    }
}

/// `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3); a date in the past is no
/// wait.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// A number in [0, 1), different each call: a hasher with the process's random keys over a
/// counter (no random-number crate needed for jitter).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(kind: NetworkErrorKind) -> RetryTrigger<'static> {
        RetryTrigger::Failure(kind)
    }

    #[test]
    fn transient_failures_of_idempotent_requests_are_retried_up_to_the_limit() {
        let policy = RetryPolicy::new(2);
        let refused = failure(NetworkErrorKind::ConnectionRefusedError);
        assert!(policy.decide(0, &Operation::Get, refused, Duration::ZERO).is_some());
        assert!(policy.decide(1, &Operation::Put, refused, Duration::ZERO).is_some());
        assert_eq!(policy.decide(2, &Operation::Get, refused, Duration::ZERO), None, "two retries at most");
        assert_eq!(policy.decide(0, &Operation::Post, refused, Duration::ZERO), None);
        assert_eq!(
            policy.decide(0, &Operation::Get, failure(NetworkErrorKind::HostNotFoundError), Duration::ZERO),
            None
        );
        assert_eq!(
            policy.decide(0, &Operation::Get, failure(NetworkErrorKind::OperationCanceledError), Duration::ZERO),
            None,
            "an abort is the caller's wish"
        );
        assert!(policy.decide(0, &Operation::Custom("options".into()), refused, Duration::ZERO).is_some());
    }

    #[test]
    fn all_errors_widens_to_every_failure_status_and_method() {
        let mut policy = RetryPolicy::new(1);
        policy.all_errors = true;
        let not_found = RetryTrigger::Status { status: 404, retry_after: None };
        assert!(policy.decide(0, &Operation::Post, not_found, Duration::ZERO).is_some());
        assert!(policy
            .decide(0, &Operation::Get, failure(NetworkErrorKind::HostNotFoundError), Duration::ZERO)
            .is_some());
        let ok = RetryTrigger::Status { status: 200, retry_after: None };
        assert_eq!(policy.decide(0, &Operation::Get, ok, Duration::ZERO), None);
    }

    #[test]
    fn back_off_doubles_with_jitter_and_is_capped() {
        let mut policy = RetryPolicy::new(20);
        policy.max_delay = Duration::from_secs(8);
        let refused = failure(NetworkErrorKind::ConnectionRefusedError);
        for (attempt, ceiling) in [(0, 1), (1, 2), (2, 4), (3, 8), (10, 8)] {
            let delay = policy.decide(attempt, &Operation::Get, refused, Duration::ZERO).unwrap();
            let ceiling = Duration::from_secs(ceiling);
            assert!(delay >= ceiling / 2 && delay <= ceiling, "attempt {attempt}: {delay:?} outside {ceiling:?}");
        }
        policy.fixed_delay = Some(Duration::from_millis(300));
        assert_eq!(policy.decide(5, &Operation::Get, refused, Duration::ZERO), Some(Duration::from_millis(300)));
    }

    #[test]
    fn retry_after_is_honoured_up_to_its_cap_and_max_elapsed_bounds_everything() {
        let policy = RetryPolicy::new(3);
        let asks = |value| RetryTrigger::Status { status: 429, retry_after: Some(value) };
        assert_eq!(policy.decide(0, &Operation::Get, asks("7"), Duration::ZERO), Some(Duration::from_secs(7)));
        assert_eq!(policy.decide(0, &Operation::Get, asks("3600"), Duration::ZERO), None, "over the cap");
        let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(60));
        assert_eq!(policy.decide(0, &Operation::Get, asks(&past), Duration::ZERO), Some(Duration::ZERO));
        let mut bounded = RetryPolicy::new(3);
        bounded.max_elapsed = Some(Duration::from_secs(5));
        assert_eq!(bounded.decide(0, &Operation::Get, asks("2"), Duration::from_secs(4)), None);
        assert!(bounded.decide(0, &Operation::Get, asks("2"), Duration::from_secs(1)).is_some());
    }
}
