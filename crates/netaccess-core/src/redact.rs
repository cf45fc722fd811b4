//! Keeping passwords out of what is shown: error messages, logs, verbose output.
//!
//! # Design
//!
//! A URL may carry `user:password@`. The request keeps it (the backends need it), but every text
//! meant for people goes through [`redact_password`], which drops the password and keeps the
//! user name, as curl's verbose output does. It works on the text as written rather than on a
//! parsed [`url::Url`], so the URL still reads as the caller wrote it, and text that does not
//! parse is redacted all the same.

use std::borrow::Cow;

/// `url` without the password in its userinfo; unchanged when it has none.
///
/// ```
/// use netaccess_core::redact_password;
/// assert_eq!(redact_password("http://bob:hunter2@example.com/a?b"), "http://bob@example.com/a?b");
/// assert_eq!(redact_password("ftp://anonymous@example.com/"), "ftp://anonymous@example.com/");
/// assert_eq!(redact_password("file:///tmp/a:b@c"), "file:///tmp/a:b@c");
/// ```
pub fn redact_password(url: &str) -> Cow<'_, str> {
    let Some(scheme_end) = url.find("://") else {
        return Cow::Borrowed(url);
    };
    let authority_start = scheme_end + 3;
    let authority_len = url[authority_start..].find(['/', '?', '#']).unwrap_or(url.len() - authority_start);
    let authority = &url[authority_start..authority_start + authority_len];
    let Some(at) = authority.rfind('@') else {
        return Cow::Borrowed(url);
    };
    let Some(colon) = authority[..at].find(':') else {
        return Cow::Borrowed(url);
    };
    let password_start = authority_start + colon;
    let password_end = authority_start + at;
    Cow::Owned(format!("{}{}", &url[..password_start], &url[password_end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_go_and_everything_else_stays() {
        let cases = [
            ("https://u:p@h:8443/x", "https://u@h:8443/x"),
            ("http://u:p:q@h/", "http://u@h/"),
            ("http://u:p@h", "http://u@h"),
            ("http://:p@h/", "http://@h/"),
            ("http://u%40x:p%3A@h/", "http://u%40x@h/"),
            ("http://h/path?next=http://a:b@c", "http://h/path?next=http://a:b@c"),
            ("socks5h://user:secret@127.0.0.1:1080", "socks5h://user@127.0.0.1:1080"),
            ("data:text/plain,a:b@c", "data:text/plain,a:b@c"),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(redact_password(input), expected, "{input}");
        }
    }
}
