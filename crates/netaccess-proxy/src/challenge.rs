//! Answering Basic and Digest challenges, for servers (401) and proxies (407).
//!
//! # Design
//!
//! Parsing and hashing come from the `http-auth` crate (RFC 7617 Basic in UTF-8; RFC 7616
//! Digest: MD5, SHA-256, SHA-512-256, `-sess`, qop auth and auth-int, userhash). Of several
//! challenges the strongest known wins: Digest SHA-512-256, SHA-256, MD5, then Basic.

use http::header::{HeaderMap, HeaderName};
use http_auth::{PasswordClient, PasswordParams};

/// Answers `client`'s challenge.
///
/// `http-auth` puts the body itself where RFC 7616 3.4.3 puts `H(entity-body)` in A2 for
/// `qop=auth-int`; handing it the hex digest of the body instead gives the RFC's value.
pub fn respond(
    client: &mut PasswordClient,
    user: &str,
    password: &str,
    uri: &str,
    method: &str,
    body: Option<&[u8]>,
) -> Option<String> {
    let body_digest = match (&*client, body) {
        (PasswordClient::Digest(digest), Some(body)) => Some(hex_digest(digest.algorithm(), body)),
        _ => None,
    };
    let params =
        PasswordParams { username: user, password, uri, method, body: body_digest.as_deref().map(str::as_bytes) };
    client.respond(&params).ok()
}

fn hex_digest(algorithm: http_auth::digest::Algorithm, data: &[u8]) -> String {
    use sha2::Digest;
    let bytes: Vec<u8> = match algorithm {
        http_auth::digest::Algorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
        http_auth::digest::Algorithm::Sha512Trunc256 => sha2::Sha512_256::digest(data).to_vec(),
        _ => md5::Md5::digest(data).to_vec(),
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The strongest challenge (in the `field` header: `WWW-Authenticate` or `Proxy-Authenticate`)
/// this crate can answer, with its scheme and realm; `None`
/// when there is none it knows.
pub fn strongest_challenge(headers: &HeaderMap, field: HeaderName) -> Option<(PasswordClient, String, String)> {
    let text: Vec<&str> = headers.get_all(field).iter().filter_map(|v| v.to_str().ok()).collect();
    let text = text.join(", ");
    let challenges = http_auth::parse_challenges(&text).ok()?;
    let rank = |c: &http_auth::ChallengeRef<'_>| -> Option<u8> {
        if c.scheme.eq_ignore_ascii_case("Basic") {
            return Some(1);
        }
        if !c.scheme.eq_ignore_ascii_case("Digest") {
            return None;
        }
        let algorithm =
            c.params.iter().find(|(k, _)| k.eq_ignore_ascii_case("algorithm")).map(|(_, v)| v.to_unescaped());
        Some(match algorithm.as_deref().map(str::to_ascii_uppercase).as_deref() {
            Some(a) if a.starts_with("SHA-512-256") => 4,
            Some(a) if a.starts_with("SHA-256") => 3,
            _ => 2,
        })
    };
    let best = challenges
        .iter()
        .filter_map(|c| Some((rank(c)?, c)))
        .filter(|(_, c)| PasswordClient::try_from(*c).is_ok())
        .max_by_key(|(r, _)| *r)?
        .1;
    let client = PasswordClient::try_from(best).ok()?;
    let realm = match &client {
        PasswordClient::Basic(basic) => basic.realm().to_owned(),
        PasswordClient::Digest(digest) => digest.realm().to_owned(),
        _ => String::new(),
    };
    Some((client, best.scheme.to_owned(), realm))
}

/// A description of the challenges for an error message: `Basic realm "x"`.
pub fn describe(headers: &HeaderMap, field: HeaderName) -> Option<String> {
    match strongest_challenge(headers, field.clone()) {
        Some((_, scheme, realm)) => Some(format!("{scheme} authentication, realm \"{realm}\"")),
        None => headers
            .get(field)
            .and_then(|v| v.to_str().ok())
            .map(|v| format!("an authentication scheme this client does not know ({v})")),
    }
}
