//! What the driver does after a response head, decided as a value: no I/O, no handler asked.
//!
//! # Design
//!
//! The driver's loop is a state machine whose steps are decided here and carried out there.
//! Before a hop, the send-time decisions (cookies in, credentials known by then) are
//! [`crate::at_send`]'s and the cache's validators are [`crate::cache`]'s; after the response
//! head, [`after_head`] names the next step from the status, the `Location` and the request's
//! redirect settings. The steps that need someone to answer (the authentication handler, a
//! user-verified redirect) are named as such ([`Next::Authenticate`], a [`Next::Follow`] with
//! `verify`), and the driver asks, then goes on. Each branch is unit-tested below without a
//! socket.

use netaccess_core::{NetworkError, Operation, RedirectPolicy};
use url::Url;

use crate::redirect;

/// Where a request stands when a response head arrived.
#[derive(Debug, Clone)]
pub(crate) struct Standing<'a> {
    /// The URL of the hop that was answered.
    pub(crate) url: &'a Url,
    /// Its operation.
    pub(crate) operation: &'a Operation,
    /// Whether the hop was http or https (authentication applies).
    pub(crate) is_http: bool,
    /// The redirect policy in force.
    pub(crate) policy: RedirectPolicy,
    /// Redirects followed so far, and the most allowed.
    pub(crate) hops: u32,
    pub(crate) max_hops: u32,
    /// The manager's HSTS policies, which may make a redirect target https.
    pub(crate) hsts: Option<&'a crate::hsts::Hsts>,
}

/// The next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Next {
    /// The response is the reply's.
    Deliver,
    /// A 401: ask for credentials; if none come, deliver the 401 as it is.
    Authenticate,
    /// A redirect the policy does not follow: deliver it, naming where it pointed.
    DeliverRedirect { location: String },
    /// Follow a redirect (after asking the redirect handler when `verify`; if it says no,
    /// deliver as [`Next::DeliverRedirect`] would).
    Follow {
        /// The next hop's URL.
        url: Url,
        /// Its operation (a 303, or a 301/302 after POST, becomes GET).
        operation: Operation,
        /// Whether the body goes again (307, 308).
        keeps_body: bool,
        /// The `Location` as sent.
        location: String,
        /// Whether the redirect handler must allow it first (`UserVerified`).
        verify: bool,
    },
}

/// Decides the next step from a response's status and `Location`.
///
/// # Errors
/// A redirect that may not be followed at all: too many, an insecure downgrade, a scheme
/// nobody serves (as [`redirect::next_url`] says).
pub(crate) fn after_head(standing: &Standing<'_>, status: u16, location: Option<&str>) -> Result<Next, NetworkError> {
    if status == 401 && standing.is_http {
        return Ok(Next::Authenticate);
    }
    let Some(location) = location.filter(|_| redirect::is_redirect(status)) else {
        return Ok(Next::Deliver);
    };
    let upgrade = |url: &mut Url| {
        if let Some(hsts) = standing.hsts {
            hsts.upgrade(url);
        }
    };
    let next = redirect::next_url_upgraded(
        standing.url,
        location,
        standing.policy,
        standing.hops,
        standing.max_hops,
        upgrade,
    )?;
    Ok(match next {
        Some(url) => {
            let (operation, keeps_body) = redirect::next_operation(status, standing.operation);
            Next::Follow {
                url,
                operation,
                keeps_body,
                location: location.to_owned(),
                verify: standing.policy == RedirectPolicy::UserVerified,
            }
        }
        None => Next::DeliverRedirect { location: location.to_owned() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use netaccess_core::NetworkErrorKind;

    fn decide(
        url: &str,
        operation: Operation,
        policy: RedirectPolicy,
        status: u16,
        location: Option<&str>,
    ) -> Result<Next, NetworkError> {
        let url = Url::parse(url).unwrap();
        let is_http = matches!(url.scheme(), "http" | "https");
        let standing =
            Standing { url: &url, operation: &operation, is_http, policy, hops: 0, max_hops: 50, hsts: None };
        after_head(&standing, status, location)
    }

    #[test]
    fn a_final_status_is_delivered_even_with_a_location() {
        for status in [200, 204, 304, 404, 500] {
            assert_eq!(
                decide("http://a/", Operation::Get, RedirectPolicy::NoLessSafe, status, Some("/x")).unwrap(),
                Next::Deliver
            );
        }
    }

    #[test]
    fn a_401_asks_for_credentials_only_over_http() {
        assert_eq!(
            decide("https://a/", Operation::Get, RedirectPolicy::NoLessSafe, 401, None).unwrap(),
            Next::Authenticate
        );
        assert_eq!(decide("ftp://a/f", Operation::Get, RedirectPolicy::NoLessSafe, 401, None).unwrap(), Next::Deliver);
    }

    #[test]
    fn redirects_follow_with_the_operation_and_body_their_status_asks_for() {
        let follow =
            |status, operation| decide("http://a/p", operation, RedirectPolicy::NoLessSafe, status, Some("/q"));
        match follow(303, Operation::Post).unwrap() {
            Next::Follow { url, operation, keeps_body, verify, .. } => {
                assert_eq!(url.as_str(), "http://a/q");
                assert_eq!(operation, Operation::Get);
                assert!(!keeps_body && !verify);
            }
            other => panic!("{other:?}"),
        }
        match follow(307, Operation::Post).unwrap() {
            Next::Follow { operation, keeps_body, .. } => assert!(operation == Operation::Post && keeps_body),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_manual_policy_delivers_the_redirect_and_a_verified_one_asks() {
        assert_eq!(
            decide("http://a/", Operation::Get, RedirectPolicy::Manual, 302, Some("/b")).unwrap(),
            Next::DeliverRedirect { location: "/b".to_owned() }
        );
        assert!(matches!(
            decide("http://a/", Operation::Get, RedirectPolicy::UserVerified, 302, Some("/b")).unwrap(),
            Next::Follow { verify: true, .. }
        ));
    }

    #[test]
    fn a_downgrade_or_too_many_hops_is_an_error() {
        let error =
            decide("https://a/", Operation::Get, RedirectPolicy::NoLessSafe, 302, Some("http://a/")).unwrap_err();
        assert_eq!(error.kind(), NetworkErrorKind::InsecureRedirectError);
        let url = Url::parse("http://a/").unwrap();
        let operation = Operation::Get;
        let standing = Standing {
            url: &url,
            operation: &operation,
            is_http: true,
            policy: RedirectPolicy::NoLessSafe,
            hops: 3,
            max_hops: 3,
            hsts: None,
        };
        assert_eq!(after_head(&standing, 302, Some("/b")).unwrap_err().kind(), NetworkErrorKind::TooManyRedirectsError);
    }
}
