//! HTTP Strict Transport Security (RFC 6797; Qt's `QHstsPolicy` and its store).
//!
//! # Design
//!
//! Off by default, as in Qt; [`NetworkAccessManagerBuilder::strict_transport_security_enabled`](crate::NetworkAccessManagerBuilder::strict_transport_security_enabled)
//! or a [store file](crate::NetworkAccessManagerBuilder::strict_transport_security_store)
//! turns it on. A policy is learnt from the first `Strict-Transport-Security` header of an
//! https response that came over the network on a connection without certificate problems
//! (never from http, never from the cache, never after an ignored certificate error: RFC 6797
//! §8.1), for a host that is a name (an IP literal never gets one, §8.1.1). `max-age` is
//! required; `max-age=0` removes the host's policy; a directive given twice makes the header
//! void (§6.1); unknown directives are ignored; `max-age` is capped at 2^31 seconds (68 years)
//! so a peer's number never overflows a date.
//!
//! Before a request takes its place in its host's line, an http URL whose host has a policy
//! (its own, or a parent's with `includeSubDomains`) becomes https (port 80 becomes 443, any
//! other explicit port is kept, §8.3), and so does every redirect target before the redirect
//! policy judges it: a known host's https-to-http redirect is followed over https, not refused.
//!
//! The store file is curl's `--hsts` format, so a file moves between curl and netaccess: one
//! line per host, `host "YYYYMMDD HH:MM:SS"` in UTC (or `"unlimited"`), a leading `.` for
//! `includeSubDomains`, `#` comments. Expired entries and lines that do not parse are dropped
//! on load, each line read alone ([`parse_file`]): a byte that is not UTF-8 costs its line, never
//! the store (which would send a protected host's http URLs in clear). It is written through
//! [`netaccess_store::save`] (crash-safe, a symlink's target written, a device or FIFO in place,
//! a new file 0600, as the cookie jar and HAR records are) when a host is added, removed or changes its `includeSubDomains`, when an expiry
//! moves by more than a day, and when the manager is dropped with changes unsaved; an expiry
//! refreshed by every response would otherwise cost a file write per request. A file that
//! exists but cannot be read is never overwritten: the store keeps to memory and says why in
//! the log.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use netaccess_cookie::date;
use url::{Host, Url};

/// The longest `max-age` taken from a peer: 2^31 seconds, 68 years.
pub const MAX_AGE_CAP: Duration = Duration::from_secs(1 << 31);

/// How far an expiry may move before the store file is written again.
const SAVE_AFTER_EXPIRY_MOVED: Duration = Duration::from_secs(24 * 3600);

/// One host's Strict-Transport-Security policy (Qt's `QHstsPolicy`).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use netaccess::HstsPolicy;
///
/// let policy = HstsPolicy::new("example.com", Some(SystemTime::now() + Duration::from_secs(3600)), true);
/// assert!(policy.applies_to("www.example.com", SystemTime::now()));
/// assert!(!policy.applies_to("example.org", SystemTime::now()));
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HstsPolicy {
    /// The host, lower case, without a trailing dot.
    pub host: String,
    /// When the policy ends; `None` never (curl's `"unlimited"`).
    pub expiry: Option<SystemTime>,
    /// Whether the policy covers the host's subdomains too.
    pub include_subdomains: bool,
}

impl HstsPolicy {
    /// A policy for `host` (normalized: lower case, no trailing dot).
    pub fn new(host: &str, expiry: Option<SystemTime>, include_subdomains: bool) -> Self {
        Self { host: normalize(host), expiry, include_subdomains }
    }

    /// Whether the policy has ended by `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expiry.is_some_and(|expiry| expiry <= now)
    }

    /// Whether the policy covers `host` at `now`: the same host, or a subdomain when
    /// `include_subdomains` (RFC 6797 §8.2).
    pub fn applies_to(&self, host: &str, now: SystemTime) -> bool {
        if self.is_expired(now) {
            return false;
        }
        let host = normalize(host);
        host == self.host
            || (self.include_subdomains
                && host.len() > self.host.len()
                && host.ends_with(&self.host)
                && host.as_bytes()[host.len() - self.host.len() - 1] == b'.')
    }
}

