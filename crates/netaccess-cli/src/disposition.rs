//! `-J`: the file name a `Content-Disposition` header gives (RFC 6266), and whether it is safe
//! to write.

use http::HeaderMap;

/// The name `Content-Disposition` gives, `filename*` (RFC 8187, UTF-8 or ISO-8859-1) before
/// `filename`; `Ok(None)` when it gives none, `Err` with the reason when the name is refused: a
/// path separator, `..`, a control character or a leading dot would write outside the
/// directory, over a hidden file, or somewhere the user did not ask.
pub(crate) fn file_name(headers: &HeaderMap) -> Result<Option<String>, String> {
    let Some(value) = headers.get(http::header::CONTENT_DISPOSITION) else {
        return Ok(None);
    };
    let value = String::from_utf8_lossy(value.as_bytes());
    let mut plain = None;
    let mut extended = None;
    for parameter in parameters(&value) {
        let (name, raw) = match parameter.split_once('=') {
            Some((name, raw)) => (name.trim().to_ascii_lowercase(), raw.trim()),
            None => continue,
        };
        match name.as_str() {
            "filename" => plain = Some(unquote(raw)),
            "filename*" => extended = decode_extended(raw),
            _ => {}
        }
    }
    let Some(name) = extended.or(plain).filter(|name| !name.is_empty()) else {
        return Ok(None);
    };
    if name.contains(['/', '\\']) || name.contains("..") || name.starts_with('.') || name.chars().any(char::is_control)
    {
        return Err(format!("the server's file name {name:?} is refused; the URL's name is used"));
    }
    Ok(Some(name))
}

/// The `;`-separated parameters after the disposition type, a `;` inside quotes kept.
fn parameters(value: &str) -> Vec<String> {
    let mut parameters = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        match c {
            _ if escaped => {
                current.push(c);
                escaped = false;
            }
            '\\' if quoted => {
                current.push(c);
                escaped = true;
            }
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ';' if !quoted => parameters.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parameters.push(current);
    parameters.into_iter().skip(1).collect()
}

fn unquote(raw: &str) -> String {
    match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' { chars.next().unwrap_or('\\') } else { c });
            }
            out
        }
        None => raw.to_owned(),
    }
}

/// `UTF-8''na%C3%AFve.txt` (RFC 8187's ext-value); ISO-8859-1 too.
fn decode_extended(raw: &str) -> Option<String> {
    let mut pieces = raw.splitn(3, '\'');
    let charset = pieces.next()?.to_ascii_lowercase();
    let _language = pieces.next()?;
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(pieces.next()?).collect();
    match charset.as_str() {
        "utf-8" => String::from_utf8(bytes).ok(),
        "iso-8859-1" => Some(bytes.iter().map(|b| char::from(*b)).collect()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(value: &str) -> Result<Option<String>, String> {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::CONTENT_DISPOSITION, value.parse().unwrap());
        file_name(&headers)
    }

    #[test]
    fn takes_the_extended_name_first_then_the_plain_one() {
        assert_eq!(name(r#"attachment; filename="report; 2026.pdf""#).unwrap().as_deref(), Some("report; 2026.pdf"));
        assert_eq!(name("attachment; filename=plain.txt").unwrap().as_deref(), Some("plain.txt"));
        assert_eq!(
            name(r#"attachment; filename="fallback.txt"; filename*=UTF-8''na%C3%AFve.txt"#).unwrap().as_deref(),
            Some("naïve.txt")
        );
        assert_eq!(name("inline").unwrap(), None);
        assert_eq!(file_name(&HeaderMap::new()).unwrap(), None);
    }

    #[test]
    fn refuses_names_that_leave_the_directory_or_hide() {
        for bad in ["../etc/passwd", "a/b", r"a\\b", ".bashrc", "x%0Ay", ".."] {
            let value = if bad.contains('%') {
                format!("attachment; filename*=UTF-8''{bad}")
            } else {
                format!("attachment; filename=\"{bad}\"")
            };
            assert!(name(&value).is_err(), "{bad} must be refused");
        }
    }
}
