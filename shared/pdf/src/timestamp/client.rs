//! The client side: a time-stamp request, and every check of the answer and of a token
//! (status, imprint, nonce, the signature, the TSA certificate's EKU and signing-certificate
//! attribute).

use cms::cert::CertificateChoices;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{SignedAttributes, SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::{
    ID_AA_SIGNING_CERTIFICATE, ID_AA_SIGNING_CERTIFICATE_V_2, ID_CONTENT_TYPE, ID_MESSAGE_DIGEST,
    ID_SIGNED_DATA,
};
use const_oid::db::rfc5912::{
    ID_CE_EXT_KEY_USAGE, ID_CE_KEY_USAGE, ID_KP_TIME_STAMPING, ID_SHA_1, ID_SHA_256,
};
use der::asn1::OctetString;
use der::{Any, AnyRef, Decode, Encode, Reader, SliceReader, Tag, TagNumber, Tagged};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_tsp::{MessageImprint, TimeStampReq, TspVersion};

use super::asn1::{
    STATUS_GRANTED, STATUS_GRANTED_WITH_MODS, SigningCertificateV2, TimeStampResp, TstInfoRead,
};
use super::{
    FailureInfo, ID_CT_TST_INFO, TimestampError, Token, hash, int_to_u64, malformed,
    params_absent_or_null, positive_int, sha256_identifier,
};

/// A DER TimeStampReq for a SHA-256 digest (nonce and certReq as given).
pub fn request(digest: &[u8; 32], nonce: Option<u64>, cert_req: bool) -> Vec<u8> {
    encode_request(digest, nonce, cert_req)
        // Every field is fixed-size or small; encoding has no way to fail.
        .expect("a SHA-256 TimeStampReq always encodes")
}

pub(super) fn encode_request(
    digest: &[u8; 32],
    nonce: Option<u64>,
    cert_req: bool,
) -> der::Result<Vec<u8>> {
    TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: sha256_identifier(),
            hashed_message: OctetString::new(digest.to_vec())?,
        },
        req_policy: None,
        nonce: nonce.map(|n| positive_int(&n.to_be_bytes())).transpose()?,
        cert_req,
        extensions: None,
    }
    .to_der()
}

/// Checks a TimeStampResp against the request it answers and returns its token.
///
/// Checked: status granted, the imprint is SHA-256 of `digest`, the nonce is echoed, the CMS
/// signature (ECDSA P-256) and content digest verify, the signer certificate has the
/// critical timeStamping-only extendedKeyUsage, and ESS signing-certificate-v2 names it. The
/// signer certificate must travel in the token (certReq true); see
/// [`check_response_with_certs`] otherwise.
///
/// Not checked here: whether the TSA is trusted (its chain up to an anchor, revocation,
/// validity at genTime). That is the caller's next step, with [`Token::tsa_cert`] and
/// [`Token::certs`] as its input.
pub fn check_response(
    response: &[u8],
    digest: &[u8; 32],
    nonce: Option<u64>,
) -> Result<Token, TimestampError> {
    check_response_with_certs(response, digest, nonce, &[])
}

/// [`check_response`] when the TSA certificate is known beforehand (certReq false).
pub fn check_response_with_certs(
    response: &[u8],
    digest: &[u8; 32],
    nonce: Option<u64>,
    known_certs: &[Certificate],
) -> Result<Token, TimestampError> {
    let response =
        TimeStampResp::from_der(response).map_err(malformed("TimeStampResp does not parse"))?;
    let status = response.status.status;
    if status != STATUS_GRANTED && status != STATUS_GRANTED_WITH_MODS {
        return Err(TimestampError::Rejected {
            status,
            fail_info: response
                .status
                .fail_info
                .map(|bits| {
                    bits.bits()
                        .enumerate()
                        .filter(|(_, on)| *on)
                        .map(|(bit, _)| FailureInfo::from_bit(bit.min(255) as u8))
                        .collect()
                })
                .unwrap_or_default(),
            text: response.status.status_string.map(|texts| texts.join(" ")),
        });
    }
    let token = response
        .time_stamp_token
        .ok_or_else(|| TimestampError::Malformed("granted without a token".into()))?;
    let token_der = token
        .to_der()
        .map_err(malformed("the token does not re-encode"))?;
    let (checked, tst_info) = check_token_inner(&token_der, &Imprint::Sha256(digest), known_certs)?;
    if let Some(expected) = nonce
        && tst_info.nonce.as_ref().and_then(int_to_u64) != Some(expected)
    {
        return Err(TimestampError::NonceMismatch);
    }
    Ok(checked)
}

