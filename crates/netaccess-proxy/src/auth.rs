//! Proxy credentials: asked for on a 407 or a SOCKS5 refusal, cached per proxy, sent to that
//! proxy only.
//!
//! # Design
//!
//! The order is the server side's, from the same engine ([`netaccess_core::credentials`]): the
//! credentials in the proxy's URL (once), the cache for that proxy unless they were just
//! rejected, then the manager's [`ProxyAuthenticationHandler`], asked one request at a time per
//! proxy (a request that waited finds the answer in the cache) and cached at once. A success keeps the challenge so later requests through a forward proxy
//! send `Proxy-Authorization` at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::proxy::{Proxy, ProxyAuthenticationChallenge, ProxyAuthenticationHandler};
use http::header::{HeaderMap, PROXY_AUTHENTICATE};
use http_auth::PasswordClient;
use netaccess_core::credentials::{lock, CredentialCache, CredentialRounds, UserPassword};

use crate::challenge::{respond, strongest_challenge};

/// The most authentication rounds with one proxy for one request.
pub const MAX_PROXY_AUTH_ROUNDS: usize = 4;

/// Proxy credentials by proxy (its label), and the challenge each last succeeded with.
#[derive(Default)]
pub struct ProxyAuth {
    credentials: CredentialCache<String>,
    clients: Mutex<HashMap<String, PasswordClient>>,
}

impl ProxyAuth {
    /// A `Proxy-Authorization` to send at once through `proxy`, from its last success.
    pub fn preemptive(&self, proxy: &Proxy, method: &str, uri: &str) -> Option<String> {
        let key = proxy.label();
        let (user, password) = self.credentials.cached(&key)?;
        let mut clients = lock(&self.clients);
        respond(clients.get_mut(&key)?, &user, &password, uri, method, None)
    }
}

/// One request's rounds with one proxy: the shared engine's order of credentials (the
/// proxy's own, the cache, the handler; [`netaccess_core::credentials`]).
pub struct ProxyRounds<'a> {
    auth: &'a ProxyAuth,
    handler: Option<&'a Arc<dyn ProxyAuthenticationHandler>>,
    proxy: &'a Proxy,
    engine: CredentialRounds<'a, String>,
    pending: Option<PasswordClient>,
}

impl<'a> ProxyRounds<'a> {
    /// The rounds of one request with `proxy`, taking from and adding to `auth`, asking
    /// `handler` when nothing else is left.
    pub fn new(
        auth: &'a ProxyAuth,
        handler: Option<&'a Arc<dyn ProxyAuthenticationHandler>>,
        proxy: &'a Proxy,
    ) -> Self {
        let own = proxy.user.clone().map(|user| (user, proxy.password.clone().unwrap_or_default()));
        let engine = CredentialRounds::new(Some(&auth.credentials), own, MAX_PROXY_AUTH_ROUNDS);
        Self { auth, handler, proxy, engine, pending: None }
    }

    /// Credentials for the next try, or `None` to give up.
    pub async fn credentials(&mut self, realm: &str, scheme: &str) -> Option<UserPassword> {
        let (handler, proxy) = (self.handler, self.proxy);
        let ask = |retry: bool| async move {
            let challenge = ProxyAuthenticationChallenge::new(proxy.clone(), realm, scheme, retry);
            handler?.credentials(challenge).await
        };
        self.engine.next(&self.proxy.label(), ask).await
    }

    /// The `Proxy-Authorization` answering a 407's challenges, or `None` to let it stand.
    pub async fn answer(&mut self, headers: &HeaderMap, method: &str, uri: &str) -> Option<String> {
        let (mut client, scheme, realm) = strongest_challenge(headers, PROXY_AUTHENTICATE)?;
        let (user, password) = self.credentials(&realm, &scheme).await?;
        let authorization = respond(&mut client, &user, &password, uri, method, None)?;
        self.pending = Some(client);
        Some(authorization)
    }

    /// The proxy accepted: keep the challenge for answering at once.
    pub fn succeeded(&mut self) {
        if let Some(client) = self.pending.take() {
            lock(&self.auth.clients).insert(self.proxy.label(), client);
        }
    }
}