fn normalize(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// What one `Strict-Transport-Security` value says.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    /// How long the policy holds (`max-age`), at most a capped maximum.
    pub max_age: Duration,
    /// Whether it covers the subdomains (`includeSubDomains`).
    pub include_subdomains: bool,
}

/// Parses one `Strict-Transport-Security` value (RFC 6797 §6.1); `None` when it is void (no
/// `max-age`, a directive twice, a malformed one). A server sends it: every input is taken.
///
/// ```
/// use std::time::Duration;
/// let directives = netaccess::hsts::parse_header("max-age=\"31536000\"; includeSubDomains").unwrap();
/// assert_eq!(directives.max_age, Duration::from_secs(31_536_000));
/// assert!(directives.include_subdomains);
/// assert!(netaccess::hsts::parse_header("max-age=1; max-age=2").is_none());
/// ```
pub fn parse_header(value: &str) -> Option<Directives> {
    let mut max_age = None;
    let mut include_subdomains = false;
    let mut seen = Vec::new();
    for directive in value.split(';') {
        let directive = directive.trim();
        if directive.is_empty() {
            continue;
        }
        let (name, argument) = match directive.split_once('=') {
            Some((name, argument)) => (name.trim(), Some(argument.trim())),
            None => (directive, None),
        };
        let name = name.to_ascii_lowercase();
        if seen.contains(&name) {
            return None; // §6.1: every directive at most once, or the header is void.
        }
        seen.push(name.clone());
        match name.as_str() {
            "max-age" => {
                let digits = argument?;
                let digits = digits.strip_prefix('"').and_then(|d| d.strip_suffix('"')).unwrap_or(digits);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                // Saturating: a hundred digits are a long time, not an error.
                let seconds =
                    digits.bytes().fold(0u64, |n, d| n.saturating_mul(10).saturating_add(u64::from(d - b'0')));
                max_age = Some(Duration::from_secs(seconds).min(MAX_AGE_CAP));
            }
            "includesubdomains" => {
                if argument.is_some() {
                    return None;
                }
                include_subdomains = true;
            }
            _ => {}
        }
    }
    Some(Directives { max_age: max_age?, include_subdomains })
}

/// The manager's HSTS policies (see the module's design).
pub(crate) struct Hsts {
    enabled: AtomicBool,
    policies: Mutex<HashMap<String, HstsPolicy>>,
    /// The store file, when the policies persist (and the file could be read).
    file: Option<PathBuf>,
    /// Changes not yet in the file.
    unsaved: AtomicBool,
    /// One save at a time (they share a temporary file name).
    saving: Mutex<()>,
}

impl std::fmt::Debug for Hsts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hsts").field("enabled", &self.is_enabled()).field("file", &self.file).finish_non_exhaustive()
    }
}

