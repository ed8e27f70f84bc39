//! The local shape's own PKI, made on first start in `<data-dir>/pki/` (keys PKCS#8, mode
//! 0600; certificates PEM): a root (20 years), an issuing CA (path length 0), the service's
//! signing certificate (3 years; digitalSignature + nonRepudiation, EKU documentSigning,
//! emailProtection and Adobe's Authentic Documents Trust, reissued on start for data dirs
//! made before) and
//! a TSA certificate (10 years; EKU timeStamping only, critical — x509-cert marks an EKU
//! critical unless it lists anyExtendedKeyUsage). Each certificate names its
//! issuer's CRL (under the public URL) and where to fetch its issuer (AIA). CRLs are issued
//! fresh on every request, so validation data is always newer than the last timestamp.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use const_oid::db::rfc5280::{ID_AD_CA_ISSUERS, ID_KP_EMAIL_PROTECTION, ID_KP_TIME_STAMPING};
use const_oid::db::rfc5912::ECDSA_WITH_SHA_256;
use der::asn1::{BitString, Ia5String, UtcTime};
use der::referenced::OwnedToRef;
use der::{Decode, DecodePem, Encode, EncodePem, pem::LineEnding};
use keiyaku_core::ports::{AuthorityError, CaLevel, Tsa, TsaError};
use keiyaku_pdf::TsaSigner;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand::RngCore;
use signature::Signer;
use spki::{AlgorithmIdentifierOwned, EncodePublicKey, SubjectPublicKeyInfoOwned};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::crl::{CertificateList, TbsCertList};
use x509_cert::ext::AsExtension;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, CrlDistributionPoints,
    CrlNumber, ExtendedKeyUsage,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, Version};

/// id-kp-documentSigning (RFC 9336).
pub const ID_KP_DOCUMENT_SIGNING: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.36");

/// Adobe Authentic Documents Trust (Acrobat's purpose for document-signing certificates).
const ADOBE_AUTHENTIC_DOCUMENTS_TRUST: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.2.840.113583.1.1.5");

const YEAR: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// What making or reading the PKI can fail with.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A stored key or certificate is damaged, or a structure could not be encoded.
    #[error("{0}")]
    Malformed(String),
}

fn malformed(e: impl std::fmt::Display) -> PkiError {
    PkiError::Malformed(e.to_string())
}

/// A key and the certificate for it.
#[derive(Clone)]
pub struct Issued {
    /// The private key.
    pub key: SigningKey,
    /// Its certificate.
    pub cert: Certificate,
}

/// The local PKI.
#[derive(Clone)]
pub struct LocalPki {
    /// The trust anchor.
    pub root: Issued,
    /// The CA that issues the service's and the TSA's certificates.
    pub issuing: Issued,
    /// The service's signing certificate (seals).
    pub service: Issued,
    /// The time-stamping authority's certificate.
    pub tsa: Issued,
    /// The last timestamp serial number issued (serials only grow, across restarts too).
    tsa_serial: Arc<Mutex<u128>>,
}

/// The local TSA's policy. 1.3.6.1.4.1.32473 is IANA's enterprise number for examples
/// (RFC 5612): a local installation is not a certified TSA and says so; production uses a
/// certified TSA with its own policy.
pub const LOCAL_TSA_POLICY: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.32473.3161.1");

fn uri(url: String) -> Result<GeneralName, PkiError> {
    Ok(GeneralName::UniformResourceIdentifier(
        Ia5String::new(&url).map_err(malformed)?,
    ))
}

fn serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes[0] &= 0x7f; // positive
    bytes[0] |= 0x40; // and of full length
    SerialNumber::new(&bytes).expect("16 bytes make a valid serial number")
}

fn spki_of(key: &SigningKey) -> Result<SubjectPublicKeyInfoOwned, PkiError> {
    let der = key.verifying_key().to_public_key_der().map_err(malformed)?;
    SubjectPublicKeyInfoOwned::from_der(der.as_bytes()).map_err(malformed)
}

/// URLs a certificate points at: its issuer's CRL and its issuer's certificate.
struct Pointers {
    crl: String,
    issuer: String,
}

