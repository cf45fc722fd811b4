//! Which proxies a connection may go through: the proxy set, else the factory's answer.
//!
//! # Design
//!
//! The settings are the connector's, not a backend's: every scheme sees one proxy setting and
//! one credential cache, and a change (`set_proxy`) reaches requests issued after it. The
//! factory is asked per URL with the lock released, so a slow factory (a PAC script) holds up
//! no other request. Which candidates a scheme can use is the backend's rule (HTTP forwards
//! plain http to an HTTP proxy; FTP takes the first direct or SOCKS5 one).

use std::sync::{Arc, RwLock};

use netaccess_proxy::{Proxy, ProxyAuth, ProxyFactory, ProxyQuery};
use url::Url;

use crate::Connector;

/// The proxy and the factory in force, changeable while requests run.
pub(crate) struct ProxySettings(RwLock<(Option<Proxy>, Arc<dyn ProxyFactory>)>);

impl ProxySettings {
    pub(crate) fn new(proxy: Option<Proxy>, factory: Arc<dyn ProxyFactory>) -> Self {
        Self(RwLock::new((proxy, factory)))
    }
}

impl Connector {
    /// The proxies a connection for `url` may take, as the settings give them (the proxy set,
    /// else the factory's answer), best first, before any filtering by scheme; empty means
    /// direct.
    pub fn proxy_candidates(&self, url: &Url) -> Vec<Proxy> {
        let (proxy, factory) = self.proxies.0.read().unwrap_or_else(|e| e.into_inner()).clone();
        match proxy {
            Some(proxy) => vec![proxy],
            None => factory.query_proxy(&ProxyQuery::for_url(url)),
        }
    }

    /// Sends every connection through `proxy` (Qt's `setProxy`); `None` returns to the factory.
    pub fn set_proxy(&self, proxy: Option<Proxy>) {
        self.proxies.0.write().unwrap_or_else(|e| e.into_inner()).0 = proxy;
    }

    /// Chooses proxies per URL with `factory` when no proxy is set (Qt's `setProxyFactory`).
    pub fn set_proxy_factory(&self, factory: Arc<dyn ProxyFactory>) {
        self.proxies.0.write().unwrap_or_else(|e| e.into_inner()).1 = factory;
    }

    /// The proxy credentials learnt so far, shared by every tunnel and by the HTTP backend's
    /// answers to a forwarding proxy's 407.
    pub fn proxy_auth(&self) -> &ProxyAuth {
        &self.proxy_auth
    }

    /// Who gives proxy credentials ([`TransportConfig::proxy_authentication_handler`](crate::TransportConfig::proxy_authentication_handler)).
    pub fn proxy_authentication_handler(&self) -> Option<&Arc<dyn netaccess_proxy::ProxyAuthenticationHandler>> {
        self.config.proxy_authentication_handler.as_ref()
    }
}