impl Hsts {
    /// A store, enabled or not, persisting to `file` when given. The file's policies are
    /// loaded now; one that exists but cannot be read leaves the store in memory only.
    pub(crate) fn new(enabled: bool, file: Option<PathBuf>) -> Self {
        let mut policies = HashMap::new();
        let file = file.and_then(|path| match std::fs::read(&path) {
            Ok(bytes) => {
                let (read, skipped) = parse_file(&bytes, SystemTime::now());
                for line in skipped {
                    tracing::warn!(path = %path.display(), %line, "an HSTS store line was left out");
                }
                for policy in read {
                    policies.insert(policy.host.clone(), policy);
                }
                Some(path)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(path),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "the HSTS store cannot be read; policies stay in memory");
                None
            }
        });
        Self {
            enabled: AtomicBool::new(enabled),
            policies: Mutex::new(policies),
            file,
            unsaved: AtomicBool::new(false),
            saving: Mutex::new(()),
        }
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    pub(crate) fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::Relaxed);
    }

    fn policies(&self) -> std::sync::MutexGuard<'_, HashMap<String, HstsPolicy>> {
        self.policies.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every policy not expired, sorted by host.
    pub(crate) fn hosts(&self) -> Vec<HstsPolicy> {
        let now = SystemTime::now();
        let mut hosts: Vec<HstsPolicy> = self.policies().values().filter(|p| !p.is_expired(now)).cloned().collect();
        hosts.sort_by(|a, b| a.host.cmp(&b.host));
        hosts
    }

    /// Adds or replaces policies (Qt's `addStrictTransportSecurityHosts`); an expired one
    /// removes its host's.
    pub(crate) fn add(&self, added: impl IntoIterator<Item = HstsPolicy>) {
        let now = SystemTime::now();
        let changed = {
            let mut policies = self.policies();
            let mut changed = false;
            for policy in added {
                changed |= if policy.is_expired(now) {
                    policies.remove(&policy.host).is_some()
                } else {
                    policies.insert(policy.host.clone(), policy.clone()).is_none_or(|old| old != policy)
                };
            }
            changed
        };
        if changed {
            self.changed(true);
        }
    }

    /// Makes `url` https when its host has a policy; says whether it did.
    pub(crate) fn upgrade(&self, url: &mut Url) -> bool {
        if !self.is_enabled() || url.scheme() != "http" {
            return false;
        }
        let Some(Host::Domain(host)) = url.host() else { return false };
        let now = SystemTime::now();
        let host = normalize(host);
        let known = {
            let policies = self.policies();
            // The host itself, then each parent domain with includeSubDomains.
            let mut candidate = host.as_str();
            loop {
                if policies.get(candidate).is_some_and(|p| p.applies_to(&host, now)) {
                    break true;
                }
                match candidate.split_once('.') {
                    Some((_, parent)) => candidate = parent,
                    None => break false,
                }
            }
        };
        if !known {
            return false;
        }
        let port = url.port();
        if url.set_scheme("https").is_err() {
            return false;
        }
        if port == Some(80) || port.is_none() {
            let _ = url.set_port(None);
        }
        true
    }

    /// Learns from a response to `url`: `headers` are its head's, `trusted` says whether it
    /// came over the network on a connection without certificate problems.
    pub(crate) fn observe(&self, url: &Url, headers: &HeaderMap, trusted: bool) {
        if !self.is_enabled() || !trusted || url.scheme() != "https" {
            return;
        }
        let Some(Host::Domain(host)) = url.host() else { return };
        // Only the first header counts when there are several (RFC 6797 §8.1).
        let Some(value) = headers.get("strict-transport-security").and_then(|v| v.to_str().ok()) else { return };
        let Some(directives) = parse_header(value) else { return };
        let host = normalize(host);
        let now = SystemTime::now();
        let (changed, material) = {
            let mut policies = self.policies();
            if directives.max_age.is_zero() {
                (policies.remove(&host).is_some(), true)
            } else {
                let expiry = now.checked_add(directives.max_age);
                let policy =
                    HstsPolicy { host: host.clone(), expiry, include_subdomains: directives.include_subdomains };
                match policies.insert(host, policy.clone()) {
                    None => (true, true),
                    Some(old) if old.include_subdomains != policy.include_subdomains => (true, true),
                    Some(old) => {
                        let moved = match (old.expiry, policy.expiry) {
                            (Some(a), Some(b)) => a.duration_since(b).unwrap_or_else(|e| e.duration()),
                            (None, None) => Duration::ZERO,
                            _ => Duration::MAX,
                        };
                        (old != policy, moved > SAVE_AFTER_EXPIRY_MOVED)
                    }
                }
            }
        };
        if changed {
            self.changed(material);
        }
    }

    /// Notes a change; writes the file now when it is `material`.
    fn changed(&self, material: bool) {
        self.unsaved.store(true, Ordering::Relaxed);
        if material {
            // A failure is logged and left for the next save, or the owner's explicit one.
            let _ = self.save();
        }
    }

    /// Writes the store file, if there is one; a failure is logged, and the changes stay
    /// marked unsaved for the next try.
    pub(crate) fn save(&self) -> std::io::Result<()> {
        let Some(path) = &self.file else { return Ok(()) };
        let _one_at_a_time = self.saving.lock().unwrap_or_else(|e| e.into_inner());
        self.unsaved.store(false, Ordering::Relaxed);
        let text = write_file(&self.hosts());
        netaccess_store::save(path, text.as_bytes()).inspect_err(|e| {
            self.unsaved.store(true, Ordering::Relaxed);
            tracing::warn!(path = %path.display(), error = %e, "the HSTS store could not be written");
        })
    }
}