fn issue(
    profile: Profile,
    subject: &str,
    lifetime: Duration,
    key: &SigningKey,
    issuer: Option<&Issued>,
    pointers: Option<&Pointers>,
    eku: Option<ExtendedKeyUsage>,
) -> Result<Certificate, PkiError> {
    let subject = Name::from_str(subject).map_err(malformed)?;
    let validity = validity(lifetime)?;
    let signer = issuer.map(|i| &i.key).unwrap_or(key);
    let mut builder =
        CertificateBuilder::new(profile, serial(), validity, subject, spki_of(key)?, signer)
            .map_err(malformed)?;
    if let Some(p) = pointers {
        builder
            .add_extension(&CrlDistributionPoints(vec![DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![uri(p
                    .crl
                    .clone())?])),
                reasons: None,
                crl_issuer: None,
            }]))
            .map_err(malformed)?;
        builder
            .add_extension(&AuthorityInfoAccessSyntax(vec![AccessDescription {
                access_method: ID_AD_CA_ISSUERS,
                access_location: uri(p.issuer.clone())?,
            }]))
            .map_err(malformed)?;
    }
    if let Some(eku) = eku {
        builder.add_extension(&eku).map_err(malformed)?;
    }
    builder.build::<DerSignature>().map_err(malformed)
}

/// Names carry a short fingerprint of the root key, so two installations' roots are told
/// apart in a trust store.
fn tag(root_key: &SigningKey) -> Result<String, PkiError> {
    use sha2::Digest;
    let spki = root_key
        .verifying_key()
        .to_public_key_der()
        .map_err(malformed)?;
    Ok(hex::encode(&sha2::Sha256::digest(spki.as_bytes())[..4]))
}

/// A leaf certificate from the issuing CA, pointing at its CRL and certificate under
/// `ca_url`.
fn issue_leaf(
    issuing: &Issued,
    name: &str,
    lifetime: Duration,
    key: &SigningKey,
    ca_url: &str,
    eku: ExtendedKeyUsage,
) -> Result<Certificate, PkiError> {
    issue(
        Profile::Leaf {
            issuer: issuing.cert.tbs_certificate.subject.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        &format!("CN={name},O=keiyaku"),
        lifetime,
        key,
        Some(issuing),
        Some(&Pointers {
            crl: format!("{ca_url}/crl"),
            issuer: format!("{ca_url}/issuing.crt"),
        }),
        Some(eku),
    )
}

/// What the sealing certificate may be used for: documentSigning (RFC 9336), and the
/// purposes NSS (Evince, Okular, `pdfsig`: emailProtection) and Adobe (Authentic Documents
/// Trust) require of a document signer; pyHanko accepts all three.
fn sealing_purposes() -> ExtendedKeyUsage {
    ExtendedKeyUsage(vec![
        ID_KP_DOCUMENT_SIGNING,
        ID_KP_EMAIL_PROTECTION,
        ADOBE_AUTHENTIC_DOCUMENTS_TRUST,
    ])
}

/// From an hour ago (clocks differ: a token dated by a slightly slower clock must not
/// predate its TSA's certificate) until `lifetime` from now.
fn validity(lifetime: Duration) -> Result<Validity, PkiError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(malformed)?;
    let at = |d: Duration| -> Result<Time, PkiError> {
        Ok(Time::UtcTime(
            UtcTime::from_unix_duration(Duration::from_secs(d.as_secs())).map_err(malformed)?,
        ))
    };
    Ok(Validity {
        not_before: at(now.saturating_sub(Duration::from_secs(3600)))?,
        not_after: at(now + lifetime)?,
    })
}

fn write_private(path: &Path, contents: &[u8]) -> Result<(), PkiError> {
    crate::keys::write_secret(path, contents).map_err(|source| PkiError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn read(path: &Path) -> Result<String, PkiError> {
    std::fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.display().to_string(),
        source,
    })
}

