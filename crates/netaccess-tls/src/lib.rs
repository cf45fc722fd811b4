//! TLS for netaccess, on rustls.
//!
//! [`TlsConfig`] says whom to trust and which client certificate to show; [`TlsConnector`]
//! performs handshakes and reports every certificate problem as a Qt-named
//! [`netaccess_core::SslError`] instead of failing at once, so the caller decides:
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use netaccess_tls::{TlsConfig, TlsConnector};
//!
//! let connector = TlsConnector::new(TlsConfig::default().with_ca_file("/etc/my-ca.pem"))?;
//! let tcp = tokio::net::TcpStream::connect("example.com:443").await?;
//! let handshake = connector.connect(tcp, "example.com").await?;
//! if handshake.errors.is_empty() {
//!     let _stream = handshake.accept();
//! } else {
//!     eprintln!("refusing: {:?}", handshake.errors);
//! }
//! # Ok(()) }
//! ```
//!
//! # Design
//!
//! - **Crypto provider**: *ring*, one provider for the whole workspace (it builds with the C
//!   compiler every machine here has; aws-lc-rs would need cmake).
//! - **Trust**: the system's store by default, read with `rustls-native-certs` (so CAs a company
//!   installs in `/etc/ssl/certs`, or names in `SSL_CERT_FILE`, just work); Mozilla's roots from
//!   `webpki-roots` with `Trust::WebPki` (cargo feature `webpki-roots`); extra CA files in PEM
//!   on top of either, or alone with [`Trust::None`].
//! - **Problems are recorded, then decided**: the handshake completes, the [`Handshake`] carries
//!   every problem, and the caller accepts or drops the connection before sending anything.
//!   Session tickets are kept only for connections that had no problem, so an exception never
//!   resumes into another request (the `verify` and `sessions` modules say how).
//! - ALPN offers `http/1.1`; TLS 1.2 and 1.3; SNI for host names (not for IP addresses).

#![forbid(unsafe_code)]

mod classify;
mod sessions;
mod verify;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use netaccess_core::SslError;
use rustls::client::{ClientSessionMemoryCache, Resumption};
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::sessions::GatedSessions;
use crate::verify::{Recorder, Recording, RecordingVerifier};

/// How many TLS sessions are remembered for resumption.
pub const SESSION_CACHE_SIZE: usize = 256;

/// Which roots are trusted before the extra CA files.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Trust {
    /// The system's store (the default).
    #[default]
    System,
    /// Mozilla's roots as bundled by `webpki-roots` (cargo feature `webpki-roots`).
    #[cfg(feature = "webpki-roots")]
    WebPki,
    /// Nothing but the extra CA files.
    None,
}

/// Whom to trust and what to show.
///
/// ```
/// use netaccess_tls::{TlsConfig, Trust};
/// let config = TlsConfig::default().with_trust(Trust::None).with_ca_file("ca.pem");
/// assert_eq!(config.ca_files().len(), 1);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Default)]
pub struct TlsConfig {
    trust: Trust,
    ca_files: Vec<PathBuf>,
    ca_certificates: Vec<Bytes>,
    ca_pems: Vec<Bytes>,
    client_identity: Option<ClientIdentity>,
}

/// Where the client certificate chain and its key come from.
#[derive(Debug, Clone)]
enum ClientIdentity {
    /// PEM files: the chain (leaf first), the key.
    Files(PathBuf, PathBuf),
    /// PEM bytes: the chain (leaf first), the key.
    Pem(Bytes, Bytes),
}

impl TlsConfig {
    /// The base roots.
    #[must_use]
    pub fn with_trust(mut self, trust: Trust) -> Self {
        self.trust = trust;
        self
    }

    /// Also trusts the CA certificates in this PEM file.
    #[must_use]
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_files.push(path.into());
        self
    }

    /// Also trusts this CA certificate (DER).
    #[must_use]
    pub fn with_ca_certificate(mut self, der: impl Into<Bytes>) -> Self {
        self.ca_certificates.push(der.into());
        self
    }

    /// Also trusts the CA certificates in these PEM bytes (one or more `BEGIN CERTIFICATE`
    /// blocks), as [`with_ca_file`](Self::with_ca_file) does for a file.
    ///
    /// ```
    /// use netaccess_tls::TlsConfig;
    /// let pem = "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n";
    /// let config = TlsConfig::default().with_ca_pem(pem);
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn with_ca_pem(mut self, pem: impl Into<Bytes>) -> Self {
        self.ca_pems.push(pem.into());
        self
    }

    /// Shows this client certificate chain (PEM file, leaf first) with its private key (PEM
    /// file).
    #[must_use]
    pub fn with_client_certificate(mut self, chain: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_identity = Some(ClientIdentity::Files(chain.into(), key.into()));
        self
    }

    /// Shows this client certificate chain (PEM bytes, leaf first) with its private key (PEM
    /// bytes): an identity from a secret store rather than a file.
    #[must_use]
    pub fn with_client_certificate_pem(mut self, chain: impl Into<Bytes>, key: impl Into<Bytes>) -> Self {
        self.client_identity = Some(ClientIdentity::Pem(chain.into(), key.into()));
        self
    }

    /// The extra CA files.
    pub fn ca_files(&self) -> &[PathBuf] {
        &self.ca_files
    }
}