/// Checks a time-stamp token on its own (as found in a PDF): everything
/// [`check_response`] checks except status and nonce.
pub fn check_token(
    token: &[u8],
    digest: &[u8; 32],
    known_certs: &[Certificate],
) -> Result<Token, TimestampError> {
    check_token_inner(token, &Imprint::Sha256(digest), known_certs).map(|(token, _)| token)
}

/// [`check_token`] for a token found in a file: the imprint is whatever SHA-2 the token
/// names, over `parts` concatenated (a document timestamp's byte range, a signature value).
pub fn check_token_over(
    token: &[u8],
    parts: &[&[u8]],
    known_certs: &[Certificate],
) -> Result<Token, TimestampError> {
    check_token_inner(token, &Imprint::Over(parts), known_certs).map(|(token, _)| token)
}

/// [`check_token`] without comparing the imprint with the data: for reading which TSA
/// signed a token whose data is checked elsewhere (or not needed).
pub(crate) fn check_token_not_imprint(
    token: &[u8],
    known_certs: &[Certificate],
) -> Result<Token, TimestampError> {
    check_token_inner(token, &Imprint::NotChecked, known_certs).map(|(token, _)| token)
}

/// What a token's message imprint must match.
pub(super) enum Imprint<'a> {
    /// A SHA-256 digest computed by the caller (our own requests ask for SHA-256).
    Sha256(&'a [u8; 32]),
    /// The data itself, hashed with the algorithm the token names.
    Over(&'a [&'a [u8]]),
    /// Anything: the caller checks the data elsewhere.
    NotChecked,
}

