//! HTTP authentication: Basic and Digest on a 401, with Qt's order of credentials and its cache.
//!
//! # Design
//!
//! On a 401 the strongest challenge this crate knows is taken (Digest SHA-512-256, SHA-256,
//! MD5, then Basic; parsing and hashing by the `http-auth` crate, RFC 7616 with `-sess`, `qop`
//! auth and auth-int for bodies held in memory, `userhash`; Basic in UTF-8 per RFC 7617). The
//! credentials, in Qt's order, chosen by the engine proxies and FTP logins share
//! ([`netaccess_core::credentials`]): those in the URL (once), then the cache for that origin and
//! realm unless they were just rejected, then the manager's [`AuthenticationHandler`]. What the handler
//! gave is cached at once, and asking it is serialized per origin and realm, so parallel requests
//! meeting the same challenge ask it once. A rejection asks again; a handler that gives nothing,
//! an unknown scheme, or more than [`MAX_AUTH_ROUNDS`] rounds ends the reply with the 401 as it
//! came (`AuthenticationRequiredError`, body readable). A Digest `stale=true` is answered with the
//! same credentials and the new nonce without asking.
//!
//! Once a challenge is answered, requests to its protection space send credentials at once: the
//! same origin, at or below the directory of the URI that was challenged (RFC 7617 §2.2, and
//! Qt's path-prefix lookup in its credential cache: an answer at `/dir/a` covers `/dir/b` and
//! `/dir/sub/c`, not `/other`, which waits for its own 401). Inside the space (Basic
//! as is, Digest with the cached challenge and the next nonce count), decided when each request
//! is sent on its connection (the driver's `at_send` module): requests queued behind a 401 carry the
//! answer, so N requests queued behind one challenge make N + 1 requests in all, as in Qt, and
//! the nonce counts go out in the order of the wire. The request that met the 401 answers it
//! from the cache too (its own copy of the challenge serves when the cache dropped the entry, or
//! when reuse is off). Credentials are bound to their origin: they are added per hop, never
//! carried over a redirect, and never sent to a proxy. `AuthenticationReuse::Manual` uses
//! neither the URL's nor the cache's credentials and caches nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use http::header::{HeaderMap, WWW_AUTHENTICATE};
use http_auth::PasswordClient;
use netaccess_core::credentials::{lock, CredentialCache, CredentialRounds};
use netaccess_http::challenge::{respond, strongest_challenge};
use url::Url;

/// The most protection spaces remembered per origin.
const MAX_SPACES_PER_ORIGIN: usize = 32;

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

/// The manager's credential cache: the credentials by origin and realm (the engine's, shared
/// with proxies and FTP: [`netaccess_core::credentials`]), the challenge each was last answered
/// with, and the realm last answered per origin.
#[derive(Default)]
pub(crate) struct AuthCache {
    credentials: CredentialCache<Key>,
    /// The challenge's client per key, for answering at once (the Digest nonce and its count).
    clients: Mutex<HashMap<Key, PasswordClient>>,
    /// The protection spaces answered per origin, for answering at once: each the directory of
    /// a challenged URI and the realm answered there.
    spaces: Mutex<HashMap<String, Vec<Space>>>,
}

/// A protection space: the paths at or below `directory` (which ends in `/`) of an origin, and
/// the realm answered there.
struct Space {
    directory: String,
    realm: String,
}

