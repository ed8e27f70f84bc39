//! A throwaway P-256 PKI for the verifier's tests: a root and leaves it issues.

#![allow(dead_code)] // each test binary uses its own part

use std::str::FromStr;
use std::time::Duration;

use p256::ecdsa::{DerSignature, SigningKey};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

/// A self-signed root, valid for an hour.
pub(crate) struct Root {
    pub key: SigningKey,
    pub cert: Certificate,
}

pub(crate) fn root() -> Root {
    let key = SigningKey::random(&mut rand::rngs::OsRng);
    let cert = CertificateBuilder::new(
        Profile::Root,
        SerialNumber::from(1u32),
        Validity::from_now(Duration::from_secs(3600)).unwrap(),
        Name::from_str("CN=verifier test root,O=keiyaku").unwrap(),
        p256_spki(&key),
        &key,
    )
    .unwrap()
    .build::<DerSignature>()
    .unwrap();
    Root { key, cert }
}

pub(crate) fn p256_spki(key: &SigningKey) -> SubjectPublicKeyInfoOwned {
    SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).unwrap()
}

/// A document-signing leaf for `spki`, issued by `root`.
pub(crate) fn leaf(root: &Root, spki: SubjectPublicKeyInfoOwned) -> Certificate {
    CertificateBuilder::new(
        Profile::Leaf {
            issuer: root.cert.tbs_certificate.subject.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        SerialNumber::from(2u32),
        Validity::from_now(Duration::from_secs(3600)).unwrap(),
        Name::from_str("CN=verifier test signer,O=keiyaku").unwrap(),
        spki,
        &root.key,
    )
    .unwrap()
    .build::<DerSignature>()
    .unwrap()
}
