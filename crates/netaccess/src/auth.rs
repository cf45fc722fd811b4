//! HTTP authentication: Basic and Digest on a 401, with Qt's order of credentials and its cache.
//!
//! # Design
//!
//! On a 401 the strongest challenge this crate knows is taken (Digest SHA-512-256, SHA-256,
//! MD5, then Basic; parsing and hashing by the `http-auth` crate, RFC 7616 with `-sess`, `qop`
//! auth and auth-int for bodies held in memory, `userhash`; Basic in UTF-8 per RFC 7617). The
//! credentials, in Qt's order: those in the URL (once), then the cache for that origin and realm
//! unless they were just rejected, then the manager's [`AuthenticationHandler`]. What the handler
//! gave is cached at once, and asking it is serialized per origin and realm, so parallel requests
//! meeting the same challenge ask it once. A rejection asks again; a handler that gives nothing,
//! an unknown scheme, or more than [`MAX_AUTH_ROUNDS`] rounds ends the reply with the 401 as it
//! came (`AuthenticationRequiredError`, body readable). A Digest `stale=true` is answered with the
//! same credentials and the new nonce without asking.
//!
//! Once a challenge is answered, requests to the same origin send credentials at once (Basic
//! as is, Digest with the cached challenge and the next nonce count), decided when each request
//! is sent on its connection (the driver's `at_send` module): requests queued behind a 401 carry the
//! answer, so N requests queued behind one challenge make N + 1 requests in all, as in Qt, and
//! the nonce counts go out in the order of the wire. The request that met the 401 answers it
//! from the cache too (its own copy of the challenge serves when the cache dropped the entry, or
//! when reuse is off). Credentials are bound to their origin: they are added per hop, never
//! carried over a redirect, and never sent to a proxy. `AuthenticationReuse::Manual` uses
//! neither the URL's nor the cache's credentials and caches nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use futures::future::BoxFuture;
use http::header::{HeaderMap, WWW_AUTHENTICATE};
use http_auth::PasswordClient;
use netaccess_http::challenge::{respond, strongest_challenge};
use url::Url;

/// The most authentication rounds for one hop before the 401 stands.
pub const MAX_AUTH_ROUNDS: usize = 8;

/// A user name and a password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub user: String,
    /// The password.
    pub password: String,
}

impl Credentials {
    /// Credentials from a user name and a password.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self { user: user.into(), password: password.into() }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).field("password", &"<hidden>").finish()
    }
}

/// What the server asks for (Qt's `authenticationRequired` arguments).
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct AuthenticationChallenge {
    /// The URL of the request.
    pub url: Url,
    /// The realm the server named.
    pub realm: String,
    /// The scheme: `Basic` or `Digest`.
    pub scheme: String,
    /// Whether credentials for this realm were just rejected, other than the URL's: a handler
    /// asked after the URL's user and password were refused gets `false`, since what it gives
    /// has not been tried (Qt's order: the URL's, then the handler's).
    pub retry: bool,
}

/// Answers authentication challenges (Qt's `authenticationRequired` signal); also used for FTP
/// logins.
///
/// ```
/// use futures::future::{BoxFuture, FutureExt};
/// use netaccess::{AuthenticationChallenge, AuthenticationHandler, Credentials};
///
/// struct Fixed;
/// impl AuthenticationHandler for Fixed {
///     fn credentials(&self, challenge: AuthenticationChallenge) -> BoxFuture<'static, Option<Credentials>> {
///         // Give up after one rejection.
///         let answer = (!challenge.retry).then(|| Credentials::new("alice", "secret"));
///         async move { answer }.boxed()
///     }
/// }
/// ```
pub trait AuthenticationHandler: Send + Sync + 'static {
    /// Credentials for the challenge, or `None` to give up.
    fn credentials(&self, challenge: AuthenticationChallenge) -> BoxFuture<'static, Option<Credentials>>;
}

/// The key of the credential cache: the origin and the realm.
type Key = (String, String);

struct Entry {
    credentials: Credentials,
    /// The challenge's client, for answering at once (the Digest nonce and its count).
    client: Option<PasswordClient>,
}

