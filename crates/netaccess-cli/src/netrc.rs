//! `-n`/`--netrc-file`: credentials from a netrc file, answering the challenges of the host
//! they are written for, as `-u` answers every challenge.
//!
//! The format is ftp(1)'s, as curl reads it (see `netrc/syntax.rs`, the parser alone, which
//! the fuzz target compiles too).

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use netaccess::{AuthenticationChallenge, AuthenticationHandler, Credentials};

use crate::args::Args;
use syntax::Entry;

mod syntax;

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
        Self { entries: syntax::parse(text) }
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
