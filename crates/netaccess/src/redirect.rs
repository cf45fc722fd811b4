//! Redirects: which are followed, where they lead, and what a followed hop keeps.
//!
//! # Design
//!
//! Qt's rules (qt-semantics 1.2): the statuses 301, 302, 303, 305, 307 and 308 redirect; the
//! `Location` is resolved against the hop's URL and must be http or https
//! (`ProtocolUnknownError`); past the limit, `TooManyRedirectsError`. The policies: manual (never
//! follow; the reply keeps the 3xx and its `redirection_target`), no-less-safe (the default:
//! https to http is `InsecureRedirectError`), same-origin (scheme, host and port must stay;
//! else `InsecureRedirectError`), user-verified (the manager's [`RedirectHandler`] decides;
//! without one, or on a no, the 3xx is the reply). 301, 302 and 303 turn into GET (HEAD stays
//! HEAD) without body, `Content-Type` or `Content-Length`; 307 and 308 keep the method and send
//! the body again (a body that cannot be replayed gives `ContentReSendError`). `Authorization`,
//! `Cookie` and `Proxy-Authorization` never go to another origin.
//!
//! The `url` crate forgets an explicit default port (`http://h:80/` is `http://h/`), so unlike
//! Qt an explicit and an implicit default port count as the same origin.

use futures::future::BoxFuture;
use http::header::{self, HeaderMap};
use netaccess_core::{NetworkError, NetworkErrorKind, Operation, RedirectPolicy};
use url::Url;

/// Decides user-verified redirects (Qt's `redirected` signal answered by `redirectAllowed`).
///
/// ```
/// use futures::future::{BoxFuture, FutureExt};
/// use netaccess::RedirectHandler;
///
/// /// Follows redirects within example.com only.
/// struct StayHome;
/// impl RedirectHandler for StayHome {
///     fn allow(&self, _from: &url::Url, to: &url::Url) -> BoxFuture<'static, bool> {
///         let ok = to.host_str().is_some_and(|h| h.ends_with("example.com"));
///         async move { ok }.boxed()
///     }
/// }
/// ```
pub trait RedirectHandler: Send + Sync + 'static {
    /// Whether the redirect from `from` to `to` may be followed.
    fn allow(&self, from: &Url, to: &Url) -> BoxFuture<'static, bool>;
}

/// The statuses that redirect.
pub(crate) fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 305 | 307 | 308)
}

/// Resolves and checks a `Location` against the policy. `Ok(None)`: do not follow (manual).
#[cfg(test)]
pub(crate) fn next_url(
    from: &Url,
    location: &str,
    policy: RedirectPolicy,
    hops_done: u32,
    max_hops: u32,
) -> Result<Option<Url>, NetworkError> {
    next_url_upgraded(from, location, policy, hops_done, max_hops, |_| ())
}

/// [`next_url`], with `upgrade` applied to the resolved target before it is judged (HSTS makes
/// a known host's http target https there).
pub(crate) fn next_url_upgraded(
    from: &Url,
    location: &str,
    policy: RedirectPolicy,
    hops_done: u32,
    max_hops: u32,
    upgrade: impl FnOnce(&mut Url),
) -> Result<Option<Url>, NetworkError> {
    if policy == RedirectPolicy::Manual {
        return Ok(None);
    }
    let mut to = from.join(location.trim()).map_err(|err| {
        NetworkError::new(
            NetworkErrorKind::ProtocolUnknownError,
            from.as_str(),
            format!("the redirect location {location:?} is not a valid URL: {err}"),
        )
    })?;
    upgrade(&mut to);
    if !matches!(to.scheme(), "http" | "https") {
        return Err(NetworkError::new(
            NetworkErrorKind::ProtocolUnknownError,
            from.as_str(),
            format!("the redirect goes to an unsupported scheme: Protocol \"{}\" is unknown", to.scheme()),
        ));
    }
    if hops_done >= max_hops {
        return Err(NetworkError::new(
            NetworkErrorKind::TooManyRedirectsError,
            from.as_str(),
            format!("more than {max_hops} redirects (the next one goes to {to})"),
        ));
    }
    let insecure = |why: &str| {
        NetworkError::new(NetworkErrorKind::InsecureRedirectError, from.as_str(), format!("{why}: {from} -> {to}"))
    };
    match policy {
        RedirectPolicy::NoLessSafe if from.scheme() == "https" && to.scheme() == "http" => {
            Err(insecure("a redirect from https to http is less safe"))
        }
        RedirectPolicy::SameOrigin if from.origin() != to.origin() => Err(insecure("the redirect leaves the origin")),
        _ => Ok(Some(to)),
    }
}

