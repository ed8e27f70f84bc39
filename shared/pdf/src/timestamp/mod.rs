//! RFC 3161 time-stamping: the local TSA's responder (`tsa`), and the client side that asks
//! for a token and checks the answer (`client`), over the ASN.1 declared in `asn1`; here the
//! public types and the small pieces they share.
//!
//! Written here rather than taken from a crate because no Rust crate issues RFC 3161
//! tokens: `x509-tsp` only defines the ASN.1 types (TimeStampReq, TSTInfo, …) and `cms` only
//! builds generic SignedData. A token is those pieces put together — the TSTInfo as the
//! encapsulated content of a SignedData that the TSA key signs, with the ESS
//! signing-certificate-v2 attribute (RFC 5035) that RFC 3161 §2.4.2 requires and that no
//! crate of this generation defines, so its few structures are declared below.
//!
//! Two `x509-tsp` 0.1 types are not used as they are, on purpose:
//! - its `TimeStampResp` carries `cmpv2` 0.2.0's `PkiStatusInfo`, whose failure flags number
//!   `badTime` as 2 (the bit of `badRequest`), and `cmpv2` is not one of our pinned crates;
//!   the response is declared here with the failure info as a plain BIT STRING;
//! - its `TstInfo` holds `genTime` as `der` 0.7's `GeneralizedTime`, which refuses fractional
//!   seconds that RFC 3161 allows and many TSAs send, so checking decodes TSTInfo through a
//!   twin whose time type accepts them (issuing still uses `x509-tsp`'s type: we send none).

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{ID_SHA_1, ID_SHA_256, ID_SHA_384, ID_SHA_512};
use der::asn1::{BitString, Int, Uint};
use der::{Any, Tag, Tagged};
use sha2::{Digest, Sha256, Sha384, Sha512};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::Certificate;

/// id-ct-TSTInfo (RFC 3161 §2.4.2), the eContentType of every token; `const-oid` lacks it.
pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// What the local TSA signs with.
#[derive(Clone, Debug)]
pub struct TsaSigner {
    /// The TSA's P-256 key.
    pub key: p256::ecdsa::SigningKey,
    /// The TSA certificate: extendedKeyUsage timeStamping only, marked critical.
    pub cert: Certificate,
    /// The certificates above it (issuing CA, root), sent when a request asks for certificates.
    pub chain: Vec<Certificate>,
    /// The policy every token names (RFC 3161 TSAPolicyId).
    pub policy: ObjectIdentifier,
}

/// A checked time-stamp token and what a caller needs from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// The token itself: a DER ContentInfo (SignedData over TSTInfo), as embedded in a PDF.
    pub der: Vec<u8>,
    /// When the TSA says the digest existed (TSTInfo genTime, UTC).
    pub gen_time: OffsetDateTime,
    /// TSTInfo serialNumber: big-endian two's-complement octets.
    pub serial: Vec<u8>,
    /// The TSA policy the token was issued under.
    pub policy: ObjectIdentifier,
    /// The certificate whose key signed the token (from the token, or given by the caller).
    pub tsa_cert: Certificate,
    /// Every certificate the token carries (empty when the request had certReq false).
    pub certs: Vec<Certificate>,
}

/// One reason in an RFC 3161 rejection (a bit of PKIFailureInfo, RFC 3161 §2.4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureInfo {
    /// badAlg (0): unrecognized or unsupported algorithm identifier.
    BadAlg,
    /// badRequest (2): transaction not permitted or supported.
    BadRequest,
    /// badDataFormat (5): the data submitted has the wrong format.
    BadDataFormat,
    /// timeNotAvailable (14): the TSA's time source is not available.
    TimeNotAvailable,
    /// unacceptedPolicy (15): the requested TSA policy is not supported.
    UnacceptedPolicy,
    /// unacceptedExtension (16): the requested extension is not supported.
    UnacceptedExtension,
    /// addInfoNotAvailable (17): the additional information requested is not available.
    AddInfoNotAvailable,
    /// systemFailure (25): the request cannot be handled due to system failure.
    SystemFailure,
    /// A bit RFC 3161 does not name (some TSAs send CMP's other bits).
    Other(u8),
}