/// The directory of `url`'s path: up to and including its last `/`.
fn directory_of(url: &Url) -> &str {
    let path = url.path();
    &path[..path.rfind('/').map_or(0, |slash| slash + 1)]
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
        self.credentials.clear();
        lock(&self.clients).clear();
        lock(&self.spaces).clear();
    }

    /// Records an answer at `url`: its realm answers at once from now on, with this challenge's
    /// client, for the paths at or below `url`'s directory.
    fn answered(&self, key: &Key, url: &Url, credentials: &Credentials, client: PasswordClient) {
        self.credentials.store(key.clone(), (credentials.user.clone(), credentials.password.clone()));
        lock(&self.clients).insert(key.clone(), client);
        let directory = directory_of(url);
        let mut spaces = lock(&self.spaces);
        let spaces = spaces.entry(key.0.clone()).or_default();
        if let Some(space) = spaces.iter_mut().find(|space| space.directory == directory) {
            space.realm.clone_from(&key.1);
            return;
        }
        // A directory a space of the same realm already holds adds nothing; the list per origin
        // is bounded (a server challenging at every path cannot grow it for ever), the oldest
        // space going first.
        if spaces.iter().any(|space| space.realm == key.1 && directory.starts_with(&space.directory)) {
            return;
        }
        if spaces.len() == MAX_SPACES_PER_ORIGIN {
            spaces.remove(0);
        }
        spaces.push(Space { directory: directory.to_owned(), realm: key.1.clone() });
    }

    /// Records `credentials` as the answer to `challenge` at `url`'s origin, as a 401 round
    /// does (for tests of what depends on it).
    #[cfg(test)]
    pub(crate) fn answer_for_test(&self, url: &Url, challenge: &HeaderMap, credentials: Credentials) {
        let (client, _, realm) = strongest_challenge(challenge, WWW_AUTHENTICATE).expect("a challenge");
        self.answered(&(origin(url), realm), url, &credentials, client);
    }

    /// The `Authorization` for `url` from the cached answer of `key`, if there is one (a
    /// rejection dropped the credentials, and with them the answer).
    fn respond_for(&self, key: &Key, url: &Url, method: &str, body: Option<&[u8]>) -> Option<String> {
        let (user, password) = self.credentials.cached(key)?;
        let mut clients = lock(&self.clients);
        respond(clients.get_mut(key)?, &user, &password, uri_of(url), method, body)
    }

    /// An `Authorization` value to send at once to `url`, from the answer of the deepest
    /// protection space that holds it.
    pub(crate) fn preemptive(&self, url: &Url, method: &str, body: Option<&[u8]>) -> Option<String> {
        let realm = {
            let spaces = lock(&self.spaces);
            if spaces.is_empty() {
                // Nothing was ever answered: spare every request the origin's serialization.
                return None;
            }
            let path = url.path();
            spaces
                .get(&origin(url))?
                .iter()
                .filter(|space| path.starts_with(&space.directory))
                .max_by_key(|space| space.directory.len())?
                .realm
                .clone()
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

/// The state of one hop's authentication rounds: the engine's order of credentials, and the
/// Digest `stale` rule on top.
pub(crate) struct Rounds<'a> {
    cache: &'a AuthCache,
    handler: Option<&'a Arc<dyn AuthenticationHandler>>,
    reuse: bool,
    engine: CredentialRounds<'a, Key>,
    rounds: usize,
}

impl<'a> Rounds<'a> {
    /// Rounds for a hop to `url`: its own credentials first when reuse is on (Qt uses neither
    /// the URL's nor the cache's when `AuthenticationReuse` is manual).
    pub(crate) fn new(
        cache: &'a AuthCache,
        handler: Option<&'a Arc<dyn AuthenticationHandler>>,
        reuse: bool,
        url: &Url,
    ) -> Self {
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let own = (reuse && !url.username().is_empty())
            .then(|| (decode(url.username()), decode(url.password().unwrap_or_default())));
        let engine = CredentialRounds::new(reuse.then_some(&cache.credentials), own, MAX_AUTH_ROUNDS);
        Self { cache, handler, reuse, engine, rounds: 0 }
    }

    /// The answer the next try after a 401 sends, or `None` to let the 401 stand.
    pub(crate) async fn answer(&mut self, url: &Url, headers: &HeaderMap) -> Option<Answer> {
        if self.rounds >= MAX_AUTH_ROUNDS {
            return None;
        }
        self.rounds += 1;
        let (client, scheme, realm) = strongest_challenge(headers, WWW_AUTHENTICATE)?;
        let key = (origin(url), realm.clone());
        let stale = matches!(&client, PasswordClient::Digest(d) if d.stale());
        let (user, password) = match (self.engine.last(), stale) {
            // The same credentials with the new nonce, without asking.
            (Some(last), true) => last.clone(),
            _ => {
                let handler = self.handler;
                let ask = |retry: bool| async move {
                    let challenge = AuthenticationChallenge { url: url.clone(), realm, scheme, retry };
                    handler?.credentials(challenge).await.map(|c| (c.user, c.password))
                };
                self.engine.next(&key, ask).await?
            }
        };
        let credentials = Credentials::new(user, password);
        let own = if self.reuse {
            self.cache.answered(&key, url, &credentials, client);
            None
        } else {
            Some(client)
        };
        let mut challenge = HeaderMap::new();
        for value in headers.get_all(WWW_AUTHENTICATE) {
            challenge.append(WWW_AUTHENTICATE, value.clone());
        }
        Some(Answer { key, credentials, own, challenge })
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

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn challenge(realm: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(WWW_AUTHENTICATE, HeaderValue::from_str(&format!("Basic realm=\"{realm}\"")).unwrap());
        headers
    }

    fn at(path: &str) -> Url {
        Url::parse(&format!("http://h.test{path}")).unwrap()
    }

    #[test]
    fn protection_spaces_are_directories_and_bounded_per_origin() {
        let cache = AuthCache::default();
        let alice = Credentials::new("alice", "secret");
        cache.answer_for_test(&at("/dir/a"), &challenge("r"), alice.clone());
        assert!(cache.preemptive(&at("/dir/b"), "GET", None).is_some());
        assert!(cache.preemptive(&at("/dir/sub/c"), "GET", None).is_some());
        assert!(cache.preemptive(&at("/other"), "GET", None).is_none());
        assert!(cache.preemptive(&at("/dirt"), "GET", None).is_none(), "a directory, not a prefix of a name");
        // A deeper answer of the same realm adds no space.
        cache.answer_for_test(&at("/dir/sub/d"), &challenge("r"), alice.clone());
        assert_eq!(lock(&cache.spaces)["http://h.test"].len(), 1);
        // A server challenging everywhere cannot grow the list past its bound.
        for i in 0..100 {
            cache.answer_for_test(&at(&format!("/p{i}/x")), &challenge(&format!("realm {i}")), alice.clone());
        }
        assert_eq!(lock(&cache.spaces)["http://h.test"].len(), MAX_SPACES_PER_ORIGIN);
        assert!(cache.preemptive(&at("/p99/y"), "GET", None).is_some(), "the newest spaces are kept");
    }
}
