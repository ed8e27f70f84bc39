//! Signatures keiyaku does not make itself, verified as what they are: a SignerInfo without
//! signed attributes (RFC 5652 §5.4, `adbe.pkcs7.detached`) and Ed25519 (RFC 8419), each
//! with and without signed attributes. Each test seals with a throwaway P-256 root.

mod common;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier,
    SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::{ID_DATA, ID_SIGNED_DATA};
use const_oid::db::rfc5912::{ECDSA_WITH_SHA_256, ID_SHA_256, ID_SHA_512};
use const_oid::db::rfc8410::ID_ED_25519;
use der::asn1::{BitString, OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use keiyaku_pdf::seal::{self, SealOptions};
use keiyaku_pdf::verify::{self, Report, Status};
use p256::ecdsa::{DerSignature, SigningKey};
use sha2::{Digest, Sha512};
use signature::Signer;
use signature::hazmat::PrehashSigner;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;

use common::{Root, leaf, p256_spki, root};

fn ed25519_spki(key: &ed25519_dalek::SigningKey) -> SubjectPublicKeyInfoOwned {
    SubjectPublicKeyInfoOwned {
        algorithm: algorithm(ID_ED_25519),
        subject_public_key: BitString::from_bytes(&key.verifying_key().to_bytes()).unwrap(),
    }
}

fn algorithm(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

/// How the test signer signs: its certificate, its algorithms, and a function from the
/// bytes it signs to the signature value.
struct Signing<'a> {
    cert: &'a Certificate,
    digest: ObjectIdentifier,
    signature_algorithm: ObjectIdentifier,
    with_attributes: bool,
    sign: &'a dyn Fn(&[u8]) -> Vec<u8>,
}

/// `pdf` sealed once by `signer`, detached CMS over its `/ByteRange`.
fn signed(pdf: &[u8], signer: &Signing<'_>) -> Vec<u8> {
    let prepared = seal::prepare(
        pdf,
        &SealOptions {
            reason: "test".into(),
            name: "signers test".into(),
            time: time::OffsetDateTime::now_utc(),
            reserved: 4096,
        },
    )
    .unwrap();
    let content = prepared.signed_parts().concat();
    let (signed_attrs, signature) = if signer.with_attributes {
        let digest = match signer.digest {
            ID_SHA_512 => Sha512::digest(&content).to_vec(),
            _ => prepared.digest.to_vec(),
        };
        let attributes = seal::signed_attributes(&digest, signer.cert).unwrap();
        let signature = (signer.sign)(&attributes.der);
        (
            Some(SignedAttributes::from_der(&attributes.der).unwrap()),
            signature,
        )
    } else {
        (None, (signer.sign)(&content))
    };
    let cert = signer.cert;
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: cert.tbs_certificate.issuer.clone(),
            serial_number: cert.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: algorithm(signer.digest),
        signed_attrs,
        signature_algorithm: algorithm(signer.signature_algorithm),
        signature: OctetString::new(signature).unwrap(),
        unsigned_attrs: None,
    };
    let mut certificates = SetOfVec::new();
    certificates
        .insert(CertificateChoices::Certificate(cert.clone()))
        .unwrap();
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms.insert(algorithm(signer.digest)).unwrap();
    let mut signer_infos = SetOfVec::new();
    signer_infos.insert(signer_info).unwrap();
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet(certificates)),
        crls: None,
        signer_infos: SignerInfos(signer_infos),
    };
    let cms = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data).unwrap(),
    }
    .to_der()
    .unwrap();
    prepared.finish(&cms).unwrap()
}

fn verified(pdf: &[u8], root: &Root) -> Report {
    verify::verify(
        pdf,
        std::slice::from_ref(&root.cert),
        time::OffsetDateTime::now_utc(),
    )
    .unwrap()
}

fn codes(report: &Report) -> Vec<&'static str> {
    report.signatures[0]
        .problems
        .iter()
        .map(|p| p.code)
        .collect()
}

/// The file with one byte of page 1's text changed (the signed revision's content).
fn page_text_changed(pdf: &[u8]) -> Vec<u8> {
    let mut altered = pdf.to_vec();
    let at = altered.windows(2).position(|w| w == b"Tj").unwrap() - 3;
    altered[at] ^= 1;
    altered
}

#[test]
fn a_p256_signature_without_signed_attributes_is_valid_and_its_altered_file_is_not() {
    let root = root();
    let key = SigningKey::random(&mut rand::rngs::OsRng);
    let cert = leaf(&root, p256_spki(&key));
    // ECDSA over SHA-256 of the signed bytes themselves.
    let sign = |content: &[u8]| {
        let digest = sha2::Sha256::digest(content);
        let signature: DerSignature = key.sign_prehash(&digest).unwrap();
        signature.as_bytes().to_vec()
    };
    let pdf = signed(
        &keiyaku_pdf::sample::pdf_with_pages(1),
        &Signing {
            cert: &cert,
            digest: ID_SHA_256,
            signature_algorithm: ECDSA_WITH_SHA_256,
            with_attributes: false,
            sign: &sign,
        },
    );
    let report = verified(&pdf, &root);
    assert_eq!(report.status, Status::Valid, "{report:?}");
    let signature = &report.signatures[0];
    assert!(signature.intact && signature.signature_valid && signature.trusted);
    assert!(codes(&report).contains(&"no_signed_attributes"));
    assert_eq!(signature.level, None, "not a PAdES baseline signature");

    let altered = verified(&page_text_changed(&pdf), &root);
    assert_eq!(altered.status, Status::Invalid);
    let codes = codes(&altered);
    assert!(codes.contains(&"signature_invalid"), "{codes:?}");
    assert!(!codes.contains(&"digest_mismatch"), "{codes:?}");
}

#[test]
fn ed25519_signatures_with_and_without_signed_attributes_are_valid() {
    let root = root();
    let key = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let cert = leaf(&root, ed25519_spki(&key));
    let sign = |message: &[u8]| key.sign(message).to_bytes().to_vec();
    for with_attributes in [true, false] {
        let pdf = signed(
            &keiyaku_pdf::sample::pdf_with_pages(2),
            &Signing {
                cert: &cert,
                // RFC 8419 §3.1: SHA-512 with signed attributes.
                digest: ID_SHA_512,
                signature_algorithm: ID_ED_25519,
                with_attributes,
                sign: &sign,
            },
        );
        let report = verified(&pdf, &root);
        assert_eq!(
            report.status,
            Status::Valid,
            "{with_attributes}: {report:?}"
        );
        assert!(report.signatures[0].signature_valid);
        if with_attributes {
            assert_eq!(report.level, Some(verify::Level::BB), "{report:?}");
        }
        let altered = verified(&page_text_changed(&pdf), &root);
        assert_eq!(altered.status, Status::Invalid, "{with_attributes}");
    }

    // Another key's signature under this certificate is invalid, not unsupported.
    let other = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let sign_other = |message: &[u8]| other.sign(message).to_bytes().to_vec();
    let pdf = signed(
        &keiyaku_pdf::sample::pdf_with_pages(1),
        &Signing {
            cert: &cert,
            digest: ID_SHA_512,
            signature_algorithm: ID_ED_25519,
            with_attributes: true,
            sign: &sign_other,
        },
    );
    let report = verified(&pdf, &root);
    assert_eq!(report.status, Status::Invalid);
    assert!(codes(&report).contains(&"signature_invalid"), "{report:?}");
}