impl FailureInfo {
    /// The bit number in the PKIFailureInfo BIT STRING.
    pub fn bit(self) -> u8 {
        match self {
            FailureInfo::BadAlg => 0,
            FailureInfo::BadRequest => 2,
            FailureInfo::BadDataFormat => 5,
            FailureInfo::TimeNotAvailable => 14,
            FailureInfo::UnacceptedPolicy => 15,
            FailureInfo::UnacceptedExtension => 16,
            FailureInfo::AddInfoNotAvailable => 17,
            FailureInfo::SystemFailure => 25,
            FailureInfo::Other(bit) => bit,
        }
    }

    /// The name RFC 3161 gives the bit (`badAlg`, …), for logs.
    pub fn name(self) -> &'static str {
        match self {
            FailureInfo::BadAlg => "badAlg",
            FailureInfo::BadRequest => "badRequest",
            FailureInfo::BadDataFormat => "badDataFormat",
            FailureInfo::TimeNotAvailable => "timeNotAvailable",
            FailureInfo::UnacceptedPolicy => "unacceptedPolicy",
            FailureInfo::UnacceptedExtension => "unacceptedExtension",
            FailureInfo::AddInfoNotAvailable => "addInfoNotAvailable",
            FailureInfo::SystemFailure => "systemFailure",
            FailureInfo::Other(_) => "other",
        }
    }

    fn from_bit(bit: u8) -> Self {
        match bit {
            0 => FailureInfo::BadAlg,
            2 => FailureInfo::BadRequest,
            5 => FailureInfo::BadDataFormat,
            14 => FailureInfo::TimeNotAvailable,
            15 => FailureInfo::UnacceptedPolicy,
            16 => FailureInfo::UnacceptedExtension,
            17 => FailureInfo::AddInfoNotAvailable,
            25 => FailureInfo::SystemFailure,
            other => FailureInfo::Other(other),
        }
    }

    /// The DER BIT STRING with just this bit set (named bit lists drop trailing zero bits).
    fn to_bit_string(self) -> der::Result<BitString> {
        let bit = usize::from(self.bit());
        let mut bytes = vec![0u8; bit / 8 + 1];
        bytes[bit / 8] = 0x80 >> (bit % 8);
        BitString::new(7 - (bit % 8) as u8, bytes)
    }
}

/// Why a time-stamp response or token was not accepted.
///
/// `Display` is the message for people; [`TimestampError::detail`] is the cause for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// The bytes are not the RFC 3161 / CMS structure they should be.
    #[error("The time-stamp response is malformed.")]
    Malformed(String),
    /// The TSA answered with a status other than granted.
    #[error("The time-stamping authority refused the request.")]
    Rejected {
        /// PKIStatus (2 rejection, 3 waiting, …).
        status: u32,
        /// The failure reasons the TSA gave.
        fail_info: Vec<FailureInfo>,
        /// The TSA's free text, if any.
        text: Option<String>,
    },
    /// The token time-stamps a different digest (or algorithm) than the one asked for.
    #[error("The time-stamp is for different data.")]
    ImprintMismatch,
    /// The token does not echo the nonce of the request: it may be a replay.
    #[error("The time-stamp does not answer this request.")]
    NonceMismatch,
    /// The token uses an algorithm this service does not check.
    #[error("The time-stamp uses an unsupported algorithm.")]
    UnsupportedAlgorithm(String),
    /// No certificate at hand matches the token's signer.
    #[error("The time-stamp's signing certificate is not available.")]
    SignerUnknown,
    /// The CMS signature or the content digest does not verify.
    #[error("The time-stamp's signature is invalid.")]
    BadSignature(String),
    /// The signer certificate is not a time-stamping certificate (RFC 3161 §2.3).
    #[error("The time-stamp was not signed by a time-stamping certificate.")]
    NotTimestampingCertificate(String),
    /// The ESS signing-certificate attribute is missing or names another certificate.
    #[error("The time-stamp does not identify its signing certificate correctly.")]
    SigningCertificateMismatch(String),
}

