//! Proxy credentials: asked for on a 407 or a SOCKS5 refusal, cached per proxy, sent to that
//! proxy only.
//!
//! # Design
//!
//! The order is the server side's: the credentials in the proxy's URL (once), the cache for that
//! proxy unless they were just rejected, then the manager's [`ProxyAuthenticationHandler`],
//! asked one request at a time per proxy (a request that waited finds the answer in the cache)
//! and cached at once. A success keeps the challenge so later requests through a forward proxy
//! send `Proxy-Authorization` at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use http::header::{HeaderMap, PROXY_AUTHENTICATE};
use http_auth::PasswordClient;
use netaccess_proxy::{Proxy, ProxyAuthenticationChallenge, ProxyAuthenticationHandler};

use crate::challenge::{respond, strongest_challenge};

/// The most authentication rounds with one proxy for one request.
pub const MAX_PROXY_AUTH_ROUNDS: usize = 4;

type Credentials = (String, String);

#[derive(Default)]
pub(crate) struct ProxyAuth {
    entries: Mutex<HashMap<String, (Credentials, Option<PasswordClient>)>>,
    asking: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl ProxyAuth {
    fn cached(&self, key: &str) -> Option<Credentials> {
        lock(&self.entries).get(key).map(|(c, _)| c.clone())
    }

    fn store(&self, key: &str, credentials: Credentials) {
        lock(&self.entries).insert(key.to_owned(), (credentials, None));
    }

    fn forget(&self, key: &str, rejected: &Credentials) {
        let mut entries = lock(&self.entries);
        if entries.get(key).is_some_and(|(c, _)| c == rejected) {
            entries.remove(key);
        }
    }

    /// A `Proxy-Authorization` to send at once through `proxy`, from its last success.
    pub(crate) fn preemptive(&self, proxy: &Proxy, method: &str, uri: &str) -> Option<String> {
        let mut entries = lock(&self.entries);
        let ((user, password), client) = entries.get_mut(&proxy.label())?;
        respond(client.as_mut()?, user, password, uri, method, None)
    }
}

/// One request's rounds with one proxy.
pub(crate) struct ProxyRounds<'a> {
    auth: &'a ProxyAuth,
    handler: Option<&'a Arc<dyn ProxyAuthenticationHandler>>,
    proxy: &'a Proxy,
    own_tried: bool,
    last: Option<Credentials>,
    pending: Option<PasswordClient>,
    rounds: usize,
}

impl<'a> ProxyRounds<'a> {
    pub(crate) fn new(
        auth: &'a ProxyAuth,
        handler: Option<&'a Arc<dyn ProxyAuthenticationHandler>>,
        proxy: &'a Proxy,
    ) -> Self {
        Self { auth, handler, proxy, own_tried: false, last: None, pending: None, rounds: 0 }
    }

    /// Credentials for the next try, or `None` to give up.
    pub(crate) async fn credentials(&mut self, realm: &str, scheme: &str) -> Option<Credentials> {
        if self.rounds >= MAX_PROXY_AUTH_ROUNDS {
            return None;
        }
        self.rounds += 1;
        let key = self.proxy.label();
        if let Some(rejected) = &self.last {
            self.auth.forget(&key, rejected);
        }
        let next = self.next(&key, realm, scheme).await.filter(|(user, _)| !user.is_empty());
        self.last.clone_from(&next);
        next
    }

    async fn next(&mut self, key: &str, realm: &str, scheme: &str) -> Option<Credentials> {
        if !self.own_tried {
            self.own_tried = true;
            if let Some(user) = &self.proxy.user {
                let own = (user.clone(), self.proxy.password.clone().unwrap_or_default());
                self.auth.store(key, own.clone());
                return Some(own);
            }
        }
        if let Some(cached) = self.auth.cached(key).filter(|c| Some(c) != self.last.as_ref()) {
            return Some(cached);
        }
        let handler = self.handler?;
        let asking = lock(&self.auth.asking).entry(key.to_owned()).or_default().clone();
        let _one_at_a_time = asking.lock().await;
        if let Some(cached) = self.auth.cached(key).filter(|c| Some(c) != self.last.as_ref()) {
            return Some(cached);
        }
        let challenge = ProxyAuthenticationChallenge::new(self.proxy.clone(), realm, scheme, self.last.is_some());
        let given = handler.credentials(challenge).await?;
        self.auth.store(key, given.clone());
        Some(given)
    }

    /// The `Proxy-Authorization` answering a 407's challenges, or `None` to let it stand.
    pub(crate) async fn answer(&mut self, headers: &HeaderMap, method: &str, uri: &str) -> Option<String> {
        let (mut client, scheme, realm) = strongest_challenge(headers, PROXY_AUTHENTICATE)?;
        let (user, password) = self.credentials(&realm, &scheme).await?;
        let authorization = respond(&mut client, &user, &password, uri, method, None)?;
        self.pending = Some(client);
        Some(authorization)
    }

    /// The proxy accepted: keep the challenge for answering at once.
    pub(crate) fn succeeded(&mut self) {
        if let Some(client) = self.pending.take() {
            if let Some(entry) = lock(&self.auth.entries).get_mut(&self.proxy.label()) {
                entry.1 = Some(client);
            }
        }
    }
}
