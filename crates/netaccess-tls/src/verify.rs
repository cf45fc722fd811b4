//! The certificate verifier: it records every problem instead of failing the handshake, so the
//! decision can be taken afterwards with the request's list and the manager's handler.
//!
//! # Design
//!
//! rustls asks a verifier synchronously during the handshake; Qt's `sslErrors` decision is
//! asynchronous (a handler may ask a person). So the verifier classifies and records the
//! problems and lets the handshake finish; [`crate::Handshake`] then carries them, and the
//! caller either accepts the connection or drops it before a single byte of the request is
//! written. Signatures of the handshake itself are always verified for real: a peer must hold
//! the key of the certificate it shows. One consequence, as in Qt: a client certificate may have
//! been sent to a server whose certificate is then refused.
//!
//! rustls resumes a session only with the very verifier that stored it, so there is one
//! verifier per connector, and each handshake's problems reach the right handshake through a
//! [`Recorder`] that [`Recording`] installs (thread-locally) around every poll of that
//! handshake: the verifier runs inside such a poll. Without a recorder the verifier fails
//! closed: any problem refuses the handshake.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use netaccess_core::SslError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::classify::classify;

/// Where one handshake's problems go.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    problems: Mutex<Vec<SslError>>,
}

impl Recorder {
    pub(crate) fn take(&self) -> Vec<SslError> {
        std::mem::take(&mut *self.problems.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Recorder>>> = const { RefCell::new(None) };
}

/// A handshake future with its recorder installed around each poll.
pub(crate) struct Recording<F> {
    pub(crate) inner: Pin<Box<F>>,
    pub(crate) recorder: Arc<Recorder>,
}

impl<F: Future> Future for Recording<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let previous = CURRENT.with(|current| current.replace(Some(self.recorder.clone())));
        let polled = self.inner.as_mut().poll(cx);
        CURRENT.with(|current| current.replace(previous));
        polled
    }
}

#[derive(Debug)]
pub(crate) struct RecordingVerifier {
    roots: Arc<RootCertStore>,
    /// The certificates the user named as trusted (CA files, CAs from memory): one of them shown
    /// as the server's own certificate is trusted for its names and dates.
    named: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
}

impl RecordingVerifier {
    pub(crate) fn new(
        roots: Arc<RootCertStore>,
        named: Vec<CertificateDer<'static>>,
        provider: Arc<CryptoProvider>,
    ) -> Self {
        Self { roots, named, provider }
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let problems = classify(
            end_entity,
            intermediates,
            server_name,
            &self.roots,
            &self.named,
            now,
            self.provider.signature_verification_algorithms,
        );
        let recorded = CURRENT.with(|current| match current.borrow().as_ref() {
            Some(recorder) => {
                *recorder.problems.lock().unwrap_or_else(|e| e.into_inner()) = problems.clone();
                true
            }
            None => false,
        });
        match problems.first() {
            Some(problem) if !recorded => Err(rustls::Error::General(problem.to_string())),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
