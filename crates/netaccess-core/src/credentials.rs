//! The one credential engine: which user and password to try next when a server (401), a
//! proxy (407, a SOCKS5 refusal) or an FTP server refuses, in Qt's order.
//!
//! # Design
//!
//! Every challenger is asked the same way, so the order lives here once:
//!
//! 1. the challenger's *own* credentials, once: those in the URL (server, FTP) or in the
//!    proxy's settings;
//! 2. the [`CredentialCache`] for the challenger's key (origin and realm, or the proxy), unless
//!    those are what was just rejected;
//! 3. the handler (Qt's `authenticationRequired` / `proxyAuthenticationRequired`), asked one
//!    request at a time per key: a request that waited finds the answer in the cache instead of
//!    asking again. Its `retry` flag says whether what *it* gave was just rejected (a refusal
//!    of the URL's credentials is no retry for a handler that has not answered yet).
//!
//! What was rejected is dropped from the cache before the next try; what the own credentials
//! or the handler gave is cached at once (unless reuse is off), so requests queued behind the
//! challenge use it. How a challenge is answered (Basic, Digest and its nonce count) is the
//! protocol's business, not this module's: it only chooses the credentials.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

/// A user name and a password.
pub type UserPassword = (String, String);

/// Locks a mutex, taking the data of one a panicking thread poisoned (every user of it keeps
/// its data consistent between statements).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Credentials by challenger, and who is asking the handler for which.
#[derive(Debug)]
pub struct CredentialCache<K> {
    entries: Mutex<HashMap<K, UserPassword>>,
    asking: Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>,
}

impl<K> Default for CredentialCache<K> {
    fn default() -> Self {
        Self { entries: Mutex::new(HashMap::new()), asking: Mutex::new(HashMap::new()) }
    }
}

impl<K: Hash + Eq + Clone> CredentialCache<K> {
    /// The credentials cached for `key`.
    pub fn cached(&self, key: &K) -> Option<UserPassword> {
        lock(&self.entries).get(key).cloned()
    }

    /// Caches `credentials` for `key`.
    pub fn store(&self, key: K, credentials: UserPassword) {
        lock(&self.entries).insert(key, credentials);
    }

    /// Drops the credentials cached for `key` if they are `rejected`.
    pub fn forget(&self, key: &K, rejected: &UserPassword) {
        let mut entries = lock(&self.entries);
        if entries.get(key) == Some(rejected) {
            entries.remove(key);
        }
    }

    /// Forgets everything.
    pub fn clear(&self) {
        lock(&self.entries).clear();
    }

    fn asking_lock(&self, key: &K) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.asking).entry(key.clone()).or_default().clone()
    }
}

/// One request's rounds with one challenger.
///
/// ```
/// use netaccess_core::credentials::{CredentialCache, CredentialRounds};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let cache = CredentialCache::default();
/// let own = Some(("bob".to_owned(), "wrong".to_owned()));
/// let mut rounds = CredentialRounds::new(Some(&cache), own, 8);
/// let ask = |retry: bool| async move { (!retry).then(|| ("alice".to_owned(), "secret".to_owned())) };
/// // The URL's first, then the handler's, then nothing (the handler gives up on a retry).
/// assert_eq!(rounds.next(&"origin", ask).await.unwrap().0, "bob");
/// assert_eq!(rounds.next(&"origin", ask).await.unwrap().0, "alice");
/// assert_eq!(rounds.next(&"origin", ask).await, None);
/// # });
/// ```
#[derive(Debug)]
pub struct CredentialRounds<'a, K> {
    /// The cache, unless reuse is off.
    cache: Option<&'a CredentialCache<K>>,
    own: Option<UserPassword>,
    last: Option<UserPassword>,
    last_was_own: bool,
    rounds: usize,
    max_rounds: usize,
}

impl<'a, K: Hash + Eq + Clone> CredentialRounds<'a, K> {
    /// Rounds that try `own` first, then `cache` (when reuse is on), then the handler; at most
    /// `max_rounds` of them.
    pub fn new(cache: Option<&'a CredentialCache<K>>, own: Option<UserPassword>, max_rounds: usize) -> Self {
        Self { cache, own, last: None, last_was_own: false, rounds: 0, max_rounds }
    }

    /// The credentials tried last, if any.
    pub fn last(&self) -> Option<&UserPassword> {
        self.last.as_ref()
    }