impl TimestampError {
    /// A stable snake_case code for clients and the state machine.
    pub fn code(&self) -> &'static str {
        match self {
            TimestampError::Malformed(_) => "timestamp_malformed",
            TimestampError::Rejected { .. } => "timestamp_rejected",
            TimestampError::ImprintMismatch => "timestamp_imprint_mismatch",
            TimestampError::NonceMismatch => "timestamp_nonce_mismatch",
            TimestampError::UnsupportedAlgorithm(_) => "timestamp_unsupported_algorithm",
            TimestampError::SignerUnknown => "timestamp_signer_unknown",
            TimestampError::BadSignature(_) => "timestamp_bad_signature",
            TimestampError::NotTimestampingCertificate(_) => "timestamp_bad_tsa_certificate",
            TimestampError::SigningCertificateMismatch(_) => "timestamp_signing_certificate",
        }
    }

    /// The internal cause, for logs only.
    pub fn detail(&self) -> String {
        match self {
            TimestampError::Malformed(why)
            | TimestampError::UnsupportedAlgorithm(why)
            | TimestampError::BadSignature(why)
            | TimestampError::NotTimestampingCertificate(why)
            | TimestampError::SigningCertificateMismatch(why) => why.clone(),
            TimestampError::Rejected {
                status,
                fail_info,
                text,
            } => {
                let reasons: Vec<&str> = fail_info.iter().map(|f| f.name()).collect();
                format!(
                    "status {status}, failInfo [{}], text {:?}",
                    reasons.join(", "),
                    text.as_deref().unwrap_or("")
                )
            }
            other => other.to_string(),
        }
    }
}

mod asn1;
mod client;
mod tsa;

pub use client::*;
pub use tsa::*;

// ---------------------------------------------------------------------------------------
// Small shared pieces.

fn sha256_identifier() -> AlgorithmIdentifierOwned {
    // RFC 5754 §2: SHA-2 identifiers are generated with absent parameters.
    AlgorithmIdentifierOwned {
        oid: ID_SHA_256,
        parameters: None,
    }
}

fn digest_len(oid: &ObjectIdentifier) -> Option<usize> {
    match *oid {
        ID_SHA_256 => Some(32),
        ID_SHA_384 => Some(48),
        ID_SHA_512 => Some(64),
        _ => None,
    }
}

/// RFC 5754 §2: SHA-2 parameters are absent or NULL, and both must be accepted.
fn params_absent_or_null(parameters: Option<&Any>) -> bool {
    parameters.is_none_or(|p| p.tag() == Tag::Null && p.value().is_empty())
}

fn hash(oid: &ObjectIdentifier, data: &[u8]) -> Result<Vec<u8>, TimestampError> {
    match *oid {
        ID_SHA_1 => Ok(sha1::Sha1::digest(data).to_vec()),
        ID_SHA_256 => Ok(Sha256::digest(data).to_vec()),
        ID_SHA_384 => Ok(Sha384::digest(data).to_vec()),
        ID_SHA_512 => Ok(Sha512::digest(data).to_vec()),
        other => Err(TimestampError::UnsupportedAlgorithm(format!(
            "digest algorithm {other}"
        ))),
    }
}

/// A non-negative INTEGER from big-endian magnitude bytes (a 0x00 is prefixed when needed).
fn positive_int(magnitude: &[u8]) -> der::Result<Int> {
    Ok(Int::from(Uint::new(magnitude)?))
}