pub(super) fn check_token_inner(
    token_der: &[u8],
    expected: &Imprint<'_>,
    known_certs: &[Certificate],
) -> Result<(Token, TstInfoRead), TimestampError> {
    let content_info =
        ContentInfo::from_der(token_der).map_err(malformed("the token is not a ContentInfo"))?;
    if content_info.content_type != ID_SIGNED_DATA {
        return Err(TimestampError::Malformed(format!(
            "the token's content type is {}",
            content_info.content_type
        )));
    }
    // `Any` keeps the bytes as received, so this is the SignedData exactly as signed.
    let signed_data_der = content_info
        .content
        .to_der()
        .map_err(malformed("SignedData"))?;
    let (signed_data_der, signed_data) = crate::cms_read::signed_data(&signed_data_der)
        .map_err(malformed("SignedData does not parse"))?;

    // RFC 5652 §5.1: an eContentType other than id-data makes SignedData version 3 or more.
    // Versions are covered by no signature, so they are checked against what the rest says.
    if signed_data.version < CmsVersion::V3 {
        return Err(TimestampError::Malformed(format!(
            "SignedData version {:?} with id-ct-TSTInfo content",
            signed_data.version
        )));
    }
    let encapsulated = &signed_data.encap_content_info;
    if encapsulated.econtent_type != ID_CT_TST_INFO {
        return Err(TimestampError::Malformed(format!(
            "eContentType is {}, not id-ct-TSTInfo",
            encapsulated.econtent_type
        )));
    }
    let content = encapsulated
        .econtent
        .as_ref()
        .filter(|content| content.tag() == Tag::OctetString)
        .ok_or_else(|| TimestampError::Malformed("no encapsulated TSTInfo".into()))?
        .value();
    let tst_info = TstInfoRead::from_der(content).map_err(malformed("TSTInfo does not parse"))?;

    // RFC 3161 §2.4.2: the token carries the TSA's signature and no other.
    let [signer_info] = signed_data.signer_infos.0.as_slice() else {
        return Err(TimestampError::Malformed(format!(
            "{} SignerInfos, not one",
            signed_data.signer_infos.0.len()
        )));
    };
    // RFC 5652 §5.1: digestAlgorithms lists what the signers use; an unlisted one is a
    // token altered after signing (that field is covered by no signature).
    if !signed_data
        .digest_algorithms
        .iter()
        .any(|alg| alg.oid == signer_info.digest_alg.oid)
    {
        return Err(TimestampError::Malformed(
            "the signer's digest algorithm is not in digestAlgorithms".into(),
        ));
    }
    // RFC 5652 §5.3: version 1 goes with issuerAndSerialNumber, 3 with subjectKeyIdentifier.
    let sid_version = match signer_info.sid {
        SignerIdentifier::IssuerAndSerialNumber(_) => CmsVersion::V1,
        SignerIdentifier::SubjectKeyIdentifier(_) => CmsVersion::V3,
    };
    if signer_info.version != sid_version {
        return Err(TimestampError::Malformed(format!(
            "SignerInfo version {:?} does not match its sid",
            signer_info.version
        )));
    }
    let certs: Vec<Certificate> = signed_data
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            CertificateChoices::Certificate(cert) => Some(cert.clone()),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let tsa_cert = certs
        .iter()
        .chain(known_certs)
        .find(|cert| identifies(&signer_info.sid, cert))
        .cloned()
        .ok_or(TimestampError::SignerUnknown)?;

    let content_digest = crate::crypto::digest_parts(&signer_info.digest_alg.oid, &[content])
        .map_err(TimestampError::from)?;
    verify_signer_info(
        &signed_data_der,
        signer_info,
        &content_digest,
        ID_CT_TST_INFO,
        &tsa_cert,
    )?;
    check_signing_certificate(signer_info, &tsa_cert)?;
    check_timestamping_certificate(&tsa_cert)?;

    // Integrity first, so a tampered token reads as such; then what it says.
    let imprint = &tst_info.message_imprint;
    let algorithm = &imprint.hash_algorithm;
    let matches = params_absent_or_null(algorithm.parameters.as_ref())
        && match expected {
            Imprint::Sha256(digest) => {
                algorithm.oid == ID_SHA_256
                    && imprint.hashed_message.as_bytes() == digest.as_slice()
            }
            Imprint::NotChecked => true,
            Imprint::Over(parts) => {
                crate::crypto::digest_parts(&algorithm.oid, parts)?
                    == imprint.hashed_message.as_bytes()
            }
        };
    if !matches {
        return Err(TimestampError::ImprintMismatch);
    }

    let token = Token {
        der: token_der.to_vec(),
        gen_time: tst_info.gen_time.time,
        serial: tst_info.serial_number.as_bytes().to_vec(),
        policy: tst_info.policy,
        tsa_cert,
        certs,
    };
    Ok((token, tst_info))
}

/// Verifies one SignerInfo of a SignedData: content-type and message-digest attributes
/// (against `content_digest`, the content hashed with the SignerInfo's digestAlgorithm), and
/// the signature over the signed attributes as they were sent. Reusable for any CMS
/// signature with signed attributes (PAdES signatures included).
pub(crate) fn verify_signer_info(
    signed_data_der: &[u8],
    signer_info: &SignerInfo,
    content_digest: &[u8],
    content_type: ObjectIdentifier,
    signer_cert: &Certificate,
) -> Result<(), TimestampError> {
    let attrs = signer_info
        .signed_attrs
        .as_ref()
        .ok_or_else(|| TimestampError::Malformed("no signed attributes".into()))?;

    let declared_type = single_attribute(attrs, ID_CONTENT_TYPE)?
        .decode_as::<ObjectIdentifier>()
        .map_err(malformed("content-type attribute"))?;
    if declared_type != content_type {
        return Err(TimestampError::BadSignature(format!(
            "content-type attribute is {declared_type}"
        )));
    }
    let declared_digest = single_attribute(attrs, ID_MESSAGE_DIGEST)?
        .decode_as::<OctetString>()
        .map_err(malformed("message-digest attribute"))?;
    if declared_digest.as_bytes() != content_digest {
        return Err(TimestampError::BadSignature(
            "message-digest does not match the content".into(),
        ));
    }

    // Decoding a SET OF sorts it, so re-encoding the parsed attributes can differ from what
    // the signer signed; the signature covers the bytes as sent, with a SET tag (RFC 5652 §5.4).
    let signed_bytes = signed_attributes_as_sent(signed_data_der)
        .map_err(malformed("signed attributes cannot be located"))?;
    crate::crypto::verify(
        &signer_cert.tbs_certificate.subject_public_key_info,
        &signer_info.signature_algorithm,
        Some(&signer_info.digest_alg.oid),
        &signed_bytes,
        signer_info.signature.as_bytes(),
    )
    .map_err(TimestampError::from)
}