/// The manager's credential cache.
#[derive(Default)]
pub(crate) struct AuthCache {
    entries: Mutex<HashMap<Key, Entry>>,
    /// The realm of the last success per origin, for answering at once.
    last_realm: Mutex<HashMap<String, String>>,
    asking: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The request-target a Digest response names: path and query.
fn uri_of(url: &Url) -> &str {
    &url[url::Position::BeforePath..url::Position::AfterQuery]
}

/// A description of a 401's challenges for an error message: `Basic authentication, realm "x"`.
pub(crate) fn describe(headers: &HeaderMap) -> Option<String> {
    netaccess_http::challenge::describe(headers, WWW_AUTHENTICATE)
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

impl AuthCache {
    pub(crate) fn clear(&self) {
        lock(&self.entries).clear();
        lock(&self.last_realm).clear();
    }

    fn cached(&self, key: &Key) -> Option<Credentials> {
        lock(&self.entries).get(key).map(|e| e.credentials.clone())
    }

    /// Drops the cached credentials for `key` if they are `rejected`.
    fn forget(&self, key: &Key, rejected: &Credentials) {
        let mut entries = lock(&self.entries);
        if entries.get(key).is_some_and(|e| e.credentials == *rejected) {
            entries.remove(key);
        }
    }

    fn store(&self, key: Key, credentials: Credentials) {
        lock(&self.entries).insert(key, Entry { credentials, client: None });
    }

    /// Records an answer: the realm answers at once from now on, with this challenge's client.
    fn answered(&self, key: &Key, credentials: &Credentials, client: PasswordClient) {
        lock(&self.entries).insert(key.clone(), Entry { credentials: credentials.clone(), client: Some(client) });
        lock(&self.last_realm).insert(key.0.clone(), key.1.clone());
    }

    /// Records `credentials` as the answer to `challenge` at `url`'s origin, as a 401 round
    /// does (for tests of what depends on it).
    #[cfg(test)]
    pub(crate) fn answer_for_test(&self, url: &Url, challenge: &HeaderMap, credentials: Credentials) {
        let (client, _, realm) = strongest_challenge(challenge, WWW_AUTHENTICATE).expect("a challenge");
        self.answered(&(origin(url), realm), &credentials, client);
    }

    /// The `Authorization` for `url` from the cached answer of `key`, if there is one.
    fn respond_for(&self, key: &Key, url: &Url, method: &str, body: Option<&[u8]>) -> Option<String> {
        let mut entries = lock(&self.entries);
        let entry = entries.get_mut(key)?;
        let client = entry.client.as_mut()?;
        respond(client, &entry.credentials.user, &entry.credentials.password, uri_of(url), method, body)
    }

    fn asking_lock(&self, key: &Key) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.asking).entry(key.clone()).or_default().clone()
    }

    /// An `Authorization` value to send at once to `url`, from the last answer at its origin.
    pub(crate) fn preemptive(&self, url: &Url, method: &str, body: Option<&[u8]>) -> Option<String> {
        let realm = {
            let last_realm = lock(&self.last_realm);
            if last_realm.is_empty() {
                // Nothing was ever answered: spare every request the origin's serialization.
                return None;
            }
            last_realm.get(&origin(url))?.clone()
        };
        self.respond_for(&(origin(url), realm), url, method, body)
    }
}

/// A challenge answered for one hop: what its next try sends.
pub(crate) struct Answer {
    key: Key,
    credentials: Credentials,
    /// The challenge's client when the cache does not hold it (reuse off). With reuse on the
    /// cache's client answers, so nonce counts follow the order of sending.
    own: Option<PasswordClient>,
    /// The challenge, to answer afresh if the cache dropped its entry meanwhile.
    challenge: HeaderMap,
}

impl Answer {
    /// The `Authorization` for this try of the hop.
    pub(crate) fn authorization(
        &mut self,
        cache: &AuthCache,
        url: &Url,
        method: &str,
        body: Option<&[u8]>,
    ) -> Option<String> {
        if self.own.is_none() {
            if let Some(value) = cache.respond_for(&self.key, url, method, body) {
                return Some(value);
            }
            self.own = strongest_challenge(&self.challenge, WWW_AUTHENTICATE).map(|(client, _, _)| client);
        }
        let client = self.own.as_mut()?;
        respond(client, &self.credentials.user, &self.credentials.password, uri_of(url), method, body)
    }
}

