//! What of a hop becomes [`REDACTED`] in a record, and how a replay matches a redacted value
//! (see the [HAR module's design](super)).

use http::HeaderMap;
use serde_json::{json, Value};
use url::Url;

use super::{is_secret_name, REDACTED};

/// The redaction rules of one recorder.
#[derive(Clone, Copy)]
pub(super) struct Redactor<'a> {
    /// [`HarOptions::keep_secrets`](super::HarOptions::keep_secrets): nothing is redacted.
    pub(super) keep: bool,
    /// [`HarOptions::redact`](super::HarOptions::redact).
    pub(super) extra: &'a [String],
}

impl Redactor<'_> {
    fn secret(&self, name: &str) -> bool {
        !self.keep && is_secret_name(name, self.extra)
    }

    /// The URL as recorded: its password and secret query parameters redacted.
    pub(super) fn url(&self, url: &Url) -> String {
        if self.keep {
            return url.to_string();
        }
        let secret_query = url.query_pairs().any(|(name, _)| self.secret(&name));
        if url.password().is_none() && !secret_query {
            return url.to_string();
        }
        let mut url = url.clone();
        if url.password().is_some() {
            let _ = url.set_password(Some(REDACTED));
        }
        if secret_query {
            let pairs: Vec<(String, String)> =
                url.query_pairs().map(|(n, v)| (n.into_owned(), v.into_owned())).collect();
            url.query_pairs_mut().clear().extend_pairs(
                pairs
                    .iter()
                    .map(|(name, value)| (name.as_str(), if self.secret(name) { REDACTED } else { value.as_str() })),
            );
        }
        url.to_string()
    }

    /// HAR's `queryString`.
    pub(super) fn query(&self, url: &Url) -> Vec<Value> {
        url.query_pairs()
            .map(|(name, value)| {
                let value = if self.secret(&name) { REDACTED.into() } else { value };
                json!({ "name": name, "value": value })
            })
            .collect()
    }

    /// HAR's `headers`.
    pub(super) fn headers(&self, map: &HeaderMap) -> Vec<Value> {
        map.iter()
            .map(|(name, value)| {
                let value = if self.secret(name.as_str()) {
                    REDACTED.into()
                } else {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                };
                json!({ "name": name.as_str(), "value": value })
            })
            .collect()
    }

    /// `name=value` pairs as HAR cookies: every value is a secret.
    pub(super) fn cookies<'b>(&self, pairs: impl Iterator<Item = &'b str>) -> Vec<Value> {
        pairs
            .filter_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                let value = if self.keep { value.trim() } else { REDACTED };
                Some(json!({ "name": name.trim(), "value": value }))
            })
            .collect()
    }

    /// A `postData` whose `text` is recorded: secret form fields and JSON members redacted
    /// (a form also gets its `params`).
    pub(super) fn post_data(&self, post: &mut serde_json::Map<String, Value>) {
        let Some(text) = post.get("text").and_then(Value::as_str) else { return };
        let mime = post.get("mimeType").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
        if mime.starts_with("application/x-www-form-urlencoded") {
            let pairs: Vec<(String, String)> = url::form_urlencoded::parse(text.as_bytes())
                .map(|(name, value)| {
                    let value = if self.secret(&name) { REDACTED.to_owned() } else { value.into_owned() };
                    (name.into_owned(), value)
                })
                .collect();
            let params: Vec<Value> =
                pairs.iter().map(|(name, value)| json!({ "name": name, "value": value })).collect();
            if !self.keep && pairs.iter().any(|(name, _)| self.secret(name)) {
                let text = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
                post.insert("text".into(), text.into());
            }
            post.insert("params".into(), params.into());
        } else if mime.contains("json") && !self.keep {
            if let Ok(mut document) = serde_json::from_str::<Value>(text) {
                if self.redact_members(&mut document) {
                    post.insert("text".into(), document.to_string().into());
                }
            }
        }
    }

    /// Redacts the secret members of a JSON document, at any depth; whether any was.
    fn redact_members(&self, value: &mut Value) -> bool {
        match value {
            Value::Object(members) => {
                let mut any = false;
                for (name, member) in members.iter_mut() {
                    if self.secret(name) {
                        *member = REDACTED.into();
                        any = true;
                    } else {
                        any |= self.redact_members(member);
                    }
                }
                any
            }
            Value::Array(items) => items.iter_mut().fold(false, |any, item| self.redact_members(item) | any),
            _ => false,
        }
    }
}

/// Whether a value as sent matches a recorded one, where [`REDACTED`] matches anything.
fn value_matches(recorded: &str, sent: &str) -> bool {
    recorded == REDACTED || recorded == sent
}