    /// How many rounds were taken.
    pub fn rounds(&self) -> usize {
        self.rounds
    }

    /// The credentials to try next for `key`, or `None` to give up. `ask` is the handler,
    /// called with its `retry` flag; an answer with an empty user name is giving up.
    pub async fn next<F, Fut>(&mut self, key: &K, ask: F) -> Option<UserPassword>
    where
        F: FnOnce(bool) -> Fut,
        Fut: Future<Output = Option<UserPassword>>,
    {
        if self.rounds >= self.max_rounds {
            return None;
        }
        self.rounds += 1;
        if let (Some(rejected), Some(cache)) = (&self.last, self.cache) {
            cache.forget(key, rejected);
        }
        let retry = self.last.is_some() && !self.last_was_own;
        self.last_was_own = false;
        let next = if let Some(own) = self.own.take() {
            self.last_was_own = true;
            if let Some(cache) = self.cache {
                cache.store(key.clone(), own.clone());
            }
            Some(own)
        } else {
            self.cached_or_asked(key, ask, retry).await
        }
        .filter(|(user, _)| !user.is_empty());
        self.last.clone_from(&next);
        next
    }

    async fn cached_or_asked<F, Fut>(&self, key: &K, ask: F, retry: bool) -> Option<UserPassword>
    where
        F: FnOnce(bool) -> Fut,
        Fut: Future<Output = Option<UserPassword>>,
    {
        let fresh = |cache: &CredentialCache<K>| cache.cached(key).filter(|c| Some(c) != self.last.as_ref());
        let Some(cache) = self.cache else { return ask(retry).await };
        if let Some(cached) = fresh(cache) {
            return Some(cached);
        }
        let asking = cache.asking_lock(key);
        let _one_at_a_time = asking.lock().await;
        // Another request may have been answered while this one waited.
        if let Some(cached) = fresh(cache) {
            return Some(cached);
        }
        let given = ask(retry).await?;
        if !given.0.is_empty() {
            cache.store(key.clone(), given.clone());
        }
        Some(given)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn pair(user: &str) -> UserPassword {
        (user.to_owned(), "pw".to_owned())
    }

    #[tokio::test]
    async fn own_then_cache_then_handler_and_a_rejection_is_forgotten() {
        let cache = CredentialCache::default();
        cache.store("k", pair("cached"));
        let asked = AtomicUsize::new(0);
        let ask = |retry: bool| {
            let n = asked.fetch_add(1, Ordering::SeqCst);
            async move { Some(pair(if retry { "handler-again" } else { "handler" })).filter(|_| n < 2) }
        };
        let mut rounds = CredentialRounds::new(Some(&cache), Some(pair("own")), 8);
        assert_eq!(rounds.next(&"k", ask).await, Some(pair("own")));
        // The own were cached over "cached", and rejected: the handler, not as a retry.
        assert_eq!(rounds.next(&"k", ask).await, Some(pair("handler")));
        assert_eq!(cache.cached(&"k"), Some(pair("handler")));
        assert_eq!(rounds.next(&"k", ask).await, Some(pair("handler-again")));
        assert_eq!(rounds.next(&"k", ask).await, None, "the handler gave up");
        assert_eq!(cache.cached(&"k"), None, "what was rejected is gone");
        assert_eq!(rounds.rounds(), 4);
    }

    #[tokio::test]
    async fn a_cached_answer_is_taken_before_asking_and_rounds_are_bounded() {
        let cache = CredentialCache::default();
        cache.store("k", pair("cached"));
        let never = |_retry: bool| async { panic!("the cache answers first") };
        let mut rounds = CredentialRounds::new(Some(&cache), None, 1);
        assert_eq!(rounds.next(&"k", never).await, Some(pair("cached")));
        assert_eq!(rounds.next(&"k", |_| async { Some(pair("x")) }).await, None, "one round only");
    }

    #[tokio::test]
    async fn without_reuse_nothing_is_cached() {
        let cache: CredentialCache<&str> = CredentialCache::default();
        let mut rounds = CredentialRounds::new(None, Some(pair("own")), 8);
        assert_eq!(rounds.next(&"k", |_| async { None }).await, Some(pair("own")));
        assert_eq!(
            rounds.next(&"k", |retry| async move { Some(pair(&format!("h{retry}"))) }).await,
            Some(pair("hfalse"))
        );
        assert_eq!(cache.cached(&"k"), None);
    }
}