impl LocalPki {
    /// Opens the PKI in `dir`, creating it on first start with `public_url` (no trailing
    /// slash) written into the certificates' CRL and issuer pointers.
    pub fn open_or_create(dir: &Path, public_url: &str) -> Result<Self, PkiError> {
        if dir.join("root.pem").exists() {
            let mut pki = Self::open(dir)?;
            pki.upgrade(dir, public_url)?;
            return Ok(pki);
        }
        std::fs::create_dir_all(dir).map_err(|source| PkiError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let keys: Vec<SigningKey> = (0..4)
            .map(|_| SigningKey::random(&mut rand::rngs::OsRng))
            .collect();
        let tag = tag(&keys[0])?;
        let ca_url = format!("{public_url}/api/v1/ca");
        let root_subject = format!("CN=keiyaku Local Root CA {tag},O=keiyaku");
        let root_cert = issue(
            Profile::Root,
            &root_subject,
            20 * YEAR,
            &keys[0],
            None,
            None,
            None,
        )?;
        let root = Issued {
            key: keys[0].clone(),
            cert: root_cert,
        };
        let issuing_cert = issue(
            Profile::SubCA {
                issuer: root.cert.tbs_certificate.subject.clone(),
                path_len_constraint: Some(0),
            },
            &format!("CN=keiyaku Local Issuing CA {tag},O=keiyaku"),
            15 * YEAR,
            &keys[1],
            Some(&root),
            Some(&Pointers {
                crl: format!("{ca_url}/root.crl"),
                issuer: format!("{ca_url}/root.crt"),
            }),
            None,
        )?;
        let issuing = Issued {
            key: keys[1].clone(),
            cert: issuing_cert,
        };
        let service_cert = issue_leaf(
            &issuing,
            &format!("keiyaku Document Sealing {tag}"),
            3 * YEAR,
            &keys[2],
            &ca_url,
            sealing_purposes(),
        )?;
        let tsa_cert = issue_leaf(
            &issuing,
            &format!("keiyaku Local TSA {tag}"),
            10 * YEAR,
            &keys[3],
            &ca_url,
            ExtendedKeyUsage(vec![ID_KP_TIME_STAMPING]),
        )?;
        let pki = LocalPki {
            root,
            issuing,
            service: Issued {
                key: keys[2].clone(),
                cert: service_cert,
            },
            tsa: Issued {
                key: keys[3].clone(),
                cert: tsa_cert,
            },
            tsa_serial: Arc::default(),
        };
        for (name, issued) in pki.named() {
            let key = issued.key.to_pkcs8_pem(LineEnding::LF).map_err(malformed)?;
            write_private(&dir.join(format!("{name}.key")), key.as_bytes())?;
            let pem = issued.cert.to_pem(LineEnding::LF).map_err(malformed)?;
            write_private(&dir.join(format!("{name}.pem")), pem.as_bytes())?;
        }
        Ok(pki)
    }

    /// Brings the PKI of an existing data dir up to what this version issues: a sealing
    /// certificate made before it carried the extended key usages validators require is
    /// issued again for the same key (seals already made keep theirs, which stays valid).
    fn upgrade(&mut self, dir: &Path, public_url: &str) -> Result<(), PkiError> {
        let current = self
            .service
            .cert
            .tbs_certificate
            .extensions
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE)
            .and_then(|e| ExtendedKeyUsage::from_der(e.extn_value.as_bytes()).ok());
        if current.is_some_and(|eku| eku == sealing_purposes()) {
            return Ok(());
        }
        let cert = issue_leaf(
            &self.issuing,
            &format!("keiyaku Document Sealing {}", tag(&self.root.key)?),
            3 * YEAR,
            &self.service.key,
            &format!("{public_url}/api/v1/ca"),
            sealing_purposes(),
        )?;
        let pem = cert.to_pem(LineEnding::LF).map_err(malformed)?;
        // Written beside, then renamed over: a crash leaves the old certificate or the new.
        let fresh = dir.join("service.pem.new");
        let _ = std::fs::remove_file(&fresh);
        write_private(&fresh, pem.as_bytes())?;
        let path = dir.join("service.pem");
        std::fs::rename(&fresh, &path).map_err(|source| PkiError::Io {
            path: path.display().to_string(),
            source,
        })?;
        tracing::info!(
            "the sealing certificate was issued again with the extended key usages validators require"
        );
        self.service.cert = cert;
        Ok(())
    }

