//! The TSA side: the local responder's answer to a time-stamp query — a token, or a
//! refusal in RFC 3161's own terms.

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::ContentInfo;
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use const_oid::db::rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2;
use der::asn1::{GeneralizedTime, Int, OctetString};
use der::{Any, AnyRef, Decode, Encode, SliceReader, Tag, Tagged};
use p256::ecdsa::DerSignature;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_tsp::{Accuracy, TimeStampReq, TspVersion, TstInfo};

use super::asn1::{
    EssCertIdV2, IssuerSerial, PkiStatusInfo, STATUS_GRANTED, STATUS_REJECTION,
    SigningCertificateV2, TimeStampResp,
};
use super::{
    FailureInfo, ID_CT_TST_INFO, TsaSigner, digest_len, params_absent_or_null, positive_int,
    sha256_identifier,
};

/// A refusal in RFC 3161 terms: one failure bit and a short text for the statusString.
pub(super) struct Refusal {
    info: FailureInfo,
    text: &'static str,
}

impl Refusal {
    pub(super) fn new(info: FailureInfo, text: &'static str) -> Self {
        Refusal { info, text }
    }
}

/// What we answer when even a rejection cannot be encoded: rejection + systemFailure.
pub(super) const SYSTEM_FAILURE_RESPONSE: [u8; 14] = [
    0x30, 0x0c, 0x30, 0x0a, 0x02, 0x01, 0x02, 0x03, 0x05, 0x06, 0x00, 0x00, 0x00, 0x40,
];

/// Answers one DER TimeStampReq with a DER TimeStampResp: granted with a token, or an RFC 3161 rejection.
///
/// `serial` must be unique per token (the caller keeps the counter); `gen_time` is the time
/// to certify, written to the second (the token states an accuracy of one second).
pub fn respond(
    query: &[u8],
    signer: &TsaSigner,
    serial: u128,
    gen_time: OffsetDateTime,
) -> Vec<u8> {
    let granted = accept(query, signer)
        .and_then(|request| issue(&request, signer, serial, gen_time))
        .and_then(|token| {
            TimeStampResp {
                status: PkiStatusInfo {
                    status: STATUS_GRANTED,
                    status_string: None,
                    fail_info: None,
                },
                time_stamp_token: Some(token),
            }
            .to_der()
            .map_err(|_| Refusal::new(FailureInfo::SystemFailure, "the token cannot be encoded"))
        });
    match granted {
        Ok(response) => response,
        Err(refusal) => rejection(&refusal),
    }
}

/// Any error while issuing is ours, not the requester's: systemFailure.
pub(super) fn failure<E>(text: &'static str) -> impl FnOnce(E) -> Refusal {
    move |_| Refusal::new(FailureInfo::SystemFailure, text)
}

pub(super) fn rejection(refusal: &Refusal) -> Vec<u8> {
    let encoded = refusal.info.to_bit_string().and_then(|bits| {
        TimeStampResp {
            status: PkiStatusInfo {
                status: STATUS_REJECTION,
                status_string: Some(vec![refusal.text.to_owned()]),
                fail_info: Some(bits),
            },
            time_stamp_token: None,
        }
        .to_der()
    });
    encoded.unwrap_or_else(|_| SYSTEM_FAILURE_RESPONSE.to_vec())
}

/// Parses and screens a request: only what RFC 3161 lets us refuse is refused.
pub(super) fn accept(query: &[u8], signer: &TsaSigner) -> Result<TimeStampReq, Refusal> {
    let request = TimeStampReq::from_der(query).map_err(|_| {
        if is_other_version(query) {
            Refusal::new(
                FailureInfo::BadRequest,
                "only TimeStampReq version 1 is supported",
            )
        } else {
            Refusal::new(
                FailureInfo::BadDataFormat,
                "the request is not a DER TimeStampReq",
            )
        }
    })?;
    if request.extensions.is_some() {
        // RFC 3161 §2.4.1: an extension the TSA does not recognize is refused; we know none.
        return Err(Refusal::new(
            FailureInfo::UnacceptedExtension,
            "request extensions are not supported",
        ));
    }
    let algorithm = &request.message_imprint.hash_algorithm;
    let expected_len = digest_len(&algorithm.oid).ok_or_else(|| {
        Refusal::new(
            FailureInfo::BadAlg,
            "only SHA-256, SHA-384 and SHA-512 imprints are accepted",
        )
    })?;
    if !params_absent_or_null(algorithm.parameters.as_ref()) {
        return Err(Refusal::new(
            FailureInfo::BadAlg,
            "the hash algorithm has unexpected parameters",
        ));
    }
    if request.message_imprint.hashed_message.as_bytes().len() != expected_len {
        return Err(Refusal::new(
            FailureInfo::BadDataFormat,
            "the imprint length does not match its hash algorithm",
        ));
    }
    if let Some(policy) = request.req_policy
        && policy != signer.policy
    {
        return Err(Refusal::new(
            FailureInfo::UnacceptedPolicy,
            "the requested policy is not offered",
        ));
    }
    Ok(request)
}

