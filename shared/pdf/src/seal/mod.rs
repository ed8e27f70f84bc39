//! PAdES sealing by incremental update. No crate does this, so it is written here on top of
//! the bounded reader and lopdf's object model and writer, in three parts: the revision
//! writer (`revision`: the original bytes stay an exact prefix; the appended revision holds
//! new versions of only the catalog, the AcroForm and one page, plus the signature field
//! and dictionary), CMS assembly (`signer_info`), and here the sealer that drives them with
//! an asynchronous signer and TSA (B-B, B-T, and the DSS and document timestamp of B-LTA).

use const_oid::ObjectIdentifier;
use der::Encode;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::PdfError;

mod revision;
mod signer_info;

pub use revision::{
    FileHash, Prepared, ValidationData, add_dss, check_sealable, prepare, prepare_long_term,
};
pub use signer_info::{SignedAttributes, assemble_cms, signed_attributes};

/// id-aa-signatureTimeStampToken (RFC 3161 appendix A): the B-T unsigned attribute.
pub const ID_AA_SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");

/// What sealing can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The PDF cannot be read strictly (see [`PdfError`]).
    #[error(transparent)]
    Pdf(#[from] PdfError),
    /// The PDF forbids the change (certified with no changes allowed, encrypted).
    #[error("the PDF cannot be sealed: {0}")]
    NotSealable(String),
    /// The CMS did not fit the space reserved for it; seal again with at least this much.
    #[error("the signature needs {needed} bytes but {reserved} were reserved")]
    ContentsOverflow {
        /// Bytes needed.
        needed: usize,
        /// Bytes reserved.
        reserved: usize,
    },
    /// Signing or time-stamping failed (retryable: nothing was written).
    #[error("signing failed: {0}")]
    Signer(String),
    /// A structure could not be encoded.
    #[error("encoding failed: {0}")]
    Encoding(String),
}

impl SealError {
    /// A stable code for clients and logs.
    pub fn code(&self) -> &'static str {
        match self {
            SealError::Pdf(e) => e.code(),
            SealError::NotSealable(_) => "not_sealable",
            SealError::ContentsOverflow { .. } => "contents_overflow",
            SealError::Signer(_) => "signer_failed",
            SealError::Encoding(_) => "encoding_failed",
        }
    }
}

fn encoding(e: impl std::fmt::Display) -> SealError {
    SealError::Encoding(e.to_string())
}

/// How the seal describes itself.
#[derive(Clone, Debug)]
pub struct SealOptions {
    /// `/Reason`: the party and the act, e.g. 「山田 花子 様が同意」.
    pub reason: String,
    /// `/Name`: who seals (the service).
    pub name: String,
    /// `/M`: when (the timestamp is the evidence; `/M` only claims).
    pub time: OffsetDateTime,
    /// Bytes reserved for the CMS in `/Contents`.
    pub reserved: usize,
}

/// The seal's level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Signature only.
    BB,
    /// Signature and signature timestamp.
    BT,
}

/// Bytes a CMS needs beyond its certificates and timestamp: attributes, algorithm ids,
/// an ECDSA signature, framing.
const CMS_OVERHEAD: usize = 2048;

/// What a seal is made with: the signer's certificate and chain, how to sign and how to get
/// a timestamp.
pub struct Sealer<'a, S, T> {
    /// The signing certificate.
    pub cert: &'a Certificate,
    /// Its chain up to the root (embedded so validators need nothing else).
    pub chain: &'a [Certificate],
    /// Signs DER signed attributes with the key of `cert` (DER ECDSA P-256 / SHA-256).
    pub sign: S,
    /// A timestamp token over a SHA-256 digest.
    pub timestamp: T,
    /// Size of a token from that TSA (a dry run's), to reserve room for it.
    pub token_estimate: usize,
}

