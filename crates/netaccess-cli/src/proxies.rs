//! `-x`, `--noproxy` and `--proxy-user`: which proxy each URL takes.

use netaccess::{NoProxy, Proxy, ProxyAuthenticationChallenge, ProxyAuthenticationHandler, ProxyFactory, ProxyQuery};

use crate::args::Args;

/// `-x` if given, else the environment; `--noproxy` sends matching hosts direct either way.
pub(crate) struct CliProxies {
    proxy: Option<Proxy>,
    no_proxy: Option<NoProxy>,
    environment: netaccess::SystemProxyFactory,
}

impl CliProxies {
    pub(crate) fn new(args: &Args) -> Self {
        let proxy = args.proxy.clone().map(|proxy| match (&args.proxy_user, &proxy.user) {
            (Some(user), None) => {
                let (name, password) = user.split_once(':').unwrap_or((user, ""));
                proxy.with_credentials(name, password)
            }
            _ => proxy,
        });
        Self {
            proxy,
            no_proxy: args.noproxy.as_deref().map(NoProxy::parse),
            environment: netaccess::SystemProxyFactory::from_env(),
        }
    }
}

impl ProxyFactory for CliProxies {
    fn query_proxy(&self, query: &ProxyQuery) -> Vec<Proxy> {
        let host = query.url.host_str().unwrap_or_default();
        let port = query.url.port_or_known_default().unwrap_or(0);
        if self.no_proxy.as_ref().is_some_and(|rules| rules.matches(host, port)) {
            return vec![Proxy::none()];
        }
        match &self.proxy {
            Some(proxy) => vec![proxy.clone()],
            None => self.environment.query_proxy(query),
        }
    }
}

/// `--proxy-user`: answers the proxy's first challenge, gives up once those were rejected.
pub(crate) struct FixedProxyCredentials(pub(crate) String, pub(crate) String);

impl ProxyAuthenticationHandler for FixedProxyCredentials {
    fn credentials(
        &self,
        challenge: ProxyAuthenticationChallenge,
    ) -> futures::future::BoxFuture<'static, Option<(String, String)>> {
        let answer = (!challenge.retry).then(|| (self.0.clone(), self.1.clone()));
        Box::pin(async move { answer })
    }
}