/// A TLS setup that could not be built: an unreadable file, no usable root.
#[derive(Debug)]
pub struct TlsSetupError(String);

impl fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsSetupError {}

/// A handshake that failed before any certificate decision (the peer closed, no common
/// protocol version or cipher, a bad signature).
#[derive(Debug)]
pub struct HandshakeError(pub std::io::Error);

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the TLS handshake failed: {}", self.0)
    }
}

impl std::error::Error for HandshakeError {}

/// ALPN offering HTTP/1.1 only (what [`TlsConnector::connect`] offers).
pub const ALPN_HTTP1: &[&[u8]] = &[b"http/1.1"];

/// ALPN offering HTTP/2, then HTTP/1.1 (https where HTTP/2 is allowed, as browsers and Qt do).
pub const ALPN_H2_HTTP1: &[&[u8]] = &[b"h2", b"http/1.1"];

/// Performs client handshakes; cheap to clone, shares its session cache.
#[derive(Clone)]
pub struct TlsConnector {
    base: Arc<ClientConfig>,
    roots: Arc<RootCertStore>,
    sessions: Arc<ClientSessionMemoryCache>,
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector").field("roots", &self.roots.len()).finish_non_exhaustive()
    }
}

fn load_pem_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let certificates: Result<Vec<_>, _> = CertificateDer::pem_file_iter(path)
        .map_err(|e| TlsSetupError(format!("cannot read {}: {e}", path.display())))?
        .collect();
    let certificates = certificates.map_err(|e| TlsSetupError(format!("bad PEM in {}: {e}", path.display())))?;
    if certificates.is_empty() {
        return Err(TlsSetupError(format!("no certificate in {}", path.display())));
    }
    Ok(certificates)
}

fn parse_pem_certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let certificates: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
    let certificates = certificates.map_err(|e| TlsSetupError(format!("bad PEM in the {what}: {e}")))?;
    if certificates.is_empty() {
        return Err(TlsSetupError(format!("no certificate in the {what}")));
    }
    Ok(certificates)
}

/// The client identity's chain and key, read from files or from memory.
fn load_identity(
    identity: &ClientIdentity,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsSetupError> {
    match identity {
        ClientIdentity::Files(chain, key) => Ok((
            load_pem_certificates(chain)?,
            PrivateKeyDer::from_pem_file(key)
                .map_err(|e| TlsSetupError(format!("cannot read the private key {}: {e}", key.display())))?,
        )),
        ClientIdentity::Pem(chain, key) => Ok((
            parse_pem_certificates(chain, "client certificate PEM")?,
            PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| TlsSetupError(format!("cannot read the private key PEM: {e}")))?,
        )),
    }
}

