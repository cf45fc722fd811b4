//! `-n`/`--netrc-file`: credentials from a netrc file, answering the challenges of the host
//! they are written for, as `-u` answers every challenge.
//!
//! The format is ftp(1)'s, as curl reads it: whitespace-separated tokens, `machine NAME`
//! followed by `login` and `password`, `default` for every other host, `account` ignored,
//! `macdef NAME` skipping its lines up to a blank line; a token may be "quoted" (with `\"`,
//! `\\`, `\n`, `\t` escapes) to hold spaces.

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use netaccess::{AuthenticationChallenge, AuthenticationHandler, Credentials};

use crate::args::Args;

/// The file `-n` or `--netrc-file` names: `$NETRC`, else `~/.netrc`, for `-n`.
pub(crate) fn path(args: &Args) -> Option<PathBuf> {
    if let Some(file) = &args.netrc_file {
        return Some(file.clone());
    }
    if !args.netrc {
        return None;
    }
    std::env::var_os("NETRC")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".netrc")))
}

/// One machine's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// `None` for `default`.
    machine: Option<String>,
    login: String,
    password: String,
}

/// A parsed netrc file.
#[derive(Debug, Clone, Default)]
pub(crate) struct Netrc {
    entries: Vec<Entry>,
}

impl Netrc {
    /// Reads and parses `path`.
    pub(crate) fn load(path: &Path) -> Result<Self, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read the netrc file {}: {e}", path.display()))?;
        Ok(Self::parse(&text))
    }

    fn parse(text: &str) -> Self {
        let mut entries: Vec<Entry> = Vec::new();
        let mut tokens = Tokens::new(text);
        while let Some(token) = tokens.next() {
            match token.as_str() {
                "machine" => {
                    let machine = tokens.next().unwrap_or_default().to_ascii_lowercase();
                    entries.push(Entry { machine: Some(machine), login: String::new(), password: String::new() });
                }
                "default" => entries.push(Entry { machine: None, login: String::new(), password: String::new() }),
                "login" => {
                    let login = tokens.next().unwrap_or_default();
                    if let Some(entry) = entries.last_mut() {
                        entry.login = login;
                    }
                }
                "password" => {
                    let password = tokens.next().unwrap_or_default();
                    if let Some(entry) = entries.last_mut() {
                        entry.password = password;
                    }
                }
                "account" => {
                    tokens.next();
                }
                "macdef" => tokens.skip_macro(),
                _ => {}
            }
        }
        Self { entries }
    }

    /// The credentials for `host`: its machine entry, else `default`.
    fn for_host(&self, host: &str) -> Option<&Entry> {
        let host = host.to_ascii_lowercase();
        self.entries
            .iter()
            .find(|e| e.machine.as_deref() == Some(host.as_str()))
            .or_else(|| self.entries.iter().find(|e| e.machine.is_none()))
    }
}

impl AuthenticationHandler for Netrc {
    fn credentials(&self, challenge: AuthenticationChallenge) -> BoxFuture<'static, Option<Credentials>> {
        // Asked again for the same realm: the file's answer was refused, and would be again.
        let answer = (!challenge.retry)
            .then(|| challenge.url.host_str().and_then(|host| self.for_host(host)))
            .flatten()
            .map(|entry| Credentials::new(&entry.login, &entry.password));
        Box::pin(async move { answer })
    }
}

/// The file's tokens, in order.
struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Self {
        Self { rest: text }
    }

    /// `macdef`: its name, then lines up to an empty line.
    fn skip_macro(&mut self) {
        match self.rest.find("\n\n") {
            Some(end) => self.rest = &self.rest[end + 2..],
            None => self.rest = "",
        }
    }
}

impl Iterator for Tokens<'_> {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        self.rest = self.rest.trim_start();
        if self.rest.is_empty() {
            return None;
        }
        if let Some(quoted) = self.rest.strip_prefix('"') {
            let mut token = String::new();
            let mut chars = quoted.char_indices();
            while let Some((at, c)) = chars.next() {
                match c {
                    '"' => {
                        self.rest = &quoted[at + 1..];
                        return Some(token);
                    }
                    '\\' => match chars.next().map(|(_, e)| e) {
                        Some('n') => token.push('\n'),
                        Some('t') => token.push('\t'),
                        Some(other) => token.push(other),
                        None => {}
                    },
                    _ => token.push(c),
                }
            }
            self.rest = "";
            return Some(token);
        }
        let end = self.rest.find(char::is_whitespace).unwrap_or(self.rest.len());
        let token = self.rest[..end].to_owned();
        self.rest = &self.rest[end..];
        Some(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines_then_default_with_quotes_and_macros() {
        let netrc = Netrc::parse(
            "machine api.example login alice password \"s3cret with space\"\n\
             macdef init\ncd /pub\nmachine evil login x password y\n\n\
             machine Files.Example\n  login bob\n  account ignored\n  password hunter2\n\
             default login anonymous password guest@\n",
        );
        let api = netrc.for_host("api.example").unwrap();
        assert_eq!((api.login.as_str(), api.password.as_str()), ("alice", "s3cret with space"));
        let files = netrc.for_host("files.example").unwrap();
        assert_eq!((files.login.as_str(), files.password.as_str()), ("bob", "hunter2"));
        assert_eq!(netrc.for_host("evil").unwrap().login, "anonymous", "a macro's lines are not entries");
        assert_eq!(netrc.for_host("elsewhere").unwrap().password, "guest@");
        assert!(Netrc::parse("machine only login a password b").for_host("other").is_none());
    }
}
