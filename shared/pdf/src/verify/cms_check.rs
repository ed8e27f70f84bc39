//! One signature's CMS and RFC 3161 tokens, checked on their own: the digest of the signed
//! bytes, the signature, the ESS signing certificate and the signature timestamp (before any
//! certificate path is validated).

use cms::content_info::ContentInfo;
use cms::signed_data::SignerInfo;
use const_oid::db::rfc5911::{ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA};
use der::asn1::OctetString;
use der::{Decode, Encode};
use x509_cert::Certificate;

use super::{Mode, Problem, Status, problem};
use crate::seal::ID_AA_SIGNATURE_TIME_STAMP_TOKEN;
use crate::timestamp::{self, TimestampError, Token};

/// What one signature's CMS says, once checked.
pub(super) struct CmsCheck {
    pub(super) intact: bool,
    pub(super) signature_valid: bool,
    pub(super) signer: Option<Certificate>,
    pub(super) certs: Vec<Certificate>,
    pub(super) has_signing_certificate_v2: bool,
    /// The signature timestamp token and the signature value it must cover.
    pub(super) timestamp: Option<(Vec<u8>, Vec<u8>)>,
}

/// A timestamp checked on its own (before its TSA's path is validated).
pub(super) struct TokenCheck {
    pub(super) token: Option<Token>,
    pub(super) problem: Option<Problem>,
}

pub(super) fn timestamp_problem(e: &TimestampError, what: &str) -> Problem {
    let effect = match e {
        TimestampError::UnsupportedAlgorithm(_) | TimestampError::SignerUnknown => {
            Status::Indeterminate
        }
        _ => Status::Invalid,
    };
    problem(e.code(), format!("{what}: {} ({})", e, e.detail()), effect)
}

/// Checks a token; its imprint against `over` when given.
pub(super) fn check_token(
    token: &[u8],
    over: Option<&[&[u8]]>,
    pool: &[Certificate],
    what: &str,
) -> TokenCheck {
    let checked = match over {
        Some(parts) => timestamp::check_token_over(token, parts, pool),
        None => timestamp::check_token_not_imprint(token, pool),
    };
    match checked {
        Ok(token) => TokenCheck {
            token: Some(token),
            problem: None,
        },
        Err(e) => TokenCheck {
            token: None,
            problem: Some(timestamp_problem(&e, what)),
        },
    }
}

pub(super) fn check_cms(
    contents: &[u8],
    parts: &[&[u8]],
    pool: &[Certificate],
    mode: Mode,
    problems: &mut Vec<Problem>,
) -> CmsCheck {
    let mut check = CmsCheck {
        intact: false,
        signature_valid: false,
        signer: None,
        certs: Vec::new(),
        has_signing_certificate_v2: false,
        timestamp: None,
    };
    let malformed = |problems: &mut Vec<Problem>, why: String| {
        problems.push(problem("signature_malformed", why, Status::Invalid));
    };
    let Some(der) = der_prefix(contents) else {
        malformed(problems, "/Contents holds no DER value".into());
        return check;
    };
    let parsed = ContentInfo::from_der(der)
        .ok()
        .filter(|ci| ci.content_type == ID_SIGNED_DATA)
        .and_then(|ci| {
            let signed_der = ci.content.to_der().ok()?;
            crate::cms_read::signed_data(&signed_der).ok()
        });
    let Some((signed_der, signed)) = parsed else {
        malformed(problems, "/Contents is not a CMS SignedData".into());
        return check;
    };
    check.certs = signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            cms::cert::CertificateChoices::Certificate(cert) => Some(cert.clone()),
            cms::cert::CertificateChoices::Other(_) => None,
        })
        .collect();
    let [signer_info] = signed.signer_infos.0.as_slice() else {
        malformed(
            problems,
            format!("{} SignerInfos, not one", signed.signer_infos.0.len()),
        );
        return check;
    };
    if signed.encap_content_info.econtent.is_some()
        || signed.encap_content_info.econtent_type != ID_DATA
    {
        malformed(
            problems,
            "the signature is not detached over id-data".into(),
        );
        return check;
    }
    if signer_info.signed_attrs.is_none() {
        check_without_attributes(&mut check, signer_info, parts, pool, problems);
        return check;
    }
    let computed = match mode {
        Mode::Verify => crate::crypto::digest_parts(&signer_info.digest_alg.oid, parts),
        Mode::PathsOnly => declared_digest(signer_info).ok_or_else(|| {
            crate::crypto::VerifyError::Malformed("no message-digest attribute".into())
        }),
    };
    let digest = match computed {
        Ok(d) => d,
        Err(e) => {
            problems.push(problem(
                "unsupported_algorithm",
                e.to_string(),
                Status::Indeterminate,
            ));
            return check;
        }
    };
    check.intact = declared_digest(signer_info).as_deref() == Some(digest.as_slice());
    if !check.intact {
        problems.push(problem(
            "digest_mismatch",
            "the signed bytes were altered: their digest is not the one signed",
            Status::Invalid,
        ));
        return check;
    }
    let Some(signer) = find_signer(&check.certs, signer_info, pool, problems) else {
        return check;
    };
    match timestamp::verify_signer_info(&signed_der, signer_info, &digest, ID_DATA, &signer) {
        Ok(()) => check.signature_valid = true,
        Err(e) => problems.push(match e {
            TimestampError::UnsupportedAlgorithm(why) => {
                problem("unsupported_algorithm", why, Status::Indeterminate)
            }
            other => problem(
                "signature_invalid",
                format!("the signature does not verify: {}", other.detail()),
                Status::Invalid,
            ),
        }),
    }
    match timestamp::check_signing_certificate(signer_info, &signer) {
        Ok(v2) => check.has_signing_certificate_v2 = v2,
        Err(TimestampError::SigningCertificateMismatch(why))
            if why == timestamp::NO_SIGNING_CERTIFICATE =>
        {
            problems.push(problem(
                "no_signing_certificate_attribute",
                "no ESS signing-certificate attribute: not a PAdES baseline signature",
                Status::Valid,
            ));
        }
        Err(e) => problems.push(problem(
            "signing_certificate_mismatch",
            format!(
                "the signed attributes name another certificate: {}",
                e.detail()
            ),
            Status::Invalid,
        )),
    }
    check.timestamp = signature_timestamp(signer_info)
        .map(|token| (token, signer_info.signature.as_bytes().to_vec()));
    check.signer = Some(signer);
    check
}

