//! The netrc file's syntax, alone: no dependency but `std`, so the fuzz target
//! (`fuzz/fuzz_targets/netrc.rs`) compiles this very file.
//!
//! The format is ftp(1)'s, as curl reads it: whitespace-separated tokens, `machine NAME`
//! followed by `login` and `password`, `default` for every other host, `account` ignored,
//! `macdef NAME` skipping its lines up to a blank line; a token may be "quoted" (with `\"`,
//! `\\`, `\n`, `\t` escapes) to hold spaces.

/// One machine's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// `None` for `default`.
    pub(crate) machine: Option<String>,
    pub(crate) login: String,
    pub(crate) password: String,
}

/// The entries of a netrc file, in its order.
pub(crate) fn parse(text: &str) -> Vec<Entry> {
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
    entries
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