// `sign` and `timestamp` take their input by value: a future that borrows it would be
// higher-ranked over that borrow, and a caller could then not prove it `Send`.
impl<S, SF, T, TF> Sealer<'_, S, T>
where
    S: Fn(Vec<u8>) -> SF,
    SF: Future<Output = Result<Vec<u8>, String>>,
    T: Fn([u8; 32]) -> TF,
    TF: Future<Output = Result<Vec<u8>, String>>,
{
    /// Seals `pdf` at `level`. If the CMS outgrows the reserved room it is redone once with
    /// room for what it needed.
    pub async fn seal(
        &self,
        pdf: &[u8],
        level: Level,
        reason: &str,
        name: &str,
        time: OffsetDateTime,
    ) -> Result<Vec<u8>, SealError> {
        let (revision, _) = self.seal_revision(pdf, level, reason, name, time).await?;
        Ok([pdf, &revision].concat())
    }

    /// [`Sealer::seal`] without the copy of `pdf`: only the revision to append to it, and
    /// the hash of the whole sealed file for the next revision.
    pub async fn seal_revision(
        &self,
        pdf: &[u8],
        level: Level,
        reason: &str,
        name: &str,
        time: OffsetDateTime,
    ) -> Result<(Vec<u8>, FileHash), SealError> {
        let certs: usize = std::iter::once(self.cert)
            .chain(self.chain)
            .map(|c| {
                c.encoded_len()
                    .map(|l| u32::from(l) as usize)
                    .unwrap_or(4096)
            })
            .sum();
        let token = if level == Level::BT {
            self.token_estimate
        } else {
            0
        };
        let mut options = SealOptions {
            reason: reason.to_owned(),
            name: name.to_owned(),
            time,
            reserved: certs + token + CMS_OVERHEAD,
        };
        match self.seal_once(pdf, level, &options).await {
            Err(SealError::ContentsOverflow { needed, .. }) => {
                options.reserved = needed + CMS_OVERHEAD;
                self.seal_once(pdf, level, &options).await
            }
            other => other,
        }
    }

    async fn seal_once(
        &self,
        pdf: &[u8],
        level: Level,
        options: &SealOptions,
    ) -> Result<(Vec<u8>, FileHash), SealError> {
        let prepared = prepare(pdf, options)?;
        let attributes = signed_attributes(&prepared.digest, self.cert)?;
        let signature = (self.sign)(attributes.der.clone())
            .await
            .map_err(SealError::Signer)?;
        let token = match level {
            Level::BB => None,
            Level::BT => Some(
                (self.timestamp)(Sha256::digest(&signature).into())
                    .await
                    .map_err(SealError::Signer)?,
            ),
        };
        let cms = assemble_cms(
            attributes,
            &signature,
            self.cert,
            self.chain,
            token.as_deref(),
        )?;
        prepared.finish_revision(&cms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::PdfReader;
    use crate::sample;
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    use const_oid::db::rfc5911::{ID_DATA, ID_SIGNED_DATA};
    use der::Decode;
    use p256::ecdsa::{DerSignature, SigningKey};
    use signature::Signer;
    use std::str::FromStr;
    use x509_cert::builder::{Builder, CertificateBuilder, Profile};

    fn signer() -> (SigningKey, Certificate) {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let spki = spki::SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).unwrap();
        let cert = CertificateBuilder::new(
            Profile::Root,
            x509_cert::serial_number::SerialNumber::from(7u32),
            x509_cert::time::Validity::from_now(std::time::Duration::from_secs(3600)).unwrap(),
            x509_cert::name::Name::from_str("CN=seal test,O=keiyaku").unwrap(),
            spki,
            &key,
        )
        .unwrap()
        .build::<DerSignature>()
        .unwrap();
        (key, cert)
    }

    async fn seal_with(pdf: &[u8], key: &SigningKey, cert: &Certificate, reason: &str) -> Vec<u8> {
        let sealer = Sealer {
            cert,
            chain: &[],
            sign: |msg: Vec<u8>| {
                let sig: DerSignature = key.sign(&msg);
                std::future::ready(Ok(sig.as_bytes().to_vec()))
            },
            timestamp: |_: [u8; 32]| std::future::ready(Err("no TSA in this test".into())),
            token_estimate: 0,
        };
        sealer
            .seal(pdf, Level::BB, reason, "keiyaku", OffsetDateTime::now_utc())
            .await
            .unwrap()
    }

    /// The last signature's byte range, contents and CMS, checked: the range covers the
    /// whole file but the contents, and the CMS signs the range's digest with `cert`.
    fn check_last_signature(sealed: &[u8], cert: &Certificate) {
        let at = sealed
            .windows(12)
            .rposition(|w| w == b"/ByteRange [")
            .expect("a signature dictionary");
        let rest = &sealed[at + 12..];
        let close = rest.iter().position(|&b| b == b']').unwrap();
        let nums: Vec<usize> = std::str::from_utf8(&rest[..close])
            .unwrap()
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(nums.len(), 4);
        assert_eq!(nums[0], 0);
        assert_eq!(
            nums[2] + nums[3],
            sealed.len(),
            "the range reaches the end of the file"
        );
        assert_eq!(sealed[nums[1]], b'<');
        assert_eq!(sealed[nums[2] - 1], b'>');
        let hex = std::str::from_utf8(&sealed[nums[1] + 1..nums[2] - 1]).unwrap();
        let der: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let info = ContentInfo::from_der(der_prefix(&der)).unwrap();
        assert_eq!(info.content_type, ID_SIGNED_DATA);
        let signed_der = info.content.to_der().unwrap();
        let signed = SignedData::from_der(&signed_der).unwrap();
        let si = signed.signer_infos.0.iter().next().unwrap();
        let mut content = sealed[..nums[1]].to_vec();
        content.extend_from_slice(&sealed[nums[2]..]);
        crate::timestamp::verify_signer_info(
            &signed_der,
            si,
            &Sha256::digest(&content),
            ID_DATA,
            cert,
        )
        .expect("the CMS signs the byte range");
        let attrs = si.signed_attrs.as_ref().unwrap();
        let oids: Vec<String> = attrs.iter().map(|a| a.oid.to_string()).collect();
        assert!(
            !oids.contains(&"1.2.840.113549.1.9.5".to_string()),
            "no signing-time in PAdES"
        );
        assert!(
            oids.contains(&"1.2.840.113549.1.9.16.2.47".to_string()),
            "signing-certificate-v2"
        );
    }

    /// The DER of the CMS without the zero padding after it.
    fn der_prefix(padded: &[u8]) -> &[u8] {
        let mut reader = der::SliceReader::new(padded).unwrap();
        let header = <der::Header as der::Decode>::decode(&mut reader).unwrap();
        let len = usize::try_from(header.encoded_len().unwrap()).unwrap()
            + usize::try_from(header.length).unwrap();
        &padded[..len]
    }

    #[tokio::test]
    async fn a_seal_is_an_incremental_update_that_verifies() {
        let (key, cert) = signer();
        for original in [sample::pdf_with_pages(3), sample::pdf_with_xref_stream(2)] {
            let sealed = seal_with(&original, &key, &cert, "送信").await;
            assert!(
                sealed.starts_with(&original),
                "the original is an exact prefix"
            );
            check_last_signature(&sealed, &cert);
            let reader = PdfReader::open(&sealed).expect("the sealed file reads strictly");
            assert_eq!(reader.sections().len(), 2, "one revision appended");
            assert_eq!(
                reader.xref_kind(),
                PdfReader::open(&original).unwrap().xref_kind(),
                "the xref section is of the file's kind"
            );
            let catalog = reader.catalog().unwrap();
            let form = catalog.get(b"AcroForm").unwrap().as_dict().unwrap();
            assert_eq!(form.get(b"SigFlags").unwrap().as_i64().unwrap(), 3);
            assert!(
                catalog
                    .get(b"Extensions")
                    .unwrap()
                    .as_dict()
                    .unwrap()
                    .has(b"ESIC")
            );
            crate::inspect(&sealed).expect("still a valid PDF");
            if let Some(report) = qpdf_check(&sealed) {
                assert!(report.0, "qpdf --check: {}", report.1);
            }

            // A second seal keeps the first one's field and appends again.
            let twice = seal_with(&sealed, &key, &cert, "山田 花子 様が同意").await;
            assert!(twice.starts_with(&sealed));
            check_last_signature(&twice, &cert);
            let reader = PdfReader::open(&twice).unwrap();
            let catalog = reader.catalog().unwrap();
            let fields = catalog
                .get(b"AcroForm")
                .unwrap()
                .as_dict()
                .unwrap()
                .get(b"Fields")
                .unwrap();
            assert_eq!(
                fields.as_array().unwrap().len(),
                2,
                "existing fields are kept"
            );
            if let Some(report) = qpdf_check(&twice) {
                assert!(report.0, "qpdf --check: {}", report.1);
            }
        }
    }

    #[tokio::test]
    async fn a_dss_revision_keeps_earlier_data_and_names_every_signature() {
        let (key, cert) = signer();
        let once = seal_with(&sample::pdf_with_pages(1), &key, &cert, "送信").await;
        let twice = seal_with(&once, &key, &cert, "同意").await;
        let cert_der = cert.to_der().unwrap();
        let first = add_dss(
            &twice,
            &ValidationData {
                certs: vec![cert_der.clone(), cert_der.clone()],
                crls: vec![vec![0x30, 0]],
                ocsps: vec![],
            },
        )
        .unwrap();
        assert!(first.starts_with(&twice));
        let second = add_dss(
            &first,
            &ValidationData {
                certs: vec![vec![0x30, 1]],
                ..Default::default()
            },
        )
        .unwrap();
        let reader = PdfReader::open(&second).unwrap();
        let catalog = reader.catalog().unwrap();
        let dss = reader.resolve(catalog.get(b"DSS").unwrap()).unwrap();
        let dss = dss.as_dict().unwrap();
        assert_eq!(
            dss.get(b"Certs").unwrap().as_array().unwrap().len(),
            2,
            "duplicates once, earlier kept"
        );
        assert_eq!(dss.get(b"CRLs").unwrap().as_array().unwrap().len(), 1);
        let vri = dss.get(b"VRI").unwrap().as_dict().unwrap();
        assert_eq!(vri.len(), 2, "one VRI entry per signature");
        for (name, _) in vri.iter() {
            assert_eq!(name.len(), 40, "uppercase hex SHA-1");
            assert!(
                name.iter()
                    .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c))
            );
        }
        let stamped = prepare_long_term(&second, &ValidationData::default(), 64, None).unwrap();
        let digest = stamped.digest;
        assert_ne!(digest, [0; 32]);
        let done = stamped.finish(&[0x30, 0x00]).unwrap();
        assert!(done.windows(25).any(|w| w == b"/Type /DocTimeStamp /Filt"));
        assert!(done.windows(14).any(|w| w == b"/ETSI.RFC3161 "));
        crate::inspect(&done).unwrap();
    }

    #[tokio::test]
    async fn a_known_file_hash_gives_the_same_digest_as_hashing_everything() {
        let (key, cert) = signer();
        let sealer = Sealer {
            cert: &cert,
            chain: &[],
            sign: |msg: Vec<u8>| {
                let sig: DerSignature = key.sign(&msg);
                std::future::ready(Ok(sig.as_bytes().to_vec()))
            },
            timestamp: |_: [u8; 32]| std::future::ready(Err("unused".into())),
            token_estimate: 0,
        };
        for pdf in [sample::pdf_with_pages(2), sample::pdf_with_xref_stream(1)] {
            let (revision, hash) = sealer
                .seal_revision(
                    &pdf,
                    Level::BB,
                    "送信",
                    "keiyaku",
                    OffsetDateTime::now_utc(),
                )
                .await
                .unwrap();
            let sealed = [&pdf[..], &revision].concat();
            let whole: [u8; 32] = Sha256::digest(&sealed).into();
            assert_eq!(
                hash.0.clone().finalize().as_slice(),
                whole.as_slice(),
                "the hash is of the whole sealed file"
            );
            let data = ValidationData {
                crls: vec![vec![0x30, 0]],
                ..Default::default()
            };
            let cheap = prepare_long_term(&sealed, &data, 64, Some(&hash)).unwrap();
            let full = prepare_long_term(&sealed, &data, 64, None).unwrap();
            assert_eq!(cheap.digest, full.digest);
        }
    }

    #[tokio::test]
    async fn an_overflowing_cms_is_redone_with_more_room_never_truncated() {
        let (key, cert) = signer();
        let pdf = sample::pdf_with_pages(1);
        let big_token = vec![0u8; 0];
        // A "timestamp" far larger than the estimate: the first attempt overflows.
        let token = {
            let mut any = der::asn1::OctetString::new(vec![7u8; 9000])
                .unwrap()
                .to_der()
                .unwrap();
            any.extend_from_slice(&big_token);
            any
        };
        let sealer = Sealer {
            cert: &cert,
            chain: &[],
            sign: |msg: Vec<u8>| {
                let sig: DerSignature = key.sign(&msg);
                std::future::ready(Ok(sig.as_bytes().to_vec()))
            },
            timestamp: |_: [u8; 32]| std::future::ready(Ok(token.clone())),
            token_estimate: 100,
        };
        let sealed = sealer
            .seal(
                &pdf,
                Level::BT,
                "送信",
                "keiyaku",
                OffsetDateTime::now_utc(),
            )
            .await
            .unwrap();
        check_last_signature(&sealed, &cert);
        let prepared = prepare(
            &pdf,
            &SealOptions {
                reason: "x".into(),
                name: "y".into(),
                time: OffsetDateTime::now_utc(),
                reserved: 10,
            },
        )
        .unwrap();
        assert!(matches!(
            prepared.finish(&[0u8; 11]),
            Err(SealError::ContentsOverflow {
                needed: 11,
                reserved: 10
            })
        ));
    }

    #[test]
    fn certified_no_changes_and_encrypted_files_are_refused() {
        let fixture = |name: &str| {
            std::fs::read(format!(
                "{}/../../tests/fixtures/pdf/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
        };
        let options = SealOptions {
            reason: "x".into(),
            name: "y".into(),
            time: OffsetDateTime::now_utc(),
            reserved: 100,
        };
        let code = |name: &str| prepare(&fixture(name), &options).err().map(|e| e.code());
        assert_eq!(code("encrypted.pdf"), Some("encrypted_pdf"));
        assert_eq!(
            code("certified_no_changes.pdf"),
            Some("certified_no_changes")
        );
        assert_eq!(
            code("certified_form_filling.pdf"),
            None,
            "P=2 allows signing"
        );
    }
    fn qpdf_check(pdf: &[u8]) -> Option<(bool, String)> {
        let dir = tempfile::tempdir().ok()?;
        let path = dir.path().join("sealed.pdf");
        std::fs::write(&path, pdf).ok()?;
        let out = std::process::Command::new("qpdf")
            .arg("--check")
            .arg(&path)
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        Some((out.status.success() && !text.contains("WARNING"), text))
    }
}