/// Whether the query is a SEQUENCE opening with an INTEGER other than 1: a request of a
/// version we do not speak (badRequest), as opposed to bytes that are no request at all.
pub(super) fn is_other_version(query: &[u8]) -> bool {
    let Ok(sequence) = AnyRef::from_der(query) else {
        return false;
    };
    if sequence.tag() != Tag::Sequence {
        return false;
    }
    let Ok(mut fields) = SliceReader::new(sequence.value()) else {
        return false;
    };
    matches!(Int::decode(&mut fields), Ok(version) if version.as_bytes() != [1])
}

/// Builds and signs the token for an accepted request.
pub(super) fn issue(
    request: &TimeStampReq,
    signer: &TsaSigner,
    serial: u128,
    gen_time: OffsetDateTime,
) -> Result<ContentInfo, Refusal> {
    let gen_time = GeneralizedTime::from_unix_duration(
        u64::try_from(gen_time.unix_timestamp())
            .map(std::time::Duration::from_secs)
            .map_err(|_| Refusal::new(FailureInfo::TimeNotAvailable, "the clock is unusable"))?,
    )
    .map_err(|_| Refusal::new(FailureInfo::TimeNotAvailable, "the clock is unusable"))?;
    // A token the TSA certificate does not cover would never validate: refuse instead.
    let validity = &signer.cert.tbs_certificate.validity;
    let at = gen_time.to_unix_duration();
    if at < validity.not_before.to_unix_duration() || at > validity.not_after.to_unix_duration() {
        return Err(Refusal::new(
            FailureInfo::TimeNotAvailable,
            "the TSA certificate is not valid now",
        ));
    }

    let tst_info = TstInfo {
        version: TspVersion::V1,
        policy: signer.policy,
        message_imprint: request.message_imprint.clone(),
        serial_number: positive_int(&serial.to_be_bytes()).map_err(failure("serial number"))?,
        gen_time,
        accuracy: Some(Accuracy {
            seconds: Some(1),
            millis: None,
            micros: None,
        }),
        ordering: false,
        nonce: request.nonce.clone(),
        tsa: None,
        extensions: None,
    };
    let content = tst_info.to_der().map_err(failure("TSTInfo"))?;
    let encapsulated = EncapsulatedContentInfo {
        econtent_type: ID_CT_TST_INFO,
        econtent: Some(Any::new(Tag::OctetString, content).map_err(failure("eContent"))?),
    };

    let tbs = &signer.cert.tbs_certificate;
    let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: tbs.issuer.clone(),
        serial_number: tbs.serial_number.clone(),
    });
    let mut signer_info = cms::builder::SignerInfoBuilder::new(
        &signer.key,
        sid,
        sha256_identifier(),
        &encapsulated,
        None,
    )
    .map_err(failure("signer info"))?;
    // The builder adds content-type and message-digest; RFC 3161 §2.4.2 also wants the ESS
    // signing-certificate attribute, so a verifier knows which certificate signed.
    signer_info
        .add_signed_attribute(
            signing_certificate_v2_attribute(&signer.cert).map_err(failure("ESS attribute"))?,
        )
        .map_err(failure("ESS attribute"))?;

    let mut signed_data = cms::builder::SignedDataBuilder::new(&encapsulated);
    signed_data
        .add_digest_algorithm(sha256_identifier())
        .map_err(failure("digest algorithm"))?;
    if request.cert_req {
        // The builder's SET OF panics on a duplicate, so a chain that repeats the TSA
        // certificate (or itself) is deduplicated first.
        let mut seen: Vec<&Certificate> = Vec::new();
        for cert in std::iter::once(&signer.cert).chain(&signer.chain) {
            if !seen.contains(&cert) {
                seen.push(cert);
                signed_data
                    .add_certificate(CertificateChoices::Certificate(cert.clone()))
                    .map_err(failure("certificates"))?;
            }
        }
    }
    signed_data
        .add_signer_info::<_, DerSignature>(signer_info)
        .map_err(failure("signature"))?;
    signed_data.build().map_err(failure("SignedData"))
}

/// The signed attribute id-aa-signingCertificateV2 naming `cert` by its SHA-256 hash and
/// issuer/serial (RFC 5035); PAdES signatures need the same attribute.
pub(crate) fn signing_certificate_v2_attribute(cert: &Certificate) -> der::Result<Attribute> {
    let value = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(Sha256::digest(cert.to_der()?).to_vec())?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(
                    cert.tbs_certificate.issuer.clone(),
                )],
                serial_number: cert.tbs_certificate.serial_number.clone(),
            }),
        }],
        policies: None,
    };
    let mut values = der::asn1::SetOfVec::new();
    values.insert(Any::encode_from(&value)?)?;
    Ok(Attribute {
        oid: ID_AA_SIGNING_CERTIFICATE_V_2,
        values,
    })
}
