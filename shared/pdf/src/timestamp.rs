//! RFC 3161 time-stamping: the local TSA's responder, and the client side that asks for a
//! token and checks the answer.
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

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{EncapsulatedContentInfo, SignedAttributes, SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::{
    ID_AA_SIGNING_CERTIFICATE, ID_AA_SIGNING_CERTIFICATE_V_2, ID_CONTENT_TYPE, ID_MESSAGE_DIGEST,
    ID_SIGNED_DATA,
};
use const_oid::db::rfc5912::{
    ID_CE_EXT_KEY_USAGE, ID_CE_KEY_USAGE, ID_KP_TIME_STAMPING, ID_SHA_1, ID_SHA_256, ID_SHA_384,
    ID_SHA_512,
};
use der::asn1::{BitString, GeneralizedTime, Int, OctetString, Uint};
use der::{
    Any, AnyRef, Decode, DecodeValue, Encode, EncodeValue, FixedTag, Header, Length, Reader,
    Sequence, SliceReader, Tag, TagNumber, Tagged, Writer,
};
use p256::ecdsa::DerSignature;
use sha2::{Digest, Sha256, Sha384, Sha512};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::{GeneralName, GeneralNames};
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::serial_number::SerialNumber;
use x509_tsp::{Accuracy, MessageImprint, TimeStampReq, TspVersion, TstInfo};

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

// ---------------------------------------------------------------------------------------
// ASN.1 declared here (see the module comment for why).

/// TimeStampResp (RFC 3161 §2.4.2) with PKIStatusInfo's failInfo kept as raw bits.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TimeStampResp {
    status: PkiStatusInfo,
    #[asn1(optional = "true")]
    time_stamp_token: Option<ContentInfo>,
}

/// PKIStatusInfo (RFC 4210 §5.2.3): status, PKIFreeText, PKIFailureInfo.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct PkiStatusInfo {
    status: u32,
    #[asn1(optional = "true")]
    status_string: Option<Vec<String>>,
    #[asn1(optional = "true")]
    fail_info: Option<BitString>,
}

/// PKIStatus granted (0); grantedWithMods (1) is also a token; 2 and up are refusals.
const STATUS_GRANTED: u32 = 0;
const STATUS_GRANTED_WITH_MODS: u32 = 1;
const STATUS_REJECTION: u32 = 2;

/// SigningCertificateV2 (RFC 5035 §3): the first ESSCertIDv2 names the signer's certificate.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct SigningCertificateV2 {
    pub(crate) certs: Vec<EssCertIdV2>,
    /// PolicyInformation values, unused here but allowed in the attribute.
    #[asn1(optional = "true")]
    pub(crate) policies: Option<Vec<Any>>,
}

/// ESSCertIDv2: `hashAlgorithm` is DEFAULT sha256, so DER leaves it out for SHA-256.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct EssCertIdV2 {
    #[asn1(optional = "true")]
    pub(crate) hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub(crate) cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub(crate) issuer_serial: Option<IssuerSerial>,
}

/// IssuerSerial (RFC 5035): the certificate's issuer as GeneralNames and its serial.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct IssuerSerial {
    pub(crate) issuer: GeneralNames,
    pub(crate) serial_number: SerialNumber,
}

/// TSTInfo as read back: `x509-tsp`'s fields, with a genTime that may carry fractions.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TstInfoRead {
    version: TspVersion,
    policy: ObjectIdentifier,
    message_imprint: MessageImprint,
    serial_number: Int,
    gen_time: GenTime,
    #[asn1(optional = "true")]
    accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    ordering: bool,
    #[asn1(optional = "true")]
    nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    extensions: Option<x509_cert::ext::Extensions>,
}

/// A GeneralizedTime `YYYYMMDDhhmmss[.f…]Z` (RFC 3161 §2.4.2 allows the fraction).
#[derive(Clone, Debug, Eq, PartialEq)]
struct GenTime {
    raw: Vec<u8>,
    time: OffsetDateTime,
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

impl<'a> DecodeValue<'a> for GenTime {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let raw = reader.read_vec(header.length)?;
        let time = parse_generalized_time(&raw).ok_or_else(|| Self::TAG.value_error())?;
        Ok(GenTime { raw, time })
    }
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.raw.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(&self.raw)
    }
}

fn parse_generalized_time(raw: &[u8]) -> Option<OffsetDateTime> {
    let body = raw.strip_suffix(b"Z")?;
    if body.len() < 14 || !body[..14].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |range: std::ops::Range<usize>| {
        body[range]
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
    };
    let mut nanos = 0u32;
    match &body[14..] {
        [] => {}
        // A fraction needs at least one digit; digits past nanoseconds are dropped.
        [b'.', digits @ ..] if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) => {
            for (i, d) in digits.iter().take(9).enumerate() {
                nanos += u32::from(d - b'0') * 10u32.pow(8 - i as u32);
            }
        }
        _ => return None,
    }
    let month = time::Month::try_from(u8::try_from(num(4..6)).ok()?).ok()?;
    let date = time::Date::from_calendar_date(
        i32::try_from(num(0..4)).ok()?,
        month,
        u8::try_from(num(6..8)).ok()?,
    )
    .ok()?;
    let clock = time::Time::from_hms_nano(
        u8::try_from(num(8..10)).ok()?,
        u8::try_from(num(10..12)).ok()?,
        u8::try_from(num(12..14)).ok()?,
        nanos,
    )
    .ok()?;
    Some(date.with_time(clock).assume_utc())
}

// ---------------------------------------------------------------------------------------
// The TSA side.

/// A refusal in RFC 3161 terms: one failure bit and a short text for the statusString.
struct Refusal {
    info: FailureInfo,
    text: &'static str,
}

impl Refusal {
    fn new(info: FailureInfo, text: &'static str) -> Self {
        Refusal { info, text }
    }
}

/// What we answer when even a rejection cannot be encoded: rejection + systemFailure.
const SYSTEM_FAILURE_RESPONSE: [u8; 14] = [
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
fn failure<E>(text: &'static str) -> impl FnOnce(E) -> Refusal {
    move |_| Refusal::new(FailureInfo::SystemFailure, text)
}

fn rejection(refusal: &Refusal) -> Vec<u8> {
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
fn accept(query: &[u8], signer: &TsaSigner) -> Result<TimeStampReq, Refusal> {
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
fn is_other_version(query: &[u8]) -> bool {
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
fn issue(
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

// ---------------------------------------------------------------------------------------
// The client side.

/// A DER TimeStampReq for a SHA-256 digest (nonce and certReq as given).
pub fn request(digest: &[u8; 32], nonce: Option<u64>, cert_req: bool) -> Vec<u8> {
    encode_request(digest, nonce, cert_req)
        // Every field is fixed-size or small; encoding has no way to fail.
        .expect("a SHA-256 TimeStampReq always encodes")
}

fn encode_request(digest: &[u8; 32], nonce: Option<u64>, cert_req: bool) -> der::Result<Vec<u8>> {
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
enum Imprint<'a> {
    /// A SHA-256 digest computed by the caller (our own requests ask for SHA-256).
    Sha256(&'a [u8; 32]),
    /// The data itself, hashed with the algorithm the token names.
    Over(&'a [&'a [u8]]),
    /// Anything: the caller checks the data elsewhere.
    NotChecked,
}

fn check_token_inner(
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
fn signed_attributes_as_sent(signed_data_der: &[u8]) -> der::Result<Vec<u8>> {
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
fn check_timestamping_certificate(cert: &Certificate) -> Result<(), TimestampError> {
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
fn single_attribute(
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
    use super::*;

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
