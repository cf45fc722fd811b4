//! `-w/--write-out FORMAT`: curl's variables, for what netaccess knows, printed after each
//! transfer.
//!
//! # Design
//!
//! The values come from the transfer's summary, so `-w` and `--summary` never disagree. Times
//! are in seconds with six decimals, as curl prints them, counted from the request's start; a
//! phase that did not happen prints `0.000000` (a reused connection has no name lookup, connect
//! or TLS time), as in curl. `time_pretransfer` is the moment the connection was ready (the
//! last of lookup, connect and TLS that happened): netaccess notes no separate "about to send"
//! moment. An unknown variable prints nothing and is reported once on stderr, as curl does.
//!
//! Where curl counts every hop of a redirect chain (`size_header`, `num_connects`), these count
//! the delivered response; `exitcode` is the command's own exit status, `errormsg` its message;
//! `size_request` is the request head and body as sent (the head is kept for it only when the
//! format asks); `time_redirect` is 0 (the hops' time is inside the total).

use std::fmt::Write as _;

use serde_json::{json, Map, Value};

use crate::summary::Summary;

mod syntax;

/// The variables `-w` knows, in the order `%{json}` lists them (curl's order: alphabetical), each
/// with what `%{json}` writes it as.
const VARIABLES: &[(&str, Json)] = &[
    ("content_type", Json::Text),
    ("errormsg", Json::Text),
    ("exitcode", Json::Integer),
    ("http_code", Json::Integer),
    ("http_version", Json::Text),
    ("local_ip", Json::Text),
    ("local_port", Json::Integer),
    ("method", Json::Text),
    ("num_connects", Json::Integer),
    ("num_redirects", Json::Integer),
    ("redirect_url", Json::Text),
    ("remote_ip", Json::Text),
    ("remote_port", Json::Integer),
    ("response_code", Json::Integer),
    ("scheme", Json::Text),
    ("size_download", Json::Integer),
    ("size_header", Json::Integer),
    ("size_request", Json::Integer),
    ("size_upload", Json::Integer),
    ("speed_download", Json::Integer),
    ("speed_upload", Json::Integer),
    ("ssl_verify_result", Json::Integer),
    ("time_appconnect", Json::Seconds),
    ("time_connect", Json::Seconds),
    ("time_namelookup", Json::Seconds),
    ("time_pretransfer", Json::Seconds),
    ("time_redirect", Json::Seconds),
    ("time_starttransfer", Json::Seconds),
    ("time_total", Json::Seconds),
    ("url", Json::Text),
    ("url_effective", Json::Text),
];

/// How `%{json}` writes a variable: curl writes counts and codes as integers, times as numbers.
#[derive(Clone, Copy)]
enum Json {
    Integer,
    Seconds,
    Text,
}

/// `FORMAT` with its variables and escapes replaced, for a transfer that ends the command with
/// `exit_code`; unknown variables are added to `unknown`.
pub(crate) fn render(format: &str, summary: &Summary, exit_code: u8, unknown: &mut Vec<String>) -> String {
    let facts = Facts { summary, exit_code };
    syntax::expand(format, |name| value(name, &facts), unknown)
}

fn seconds(ms: Option<f64>) -> String {
    format!("{:.6}", ms.unwrap_or(0.0) / 1000.0)
}

/// What the variables are read from.
struct Facts<'a> {
    summary: &'a Summary,
    exit_code: u8,
}

fn value(name: &str, facts: &Facts<'_>) -> Option<String> {
    let summary = facts.summary;
    let more = &summary.more;
    let timings = summary.timings.unwrap_or_default();
    let remote: Option<std::net::SocketAddr> = summary.remote_address.as_deref().and_then(|a| a.parse().ok());
    let local: Option<std::net::SocketAddr> = more.local_address.as_deref().and_then(|a| a.parse().ok());
    let total_seconds = timings.total_ms.unwrap_or(summary.elapsed_ms as f64) / 1000.0;
    // Bytes per second, a whole number as curl prints it.
    let speed = |bytes: u64| if total_seconds > 0.0 { (bytes as f64 / total_seconds) as u64 } else { 0 }.to_string();
    Some(match name {
        "http_code" | "response_code" => format!("{:03}", summary.status.unwrap_or(0)),
        "http_version" => summary.http_version.unwrap_or("0").to_owned(),
        "content_type" => more.content_type.clone().unwrap_or_default(),
        "errormsg" => summary.error_message.clone().unwrap_or_default(),
        "exitcode" => facts.exit_code.to_string(),
        "method" => summary.operation.clone(),
        "scheme" => {
            summary.final_url.split_once(':').map(|(scheme, _)| scheme.to_ascii_uppercase()).unwrap_or_default()
        }
        "num_connects" => more.num_connects.to_string(),
        "num_redirects" => summary.redirects.len().to_string(),
        "redirect_url" => more.redirect_url.clone().unwrap_or_default(),
        "remote_ip" => remote.map(|a| a.ip().to_string()).unwrap_or_default(),
        "remote_port" => remote.map(|a| a.port().to_string()).unwrap_or_default(),
        "local_ip" => local.map(|a| a.ip().to_string()).unwrap_or_default(),
        "local_port" => local.map(|a| a.port().to_string()).unwrap_or_default(),
        "size_download" => summary.bytes.to_string(),
        "size_upload" => more.size_upload.to_string(),
        "size_header" => more.size_header.to_string(),
        "size_request" => more.size_request.unwrap_or(0).to_string(),
        "speed_download" => speed(summary.bytes),
        "speed_upload" => speed(more.size_upload),
        "ssl_verify_result" => more.ssl_verify_result.to_string(),
        "time_namelookup" => seconds(timings.dns_ms),
        "time_connect" => seconds(timings.connect_ms),
        "time_appconnect" => seconds(timings.tls_ms),
        "time_pretransfer" => {
            let ready = [timings.dns_ms, timings.connect_ms, timings.tls_ms].into_iter().flatten().fold(None, max);
            seconds(ready)
        }
        // The redirects' time is inside the request's: netaccess does not tell it apart.
        "time_redirect" => seconds(None),
        "time_starttransfer" => seconds(timings.first_byte_ms),
        "time_total" => seconds(timings.total_ms.or(Some(summary.elapsed_ms as f64))),
        "url" => summary.url.clone(),
        "url_effective" => summary.final_url.clone(),
        "header_json" => header_json(summary),
        "json" => json(facts),
        _ => return None,
    })
}

