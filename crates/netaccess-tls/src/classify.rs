//! From what the verifier reports to the [`SslError`]s a user can act on.
//!
//! # Design
//!
//! webpki stops at the first problem, but a user deciding what to ignore needs all of them: the
//! chain is checked at the handshake's time, and when that fails on the validity period it is
//! checked again at a time inside the leaf's validity, to find what else is wrong; the host name
//! is checked separately. An unknown issuer is told apart the way OpenSSL (and so Qt) does: a
//! lone self-signed leaf is `SelfSignedCertificate`, a chain ending in a self-signed root nobody
//! trusts is `SelfSignedCertificateInChain`, anything else `UnableToGetLocalIssuerCertificate`.

use std::time::Duration;

use bytes::Bytes;
use netaccess_core::{SslError, SslErrorKind};
use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, RootCertStore};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// Every problem of a server's certificate chain for `server_name`.
pub(crate) fn classify(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    server_name: &ServerName<'_>,
    roots: &RootCertStore,
    now: UnixTime,
    algorithms: WebPkiSupportedAlgorithms,
) -> Vec<SslError> {
    let leaf = Bytes::copy_from_slice(end_entity.as_ref());
    let parsed = match ParsedCertificate::try_from(end_entity) {
        Ok(parsed) => parsed,
        Err(err) => {
            return vec![error(SslErrorKind::UnspecifiedError, Some(leaf), format!("unreadable certificate: {err}"))]
        }
    };
    let mut errors = Vec::new();
    if let Err(err) = verify_server_cert_signed_by_trust_anchor(&parsed, roots, intermediates, now, algorithms.all) {
        let first = kind_of(&err, end_entity, intermediates);
        errors.push(error(first, Some(blame(first, end_entity, intermediates)), err.to_string()));
        if matches!(first, SslErrorKind::CertificateExpired | SslErrorKind::CertificateNotYetValid) {
            if let Some(inside) = inside_validity(end_entity) {
                if let Err(err) =
                    verify_server_cert_signed_by_trust_anchor(&parsed, roots, intermediates, inside, algorithms.all)
                {
                    let second = kind_of(&err, end_entity, intermediates);
                    if second != first {
                        errors.push(error(second, Some(blame(second, end_entity, intermediates)), err.to_string()));
                    }
                }
            }
        }
    }
    if let Err(err) = rustls::client::verify_server_name(&parsed, server_name) {
        errors.push(error(
            SslErrorKind::HostNameMismatch,
            Some(leaf),
            format!("the certificate is not valid for {}: {err}", server_name.to_str()),
        ));
    }
    errors
}

fn error(kind: SslErrorKind, certificate: Option<Bytes>, message: String) -> SslError {
    SslError { kind, certificate, message }
}

fn kind_of(err: &rustls::Error, end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>]) -> SslErrorKind {
    let rustls::Error::InvalidCertificate(certificate_error) = err else {
        return SslErrorKind::UnspecifiedError;
    };
    match certificate_error {
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => SslErrorKind::CertificateExpired,
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            SslErrorKind::CertificateNotYetValid
        }
        CertificateError::UnknownIssuer => untrusted_kind(end_entity, intermediates),
        CertificateError::BadSignature => SslErrorKind::CertificateSignatureFailed,
        CertificateError::Revoked => SslErrorKind::CertificateRevoked,
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            SslErrorKind::InvalidPurpose
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            SslErrorKind::HostNameMismatch
        }
        _ => SslErrorKind::UnspecifiedError,
    }
}

fn untrusted_kind(end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>]) -> SslErrorKind {
    if intermediates.is_empty() && is_self_signed(end_entity) {
        SslErrorKind::SelfSignedCertificate
    } else if intermediates.last().is_some_and(is_self_signed) {
        SslErrorKind::SelfSignedCertificateInChain
    } else {
        SslErrorKind::UnableToGetLocalIssuerCertificate
    }
}

/// The certificate an error is about: the top of the chain for trust problems, else the leaf.
fn blame(kind: SslErrorKind, end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>]) -> Bytes {
    let certificate = match kind {
        SslErrorKind::SelfSignedCertificateInChain | SslErrorKind::UnableToGetLocalIssuerCertificate => {
            intermediates.last().unwrap_or(end_entity)
        }
        _ => end_entity,
    };
    Bytes::copy_from_slice(certificate.as_ref())
}

fn is_self_signed(certificate: &CertificateDer<'_>) -> bool {
    x509_parser::parse_x509_certificate(certificate.as_ref())
        .is_ok_and(|(_, parsed)| parsed.issuer().as_raw() == parsed.subject().as_raw())
}

/// A moment in the middle of the leaf's validity period.
fn inside_validity(end_entity: &CertificateDer<'_>) -> Option<UnixTime> {
    let (_, parsed) = x509_parser::parse_x509_certificate(end_entity.as_ref()).ok()?;
    let validity = parsed.validity();
    let start = validity.not_before.timestamp();
    let end = validity.not_after.timestamp();
    let middle = u64::try_from(start + (end - start) / 2).ok()?;
    Some(UnixTime::since_unix_epoch(Duration::from_secs(middle)))
}
