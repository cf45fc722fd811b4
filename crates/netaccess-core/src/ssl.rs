//! TLS certificate problems as a user can act on them ([`SslError`], named after Qt's
//! `QSslError`), and how a request or a handler decides to ignore them.
//!
//! # Design
//!
//! The kinds live here, not in the TLS crate, because requests name them in advance
//! ([`IgnoredSslErrors`]), replies report them ([`crate::ReplyEvent::SslErrors`]) and the
//! manager's [`SslErrorHandler`] answers for them, all without depending on rustls. Certificates
//! travel as DER bytes.

use std::fmt;

use bytes::Bytes;
use futures::future::BoxFuture;
use url::Url;

/// A certificate problem, named after Qt's `QSslError::SslError` where one fits.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SslErrorKind {
    /// The server's own certificate is self-signed and not trusted.
    SelfSignedCertificate,
    /// The chain ends in a self-signed root that is not trusted.
    SelfSignedCertificateInChain,
    /// A certificate has expired.
    CertificateExpired,
    /// A certificate is not valid yet.
    CertificateNotYetValid,
    /// The certificate does not name the host.
    HostNameMismatch,
    /// The issuer of a certificate is not known (unknown CA, or a missing intermediate).
    UnableToGetLocalIssuerCertificate,
    /// The chain is not trusted for another reason.
    CertificateUntrusted,
    /// A certificate was revoked.
    CertificateRevoked,
    /// A certificate may not be used for a TLS server.
    InvalidPurpose,
    /// A signature in the chain does not verify.
    CertificateSignatureFailed,
    /// The server sent no certificate.
    NoPeerCertificate,
    /// Something else the verifier refused.
    UnspecifiedError,
}

impl SslErrorKind {
    /// Every kind.
    pub const ALL: &'static [SslErrorKind] = &[
        SslErrorKind::SelfSignedCertificate,
        SslErrorKind::SelfSignedCertificateInChain,
        SslErrorKind::CertificateExpired,
        SslErrorKind::CertificateNotYetValid,
        SslErrorKind::HostNameMismatch,
        SslErrorKind::UnableToGetLocalIssuerCertificate,
        SslErrorKind::CertificateUntrusted,
        SslErrorKind::CertificateRevoked,
        SslErrorKind::InvalidPurpose,
        SslErrorKind::CertificateSignatureFailed,
        SslErrorKind::NoPeerCertificate,
        SslErrorKind::UnspecifiedError,
    ];

    /// The kind's name, as Qt spells it.
    pub fn name(self) -> &'static str {
        match self {
            SslErrorKind::SelfSignedCertificate => "SelfSignedCertificate",
            SslErrorKind::SelfSignedCertificateInChain => "SelfSignedCertificateInChain",
            SslErrorKind::CertificateExpired => "CertificateExpired",
            SslErrorKind::CertificateNotYetValid => "CertificateNotYetValid",
            SslErrorKind::HostNameMismatch => "HostNameMismatch",
            SslErrorKind::UnableToGetLocalIssuerCertificate => "UnableToGetLocalIssuerCertificate",
            SslErrorKind::CertificateUntrusted => "CertificateUntrusted",
            SslErrorKind::CertificateRevoked => "CertificateRevoked",
            SslErrorKind::InvalidPurpose => "InvalidPurpose",
            SslErrorKind::CertificateSignatureFailed => "CertificateSignatureFailed",
            SslErrorKind::NoPeerCertificate => "NoPeerCertificate",
            SslErrorKind::UnspecifiedError => "UnspecifiedError",
        }
    }

    /// What the problem means, in words a user can act on.
    ///
    /// ```
    /// use netaccess_core::SslErrorKind;
    /// assert!(SslErrorKind::HostNameMismatch.explanation().contains("another name"));
    /// ```
    pub fn explanation(self) -> &'static str {
        match self {
            SslErrorKind::SelfSignedCertificate => "the certificate signed itself and is not among the trusted ones",
            SslErrorKind::SelfSignedCertificateInChain => "the chain ends in a root certificate that is not trusted",
            SslErrorKind::CertificateExpired => "the certificate has expired",
            SslErrorKind::CertificateNotYetValid => "the certificate is not valid yet",
            SslErrorKind::HostNameMismatch => "the certificate was issued for another name",
            SslErrorKind::UnableToGetLocalIssuerCertificate => "no trusted authority issued the certificate",
            SslErrorKind::CertificateUntrusted => "the certificate is not trusted for this purpose",
            SslErrorKind::CertificateRevoked => "the certificate was revoked",
            SslErrorKind::InvalidPurpose => "the certificate is not meant for a TLS server",
            SslErrorKind::CertificateSignatureFailed => "a signature in the chain is wrong",
            SslErrorKind::NoPeerCertificate => "the server showed no certificate",
            SslErrorKind::UnspecifiedError => "the certificate was refused",
        }
    }

    /// The kind with this name (as [`name`](Self::name) spells it), ignoring case.
    ///
    /// ```
    /// use netaccess_core::SslErrorKind;
    /// assert_eq!(SslErrorKind::from_name("hostnamemismatch"), Some(SslErrorKind::HostNameMismatch));
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|kind| kind.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for SslErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One certificate problem: its kind, the certificate it concerns (DER), and the verifier's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SslError {
    /// What is wrong.
    pub kind: SslErrorKind,
    /// The offending certificate, DER-encoded, when one is to blame.
    pub certificate: Option<Bytes>,
    /// The verifier's explanation.
    pub message: String,
}

impl fmt::Display for SslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

/// Which certificate problems a request accepts in advance (Qt's `ignoreSslErrors`).
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum IgnoredSslErrors {
    /// None: every problem fails the request unless the manager's handler ignores it.
    #[default]
    None,
    /// Only these kinds.
    Listed(Vec<SslErrorKind>),
    /// Every problem (`ignoreSslErrors()` without a list; curl's `--insecure`).
    All,
}

impl IgnoredSslErrors {
    /// Whether every error in `errors` is accepted.
    pub fn covers(&self, errors: &[SslError]) -> bool {
        match self {
            IgnoredSslErrors::None => errors.is_empty(),
            IgnoredSslErrors::Listed(kinds) => errors.iter().all(|e| kinds.contains(&e.kind)),
            IgnoredSslErrors::All => true,
        }
    }
}

/// What an [`SslErrorHandler`] answers.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SslErrorDecision {
    /// Go on despite every error reported.
    IgnoreAll,
    /// Go on if every error is of these kinds.
    Ignore(Vec<SslErrorKind>),
    /// Fail the request with `SslHandshakeFailedError`.
    Refuse,
}

/// Asked when a connection's certificate has problems the request did not accept in advance
/// (Qt's `sslErrors` signal, answered by `ignoreSslErrors`).
pub trait SslErrorHandler: Send + Sync + 'static {
    /// The decision for `url`, given the `errors` and the peer's certificate `chain` (DER, leaf
    /// first).
    fn decide(&self, url: &Url, errors: &[SslError], chain: &[Bytes]) -> BoxFuture<'static, SslErrorDecision>;
}