    fn named(&self) -> [(&'static str, &Issued); 4] {
        // root.pem last: its presence marks a complete PKI.
        [
            ("issuing", &self.issuing),
            ("service", &self.service),
            ("tsa", &self.tsa),
            ("root", &self.root),
        ]
    }

    fn open(dir: &Path) -> Result<Self, PkiError> {
        let load = |name: &str| -> Result<Issued, PkiError> {
            let key = SigningKey::from_pkcs8_pem(&read(&dir.join(format!("{name}.key")))?)
                .map_err(|e| PkiError::Malformed(format!("{name}.key: {e}")))?;
            let cert = Certificate::from_pem(read(&dir.join(format!("{name}.pem")))?)
                .map_err(|e| PkiError::Malformed(format!("{name}.pem: {e}")))?;
            Ok(Issued { key, cert })
        };
        Ok(LocalPki {
            root: load("root")?,
            issuing: load("issuing")?,
            service: load("service")?,
            tsa: load("tsa")?,
            tsa_serial: Arc::default(),
        })
    }

    /// The root certificate, PEM (the trust anchor users install).
    pub fn root_pem(&self) -> Result<String, PkiError> {
        self.root.cert.to_pem(LineEnding::LF).map_err(malformed)
    }

    /// A fresh CRL of `issuer` (root or issuing CA), DER: nothing is revoked; valid a week.
    pub fn crl(issuer: &Issued, now: time::OffsetDateTime) -> Result<Vec<u8>, PkiError> {
        let at = |t: time::OffsetDateTime| -> Result<Time, PkiError> {
            let secs = u64::try_from(t.unix_timestamp()).map_err(malformed)?;
            Ok(Time::UtcTime(
                UtcTime::from_unix_duration(Duration::from_secs(secs)).map_err(malformed)?,
            ))
        };
        let algorithm = AlgorithmIdentifierOwned {
            oid: ECDSA_WITH_SHA_256,
            parameters: None,
        };
        let subject = &issuer.cert.tbs_certificate.subject;
        // CRL numbers only grow: the issuing second, in nanoseconds.
        let number = now.unix_timestamp_nanos().max(0) as u128;
        let extensions = vec![
            AuthorityKeyIdentifier::try_from(
                issuer
                    .cert
                    .tbs_certificate
                    .subject_public_key_info
                    .owned_to_ref(),
            )
            .map_err(malformed)?
            .to_extension(subject, &[])
            .map_err(malformed)?,
            CrlNumber(der::asn1::Uint::new(&number.to_be_bytes()).map_err(malformed)?)
                .to_extension(subject, &[])
                .map_err(malformed)?,
        ];
        let tbs = TbsCertList {
            version: Version::V2,
            signature: algorithm.clone(),
            issuer: subject.clone(),
            this_update: at(now)?,
            next_update: Some(at(now + time::Duration::days(7))?),
            revoked_certificates: None,
            crl_extensions: Some(extensions),
        };
        let signed: DerSignature = issuer.key.sign(&tbs.to_der().map_err(malformed)?);
        CertificateList {
            tbs_cert_list: tbs,
            signature_algorithm: algorithm,
            signature: BitString::from_bytes(signed.as_bytes()).map_err(malformed)?,
        }
        .to_der()
        .map_err(malformed)
    }

    /// Where the PKI lives in a data dir.
    pub fn dir(data_dir: &Path) -> PathBuf {
        data_dir.join("pki")
    }
}

impl keiyaku_core::ports::LocalAuthority for LocalPki {
    fn root_pem(&self) -> Result<String, AuthorityError> {
        LocalPki::root_pem(self).map_err(|e| AuthorityError(e.to_string()))
    }

    fn certificate(&self, level: CaLevel) -> Result<Vec<u8>, AuthorityError> {
        self.level(level)
            .cert
            .to_der()
            .map_err(|e| AuthorityError(e.to_string()))
    }

    fn crl(&self, level: CaLevel, now: time::OffsetDateTime) -> Result<Vec<u8>, AuthorityError> {
        LocalPki::crl(self.level(level), now).map_err(|e| AuthorityError(e.to_string()))
    }

    fn timestamp_reply(&self, query: &[u8], now: time::OffsetDateTime) -> Vec<u8> {
        keiyaku_pdf::timestamp::respond(query, &self.tsa_signer(), self.next_serial(now), now)
    }
}

impl LocalPki {
    /// What the local TSA signs with.
    pub fn tsa_signer(&self) -> TsaSigner {
        TsaSigner {
            key: self.tsa.key.clone(),
            cert: self.tsa.cert.clone(),
            chain: vec![self.issuing.cert.clone(), self.root.cert.clone()],
            policy: LOCAL_TSA_POLICY,
        }
    }

    /// The next timestamp serial: the time in nanoseconds, or one more than the last.
    fn next_serial(&self, now: time::OffsetDateTime) -> u128 {
        let mut last = self.tsa_serial.lock().unwrap_or_else(|e| e.into_inner());
        *last = (now.unix_timestamp_nanos().max(0) as u128).max(*last + 1);
        *last
    }
}

/// The service's certificate signs seals (KMS holds this key on AWS).
#[async_trait::async_trait]
impl keiyaku_core::ports::SealingKey for LocalPki {
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, keiyaku_core::ports::KeyError> {
        use p256::ecdsa::signature::Signer;
        let signature: p256::ecdsa::DerSignature = self.service.key.sign(message);
        Ok(signature.as_bytes().to_vec())
    }

