//! Proxies for netaccess: [`Proxy`], [`ProxyQuery`] and the [`ProxyFactory`] trait; the system
//! factory reading the environment with curl's `no_proxy` rules; and the connectors that reach a
//! target through a proxy: HTTP `CONNECT` ([`connect::http_connect`]) and SOCKS5
//! ([`connect::socks5_connect`], RFC 1928 and 1929).
//!
//! ```
//! use netaccess_proxy::{ProxyFactory, ProxyQuery, SystemProxyFactory};
//! let factory = SystemProxyFactory::from_vars([("all_proxy", "socks5h://127.0.0.1:1080")]);
//! let url = url::Url::parse("https://example.com/").unwrap();
//! println!("{:?}", factory.query_proxy(&ProxyQuery::for_url(&url)));
//! ```

#![forbid(unsafe_code)]

pub mod auth;
pub mod challenge;
pub mod connect;
pub mod env;
pub mod proxy;

pub use auth::{ProxyAuth, ProxyRounds, MAX_PROXY_AUTH_ROUNDS};
pub use connect::{http_connect, socks5_connect, ConnectFailure, Target};
pub use env::{NoProxy, SystemProxyFactory};
pub use proxy::{
    Capabilities, FixedProxyFactory, Proxy, ProxyAuthenticationChallenge, ProxyAuthenticationHandler, ProxyFactory,
    ProxyKind, ProxyQuery, QueryType, DEFAULT_HTTP_PROXY_PORT, DEFAULT_SOCKS5_PORT,
};

/// The README's example, compiled (and run where it needs no server) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
