//! CMS assembly (ETSI EN 319 142-1 baseline: content-type, message-digest,
//! signing-certificate-v2; no signing-time) from `cms` types rather than with its builder,
//! so the signature can come from an asynchronous signer (KMS) and the signature timestamp
//! (B-T) can be added after it.

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA};
use const_oid::db::rfc5912::{ECDSA_WITH_SHA_256, ID_SHA_256};
use der::asn1::{Any, OctetString, SetOfVec};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;

use super::{ID_AA_SIGNATURE_TIME_STAMP_TOKEN, SealError, encoding};

/// The signed attributes of a PAdES baseline signature over `digest` by `cert`, and their
/// DER (a SET OF, as signed).
pub struct SignedAttributes {
    attributes: SetOfVec<Attribute>,
    /// What the signer signs.
    pub der: Vec<u8>,
}

/// content-type id-data, message-digest, signing-certificate-v2; no signing-time (PAdES).
/// `digest` is of the signed bytes with the SignerInfo's digest algorithm.
pub fn signed_attributes(digest: &[u8], cert: &Certificate) -> Result<SignedAttributes, SealError> {
    let single = |oid, value: Any| -> Result<Attribute, SealError> {
        let mut values = SetOfVec::new();
        values.insert(value).map_err(encoding)?;
        Ok(Attribute { oid, values })
    };
    let mut attributes = SetOfVec::new();
    attributes
        .insert(single(
            ID_CONTENT_TYPE,
            Any::encode_from(&ID_DATA).map_err(encoding)?,
        )?)
        .map_err(encoding)?;
    attributes
        .insert(single(
            ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(digest.to_vec()).map_err(encoding)?)
                .map_err(encoding)?,
        )?)
        .map_err(encoding)?;
    attributes
        .insert(crate::timestamp::signing_certificate_v2_attribute(cert).map_err(encoding)?)
        .map_err(encoding)?;
    let der = attributes.to_der().map_err(encoding)?;
    Ok(SignedAttributes { attributes, der })
}

/// The detached CMS SignedData of a seal: the signer's certificate and chain, one
/// SignerInfo with `signature` (DER ECDSA over [`SignedAttributes::der`]) and, for B-T,
/// the timestamp token over that signature as an unsigned attribute.
pub fn assemble_cms(
    attributes: SignedAttributes,
    signature: &[u8],
    cert: &Certificate,
    chain: &[Certificate],
    timestamp_token: Option<&[u8]>,
) -> Result<Vec<u8>, SealError> {
    let sha256 = AlgorithmIdentifierOwned {
        oid: ID_SHA_256,
        parameters: None,
    };
    let unsigned_attrs = match timestamp_token {
        None => None,
        Some(token) => {
            let mut values = SetOfVec::new();
            values
                .insert(Any::from_der(token).map_err(encoding)?)
                .map_err(encoding)?;
            let mut attrs = SetOfVec::new();
            attrs
                .insert(Attribute {
                    oid: ID_AA_SIGNATURE_TIME_STAMP_TOKEN,
                    values,
                })
                .map_err(encoding)?;
            Some(attrs)
        }
    };
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: cert.tbs_certificate.issuer.clone(),
            serial_number: cert.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: sha256.clone(),
        signed_attrs: Some(attributes.attributes),
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: ECDSA_WITH_SHA_256,
            parameters: None,
        },
        signature: OctetString::new(signature.to_vec()).map_err(encoding)?,
        unsigned_attrs,
    };
    let mut certificates = SetOfVec::new();
    for c in std::iter::once(cert).chain(chain) {
        // A SET OF may not hold the same element twice.
        let choice = CertificateChoices::Certificate(c.clone());
        if !certificates.iter().any(|existing| existing == &choice) {
            certificates.insert(choice).map_err(encoding)?;
        }
    }
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms.insert(sha256).map_err(encoding)?;
    let mut signer_infos = SetOfVec::new();
    signer_infos.insert(signer_info).map_err(encoding)?;
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
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data).map_err(encoding)?,
    }
    .to_der()
    .map_err(encoding)
}
