//! What a hop decides when it is sent on its connection: the jar's `Cookie`, the credentials
//! known by then, and the response's `Set-Cookie` stored before the connection serves anyone
//! else.
//!
//! # Design
//!
//! Qt decides `Authorization` when a request is sent on a connection, and reads the cookie jar
//! when the request is created. netaccess decides both at send time (a deliberate improvement
//! over Qt for cookies): a request queued behind a response that set or deleted a cookie sees
//! the jar as it is when it goes out, and requests queued behind an answered 401 carry the
//! answer instead of each meeting the challenge again. The HTTP backend calls [`AtSend`] once
//! the request holds its pool slot, before each head is written, and shows it the response head
//! while it still holds the slot; for a backend that does not ([`Backend::decides_at_send_time`]
//! is false), the driver calls it just before and after [`Backend::send`].
//!
//! The `Cookie` header a caller set is kept, the jar's cookies added after it (see
//! [`crate::cookies`]); an `Authorization` the caller set is never replaced.
//!
//! [`Backend::decides_at_send_time`]: netaccess_core::Backend::decides_at_send_time
//! [`Backend::send`]: netaccess_core::Backend::send

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, AUTHORIZATION, COOKIE};
use netaccess_cookie::CookieJar;
use netaccess_core::SendTime;
use url::Url;

use crate::auth::{Answer, AuthCache};
use crate::cookies;

/// One hop's send-time decisions.
pub(crate) struct AtSend {
    pub(crate) jar: Arc<dyn CookieJar>,
    /// Whether the jar's cookies are added (cookie load control automatic, http or https).
    pub(crate) load_cookies: bool,
    /// Whether `Set-Cookie` goes into the jar (cookie save control automatic, http or https).
    pub(crate) save_cookies: bool,
    /// The `Cookie` header the caller set, kept in front of the jar's.
    pub(crate) caller_cookie: Option<HeaderValue>,
    pub(crate) auth: Arc<AuthCache>,
    /// Whether cached credentials may be sent unasked (authentication reuse automatic, http or
    /// https).
    pub(crate) preemptive: bool,
    /// Whether the caller set `Authorization` (then nothing replaces it).
    pub(crate) caller_authorization: bool,
    /// The answer to the 401 this hop retries after.
    pub(crate) answer: Mutex<Option<Answer>>,
    /// The body, when it is held in memory (Digest `auth-int` hashes it).
    pub(crate) body: Option<Bytes>,
    /// The headers as they left, kept when a HAR recorder wants them.
    pub(crate) sent: Option<Mutex<Option<HeaderMap>>>,
}

impl SendTime for AtSend {
    fn before_send(&self, url: &Url, method: &str, headers: &mut HeaderMap) {
        self.decide(url, method, headers);
        if let Some(sent) = &self.sent {
            *sent.lock().unwrap_or_else(|e| e.into_inner()) = Some(headers.clone());
        }
    }

    fn on_response_head(&self, url: &Url, headers: &HeaderMap) {
        if self.save_cookies {
            cookies::save(self.jar.as_ref(), url, headers);
        }
    }
}

impl AtSend {
    /// The jar's cookies and the credentials known now, into `headers`.
    fn decide(&self, url: &Url, method: &str, headers: &mut HeaderMap) {
        if self.load_cookies {
            headers.remove(COOKIE);
            if let Some(value) = &self.caller_cookie {
                headers.insert(COOKIE, value.clone());
            }
            cookies::load(self.jar.as_ref(), url, headers);
        }
        let body = self.body.as_deref();
        // The caller's own `Authorization` goes as it is, until a 401 refused it and a round
        // answered the challenge: then the answer replaces it (a preemptive Basic, as curl's
        // `-u`, that a Digest server challenges).
        let answered = self
            .answer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
            .and_then(|answer| answer.authorization(&self.auth, url, method, body));
        let value = match answered {
            Some(value) => Some(value),
            None if self.caller_authorization => return,
            None if self.preemptive => self.auth.preemptive(url, method, body),
            None => None,
        };
        match value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            Some(value) => {
                headers.insert(AUTHORIZATION, value);
            }
            None => {
                headers.remove(AUTHORIZATION);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netaccess_cookie::DefaultCookieJar;

    fn at_send(jar: Arc<dyn CookieJar>, auth: Arc<AuthCache>, caller_cookie: Option<&'static str>) -> AtSend {
        AtSend {
            jar,
            load_cookies: true,
            save_cookies: true,
            caller_cookie: caller_cookie.map(HeaderValue::from_static),
            auth,
            preemptive: true,
            caller_authorization: false,
            answer: Mutex::new(None),
            body: None,
            sent: None,
        }
    }

    fn set_cookie(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::SET_COOKIE, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn the_jar_is_read_when_the_head_goes_out_and_a_response_head_writes_it() {
        let jar: Arc<dyn CookieJar> = Arc::new(DefaultCookieJar::new());
        let url = Url::parse("http://a.example/x").unwrap();
        let first = at_send(jar.clone(), Arc::default(), None);
        let waiting = at_send(jar.clone(), Arc::default(), Some("mine=1"));
        let mut headers = HeaderMap::new();
        waiting.before_send(&url, "GET", &mut headers);
        assert_eq!(headers[COOKIE], "mine=1", "the caller's cookie alone while the jar is empty");

        first.on_response_head(&url, &set_cookie("session=42; Path=/"));
        waiting.before_send(&url, "GET", &mut headers);
        assert_eq!(headers[COOKIE], "mine=1; session=42", "decided again at the next send, not added twice");

        first.on_response_head(&url, &set_cookie("session=; Max-Age=0; Path=/"));
        waiting.before_send(&url, "GET", &mut headers);
        assert_eq!(headers[COOKIE], "mine=1");
    }

    #[test]
    fn credentials_come_from_the_cache_unless_the_caller_set_them() {
        let url = Url::parse("http://a.example/x").unwrap();
        let jar: Arc<dyn CookieJar> = Arc::new(DefaultCookieJar::new());
        let auth = Arc::new(AuthCache::default());
        let mut headers = HeaderMap::new();
        at_send(jar.clone(), auth.clone(), None).before_send(&url, "GET", &mut headers);
        assert!(!headers.contains_key(AUTHORIZATION), "nothing answered yet");

        let mut challenge = HeaderMap::new();
        challenge.insert(http::header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"r\""));
        auth.answer_for_test(&url, &challenge, crate::auth::Credentials::new("alice", "secret"));
        at_send(jar.clone(), auth.clone(), None).before_send(&url, "GET", &mut headers);
        assert_eq!(headers[AUTHORIZATION], "Basic YWxpY2U6c2VjcmV0");

        let mut own = at_send(jar, auth, None);
        own.caller_authorization = true;
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        own.before_send(&url, "GET", &mut headers);
        assert_eq!(headers[AUTHORIZATION], "Bearer t");
    }
}