/// Whether `sent` is the URL an entry recorded as `recorded`: the same but for passwords, and
/// with redacted query values matching any value.
pub(super) fn url_matches(recorded: &Url, sent: &Url) -> bool {
    let strip = |url: &Url| {
        let mut url = url.clone();
        let _ = url.set_password(None);
        url.set_query(None);
        url
    };
    if strip(recorded) != strip(sent) {
        return false;
    }
    if recorded.query() == sent.query() {
        return true;
    }
    let (recorded, sent): (Vec<_>, Vec<_>) = (recorded.query_pairs().collect(), sent.query_pairs().collect());
    recorded.len() == sent.len()
        && recorded.iter().zip(&sent).all(|((rn, rv), (sn, sv))| rn == sn && value_matches(rv, sv))
}

/// Whether a body as sent matches a recorded `postData.text`: equal, or, when the record was
/// redacted, equal field by field (a form) or member by member (JSON) with redacted values
/// matching any value.
pub(super) fn body_matches(recorded: &[u8], sent: &[u8]) -> bool {
    if recorded == sent {
        return true;
    }
    let redacted = REDACTED.as_bytes();
    if !recorded.windows(redacted.len()).any(|w| w == redacted)
        && !recorded.windows(FORM_REDACTED.len()).any(|w| w == FORM_REDACTED.as_bytes())
    {
        return false;
    }
    if let (Ok(recorded), Ok(sent)) = (serde_json::from_slice::<Value>(recorded), serde_json::from_slice::<Value>(sent))
    {
        return json_matches(&recorded, &sent);
    }
    let (recorded, sent): (Vec<_>, Vec<_>) =
        (url::form_urlencoded::parse(recorded).collect(), url::form_urlencoded::parse(sent).collect());
    recorded.len() == sent.len()
        && recorded.iter().zip(&sent).all(|((rn, rv), (sn, sv))| rn == sn && value_matches(rv, sv))
}

/// [`REDACTED`] as a form body writes it.
const FORM_REDACTED: &str = "%5Bredacted+by+netaccess%5D";

fn json_matches(recorded: &Value, sent: &Value) -> bool {
    match (recorded, sent) {
        (Value::String(r), _) if r == REDACTED => true,
        (Value::Object(r), Value::Object(s)) => {
            r.len() == s.len()
                && r.iter().all(|(name, value)| s.get(name).is_some_and(|sent| json_matches(value, sent)))
        }
        (Value::Array(r), Value::Array(s)) => r.len() == s.len() && r.iter().zip(s).all(|(r, s)| json_matches(r, s)),
        _ => recorded == sent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: Redactor<'static> = Redactor { keep: false, extra: &[] };

    #[test]
    fn names_that_carry_secrets() {
        for name in
            ["Authorization", "X-Api-Key", "access_token", "X-Auth-Token", "client_secret", "PASSWORD", "apikey"]
        {
            assert!(is_secret_name(name, &[]), "{name}");
        }
        for name in ["accept", "page", "user", "content-type"] {
            assert!(!is_secret_name(name, &[]), "{name}");
        }
        assert!(is_secret_name("X-Session", &["x-session".to_owned()]));
    }

    #[test]
    fn urls_forms_and_json_are_redacted_and_still_match() {
        let sent = Url::parse("https://u:hunter2@example.com/api?page=2&access_token=abc123&token=x").unwrap();
        let recorded = DEFAULT.url(&sent);
        assert!(!recorded.contains("hunter2") && !recorded.contains("abc123"), "{recorded}");
        assert!(recorded.contains("page=2"), "{recorded}");
        let recorded = Url::parse(&recorded).unwrap();
        assert!(url_matches(&recorded, &sent), "a redacted value matches the value sent");
        let other = Url::parse("https://example.com/api?page=3&access_token=zzz&token=y").unwrap();
        assert!(!url_matches(&recorded, &other), "the other parameters still count");

        let mut post = serde_json::Map::new();
        post.insert("mimeType".into(), "application/x-www-form-urlencoded".into());
        post.insert("text".into(), "user=ann&password=s3cret".into());
        DEFAULT.post_data(&mut post);
        let text = post["text"].as_str().unwrap();
        assert!(!text.contains("s3cret") && text.contains("user=ann"), "{text}");
        assert_eq!(post["params"][1]["value"], REDACTED);
        assert!(body_matches(text.as_bytes(), b"user=ann&password=other"));
        assert!(!body_matches(text.as_bytes(), b"user=bob&password=s3cret"));

        let mut post = serde_json::Map::new();
        post.insert("mimeType".into(), "application/json".into());
        post.insert("text".into(), r#"{"login":{"name":"ann","api_key":"k1"},"n":[1]}"#.into());
        DEFAULT.post_data(&mut post);
        let text = post["text"].as_str().unwrap();
        assert!(!text.contains("k1") && text.contains("ann"), "{text}");
        assert!(body_matches(text.as_bytes(), br#"{"login":{"name":"ann","api_key":"k2"},"n":[1]}"#));
        assert!(!body_matches(text.as_bytes(), br#"{"login":{"name":"bob","api_key":"k1"},"n":[1]}"#));
    }
}
