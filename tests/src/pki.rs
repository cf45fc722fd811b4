//! Certificates for TLS tests, made by rcgen: a CA, leaves that are valid, expired, not yet
//! valid or for another host, a self-signed leaf, a chain through an intermediate (sent or
//! missing), and client identities.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// When a leaf is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// Now (rcgen's default span).
    Current,
    /// It ended in 2021.
    Expired,
    /// It starts in 2090.
    NotYetValid,
}

/// A certificate chain (leaf first) and its key, in DER and PEM.
#[derive(Debug)]
pub struct Identity {
    /// The chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key, PKCS#8 DER.
    pub key_der: Vec<u8>,
    /// The chain in PEM.
    pub chain_pem: String,
    /// The key in PEM.
    pub key_pem: String,
}

impl Identity {
    /// The key as rustls takes it.
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

/// A test certificate authority.
pub struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki").finish_non_exhaustive()
    }
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params
}

fn leaf_params(names: &[&str], validity: Validity, purpose: ExtendedKeyUsagePurpose) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(names).expect("params");
    params.distinguished_name.push(DnType::CommonName, "netaccess test leaf");
    params.extended_key_usages = vec![purpose];
    match validity {
        Validity::Current => {}
        Validity::Expired => {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        Validity::NotYetValid => {
            params.not_before = rcgen::date_time_ymd(2090, 1, 1);
            params.not_after = rcgen::date_time_ymd(2091, 1, 1);
        }
    }
    params
}

fn identity(chain: Vec<CertificateDer<'static>>, key: &KeyPair) -> Identity {
    let chain_pem = chain
        .iter()
        .map(|der| {
            let body = base64_lines(der.as_ref());
            format!("-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n")
        })
        .collect();
    Identity { chain, key_der: key.serialize_der(), chain_pem, key_pem: key.serialize_pem() }
}

fn base64_lines(data: &[u8]) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(data);
    text.as_bytes().chunks(64).map(|line| format!("{}\n", String::from_utf8_lossy(line))).collect()
}

impl Pki {
    /// A new CA named `name`.
    pub fn new(name: &str) -> Self {
        let ca = CertifiedIssuer::self_signed(ca_params(name), KeyPair::generate().expect("key")).expect("CA");
        Self { ca }
    }

    /// The CA certificate in PEM.
    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// The CA certificate in DER.
    pub fn ca_der(&self) -> CertificateDer<'static> {
        self.ca.der().clone()
    }

    /// A server leaf for `names`, signed by the CA.
    pub fn server(&self, names: &[&str], validity: Validity) -> Identity {
        self.leaf(names, validity, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client identity signed by the CA.
    pub fn client(&self, name: &str) -> Identity {
        self.leaf(&[name], Validity::Current, ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn leaf(&self, names: &[&str], validity: Validity, purpose: ExtendedKeyUsagePurpose) -> Identity {
        let key = KeyPair::generate().expect("key");
        let cert = leaf_params(names, validity, purpose).signed_by(&key, &self.ca).expect("leaf");
        identity(vec![cert.der().clone()], &key)
    }

    /// A server leaf signed by an intermediate CA; the chain carries the intermediate only when
    /// `send_intermediate`.
    pub fn server_via_intermediate(&self, names: &[&str], send_intermediate: bool) -> Identity {
        let intermediate = CertifiedIssuer::signed_by(
            ca_params("netaccess test intermediate"),
            KeyPair::generate().expect("key"),
            &self.ca,
        )
        .expect("intermediate");
        let key = KeyPair::generate().expect("key");
        let cert = leaf_params(names, Validity::Current, ExtendedKeyUsagePurpose::ServerAuth)
            .signed_by(&key, &intermediate)
            .expect("leaf");
        let mut chain = vec![cert.der().clone()];
        if send_intermediate {
            chain.push(intermediate.der().clone());
        }
        identity(chain, &key)
    }
}

/// A self-signed server leaf for `names`.
pub fn self_signed(names: &[&str]) -> Identity {
    let key = KeyPair::generate().expect("key");
    let cert =
        leaf_params(names, Validity::Current, ExtendedKeyUsagePurpose::ServerAuth).self_signed(&key).expect("cert");
    identity(vec![cert.der().clone()], &key)
}

/// A self-signed certificate for `names` as `openssl req -x509` makes one: marked a CA
/// (`basicConstraints CA:TRUE`), the way most people make a certificate for their own server.
pub fn self_signed_ca_marked(names: &[&str]) -> Identity {
    let key = KeyPair::generate().expect("key");
    let mut params = leaf_params(names, Validity::Current, ExtendedKeyUsagePurpose::ServerAuth);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("cert");
    identity(vec![cert.der().clone()], &key)
}
