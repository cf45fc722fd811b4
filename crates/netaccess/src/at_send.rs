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
    /// https, and no `Authorization` set by the caller).
    pub(crate) preemptive: bool,
    /// Whether the caller set `Authorization` (then nothing replaces it).
    pub(crate) caller_authorization: bool,
    /// The answer to the 401 this hop retries after.
    pub(crate) answer: Mutex<Option<Answer>>,
    /// The body, when it is held in memory (Digest `auth-int` hashes it).
    pub(crate) body: Option<Bytes>,
}

impl SendTime for AtSend {
    fn before_send(&self, url: &Url, method: &str, headers: &mut HeaderMap) {
        if self.load_cookies {
            headers.remove(COOKIE);
            if let Some(value) = &self.caller_cookie {
                headers.insert(COOKIE, value.clone());
            }
            cookies::load(self.jar.as_ref(), url, headers);
        }
        if self.caller_authorization {
            return;
        }
        let body = self.body.as_deref();
        let answered = self
            .answer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
            .and_then(|answer| answer.authorization(&self.auth, url, method, body));
        let value = match answered {
            Some(value) => Some(value),
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

    fn on_response_head(&self, url: &Url, headers: &HeaderMap) {
        if self.save_cookies {
            cookies::save(self.jar.as_ref(), url, headers);
        }
    }
}