impl From<crate::crypto::VerifyError> for TimestampError {
    fn from(e: crate::crypto::VerifyError) -> Self {
        use crate::crypto::VerifyError;
        match e {
            VerifyError::Unsupported(why) => TimestampError::UnsupportedAlgorithm(why),
            VerifyError::Bad(why) => TimestampError::BadSignature(why),
            VerifyError::Malformed(why) => TimestampError::Malformed(why),
        }
    }
}

/// The first SignerInfo's signedAttrs exactly as encoded, re-tagged [0] → SET.
pub(super) fn signed_attributes_as_sent(signed_data_der: &[u8]) -> der::Result<Vec<u8>> {
    let signed_data = AnyRef::from_der(signed_data_der)?;
    let mut fields = SliceReader::new(signed_data.value())?;
    // signerInfos is SignedData's last field, after the optional certificates and crls.
    let mut last = None;
    while !fields.is_finished() {
        last = Some(AnyRef::decode(&mut fields)?);
    }
    let signer_infos = last.ok_or_else(|| Tag::Sequence.value_error())?;
    let mut infos = SliceReader::new(signer_infos.value())?;
    let signer_info = AnyRef::decode(&mut infos)?;
    let mut parts = SliceReader::new(signer_info.value())?;
    for _ in 0..3 {
        // version, sid, digestAlgorithm
        AnyRef::decode(&mut parts)?;
    }
    let attrs = AnyRef::decode(&mut parts)?;
    let expected = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber::N0,
    };
    if attrs.tag() != expected {
        return Err(attrs.tag().value_error());
    }
    AnyRef::new(Tag::Set, attrs.value())?.to_der()
}

/// What [`check_signing_certificate`] says when there is no such attribute at all.
pub(crate) const NO_SIGNING_CERTIFICATE: &str = "no ESS signing-certificate attribute";

