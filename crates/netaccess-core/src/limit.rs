//! [`within_limit`]: the one time limit every timed phase uses, where `Duration::ZERO` means no
//! limit (the convention of the transfer and connect timeouts).

use std::future::Future;
use std::time::Duration;

/// Runs `work` within `limit` (zero: no limit); past it, the error `expired` makes.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::time::Duration;
/// use netaccess_core::within_limit;
///
/// let never = std::future::pending::<Result<(), &str>>();
/// assert_eq!(within_limit(Duration::from_millis(10), never, || "too slow").await, Err("too slow"));
/// let at_once = async { Ok::<_, &str>(7) };
/// assert_eq!(within_limit(Duration::ZERO, at_once, || "no limit").await, Ok(7));
/// # });
/// ```
pub async fn within_limit<T, E>(
    limit: Duration,
    work: impl Future<Output = Result<T, E>>,
    expired: impl FnOnce() -> E,
) -> Result<T, E> {
    if limit.is_zero() {
        return work.await;
    }
    tokio::time::timeout(limit, work).await.unwrap_or_else(|_| Err(expired()))
}