impl Drop for Hsts {
    fn drop(&mut self) {
        if self.unsaved.load(Ordering::Relaxed) {
            let _ = self.save();
        }
    }
}

/// The policies of a store file in curl's format that have not expired by `now`, and the lines
/// left out: each line is read alone, so one that is not UTF-8 or does not parse costs only
/// itself (curl drops such a line too), never the whole store.
pub fn parse_file(bytes: &[u8], now: SystemTime) -> (Vec<HstsPolicy>, Vec<netaccess_store::SkippedLine>) {
    let mut policies = Vec::new();
    let mut skipped = Vec::new();
    for (line, text) in netaccess_store::text_lines(bytes) {
        let text = match text {
            Ok(text) => text.trim(),
            Err(_) => {
                skipped.push(netaccess_store::SkippedLine { line, reason: "not UTF-8 text".into() });
                continue;
            }
        };
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        match parse_line(text) {
            Some(policy) if policy.is_expired(now) => {}
            Some(policy) => policies.push(policy),
            None => skipped.push(netaccess_store::SkippedLine {
                line,
                reason: "not `host \"YYYYMMDD HH:MM:SS\"` (or \"unlimited\") of a host name".into(),
            }),
        }
    }
    (policies, skipped)
}

fn parse_line(line: &str) -> Option<HstsPolicy> {
    let (host, rest) = line.split_once(char::is_whitespace)?;
    let stamp = rest.trim().strip_prefix('"')?.strip_suffix('"')?;
    let (host, include_subdomains) = match host.strip_prefix('.') {
        Some(host) => (host, true),
        None => (host, false),
    };
    let expiry = if stamp == "unlimited" { None } else { Some(parse_stamp(stamp)?) };
    let policy = HstsPolicy::new(host, expiry, include_subdomains);
    // Judged as normalized: `..` has no host, and `127.0.0.1.` is an address (both found by
    // the `hsts` fuzz target).
    if policy.host.is_empty() || policy.host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    Some(policy)
}

/// `YYYYMMDD HH:MM:SS`, UTC.
fn parse_stamp(stamp: &str) -> Option<SystemTime> {
    let (date, time) = stamp.split_once(' ')?;
    let number = |text: &str| -> Option<i64> { text.bytes().all(|b| b.is_ascii_digit()).then(|| text.parse().ok())? };
    // Digits only before slicing by byte: a line with `é` in its date once made a store
    // unloadable with a panic (found by the `hsts` fuzz target).
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, month, day) = (number(&date[..4])?, number(&date[4..6])?, number(&date[6..])?);
    let (month, day) = (u32::try_from(month).ok()?, u32::try_from(day).ok()?);
    let mut clock = time.split(':');
    let (hour, minute, second) = (number(clock.next()?)?, number(clock.next()?)?, number(clock.next()?)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let seconds = date::days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some(if seconds >= 0 {
        UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
    })
}

fn format_stamp(time: SystemTime) -> String {
    let seconds = time.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rest) = ((seconds / 86_400) as i64, seconds % 86_400);
    let (year, month, day) = date::civil_from_days(days);
    format!("{year:04}{month:02}{day:02} {:02}:{:02}:{:02}", rest / 3600, rest / 60 % 60, rest % 60)
}