/// The first ESSCertID(v2) must name the signer certificate (RFC 5035 §3, RFC 3161 §2.4.2).
/// `Ok(true)` for signing-certificate-v2, `Ok(false)` for v1.
pub(crate) fn check_signing_certificate(
    signer_info: &SignerInfo,
    cert: &Certificate,
) -> Result<bool, TimestampError> {
    let mismatch = |why: &str| TimestampError::SigningCertificateMismatch(why.to_owned());
    let attrs = signer_info
        .signed_attrs
        .as_ref()
        .ok_or_else(|| mismatch("no signed attributes"))?;
    // RFC 3161 tokens name their certificate with v1 (SHA-1, RFC 2634) or v2 (RFC 5816);
    // SHA-1 only identifies the certificate here, it secures nothing.
    let (oid, default_hash) = if attrs.iter().any(|a| a.oid == ID_AA_SIGNING_CERTIFICATE_V_2) {
        (ID_AA_SIGNING_CERTIFICATE_V_2, ID_SHA_256)
    } else if attrs.iter().any(|a| a.oid == ID_AA_SIGNING_CERTIFICATE) {
        (ID_AA_SIGNING_CERTIFICATE, ID_SHA_1)
    } else {
        return Err(mismatch(NO_SIGNING_CERTIFICATE));
    };
    // An ESSCertID (v1) decodes as an ESSCertIDv2 without its optional hashAlgorithm.
    let value = single_attribute(attrs, oid)?
        .decode_as::<SigningCertificateV2>()
        .map_err(malformed("signing-certificate attribute"))?;
    let first = value
        .certs
        .first()
        .ok_or_else(|| mismatch("signing-certificate names no certificate"))?;
    let algorithm = match (&first.hash_algorithm, oid) {
        (Some(alg), ID_AA_SIGNING_CERTIFICATE_V_2) => alg.oid,
        (None, _) => default_hash,
        (Some(_), _) => return Err(mismatch("an ESSCertID (v1) names a hash algorithm")),
    };
    let cert_der = cert.to_der().map_err(malformed("signer certificate"))?;
    if hash(&algorithm, &cert_der)?.as_slice() != first.cert_hash.as_bytes() {
        return Err(mismatch("certHash is not the signer certificate's"));
    }
    if let Some(issuer_serial) = &first.issuer_serial {
        let tbs = &cert.tbs_certificate;
        let issuer_matches = matches!(
            issuer_serial.issuer.as_slice(),
            [GeneralName::DirectoryName(name)] if *name == tbs.issuer
        );
        if !issuer_matches || issuer_serial.serial_number != tbs.serial_number {
            return Err(mismatch("issuerSerial is not the signer certificate's"));
        }
    }
    Ok(oid == ID_AA_SIGNING_CERTIFICATE_V_2)
}

/// RFC 3161 §2.3: the TSA certificate's extendedKeyUsage is timeStamping alone, critical.
pub(super) fn check_timestamping_certificate(cert: &Certificate) -> Result<(), TimestampError> {
    let refuse = |why: &str| TimestampError::NotTimestampingCertificate(why.to_owned());
    let extensions = cert.tbs_certificate.extensions.as_deref().unwrap_or(&[]);
    let eku = extensions
        .iter()
        .find(|e| e.extn_id == ID_CE_EXT_KEY_USAGE)
        .ok_or_else(|| refuse("no extendedKeyUsage"))?;
    if !eku.critical {
        return Err(refuse("extendedKeyUsage is not critical"));
    }
    let purposes = ExtendedKeyUsage::from_der(eku.extn_value.as_bytes())
        .map_err(malformed("extendedKeyUsage"))?;
    if purposes.0 != [ID_KP_TIME_STAMPING] {
        return Err(refuse("extendedKeyUsage is not timeStamping alone"));
    }
    if let Some(usage) = extensions.iter().find(|e| e.extn_id == ID_CE_KEY_USAGE) {
        let usage =
            KeyUsage::from_der(usage.extn_value.as_bytes()).map_err(malformed("keyUsage"))?;
        if !usage.0.contains(KeyUsages::DigitalSignature)
            && !usage.0.contains(KeyUsages::NonRepudiation)
        {
            return Err(refuse("keyUsage allows no signatures"));
        }
    }
    Ok(())
}

/// Whether `cert` is the one a SignerIdentifier points at.
pub(crate) fn identifies(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    let tbs = &cert.tbs_certificate;
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(id) => {
            id.issuer == tbs.issuer && id.serial_number == tbs.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => tbs
            .extensions
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .filter(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER)
            .any(|e| SubjectKeyIdentifier::from_der(e.extn_value.as_bytes()).as_ref() == Ok(ski)),
    }
}

/// The one value of an attribute that RFC 5652 allows only once, with one value.
pub(super) fn single_attribute(
    attrs: &SignedAttributes,
    oid: ObjectIdentifier,
) -> Result<&Any, TimestampError> {
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    match (found.next(), found.next()) {
        (Some(attr), None) if attr.values.len() == 1 => Ok(&attr.values.as_slice()[0]),
        (None, _) => Err(TimestampError::Malformed(format!(
            "no {oid} signed attribute"
        ))),
        _ => Err(TimestampError::Malformed(format!(
            "{oid} signed attribute is not single-valued"
        ))),
    }
}