/// The state of one hop's authentication rounds.
pub(crate) struct Rounds<'a> {
    pub(crate) cache: &'a AuthCache,
    pub(crate) handler: Option<&'a Arc<dyn AuthenticationHandler>>,
    pub(crate) reuse: bool,
    url_tried: bool,
    last: Option<Credentials>,
    /// Whether `last` came from the URL: their rejection is no retry for the handler, which
    /// has not answered yet.
    last_from_url: bool,
    pub(crate) rounds: usize,
}

impl<'a> Rounds<'a> {
    pub(crate) fn new(cache: &'a AuthCache, handler: Option<&'a Arc<dyn AuthenticationHandler>>, reuse: bool) -> Self {
        Self { cache, handler, reuse, url_tried: false, last: None, last_from_url: false, rounds: 0 }
    }

    /// The answer the next try after a 401 sends, or `None` to let the 401 stand.
    pub(crate) async fn answer(&mut self, url: &Url, headers: &HeaderMap) -> Option<Answer> {
        if self.rounds >= MAX_AUTH_ROUNDS {
            return None;
        }
        self.rounds += 1;
        let (client, scheme, realm) = strongest_challenge(headers, WWW_AUTHENTICATE)?;
        let key = (origin(url), realm.clone());
        if let Some(rejected) = &self.last {
            self.cache.forget(&key, rejected);
        }
        let stale = matches!(&client, PasswordClient::Digest(d) if d.stale());
        let credentials = match (&self.last, stale) {
            (Some(last), true) => Some(last.clone()),
            _ => self.next_credentials(url, &key, &scheme).await,
        }?;
        if credentials.user.is_empty() {
            return None;
        }
        let own = if self.reuse {
            self.cache.answered(&key, &credentials, client);
            None
        } else {
            Some(client)
        };
        self.last = Some(credentials.clone());
        let mut challenge = HeaderMap::new();
        for value in headers.get_all(WWW_AUTHENTICATE) {
            challenge.append(WWW_AUTHENTICATE, value.clone());
        }
        Some(Answer { key, credentials, own, challenge })
    }

    async fn next_credentials(&mut self, url: &Url, key: &Key, scheme: &str) -> Option<Credentials> {
        let rejected_url = self.last_from_url;
        self.last_from_url = false;
        if self.reuse && !self.url_tried && !url.username().is_empty() {
            self.url_tried = true;
            self.last_from_url = true;
            let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
            let credentials = Credentials::new(decode(url.username()), decode(url.password().unwrap_or_default()));
            self.cache.store(key.clone(), credentials.clone());
            return Some(credentials);
        }
        if self.reuse {
            if let Some(cached) = self.cache.cached(key).filter(|c| Some(c) != self.last.as_ref()) {
                return Some(cached);
            }
        }
        let handler = self.handler?;
        let asking = self.cache.asking_lock(key);
        let _one_at_a_time = asking.lock().await;
        if self.reuse {
            // Another request may have been answered while this one waited.
            if let Some(cached) = self.cache.cached(key).filter(|c| Some(c) != self.last.as_ref()) {
                return Some(cached);
            }
        }
        let challenge = AuthenticationChallenge {
            url: url.clone(),
            realm: key.1.clone(),
            scheme: scheme.to_owned(),
            retry: self.last.is_some() && !rejected_url,
        };
        let given = handler.credentials(challenge).await?;
        if self.reuse && !given.user.is_empty() {
            self.cache.store(key.clone(), given.clone());
        }
        Some(given)
    }
}

/// The manager's handler answering FTP logins (scheme `FTP`, the host as the realm).
#[cfg(feature = "ftp")]
pub(crate) struct FtpLoginAdapter(pub(crate) Arc<dyn AuthenticationHandler>);

#[cfg(feature = "ftp")]
impl netaccess_ftp::FtpLogin for FtpLoginAdapter {
    fn credentials(&self, url: &Url, retry: bool) -> BoxFuture<'static, Option<(String, String)>> {
        let challenge = AuthenticationChallenge {
            url: url.clone(),
            realm: url.host_str().unwrap_or_default().to_owned(),
            scheme: "FTP".to_owned(),
            retry,
        };
        let asked = self.0.credentials(challenge);
        Box::pin(async move { asked.await.map(|c| (c.user, c.password)) })
    }
}
