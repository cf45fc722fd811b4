//! The environment's proxy rules as a table: variables, URL, the proxy chosen.

use netaccess_proxy::{NoProxy, ProxyFactory, ProxyQuery, SystemProxyFactory};

fn chosen(vars: &[(&str, &str)], url: &str) -> String {
    let factory = SystemProxyFactory::from_vars(vars.iter().copied());
    let query = ProxyQuery::for_url(&url::Url::parse(url).unwrap());
    factory.query_proxy(&query).iter().map(|p| p.label()).collect::<Vec<_>>().join(",")
}

/// The variables, the URL, the proxy chosen.
type Row<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);

#[test]
fn variables_by_scheme_case_and_cgi() {
    let table: &[Row<'_>] = &[
        (&[], "http://example.com/", "none"),
        (&[("http_proxy", "proxy:3128")], "http://example.com/", "http://proxy:3128"),
        (&[("http_proxy", "proxy")], "http://example.com/", "http://proxy:8080"),
        (&[("HTTP_PROXY", "proxy:1")], "http://example.com/", "http://proxy:1"),
        (&[("HTTP_PROXY", "proxy:1"), ("REQUEST_METHOD", "GET")], "http://example.com/", "none"),
        (&[("http_proxy", "lower:1"), ("HTTP_PROXY", "upper:2")], "http://example.com/", "http://lower:1"),
        (&[("http_proxy", "proxy:1")], "https://example.com/", "none"),
        (&[("https_proxy", "secure:1"), ("all_proxy", "all:2")], "https://example.com/", "http://secure:1"),
        (&[("HTTPS_PROXY", "secure:1")], "https://example.com/", "http://secure:1"),
        (&[("all_proxy", "socks5://s:9")], "https://example.com/", "socks5://s:9"),
        (&[("ALL_PROXY", "socks5h://s")], "ftp://example.com/", "socks5h://s:1080"),
        (&[("ftp_proxy", "f:21")], "ftp://example.com/x", "http://f:21"),
        (&[("http_proxy", "http://u:p%40ss@p:1")], "http://example.com/", "http://u@p:1"),
        (&[("http_proxy", "")], "http://example.com/", "none"),
        (&[("http_proxy", "gopher://x")], "http://example.com/", "none"),
    ];
    for (vars, url, expected) in table {
        assert_eq!(chosen(vars, url), *expected, "{vars:?} {url}");
    }
    let factory = SystemProxyFactory::from_vars([("http_proxy", "http://u:p%40ss@p:1")]);
    let proxy = &factory.query_proxy(&ProxyQuery::for_url(&url::Url::parse("http://x/").unwrap()))[0];
    assert_eq!(proxy.password.as_deref(), Some("p@ss"), "credentials are percent-decoded");
}

#[test]
fn no_proxy_rules() {
    let table: &[(&str, &str, u16, bool)] = &[
        ("*", "anything.example", 80, true),
        ("example.com", "example.com", 80, true),
        ("example.com", "www.example.com", 80, true),
        ("example.com", "badexample.com", 80, false),
        (".example.com", "www.example.com", 80, true),
        (".example.com", "example.com", 80, true),
        ("*.example.com", "a.b.example.com", 80, true),
        ("example.com.", "www.example.com", 80, true),
        ("example.com", "WWW.EXAMPLE.COM.", 80, true),
        ("localhost, 127.0.0.1", "127.0.0.1", 8080, true),
        ("127.0.0.1", "127.0.0.2", 80, false),
        ("10.0.0.0/8", "10.200.3.4", 80, true),
        ("10.0.0.0/8", "11.0.0.1", 80, false),
        ("192.168.1.0/24", "192.168.1.77", 443, true),
        ("::1", "[::1]", 80, true),
        ("fd00::/8", "fd12::1", 80, true),
        ("fd00::/8", "fe80::1", 80, false),
        ("example.com:8080", "example.com", 8080, true),
        ("example.com:8080", "example.com", 80, false),
        ("[::1]:8080", "::1", 8080, true),
        ("[::1]:8080", "::1", 8081, false),
        ("a.example b.example", "b.example", 80, true),
        ("example.com", "10.0.0.1", 80, false),
        ("", "example.com", 80, false),
    ];
    for (list, host, port, direct) in table {
        assert_eq!(NoProxy::parse(list).matches(host, *port), *direct, "no_proxy={list:?} host={host}:{port}");
    }
    assert_eq!(chosen(&[("http_proxy", "p:1"), ("no_proxy", "example.com")], "http://www.example.com/"), "none");
    assert_eq!(chosen(&[("http_proxy", "p:1"), ("NO_PROXY", ".other")], "http://www.example.com/"), "http://p:1");
}