/// The signer's certificate, from the signature's own certificates or the pool; a problem
/// when neither holds it.
fn find_signer(
    certs: &[Certificate],
    signer_info: &SignerInfo,
    pool: &[Certificate],
    problems: &mut Vec<Problem>,
) -> Option<Certificate> {
    let signer = certs
        .iter()
        .chain(pool)
        .find(|c| timestamp::identifies(&signer_info.sid, c))
        .cloned();
    if signer.is_none() {
        problems.push(problem(
            "signer_unknown",
            "the signer's certificate is not in the signature or the DSS",
            Status::Indeterminate,
        ));
    }
    signer
}

/// A SignerInfo without signed attributes (RFC 5652 §5.4, allowed by `adbe.pkcs7.detached`):
/// the signature is over the signed bytes themselves, so altered bytes and a wrong signature
/// cannot be told apart, and nothing names the signer's certificate in signed form.
fn check_without_attributes(
    check: &mut CmsCheck,
    signer_info: &SignerInfo,
    parts: &[&[u8]],
    pool: &[Certificate],
    problems: &mut Vec<Problem>,
) {
    let Some(signer) = find_signer(&check.certs, signer_info, pool, problems) else {
        return;
    };
    match crate::crypto::verify_parts(
        &signer.tbs_certificate.subject_public_key_info,
        &signer_info.signature_algorithm,
        Some(&signer_info.digest_alg.oid),
        parts,
        signer_info.signature.as_bytes(),
    ) {
        Ok(()) => {
            check.intact = true;
            check.signature_valid = true;
        }
        Err(crate::crypto::VerifyError::Unsupported(why)) => {
            problems.push(problem("unsupported_algorithm", why, Status::Indeterminate));
        }
        Err(e) => problems.push(problem(
            "signature_invalid",
            format!(
                "the signature does not verify over the signed bytes ({e}); it has no signed \
                 attributes, so altered bytes and a wrong signature look alike"
            ),
            Status::Invalid,
        )),
    }
    problems.push(problem(
        "no_signed_attributes",
        "no signed attributes (RFC 5652 §5.4): the signature covers the bytes directly and no \
         signed attribute names the signer's certificate; not a PAdES baseline signature",
        Status::Valid,
    ));
    check.timestamp = signature_timestamp(signer_info)
        .map(|token| (token, signer_info.signature.as_bytes().to_vec()));
    check.signer = Some(signer);
}

pub(super) fn declared_digest(signer_info: &SignerInfo) -> Option<Vec<u8>> {
    let attrs = signer_info.signed_attrs.as_ref()?;
    let mut found = attrs.iter().filter(|a| a.oid == ID_MESSAGE_DIGEST);
    let attr = found.next()?;
    if found.next().is_some() || attr.values.len() != 1 {
        return None;
    }
    attr.values
        .get(0)?
        .decode_as::<OctetString>()
        .ok()
        .map(|o| o.as_bytes().to_vec())
}

pub(super) fn signature_timestamp(signer_info: &SignerInfo) -> Option<Vec<u8>> {
    signer_info
        .unsigned_attrs
        .as_ref()?
        .iter()
        .find(|a| a.oid == ID_AA_SIGNATURE_TIME_STAMP_TOKEN)?
        .values
        .get(0)?
        .to_der()
        .ok()
}

/// The DER value at the start of `padded` (a `/Contents` is zero-padded).
pub(super) fn der_prefix(padded: &[u8]) -> Option<&[u8]> {
    let mut reader = der::SliceReader::new(padded).ok()?;
    let header = <der::Header as Decode>::decode(&mut reader).ok()?;
    let len =
        usize::try_from(header.encoded_len().ok()?).ok()? + usize::try_from(header.length).ok()?;
    padded.get(..len)
}