    async fn chain(&self) -> Result<Vec<Vec<u8>>, keiyaku_core::ports::KeyError> {
        [&self.service, &self.issuing, &self.root]
            .iter()
            .map(|issued| issued.cert.to_der())
            .collect::<Result<_, _>>()
            .map_err(|e| keiyaku_core::ports::KeyError::Unavailable(e.to_string()))
    }
}

/// The local TSA, in-process: the default [`Tsa`] of the local shape.
pub struct LocalTsa {
    pki: LocalPki,
    clock: Arc<dyn keiyaku_core::clock::Clock>,
    token_size: keiyaku_core::ports::TokenSize,
}

impl LocalTsa {
    /// The TSA of this PKI, dating tokens by `clock`.
    pub fn new(pki: LocalPki, clock: Arc<dyn keiyaku_core::clock::Clock>) -> Self {
        LocalTsa {
            pki,
            clock,
            token_size: Default::default(),
        }
    }
}

#[async_trait::async_trait]
impl Tsa for LocalTsa {
    async fn timestamp(&self, digest: &[u8; 32]) -> Result<Vec<u8>, TsaError> {
        let nonce = rand::random::<u64>();
        let query = keiyaku_pdf::timestamp::request(digest, Some(nonce), true);
        let now = self.clock.now();
        let reply = keiyaku_pdf::timestamp::respond(
            &query,
            &self.pki.tsa_signer(),
            self.pki.next_serial(now),
            now,
        );
        // Checked like any TSA's answer: a token we could not verify is never used.
        keiyaku_pdf::timestamp::check_response(&reply, digest, Some(nonce))
            .map(|token| token.der)
            .map_err(|e| TsaError::Refused(e.to_string()))
    }

