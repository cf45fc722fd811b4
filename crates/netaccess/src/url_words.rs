//! Why a URL text is not a URL, in words a user can act on ("port 99999 is out of range"), not
//! the parser's error name.

use url::ParseError;

/// What is wrong with `text`, which did not parse as an absolute URL.
pub(crate) fn why_not_a_url(text: &str) -> String {
    let Err(error) = url::Url::parse(text) else {
        return format!("{text:?} is a URL no backend takes");
    };
    let authority = authority(text);
    match error {
        ParseError::EmptyHost => format!("{text:?} has no host name"),
        ParseError::InvalidPort => match authority.and_then(port_text) {
            Some(port) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
                format!("port {port} is out of range (0-65535)")
            }
            Some(port) => format!("port {port:?} is not a number"),
            None => format!("the port of {text:?} is not a number from 0 to 65535"),
        },
        ParseError::InvalidIpv4Address => format!("the IPv4 address of {text:?} is malformed"),
        ParseError::InvalidIpv6Address => match authority {
            Some(host) if host.contains('[') && !host.contains(']') => {
                format!("unclosed IPv6 literal in {text:?}: a ']' is missing")
            }
            _ => format!("the IPv6 literal of {text:?} is malformed"),
        },
        ParseError::IdnaError | ParseError::InvalidDomainCharacter => {
            format!("the host name of {text:?} holds a character host names cannot have (a space, a control byte)")
        }
        // Qt's words, then the cause.
        ParseError::RelativeUrlWithoutBase if text.is_empty() => "Protocol \"\" is unknown".to_owned(),
        ParseError::RelativeUrlWithoutBase => {
            format!("Protocol \"\" is unknown: {text:?} has no scheme (http://, https://, ftp://, file://, data:)")
        }
        other => format!("{text:?} is not a valid URL: {other}"),
    }
}

/// The authority (`user@host:port`) of a text that has `scheme://`, up to the path.
fn authority(text: &str) -> Option<&str> {
    let rest = &text[text.find("://")? + 3..];
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

/// The port part of an authority: what follows the last ':' after the host (and after an IPv6
/// literal's ']').
fn port_text(authority: &str) -> Option<&str> {
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let after_literal = host_port.rfind(']').map_or(host_port, |end| &host_port[end..]);
    after_literal.rsplit_once(':').map(|(_, port)| port)
}

#[cfg(test)]
mod tests {
    use super::why_not_a_url;

    #[test]
    fn causes_in_words() {
        assert_eq!(why_not_a_url("http://example.com:99999/"), "port 99999 is out of range (0-65535)");
        assert_eq!(why_not_a_url("http://u:p@example.com:8x/"), "port \"8x\" is not a number");
        assert!(
            why_not_a_url("http://[::1/").starts_with("unclosed IPv6 literal"),
            "{}",
            why_not_a_url("http://[::1/")
        );
        assert!(why_not_a_url("example.com/x").contains("has no scheme"));
        assert!(why_not_a_url("http://").contains("no host"), "{}", why_not_a_url("http://"));
        assert!(
            why_not_a_url("http://exa mple.com/").contains("cannot have"),
            "{}",
            why_not_a_url("http://exa mple.com/")
        );
    }
}