/// A store file in curl's format.
pub(crate) fn write_file(policies: &[HstsPolicy]) -> String {
    let mut text = String::from("# Your HSTS cache. https://curl.se/docs/hsts.html\n# Written by netaccess.\n");
    for policy in policies {
        let stamp = policy.expiry.map_or_else(|| "unlimited".to_owned(), format_stamp);
        let dot = if policy.include_subdomains { "." } else { "" };
        text.push_str(&format!("{dot}{} \"{stamp}\"\n", policy.host));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> SystemTime {
        parse_stamp(text).unwrap()
    }

    #[test]
    fn headers_as_rfc_6797_reads_them() {
        let directives = |v: &str| parse_header(v).map(|d| (d.max_age.as_secs(), d.include_subdomains));
        assert_eq!(directives("max-age=31536000"), Some((31_536_000, false)));
        assert_eq!(directives("Max-Age=\"60\"; includeSubDomains"), Some((60, true)));
        assert_eq!(directives("max-age=0"), Some((0, false)));
        assert_eq!(directives(" ; max-age=5 ;; preload; future=x"), Some((5, false)));
        assert_eq!(directives("includeSubDomains"), None, "max-age is required");
        assert_eq!(directives("max-age=5; max-age=6"), None, "a directive twice voids the header");
        assert_eq!(directives("max-age=5; includeSubDomains; includesubdomains"), None);
        assert_eq!(directives("max-age=-5"), None);
        assert_eq!(directives("max-age=5s"), None);
        assert_eq!(directives("max-age="), None);
        assert_eq!(directives(&format!("max-age={}", "9".repeat(100))), Some((MAX_AGE_CAP.as_secs(), false)));
    }

    #[test]
    fn dates_round_trip_through_curls_stamp() {
        assert_eq!(day("19700101 00:00:00"), UNIX_EPOCH);
        assert_eq!(day("20000301 00:00:00").duration_since(UNIX_EPOCH).unwrap().as_secs(), 951_868_800);
        for stamp in ["20261201 18:23:52", "20240229 23:59:59", "21000228 00:00:01", "19991231 12:00:00"] {
            assert_eq!(format_stamp(day(stamp)), stamp);
        }
        assert_eq!(parse_stamp("20261301 00:00:00"), None);
        assert_eq!(parse_stamp("2026121 00:00:00"), None);
        assert_eq!(parse_stamp("20261201 00:00"), None);
    }

    #[test]
    fn a_date_with_a_character_of_several_bytes_is_a_skipped_line_not_a_panic() {
        // The `hsts` fuzz target's first find: `&date[..4]` cut a character in two.
        let text = ".org \"224\u{1a1cd}1 H.cyt*d\"\nexample.org \"202\u{e9}0101 00:00:00\"\nok.example \"unlimited\"\n\
                    .. \"unlimited\"\n127.0.0.1. \"unlimited\"\n";
        let (policies, skipped) = parse_file(text.as_bytes(), day("20261201 00:00:00"));
        assert_eq!(policies, vec![HstsPolicy::new("ok.example", None, false)]);
        // The second find: hosts judged before normalizing let `..` (no host) and an address
        // with a trailing dot through.
        assert_eq!(skipped.iter().map(|s| s.line).collect::<Vec<_>>(), [1, 2, 4, 5]);
    }

    #[test]
    fn curls_file_format_both_ways() {
        let now = day("20261201 00:00:00");
        let text = "# Your HSTS cache. https://curl.se/docs/hsts.html\n\
                    # This file was generated by libcurl! Edit at your own risk.\n\
                    .example.com \"20271201 10:00:00\"\n\
                    api.example.org \"unlimited\"\n\
                    old.example.net \"20200101 00:00:00\"\n\
                    127.0.0.1 \"20271201 10:00:00\"\n\
                    broken line\n\n";
        let (policies, skipped) = parse_file(text.as_bytes(), now);
        assert_eq!(skipped.iter().map(|s| s.line).collect::<Vec<_>>(), [6, 7], "the IP literal and the broken line");
        assert_eq!(
            policies,
            vec![
                HstsPolicy::new("example.com", Some(day("20271201 10:00:00")), true),
                HstsPolicy::new("api.example.org", None, false),
            ]
        );
        let written = write_file(&policies);
        assert!(written.contains(".example.com \"20271201 10:00:00\"\n"), "{written}");
        assert!(written.contains("api.example.org \"unlimited\"\n"), "{written}");
        assert_eq!(parse_file(written.as_bytes(), now), (policies, Vec::new()));
    }

    /// One byte that is not UTF-8 used to switch HSTS off for the whole run; now it costs its
    /// line, whatever line it is in and whatever else is around it.
    #[test]
    fn random_bad_lines_cost_only_themselves() {
        let now = day("20261201 00:00:00");
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..300 {
            let (mut file, mut good, mut bad) = (Vec::new(), Vec::new(), Vec::new());
            for line in 1..=12usize {
                let host = format!("h{round}-{line}.example");
                let mut text = format!("{host} \"20271201 10:00:00\"").into_bytes();
                if next() % 3 == 0 {
                    match next() % 4 {
                        0 => text.insert((next() % text.len() as u64) as usize, 0x80 | (next() % 64) as u8),
                        1 => text.truncate(text.len() - 1 - (next() % 8) as usize),
                        2 => text = format!("{host} \"2027130{} 10:00:00\"", next() % 10).into_bytes(),
                        _ => text = (0..1 + next() % 30).map(|_| b'a' + (next() % 26) as u8).collect(),
                    }
                    bad.push(line);
                } else {
                    good.push(host);
                }
                file.extend(text);
                file.push(b'\n');
            }
            let (policies, skipped) = parse_file(&file, now);
            let hosts: Vec<String> = policies.into_iter().map(|p| p.host).collect();
            assert_eq!(hosts, good, "round {round}: every good line is read");
            assert_eq!(skipped.iter().map(|s| s.line).collect::<Vec<_>>(), bad, "round {round}");
        }
    }

    #[test]
    fn upgrades_hosts_with_a_policy_and_their_subdomains_when_included() {
        let hsts = Hsts::new(true, None);
        let later = Some(SystemTime::now() + Duration::from_secs(3600));
        hsts.add([HstsPolicy::new("Example.COM.", later, true), HstsPolicy::new("only.test", later, false)]);
        let upgraded = |text: &str| {
            let mut url = Url::parse(text).unwrap();
            hsts.upgrade(&mut url).then(|| url.to_string())
        };
        assert_eq!(upgraded("http://example.com/a?b").as_deref(), Some("https://example.com/a?b"));
        assert_eq!(upgraded("http://www.example.com:80/").as_deref(), Some("https://www.example.com/"));
        assert_eq!(upgraded("http://a.b.example.com:8080/").as_deref(), Some("https://a.b.example.com:8080/"));
        assert_eq!(upgraded("http://only.test/").as_deref(), Some("https://only.test/"));
        assert_eq!(upgraded("http://sub.only.test/"), None, "no includeSubDomains");
        assert_eq!(upgraded("http://notexample.com/"), None);
        assert_eq!(upgraded("https://example.com/"), None, "https already");
        hsts.set_enabled(false);
        assert_eq!(upgraded("http://example.com/"), None, "off");
    }

    #[test]
    fn learns_only_from_trusted_https_by_name() {
        let hsts = Hsts::new(true, None);
        let mut headers = HeaderMap::new();
        headers.append("strict-transport-security", "max-age=600".parse().unwrap());
        headers.append("strict-transport-security", "max-age=0".parse().unwrap());
        let url = |text: &str| Url::parse(text).unwrap();
        hsts.observe(&url("http://plain.test/"), &headers, true);
        hsts.observe(&url("https://untrusted.test/"), &headers, false);
        hsts.observe(&url("https://127.0.0.1/"), &headers, true);
        hsts.observe(&url("https://[::1]/"), &headers, true);
        assert!(hsts.hosts().is_empty());
        hsts.observe(&url("https://Good.Test/"), &headers, true);
        let hosts = hsts.hosts();
        assert_eq!(hosts.len(), 1, "the first header counts, not the max-age=0 after it");
        assert_eq!(hosts[0].host, "good.test");
        headers.clear();
        headers.insert("strict-transport-security", "max-age=0".parse().unwrap());
        hsts.observe(&url("https://good.test/"), &headers, true);
        assert!(hsts.hosts().is_empty(), "max-age=0 removes the policy");
    }

    #[test]
    fn the_store_file_is_written_on_a_change_and_an_unreadable_one_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hsts.txt");
        let hsts = Hsts::new(true, Some(path.clone()));
        let mut headers = HeaderMap::new();
        headers.insert("strict-transport-security", "max-age=600; includeSubDomains".parse().unwrap());
        hsts.observe(&Url::parse("https://saved.test/").unwrap(), &headers, true);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.lines().any(|l| l.starts_with(".saved.test \"")), "{text}");
        drop(hsts);
        assert_eq!(Hsts::new(true, Some(path.clone())).hosts()[0].host, "saved.test");

        // A directory where the file should be cannot be read: it is never replaced.
        let unreadable = dir.path().join("a-directory");
        std::fs::create_dir(&unreadable).unwrap();
        let hsts = Hsts::new(true, Some(unreadable.clone()));
        hsts.observe(&Url::parse("https://saved.test/").unwrap(), &headers, true);
        drop(hsts);
        assert!(unreadable.is_dir());
    }
}