/// The operation of the next hop, and whether the body goes along.
pub(crate) fn next_operation(status: u16, operation: &Operation) -> (Operation, bool) {
    match status {
        307 | 308 => (operation.clone(), true),
        _ if operation.is_head() => (Operation::Head, false),
        _ => (Operation::Get, false),
    }
}

/// The headers of the next hop: without the body's headers when the body is dropped, without
/// credentials and cookies when the origin changes.
pub(crate) fn next_headers(headers: &mut HeaderMap, keeps_body: bool, from: &Url, to: &Url) {
    if !keeps_body {
        for name in [header::CONTENT_TYPE, header::CONTENT_LENGTH, header::TRANSFER_ENCODING, header::CONTENT_ENCODING]
        {
            headers.remove(name);
        }
    }
    if from.origin() != to.origin() {
        for name in [header::AUTHORIZATION, header::COOKIE, header::PROXY_AUTHORIZATION] {
            headers.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn policies() {
        use RedirectPolicy::*;
        let https = url("https://a.example/x");
        let kind = |r: Result<Option<Url>, NetworkError>| r.map(|u| u.map(|u| u.to_string())).map_err(|e| e.kind());
        assert_eq!(kind(next_url(&https, "/y", NoLessSafe, 0, 50)), Ok(Some("https://a.example/y".into())));
        assert_eq!(
            kind(next_url(&https, "http://a.example/", NoLessSafe, 0, 50)),
            Err(NetworkErrorKind::InsecureRedirectError)
        );
        assert_eq!(
            kind(next_url(&https, "https://b.example/", SameOrigin, 0, 50)),
            Err(NetworkErrorKind::InsecureRedirectError)
        );
        assert_eq!(
            kind(next_url(&https, "https://a.example:444/", SameOrigin, 0, 50)),
            Err(NetworkErrorKind::InsecureRedirectError)
        );
        assert_eq!(
            kind(next_url(&https, "https://a.example:443/z", SameOrigin, 0, 50)),
            Ok(Some("https://a.example/z".into()))
        );
        assert_eq!(kind(next_url(&https, "/y", Manual, 0, 50)), Ok(None));
        assert_eq!(
            kind(next_url(&https, "ftp://a.example/", NoLessSafe, 0, 50)),
            Err(NetworkErrorKind::ProtocolUnknownError)
        );
        assert_eq!(kind(next_url(&https, "/y", NoLessSafe, 50, 50)), Err(NetworkErrorKind::TooManyRedirectsError));
        assert_eq!(
            kind(next_url(&https, "http://[bad", NoLessSafe, 0, 50)),
            Err(NetworkErrorKind::ProtocolUnknownError)
        );
    }

    #[test]
    fn method_rewrites() {
        assert_eq!(next_operation(303, &Operation::Post), (Operation::Get, false));
        assert_eq!(next_operation(301, &Operation::Head), (Operation::Head, false));
        assert_eq!(next_operation(307, &Operation::Post), (Operation::Post, true));
        assert_eq!(next_operation(308, &Operation::Put), (Operation::Put, true));
    }

    #[test]
    fn credentials_stay_at_their_origin() {
        let mut headers = HeaderMap::new();
        for name in [header::AUTHORIZATION, header::COOKIE, header::PROXY_AUTHORIZATION, header::CONTENT_TYPE] {
            headers.insert(name, "x".parse().unwrap());
        }
        let mut same = headers.clone();
        next_headers(&mut same, true, &url("http://a/"), &url("http://a/b"));
        assert_eq!(same.len(), 4);
        next_headers(&mut headers, false, &url("http://a/"), &url("http://b/"));
        assert!(headers.is_empty());
    }
}