/// The value of a non-negative INTEGER that fits 64 bits.
fn int_to_u64(value: &Int) -> Option<u64> {
    let bytes = value.as_bytes();
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    let magnitude = &bytes[start..];
    (magnitude.len() <= 8).then(|| magnitude.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
}

fn malformed(what: &'static str) -> impl Fn(der::Error) -> TimestampError {
    move |e| TimestampError::Malformed(format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::asn1::{STATUS_REJECTION, TimeStampResp, parse_generalized_time};
    use super::*;
    use der::{Decode, Encode};

    #[test]
    fn failure_bits_encode_as_rfc_named_bits() {
        // badAlg: one bit, 7 unused; systemFailure: bit 25, four bytes, 6 unused.
        let bad_alg = FailureInfo::BadAlg.to_bit_string().unwrap();
        assert_eq!(bad_alg.to_der().unwrap(), [0x03, 0x02, 0x07, 0x80]);
        let data = FailureInfo::BadDataFormat.to_bit_string().unwrap();
        assert_eq!(data.to_der().unwrap(), [0x03, 0x02, 0x02, 0x04]);
        let policy = FailureInfo::UnacceptedPolicy.to_bit_string().unwrap();
        assert_eq!(policy.to_der().unwrap(), [0x03, 0x03, 0x00, 0x00, 0x01]);
        for info in [
            FailureInfo::BadAlg,
            FailureInfo::BadRequest,
            FailureInfo::BadDataFormat,
            FailureInfo::TimeNotAvailable,
            FailureInfo::UnacceptedPolicy,
            FailureInfo::UnacceptedExtension,
            FailureInfo::AddInfoNotAvailable,
            FailureInfo::SystemFailure,
        ] {
            let bits = info.to_bit_string().unwrap();
            let set: Vec<usize> = bits
                .bits()
                .enumerate()
                .filter(|(_, on)| *on)
                .map(|(i, _)| i)
                .collect();
            assert_eq!(set, [usize::from(info.bit())]);
            assert_eq!(FailureInfo::from_bit(info.bit()), info);
        }
    }

    #[test]
    fn the_fallback_response_is_the_encoded_system_failure() {
        let encoded = rejection(&Refusal::new(FailureInfo::SystemFailure, ""));
        let parsed = TimeStampResp::from_der(&SYSTEM_FAILURE_RESPONSE).unwrap();
        assert_eq!(parsed.status.status, STATUS_REJECTION);
        assert_eq!(
            parsed.status.fail_info,
            Some(FailureInfo::SystemFailure.to_bit_string().unwrap())
        );
        assert!(encoded.len() > SYSTEM_FAILURE_RESPONSE.len());
    }

    #[test]
    fn integers_round_trip_and_stay_positive() {
        for n in [0u64, 1, 0x7f, 0x80, 0xff, 0x1234, u64::MAX] {
            let int = positive_int(&n.to_be_bytes()).unwrap();
            let der = int.to_der().unwrap();
            let back = Int::from_der(&der).unwrap();
            assert_eq!(int_to_u64(&back), Some(n), "{n}");
        }
        let big = positive_int(&u128::MAX.to_be_bytes()).unwrap();
        assert_eq!(big.as_bytes().len(), 17);
        assert_eq!(big.as_bytes()[0], 0);
        assert_eq!(int_to_u64(&big), None);
        assert_eq!(int_to_u64(&Int::new(&[0xff]).unwrap()), None);
    }

    #[test]
    fn generalized_time_accepts_fractions() {
        let whole = parse_generalized_time(b"20240229235959Z").unwrap();
        assert_eq!(whole.unix_timestamp(), 1_709_251_199);
        let fraction = parse_generalized_time(b"20240229235959.125Z").unwrap();
        assert_eq!(fraction.nanosecond(), 125_000_000);
        for bad in [
            &b"20240229235959"[..],
            b"20240229235959.Z",
            b"20240230000000Z",
            b"2024022923595Z",
            b"20240229235959+0900",
            b"20240229235959.1x",
        ] {
            assert_eq!(parse_generalized_time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn other_versions_are_told_apart_from_garbage() {
        let mut v2 = request(&[7; 32], None, false);
        assert!(!is_other_version(&v2));
        // 30 len 02 01 01 …: the version octet is the fifth byte.
        assert_eq!(&v2[2..5], [0x02, 0x01, 0x01]);
        v2[4] = 2;
        assert!(is_other_version(&v2));
        assert!(!is_other_version(b"not DER at all"));
    }

    #[test]
    fn error_codes_are_stable_and_messages_hide_detail() {
        let rejected = TimestampError::Rejected {
            status: 2,
            fail_info: vec![FailureInfo::BadAlg],
            text: Some("sha1".into()),
        };
        assert_eq!(rejected.code(), "timestamp_rejected");
        assert_eq!(
            rejected.detail(),
            "status 2, failInfo [badAlg], text \"sha1\""
        );
        let bad = TimestampError::BadSignature("ECDSA signature does not verify".into());
        assert_eq!(bad.code(), "timestamp_bad_signature");
        assert!(!bad.to_string().contains("ECDSA"));
        assert_eq!(
            TimestampError::NonceMismatch.code(),
            "timestamp_nonce_mismatch"
        );
    }
}
