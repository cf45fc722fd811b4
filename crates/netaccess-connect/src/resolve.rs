//! Name resolution: the overrides first (curl's `--resolve`), then a replaceable resolver.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};

use futures::future::BoxFuture;
use futures::FutureExt;

/// Resolves host names to addresses. Replace the system's with your own (a DNS-over-HTTPS
/// client, a test table) through [`TransportConfig::resolver`](crate::TransportConfig::resolver).
///
/// ```
/// use std::net::SocketAddr;
/// use futures::future::BoxFuture;
/// use netaccess_connect::Resolver;
///
/// /// Every name is this machine.
/// struct Loopback;
///
/// impl Resolver for Loopback {
///     fn resolve(&self, _name: &str, port: u16) -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>> {
///         Box::pin(async move { Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))]) })
///     }
/// }
/// ```
pub trait Resolver: Send + Sync + 'static {
    /// The addresses of `name` (never an address literal: those are not resolved), in the
    /// order the resolver prefers them.
    fn resolve(&self, name: &str, port: u16) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>>;
}

/// The system's resolver: `getaddrinfo` on a blocking thread (tokio's `lookup_host`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve(&self, name: &str, port: u16) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
        let name = name.to_owned();
        async move { Ok(tokio::net::lookup_host((name.as_str(), port)).await?.collect()) }.boxed()
    }
}

/// Addresses to use for some `host:port`s instead of resolving them (curl's `--resolve`).
/// Host names are matched without regard to case. An address may have another port than the
/// one it stands for (a test server on an ephemeral port answering for `example.com:443`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolveOverrides {
    entries: HashMap<(String, u16), Vec<SocketAddr>>,
}

impl ResolveOverrides {
    /// Uses `addresses`, in this order, for `host:port` (replacing an earlier entry).
    pub fn insert(&mut self, host: &str, port: u16, addresses: Vec<SocketAddr>) {
        self.entries.insert((bare(host).to_ascii_lowercase(), port), addresses);
    }

    /// The addresses given for `host:port`, if any.
    pub fn get(&self, host: &str, port: u16) -> Option<&[SocketAddr]> {
        if self.entries.is_empty() {
            return None;
        }
        self.entries.get(&(bare(host).to_ascii_lowercase(), port)).map(Vec::as_slice)
    }

    /// Whether there is no override.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Parses curl's form `HOST:PORT:ADDRESS[,ADDRESS…]`, IPv6 addresses in brackets
    /// (`example.com:443:[::1],127.0.0.1`).
    ///
    /// ```
    /// let (host, port, addresses) = netaccess_connect::ResolveOverrides::parse("example.com:443:[::1],127.0.0.1").unwrap();
    /// assert_eq!((host.as_str(), port), ("example.com", 443));
    /// assert_eq!(addresses, ["::1".parse::<std::net::IpAddr>().unwrap(), "127.0.0.1".parse().unwrap()]);
    /// ```
    ///
    /// # Errors
    /// The text does not have that form; the message says what is wrong.
    pub fn parse(text: &str) -> Result<(String, u16, Vec<IpAddr>), String> {
        let form = "expected HOST:PORT:ADDRESS[,ADDRESS...]";
        let (host, rest) = text.split_once(':').ok_or_else(|| format!("{text:?}: {form}"))?;
        let (port, list) = rest.split_once(':').ok_or_else(|| format!("{text:?}: {form}"))?;
        if host.is_empty() {
            return Err(format!("{text:?}: the host is empty; {form}"));
        }
        let port: u16 = port.parse().map_err(|_| format!("{text:?}: {port:?} is not a port number"))?;
        let addresses = list
            .split(',')
            .map(|item| {
                let item = item.trim();
                let inner = item.strip_prefix('[').and_then(|i| i.strip_suffix(']')).unwrap_or(item);
                inner.parse::<IpAddr>().map_err(|_| format!("{text:?}: {item:?} is not an IP address"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((host.to_owned(), port, addresses))
    }
}

/// A host as URLs write it, without an IPv6 literal's brackets.
pub(crate) fn bare(host: &str) -> &str {
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curls_form_is_read_with_several_addresses_and_bracketed_ipv6() {
        let (host, port, addresses) = ResolveOverrides::parse("Example.COM:8443:[::1],127.0.0.2").unwrap();
        assert_eq!(host, "Example.COM");
        assert_eq!(port, 8443);
        assert_eq!(addresses, vec!["::1".parse::<IpAddr>().unwrap(), "127.0.0.2".parse().unwrap()]);
        let mut overrides = ResolveOverrides::default();
        let sockets: Vec<SocketAddr> = addresses.iter().map(|ip| SocketAddr::new(*ip, port)).collect();
        overrides.insert(&host, port, sockets.clone());
        assert_eq!(overrides.get("example.com", 8443), Some(sockets.as_slice()));
        assert_eq!(overrides.get("example.com", 443), None);
    }

    #[test]
    fn malformed_overrides_say_what_is_wrong() {
        for (text, says) in [
            ("example.com", "expected HOST:PORT"),
            ("example.com:http:127.0.0.1", "not a port number"),
            ("example.com:80:localhost", "not an IP address"),
            (":80:127.0.0.1", "the host is empty"),
        ] {
            let error = ResolveOverrides::parse(text).unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
        }
    }
}