    async fn token_size(&self) -> Result<usize, TsaError> {
        self.token_size
            .get_or_measure(self.timestamp(&[0u8; 32]))
            .await
    }
}

impl LocalPki {
    fn level(&self, level: CaLevel) -> &Issued {
        match level {
            CaLevel::Root => &self.root,
            CaLevel::Issuing => &self.issuing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openssl(args: &[&str]) -> String {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl on PATH");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "openssl {args:?}: {text}");
        text
    }

    #[tokio::test]
    async fn the_in_process_tsa_issues_checked_tokens_with_growing_serials() {
        let dir = tempfile::tempdir().unwrap();
        let pki = LocalPki::open_or_create(dir.path(), "http://127.0.0.1:8080").unwrap();
        let clock = Arc::new(keiyaku_core::clock::ManualClock::new(
            time::OffsetDateTime::now_utc(),
        ));
        let tsa = LocalTsa::new(pki.clone(), clock);
        let digest = [7u8; 32];
        let first = tsa.timestamp(&digest).await.unwrap();
        let second = tsa.timestamp(&digest).await.unwrap();
        let known = [pki.tsa.cert.clone()];
        let a = keiyaku_pdf::timestamp::check_token(&first, &digest, &known).unwrap();
        let b = keiyaku_pdf::timestamp::check_token(&second, &digest, &known).unwrap();
        assert_eq!(a.policy, LOCAL_TSA_POLICY);
        assert_eq!(a.tsa_cert, pki.tsa.cert);
        let serial = |t: &keiyaku_pdf::Token| {
            u128::from_be_bytes({
                let mut s = [0u8; 16];
                s[16 - t.serial.len()..].copy_from_slice(&t.serial);
                s
            })
        };
        assert!(
            serial(&b) > serial(&a),
            "serials grow even within one instant"
        );
        assert!(keiyaku_pdf::timestamp::check_token(&first, &[8u8; 32], &known).is_err());
    }

    #[test]
    fn the_pki_is_made_once_verifies_in_openssl_and_its_crls_are_signed() {
        let dir = tempfile::tempdir().unwrap();
        let pki_dir = dir.path().join("pki");
        let pki = LocalPki::open_or_create(&pki_dir, "http://127.0.0.1:8080").unwrap();
        let again = LocalPki::open_or_create(&pki_dir, "http://elsewhere").unwrap();
        assert_eq!(pki.root.cert, again.root.cert, "made on first start only");
        use std::os::unix::fs::PermissionsExt;
        for name in ["root.key", "issuing.key", "service.key", "tsa.key"] {
            let mode = std::fs::metadata(pki_dir.join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        let p = |n: &str| pki_dir.join(n).display().to_string();
        let chain = dir.path().join("chain.pem");
        std::fs::write(&chain, read(&pki_dir.join("issuing.pem")).unwrap()).unwrap();
        let chain = chain.display().to_string();
        let root_pem = p("root.pem");
        // smimesign: what NSS asks of a PDF signer (emailProtection).
        for (leaf, purpose) in [
            ("service.pem", Some("smimesign")),
            ("tsa.pem", Some("timestampsign")),
        ] {
            let mut args = vec!["verify", "-CAfile", &root_pem, "-untrusted", &chain];
            if let Some(purpose) = purpose {
                args.extend(["-purpose", purpose]);
            }
            let path = p(leaf);
            args.push(&path);
            assert!(openssl(&args).contains(": OK"), "{leaf}");
        }
        let tsa = openssl(&["x509", "-in", &p("tsa.pem"), "-noout", "-text"]);
        assert!(tsa.contains("X509v3 Extended Key Usage: critical"), "{tsa}");
        assert!(tsa.contains("Time Stamping"));
        assert!(tsa.contains("http://127.0.0.1:8080/api/v1/ca/crl"));
        let service = openssl(&["x509", "-in", &p("service.pem"), "-noout", "-text"]);
        assert!(service.contains("1.3.6.1.5.5.7.3.36"), "{service}");
        assert!(service.contains("E-mail Protection"), "{service}");
        assert!(service.contains("1.2.840.113583.1.1.5"), "{service}");
        assert!(service.contains("Digital Signature, Non Repudiation"));
        assert!(service.contains("CA:FALSE"));
        assert!(service.contains("CA Issuers - URI:http://127.0.0.1:8080/api/v1/ca/issuing.crt"));
        let issuing = openssl(&["x509", "-in", &p("issuing.pem"), "-noout", "-text"]);
        assert!(issuing.contains("CA:TRUE, pathlen:0"), "{issuing}");
        assert!(issuing.contains("Certificate Sign, CRL Sign"));

        let now = time::OffsetDateTime::now_utc();
        for (issuer, cert) in [(&pki.root, "root.pem"), (&pki.issuing, "issuing.pem")] {
            let crl = dir.path().join("crl.der");
            std::fs::write(&crl, LocalPki::crl(issuer, now).unwrap()).unwrap();
            let text = openssl(&[
                "crl",
                "-inform",
                "DER",
                "-in",
                &crl.display().to_string(),
                "-CAfile",
                &p(cert),
                "-noout",
                "-text",
            ]);
            assert!(text.contains("verify OK"), "{text}");
            assert!(text.contains("No Revoked Certificates"));
        }
    }

    #[test]
    fn a_sealing_certificate_from_before_is_issued_again_for_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let url = "http://127.0.0.1:8080";
        let pki = LocalPki::open_or_create(dir.path(), url).unwrap();
        // A data dir made by an earlier version: documentSigning alone.
        let old = issue_leaf(
            &pki.issuing,
            "keiyaku Document Sealing old",
            3 * YEAR,
            &pki.service.key,
            url,
            ExtendedKeyUsage(vec![ID_KP_DOCUMENT_SIGNING]),
        )
        .unwrap();
        let pem = old.to_pem(LineEnding::LF).unwrap();
        std::fs::write(dir.path().join("service.pem"), pem).unwrap();

        let upgraded = LocalPki::open_or_create(dir.path(), url).unwrap();
        let cert = &upgraded.service.cert;
        assert_ne!(cert, &old);
        assert_eq!(
            cert.tbs_certificate.subject_public_key_info,
            old.tbs_certificate.subject_public_key_info,
            "the same key"
        );
        assert_eq!(upgraded.root.cert, pki.root.cert);
        let stored = Certificate::from_pem(read(&dir.path().join("service.pem")).unwrap()).unwrap();
        assert_eq!(&stored, cert, "written back");
        let path = keiyaku_pdf::verify::validate_path(
            cert,
            std::slice::from_ref(&upgraded.issuing.cert),
            std::slice::from_ref(&upgraded.root.cert),
            &[],
            time::OffsetDateTime::now_utc(),
        );
        assert!(path.is_ok(), "{path:?}");
        // Issued once: the next start keeps it.
        let again = LocalPki::open_or_create(dir.path(), url).unwrap();
        assert_eq!(&again.service.cert, cert);
    }
}