/// `%{header_json}` as curl 7.88 prints it: the response fields by lower-case name, each with
/// its values in a list, one name per line.
fn header_json(summary: &Summary) -> String {
    let mut names: Vec<&str> = Vec::new();
    for (name, _) in &summary.headers {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    let lines: Vec<String> = names
        .iter()
        .map(|name| {
            let values: Vec<&str> =
                summary.headers.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect();
            format!("{}:{}", Value::from(*name), json!(values))
        })
        .collect();
    format!("{{{}\n}}", lines.join(",\n"))
}

fn max(best: Option<f64>, next: f64) -> Option<f64> {
    Some(best.map_or(next, |b| b.max(next)))
}

/// `%{json}`: every variable above as one JSON object (numbers as numbers, as curl writes them).
fn json(facts: &Facts<'_>) -> String {
    let mut object = Map::new();
    for (name, kind) in VARIABLES {
        let text = value(name, facts).unwrap_or_default();
        let number = match kind {
            Json::Integer => text.parse::<u64>().ok().map(Value::from),
            Json::Seconds => text.parse::<f64>().ok().map(Value::from),
            Json::Text => None,
        };
        object.insert((*name).to_owned(), number.unwrap_or_else(|| json!(text)));
    }
    let mut text = String::new();
    let _ = write!(text, "{}", Value::Object(object));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::TimingsMs;

    fn summary() -> Summary {
        let mut summary = Summary::new("http://a.test/x", "GET");
        summary.final_url = "http://a.test/y".into();
        summary.status = Some(200);
        summary.bytes = 42;
        summary.redirects = vec!["http://a.test/y".into()];
        summary.remote_address = Some("127.0.0.1:8080".into());
        summary.http_version = Some("1.1");
        summary.timings = Some(TimingsMs {
            dns_ms: None,
            connect_ms: Some(1.5),
            tls_ms: None,
            sent_ms: Some(2.0),
            first_byte_ms: Some(3.25),
            total_ms: Some(4.0),
        });
        summary
    }

    #[test]
    fn variables_escapes_and_percent_signs_are_replaced() {
        let mut unknown = Vec::new();
        let text = render(
            "%{http_code} %{remote_ip}:%{remote_port} %{size_download}B %{num_redirects} %{url_effective} 100%% \\t%{http_version}\\n",
            &summary(),
            0,
            &mut unknown,
        );
        assert_eq!(text, "200 127.0.0.1:8080 42B 1 http://a.test/y 100% \t1.1\n");
        assert!(unknown.is_empty());
    }

    #[test]
    fn times_are_seconds_with_six_decimals_and_absent_phases_are_zero() {
        let mut unknown = Vec::new();
        let text = render(
            "%{time_namelookup} %{time_connect} %{time_appconnect} %{time_pretransfer} %{time_starttransfer} %{time_total}",
            &summary(),
            0,
            &mut unknown,
        );
        assert_eq!(text, "0.000000 0.001500 0.000000 0.001500 0.003250 0.004000");
    }

    #[test]
    fn unknown_variables_print_nothing_and_are_reported_once() {
        let mut unknown = Vec::new();
        let text = render("a%{nope}b%{nope}c%{unterminated", &summary(), 0, &mut unknown);
        assert_eq!(text, "abc%{unterminated");
        assert_eq!(unknown, vec!["nope".to_owned()]);
    }

    #[test]
    fn json_has_every_variable_with_numbers_as_numbers() {
        let mut unknown = Vec::new();
        let value: Value = serde_json::from_str(&render("%{json}", &summary(), 0, &mut unknown)).unwrap();
        assert_eq!(value["http_code"], 200);
        assert_eq!(value["time_starttransfer"], 0.00325);
        assert_eq!(value["url_effective"], "http://a.test/y");
        assert_eq!(value.as_object().unwrap().len(), VARIABLES.len());
    }
}
