//! The system proxy factory on Unix: the environment variables curl and Qt read.
//!
//! # Design
//!
//! - `http_proxy`, `https_proxy`, `ftp_proxy` by the URL's scheme, else `all_proxy`; each name in
//!   lower case first, then upper case. `HTTP_PROXY` in upper case is ignored in a CGI process
//!   (`REQUEST_METHOD` set), where a request header can set it (httpoxy). Unlike Qt, an https
//!   request does not fall back to `http_proxy`: curl does not either.
//! - Values are proxy URLs ([`Proxy::from_url`]): `http://` or no scheme, `socks5://` (names
//!   resolved here), `socks5h://` (by the proxy), credentials in the URL.
//! - `no_proxy` as curl reads it: a comma- or space-separated list; `*` alone matches every host;
//!   a leading `.` or `*.` and a trailing `.` are ignored; a name matches itself and its
//!   subdomains on a label boundary (`example.com` matches `www.example.com`, not
//!   `badexample.com`); IP literals match exactly and CIDR ranges by containment (IPv4 and IPv6);
//!   `host:port` (`[v6]:port`) applies to that port only; case does not matter.
//! - The variables are read once, when the factory is made ([`SystemProxyFactory::from_env`]).

use std::net::IpAddr;

use ipnet::IpNet;

use crate::proxy::{Proxy, ProxyFactory, ProxyQuery};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    Name { name: String, port: Option<u16> },
    Address { address: IpAddr, port: Option<u16> },
    Network(IpNet),
}

/// A parsed `no_proxy` list.
///
/// ```
/// use netaccess_proxy::NoProxy;
/// let rules = NoProxy::parse("localhost, .internal.example, 10.0.0.0/8, [::1]:8080");
/// assert!(rules.matches("api.internal.example", 443));
/// assert!(rules.matches("10.1.2.3", 80));
/// assert!(!rules.matches("::1", 80));
/// assert!(!rules.matches("example.com", 80));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    everything: bool,
    rules: Vec<Rule>,
}

fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some((host, after)) = rest.split_once(']') {
            return (host, after.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) && !port.is_empty() => {
            (host, port.parse().ok())
        }
        _ => (entry, None),
    }
}

impl NoProxy {
    /// Parses a `no_proxy` value.
    pub fn parse(text: &str) -> Self {
        let mut list = NoProxy::default();
        for entry in text.split([',', ' ', '\t']).map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                list.everything = true;
                continue;
            }
            if let Ok(network) = entry.parse::<IpNet>() {
                list.rules.push(Rule::Network(network));
                continue;
            }
            let (host, port) = split_port(entry);
            if let Ok(address) = host.parse::<IpAddr>() {
                list.rules.push(Rule::Address { address, port });
                continue;
            }
            let name = host.trim_start_matches("*.").trim_start_matches('.').trim_end_matches('.').to_ascii_lowercase();
            if !name.is_empty() {
                list.rules.push(Rule::Name { name, port });
            }
        }
        list
    }

    /// Whether a connection to `host:port` goes direct.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        if self.everything {
            return true;
        }
        let host = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase();
        let address = host.parse::<IpAddr>().ok();
        let port_ok = |wanted: &Option<u16>| wanted.is_none_or(|p| p == port);
        self.rules.iter().any(|rule| match (rule, address) {
            (Rule::Network(network), Some(address)) => network.contains(&address),
            (Rule::Address { address: wanted, port: p }, Some(address)) => *wanted == address && port_ok(p),
            (Rule::Name { name, port: p }, None) => {
                port_ok(p)
                    && (host == *name
                        || (host.ends_with(name.as_str()) && host[..host.len() - name.len()].ends_with('.')))
            }
            _ => false,
        })
    }
}

/// The proxies the environment names: see the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct SystemProxyFactory {
    http: Option<Proxy>,
    https: Option<Proxy>,
    ftp: Option<Proxy>,
    all: Option<Proxy>,
    no_proxy: NoProxy,
}

impl SystemProxyFactory {
    /// Reads this process's environment.
    pub fn from_env() -> Self {
        Self::from_vars(std::env::vars())
    }

    /// Reads the given variables (for tests, and for configurations kept elsewhere).
    ///
    /// ```
    /// use netaccess_proxy::{ProxyFactory, ProxyKind, ProxyQuery, SystemProxyFactory};
    /// let factory = SystemProxyFactory::from_vars([("https_proxy", "proxy.local:3128"), ("no_proxy", ".corp")]);
    /// let query = |u: &str| ProxyQuery::for_url(&url::Url::parse(u).unwrap());
    /// assert_eq!(factory.query_proxy(&query("https://example.com/"))[0].port, 3128);
    /// assert_eq!(factory.query_proxy(&query("https://git.corp/"))[0].kind, ProxyKind::NoProxy);
    /// assert_eq!(factory.query_proxy(&query("http://example.com/"))[0].kind, ProxyKind::NoProxy);
    /// ```
    pub fn from_vars<K: AsRef<str>, V: AsRef<str>>(vars: impl IntoIterator<Item = (K, V)>) -> Self {
        let vars: Vec<(String, String)> =
            vars.into_iter().map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned())).collect();
        let cgi = vars.iter().any(|(k, _)| k == "REQUEST_METHOD");
        let get = |lower: &str| -> Option<String> {
            let upper = lower.to_ascii_uppercase();
            let value = vars.iter().find(|(k, _)| k == lower).or_else(|| {
                if cgi && upper == "HTTP_PROXY" {
                    None
                } else {
                    vars.iter().find(|(k, _)| *k == upper)
                }
            });
            value.map(|(_, v)| v.clone()).filter(|v| !v.trim().is_empty())
        };
        let proxy = |name: &str| get(name).and_then(|v| Proxy::from_url(&v));
        Self {
            http: proxy("http_proxy"),
            https: proxy("https_proxy"),
            ftp: proxy("ftp_proxy"),
            all: proxy("all_proxy"),
            no_proxy: NoProxy::parse(&get("no_proxy").unwrap_or_default()),
        }
    }
}

impl ProxyFactory for SystemProxyFactory {
    fn query_proxy(&self, query: &ProxyQuery) -> Vec<Proxy> {
        let specific = match query.protocol.as_str() {
            "http" => &self.http,
            "https" => &self.https,
            "ftp" => &self.ftp,
            _ => &None,
        };
        // Without a proxy for the scheme there is nothing for no_proxy to exempt from.
        let Some(proxy) = specific.as_ref().or(self.all.as_ref()) else {
            return vec![Proxy::none()];
        };
        let url = &query.url;
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default().unwrap_or(0);
        if self.no_proxy.matches(host, port) {
            return vec![Proxy::none()];
        }
        vec![proxy.clone()]
    }
}
