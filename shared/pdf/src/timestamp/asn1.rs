//! The ASN.1 of RFC 3161 declared here rather than taken from `x509-tsp` (see the parent
//! module's comment for why): the response with its failure bits kept raw, and TSTInfo read
//! through a twin whose time accepts fractional seconds.

use cms::content_info::ContentInfo;
use const_oid::ObjectIdentifier;
use der::asn1::{BitString, Int, OctetString};
use der::{Any, DecodeValue, EncodeValue, FixedTag, Header, Length, Reader, Sequence, Tag, Writer};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::ext::pkix::name::{GeneralName, GeneralNames};
use x509_cert::serial_number::SerialNumber;
use x509_tsp::{Accuracy, MessageImprint, TspVersion};

/// TimeStampResp (RFC 3161 §2.4.2) with PKIStatusInfo's failInfo kept as raw bits.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct TimeStampResp {
    pub(super) status: PkiStatusInfo,
    #[asn1(optional = "true")]
    pub(super) time_stamp_token: Option<ContentInfo>,
}

/// PKIStatusInfo (RFC 4210 §5.2.3): status, PKIFreeText, PKIFailureInfo.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct PkiStatusInfo {
    pub(super) status: u32,
    #[asn1(optional = "true")]
    pub(super) status_string: Option<Vec<String>>,
    #[asn1(optional = "true")]
    pub(super) fail_info: Option<BitString>,
}

/// PKIStatus granted (0); grantedWithMods (1) is also a token; 2 and up are refusals.
pub(super) const STATUS_GRANTED: u32 = 0;
pub(super) const STATUS_GRANTED_WITH_MODS: u32 = 1;
pub(super) const STATUS_REJECTION: u32 = 2;

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
pub(super) struct TstInfoRead {
    pub(super) version: TspVersion,
    pub(super) policy: ObjectIdentifier,
    pub(super) message_imprint: MessageImprint,
    pub(super) serial_number: Int,
    pub(super) gen_time: GenTime,
    #[asn1(optional = "true")]
    pub(super) accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    pub(super) ordering: bool,
    #[asn1(optional = "true")]
    pub(super) nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub(super) tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub(super) extensions: Option<x509_cert::ext::Extensions>,
}

/// A GeneralizedTime `YYYYMMDDhhmmss[.f…]Z` (RFC 3161 §2.4.2 allows the fraction).
#[derive(Clone, Debug, Eq, PartialEq)]
pub(super) struct GenTime {
    pub(super) raw: Vec<u8>,
    pub(super) time: OffsetDateTime,
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

pub(super) fn parse_generalized_time(raw: &[u8]) -> Option<OffsetDateTime> {
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
