//! The authentication routes of the test server: Basic, Digest (MD5, MD5-sess, SHA-256,
//! SHA-256-sess; qop auth and auth-int; userhash), a stale nonce, several challenges at once,
//! and a scheme nobody knows. The user is `alice`, the password `secret`.

use std::sync::atomic::Ordering;

use base64::Engine;
use md5::Md5;
use sha2::{Digest, Sha256};

use crate::http_server::Seen;

/// The user the routes accept.
pub const USER: &str = "alice";
/// Her password.
pub const PASSWORD: &str = "secret";
/// The realm of the Digest routes.
pub const DIGEST_REALM: &str = "digest realm";

/// What an authentication route answers: `Ok(body)` when the request is authorized, else the
/// `WWW-Authenticate` values of a 401.
pub(crate) fn check(
    segments: &[&str],
    method: &str,
    uri: &str,
    authorization: Option<&str>,
    body: &[u8],
    seen: &Seen,
) -> Result<String, Vec<String>> {
    let nonce = format!("nonce-{}", seen.nonce.load(Ordering::SeqCst));
    match segments {
        ["basic", realm, ..] => {
            let expected =
                format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}")));
            if authorization == Some(expected.as_str()) {
                Ok(format!("welcome {USER}"))
            } else {
                Err(vec![format!("Basic realm=\"{realm}\"")])
            }
        }
        ["digest", algorithm, qop, rest @ ..] => {
            let userhash = rest.first() == Some(&"userhash");
            let challenge = format!(
                "Digest realm=\"{DIGEST_REALM}\", qop=\"{qop}\", algorithm={algorithm}, nonce=\"{nonce}\", opaque=\"xyz\"{}",
                if userhash { ", userhash=true" } else { "" }
            );
            match authorization.and_then(|a| a.strip_prefix("Digest ")).map(parse_params) {
                Some(params) if verify(&params, algorithm, method, uri, body, userhash) => {
                    if params.iter().any(|(k, v)| k == "nonce" && *v != nonce) {
                        Err(vec![format!("{challenge}, stale=true")])
                    } else {
                        Ok(format!("welcome {USER}"))
                    }
                }
                _ => Err(vec![challenge]),
            }
        }
        ["both", ..] => match authorization {
            Some(a) if a.starts_with("Digest ") => {
                check(&["digest", "SHA-256", "auth"], method, uri, authorization, body, seen)
            }
            _ => Err(vec![
                "Basic realm=\"both\"".to_owned(),
                format!("Digest realm=\"{DIGEST_REALM}\", qop=\"auth\", algorithm=MD5, nonce=\"{nonce}\""),
                format!("Digest realm=\"{DIGEST_REALM}\", qop=\"auth\", algorithm=SHA-256, nonce=\"{nonce}\""),
            ]),
        },
        _ => Err(vec!["Negotiate".to_owned()]),
    }
}

fn parse_params(text: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else { break };
        let (value, remaining) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"').unwrap_or(quoted.len());
                (&quoted[..end], quoted.get(end + 1..).unwrap_or(""))
            }
            None => after.split_once(',').map_or((after, ""), |(v, r)| (v, r)),
        };
        params.push((key.trim().to_ascii_lowercase(), value.trim().to_owned()));
        rest = remaining.trim_start_matches([',', ' ']);
    }
    params
}

fn hash(algorithm: &str, data: &[u8]) -> String {
    let bytes: Vec<u8> =
        if algorithm.starts_with("SHA-256") { Sha256::digest(data).to_vec() } else { Md5::digest(data).to_vec() };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn verify(params: &[(String, String)], algorithm: &str, method: &str, uri: &str, body: &[u8], userhash: bool) -> bool {
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("");
    let username =
        if userhash { hash(algorithm, format!("{USER}:{DIGEST_REALM}").as_bytes()) } else { USER.to_owned() };
    if get("username") != username || get("uri") != uri || get("realm") != DIGEST_REALM {
        return false;
    }
    let (nonce, cnonce, nc, qop) = (get("nonce"), get("cnonce"), get("nc"), get("qop"));
    let mut a1 = hash(algorithm, format!("{USER}:{DIGEST_REALM}:{PASSWORD}").as_bytes());
    if algorithm.ends_with("-sess") {
        a1 = hash(algorithm, format!("{a1}:{nonce}:{cnonce}").as_bytes());
    }
    let a2 = if qop == "auth-int" {
        hash(algorithm, format!("{method}:{uri}:{}", hash(algorithm, body)).as_bytes())
    } else {
        hash(algorithm, format!("{method}:{uri}").as_bytes())
    };
    get("response") == hash(algorithm, format!("{a1}:{nonce}:{nc}:{cnonce}:{qop}:{a2}").as_bytes())
}