impl TlsConnector {
    /// Loads the roots and the client identity.
    ///
    /// # Errors
    /// A CA or identity file cannot be read or parsed.
    pub fn new(config: TlsConfig) -> Result<Self, TlsSetupError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        match config.trust {
            Trust::System => {
                let native = rustls_native_certs::load_native_certs();
                for error in &native.errors {
                    tracing::debug!(%error, "skipping part of the system trust store");
                }
                let (added, ignored) = roots.add_parsable_certificates(native.certs);
                tracing::debug!(added, ignored, "system trust store loaded");
            }
            #[cfg(feature = "webpki-roots")]
            Trust::WebPki => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Trust::None => {}
        }
        // Every certificate the user named, with where it came from.
        let mut named = Vec::new();
        for path in &config.ca_files {
            named.extend(load_pem_certificates(path)?.into_iter().map(|c| (c, path.display().to_string())));
        }
        for pem in &config.ca_pems {
            named.extend(parse_pem_certificates(pem, "CA PEM")?.into_iter().map(|c| (c, "the CA PEM".to_owned())));
        }
        for der in &config.ca_certificates {
            named.push((CertificateDer::from(der.to_vec()), "a CA certificate".to_owned()));
        }
        for (certificate, from) in &named {
            roots
                .add(certificate.clone())
                .map_err(|e| TlsSetupError(format!("unusable CA certificate in {from}: {e}")))?;
        }
        let roots = Arc::new(roots);
        let named = named.into_iter().map(|(certificate, _)| certificate).collect();
        let verifier = RecordingVerifier::new(roots.clone(), named, provider.clone());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsSetupError(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier));
        let base = match &config.client_identity {
            None => builder.with_no_client_auth(),
            Some(identity) => {
                let (chain, key) = load_identity(identity)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| TlsSetupError(format!("unusable client certificate: {e}")))?
            }
        };
        let sessions = Arc::new(ClientSessionMemoryCache::new(SESSION_CACHE_SIZE));
        Ok(Self { base: Arc::new(base), roots, sessions })
    }

    /// A plain rustls configuration trusting the same roots, for protocols that take a
    /// `rustls::ClientConfig` and fail on any certificate problem (explicit FTPS): no problem
    /// classification, no handler.
    pub fn verifying_config(&self) -> Arc<ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions");
        Arc::new(builder.with_root_certificates(self.roots.clone()).with_no_client_auth())
    }

    /// How many roots are trusted.
    pub fn root_count(&self) -> usize {
        self.roots.len()
    }

    /// Performs a handshake with `host` over `io`. Certificate problems do not fail it: they
    /// are in [`Handshake::errors`] for the caller to decide.
    ///
    /// # Errors
    /// The handshake itself failed.
    pub async fn connect<IO>(&self, io: IO, host: &str) -> Result<Handshake<IO>, HandshakeError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        self.connect_offering(io, host, ALPN_HTTP1).await
    }

    /// Performs a handshake with `host` over `io`, offering `protocols` by ALPN in order of
    /// preference ([`ALPN_H2_HTTP1`] for https that may speak HTTP/2); the chosen one is
    /// [`Handshake::alpn_protocol`].
    ///
    /// # Errors
    /// The handshake itself failed.
    pub async fn connect_offering<IO>(
        &self,
        io: IO,
        host: &str,
        protocols: &[&[u8]],
    ) -> Result<Handshake<IO>, HandshakeError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let server_name = ServerName::try_from(bare.to_owned())
            .map_err(|e| HandshakeError(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
        let recorder = Arc::new(Recorder::default());
        let gate = Arc::new(GatedSessions::new(self.sessions.clone()));
        let mut config = (*self.base).clone();
        config.resumption = Resumption::store(gate.clone());
        config.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
        let connecting = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(server_name, io);
        let stream =
            Recording { inner: Box::pin(connecting), recorder: recorder.clone() }.await.map_err(HandshakeError)?;
        let chain = stream
            .get_ref()
            .1
            .peer_certificates()
            .map(|certs| certs.iter().map(|c| Bytes::copy_from_slice(c.as_ref())).collect())
            .unwrap_or_default();
        Ok(Handshake { stream, errors: recorder.take(), chain, gate })
    }
}

/// A completed handshake waiting for the caller's decision.
pub struct Handshake<IO> {
    stream: tokio_rustls::client::TlsStream<IO>,
    /// Every certificate problem found (empty: the chain is trusted and names the host).
    pub errors: Vec<SslError>,
    /// The peer's chain, DER, leaf first.
    pub chain: Vec<Bytes>,
    gate: Arc<GatedSessions>,
}

impl<IO> fmt::Debug for Handshake<IO> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handshake").field("errors", &self.errors).field("chain", &self.chain.len()).finish()
    }
}

impl<IO> Handshake<IO> {
    /// Uses the connection. Its session is remembered for resumption only when it had no
    /// certificate problem.
    pub fn accept(self) -> tokio_rustls::client::TlsStream<IO> {
        self.gate.decide(self.errors.is_empty());
        self.stream
    }

    /// Whether the session was resumed (no certificate was shown: the one of the session it
    /// resumed was trusted without problems).
    pub fn resumed(&self) -> bool {
        self.stream.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
    }

    /// The negotiated ALPN protocol.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.stream.get_ref().1.alpn_protocol()
    }

    /// The negotiated protocol version, cipher suite and ALPN protocol.
    pub fn facts(&self) -> netaccess_core::TlsFacts {
        let connection = self.stream.get_ref().1;
        let version = connection.protocol_version().map(|v| format!("{v:?}")).unwrap_or_default();
        let cipher = connection.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())).unwrap_or_default();
        let alpn = connection.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned());
        netaccess_core::TlsFacts::new(version, cipher, alpn)
    }
}

/// The README's example, compiled (and run where it needs no server) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
