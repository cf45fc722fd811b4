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
//!
//! A certificate the user named as trusted (a CA file, a CA from memory) that is exactly the
//! server's certificate is trusted for its own names and dates, as OpenSSL (curl, Qt) trusts it:
//! the self-signed certificate `openssl req -x509` makes is marked a CA, which webpki refuses
//! as an end entity (`CaUsedAsEndEntity`); that one refusal is dropped for such a certificate.
//!
//! The certificates are read with webpki, the parser rustls itself uses (issuer and subject);
//! the validity period comes from the error that reports it, so no second X.509 parser is built.

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
    named: &[CertificateDer<'static>],
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
    let named_exactly = named.iter().any(|certificate| certificate.as_ref() == end_entity.as_ref());
    // The chain's refusal, unless it is only that a certificate the user named is a CA.
    let refusal = |at: UnixTime| {
        verify_server_cert_signed_by_trust_anchor(&parsed, roots, intermediates, at, algorithms.all)
            .err()
            .filter(|err| !(named_exactly && is_ca_used_as_end_entity(err)))
    };
    let mut errors = Vec::new();
    if let Some(err) = refusal(now) {
        let first = kind_of(&err, end_entity, intermediates);
        errors.push(error(first, Some(blame(first, end_entity, intermediates)), err.to_string()));
        if let Some(second) = inside_validity(&err).and_then(refusal) {
            let second_kind = kind_of(&second, end_entity, intermediates);
            if second_kind != first {
                errors.push(error(
                    second_kind,
                    Some(blame(second_kind, end_entity, intermediates)),
                    second.to_string(),
                ));
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
        // A CA certificate shown as the server's own: webpki refuses it before it looks for an
        // issuer, so a lone self-signed one (what `openssl req -x509` makes) nobody named is
        // told as OpenSSL tells it.
        _ if is_ca_used_as_end_entity(err) && intermediates.is_empty() && is_self_signed(end_entity) => {
            SslErrorKind::SelfSignedCertificate
        }
        _ if is_ca_used_as_end_entity(err) => SslErrorKind::InvalidPurpose,
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
    webpki::EndEntityCert::try_from(certificate).is_ok_and(|parsed| parsed.issuer() == parsed.subject())
}

/// webpki's refusal of a CA certificate shown as the server's own.
fn is_ca_used_as_end_entity(err: &rustls::Error) -> bool {
    let rustls::Error::InvalidCertificate(CertificateError::Other(other)) = err else { return false };
    matches!(other.0.downcast_ref::<webpki::Error>(), Some(webpki::Error::CaUsedAsEndEntity))
}

/// For a refusal on the validity period, a moment inside it (a second within the bound that was
/// crossed), to find what else is wrong with the chain.
fn inside_validity(err: &rustls::Error) -> Option<UnixTime> {
    let seconds = match err {
        rustls::Error::InvalidCertificate(CertificateError::ExpiredContext { not_after, .. }) => {
            not_after.as_secs().checked_sub(1)?
        }
        rustls::Error::InvalidCertificate(CertificateError::NotValidYetContext { not_before, .. }) => {
            not_before.as_secs().checked_add(1)?
        }
        _ => return None,
    };
    Some(UnixTime::since_unix_epoch(Duration::from_secs(seconds)))
}
