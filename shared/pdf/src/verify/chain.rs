//! Certificate paths: from a signer's certificate up to a trust anchor, each link's signature
//! checked, each certificate valid at the time that matters (the proof of existence the
//! timestamps give), CA constraints honoured, and revocation read from CRLs embedded in the
//! file. No maintained Rust crate validates X.509 paths on RustCrypto's types (webpki works
//! on its own types and only for TLS), so this is written here, kept to what PAdES needs.

use std::collections::HashSet;

use const_oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_CERTIFICATE_POLICIES,
    ID_CE_CRL_DISTRIBUTION_POINTS, ID_CE_EXT_KEY_USAGE, ID_CE_KEY_USAGE, ID_CE_SUBJECT_ALT_NAME,
    ID_CE_SUBJECT_KEY_IDENTIFIER, ID_PE_AUTHORITY_INFO_ACCESS,
};
use der::{Decode, Encode};
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::time::Time;

use crate::crypto::{self, VerifyError};

/// Longest path followed (leaf, intermediates, anchor).
const MAX_PATH: usize = 8;
/// Most candidate issuers whose signature is checked at one step of a path (a file may
/// carry many certificates with the same name).
const MAX_CANDIDATES: usize = 16;

/// id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): an OCSP responder's certificate that is not
/// checked for revocation; harmless to understand when critical.
const ID_PKIX_OCSP_NOCHECK: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.5");

/// Extensions this module understands, or that do not restrict validation here.
const KNOWN_EXTENSIONS: [const_oid::ObjectIdentifier; 10] = [
    ID_CE_BASIC_CONSTRAINTS,
    ID_CE_KEY_USAGE,
    ID_CE_EXT_KEY_USAGE,
    ID_CE_SUBJECT_KEY_IDENTIFIER,
    ID_CE_AUTHORITY_KEY_IDENTIFIER,
    ID_CE_SUBJECT_ALT_NAME,
    ID_CE_CRL_DISTRIBUTION_POINTS,
    ID_PE_AUTHORITY_INFO_ACCESS,
    ID_CE_CERTIFICATE_POLICIES,
    ID_PKIX_OCSP_NOCHECK,
];

/// What revocation data said about a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Revocation {
    /// Every certificate below the anchor has a fresh CRL that does not list it.
    Good,
    /// A certificate was revoked at or before the time that matters.
    Revoked,
    /// Some certificate has no fresh CRL in the file.
    NoData,
}

/// The outcome of validating one certificate path.
#[derive(Clone, Debug)]
pub(crate) struct PathResult {
    /// Leaf first; ends with the anchor when `trusted`.
    pub path: Vec<Certificate>,
    /// Whether the path ends at a trust anchor with every link verified.
    pub trusted: bool,
    /// Why not trusted or not valid (`None` when all is well).
    pub problem: Option<PathProblem>,
    /// Revocation status of the path (only meaningful when `trusted`).
    pub revocation: Revocation,
}

/// Why a path fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PathProblem {
    /// No issuer up to a trust anchor (a foreign signature): indeterminate.
    NoTrustedPath(String),
    /// A certificate was not valid at the time that matters: indeterminate.
    OutOfValidity(String),
    /// A certificate cannot be used as it is (CA constraints, key usage, a critical extension
    /// this verifier does not know): indeterminate.
    Unusable(String),
    /// An algorithm this verifier does not check: indeterminate.
    Unsupported(String),
}

impl PathProblem {
    /// A stable code.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            PathProblem::NoTrustedPath(_) => "untrusted",
            PathProblem::OutOfValidity(_) => "certificate_out_of_validity",
            PathProblem::Unusable(_) => "certificate_unusable",
            PathProblem::Unsupported(_) => "unsupported_algorithm",
        }
    }

    /// The detail.
    pub(crate) fn detail(&self) -> &str {
        match self {
            PathProblem::NoTrustedPath(s)
            | PathProblem::OutOfValidity(s)
            | PathProblem::Unusable(s)
            | PathProblem::Unsupported(s) => s,
        }
    }
}

/// Seconds since the epoch of an X.509 time, as an `OffsetDateTime`.
pub(crate) fn to_datetime(time: &Time) -> OffsetDateTime {
    let secs = time.to_unix_duration().as_secs();
    OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// An RFC 4514-style subject for reports.
pub(crate) fn subject(cert: &Certificate) -> String {
    cert.tbs_certificate.subject.to_string()
}

fn extension<'a, T: Decode<'a>>(
    cert: &'a Certificate,
    oid: const_oid::ObjectIdentifier,
) -> Option<Result<T, der::Error>> {
    cert.tbs_certificate
        .extensions
        .as_deref()?
        .iter()
        .find(|e| e.extn_id == oid)
        .map(|e| T::from_der(e.extn_value.as_bytes()))
}

fn key_id(cert: &Certificate) -> Option<Vec<u8>> {
    extension::<SubjectKeyIdentifier>(cert, ID_CE_SUBJECT_KEY_IDENTIFIER)?
        .ok()
        .map(|ski| ski.0.as_bytes().to_vec())
}

fn authority_key_id(cert: &Certificate) -> Option<Vec<u8>> {
    extension::<AuthorityKeyIdentifier>(cert, ID_CE_AUTHORITY_KEY_IDENTIFIER)?
        .ok()?
        .key_identifier
        .map(|id| id.as_bytes().to_vec())
}

/// Whether `issuer` signed `cert`.
fn signed_by(cert: &Certificate, issuer: &Certificate) -> Result<(), VerifyError> {
    let tbs = cert
        .tbs_certificate
        .to_der()
        .map_err(|e| VerifyError::Malformed(e.to_string()))?;
    crypto::verify(
        &issuer.tbs_certificate.subject_public_key_info,
        &cert.signature_algorithm,
        None,
        &tbs,
        cert.signature.raw_bytes(),
    )
}

fn could_issue(cert: &Certificate, issuer: &Certificate) -> bool {
    if issuer.tbs_certificate.subject != cert.tbs_certificate.issuer {
        return false;
    }
    match (authority_key_id(cert), key_id(issuer)) {
        (Some(aki), Some(ski)) => aki == ski,
        _ => true,
    }
}

fn same(a: &Certificate, b: &Certificate) -> bool {
    a == b
}

/// Checks one certificate on its own at `at`: validity, critical extensions, and (for an
/// issuer) the CA constraints for `below` certificates under it.
fn check_certificate(
    cert: &Certificate,
    at: OffsetDateTime,
    issuer_of: Option<usize>,
) -> Result<(), PathProblem> {
    let validity = &cert.tbs_certificate.validity;
    let (from, to) = (
        to_datetime(&validity.not_before),
        to_datetime(&validity.not_after),
    );
    if at < from || at > to {
        return Err(PathProblem::OutOfValidity(format!(
            "{} is valid from {from} to {to}, not at {at}",
            subject(cert)
        )));
    }
    for ext in cert.tbs_certificate.extensions.as_deref().unwrap_or(&[]) {
        if ext.critical && !KNOWN_EXTENSIONS.contains(&ext.extn_id) {
            return Err(PathProblem::Unusable(format!(
                "{} has a critical extension {} this verifier does not process",
                subject(cert),
                ext.extn_id
            )));
        }
    }
    if let Some(below) = issuer_of {
        let constraints = extension::<BasicConstraints>(cert, ID_CE_BASIC_CONSTRAINTS)
            .and_then(Result::ok)
            .filter(|bc| bc.ca)
            .ok_or_else(|| {
                PathProblem::Unusable(format!("{} is not a CA certificate", subject(cert)))
            })?;
        // `below` counts the intermediate CAs between this one and the leaf.
        if let Some(limit) = constraints.path_len_constraint
            && below > usize::from(limit)
        {
            return Err(PathProblem::Unusable(format!(
                "{} allows {limit} CAs below it, not {below}",
                subject(cert)
            )));
        }
        if let Some(usage) = extension::<KeyUsage>(cert, ID_CE_KEY_USAGE).and_then(Result::ok)
            && !usage.0.contains(KeyUsages::KeyCertSign)
        {
            return Err(PathProblem::Unusable(format!(
                "{} may not sign certificates",
                subject(cert)
            )));
        }
    }
    Ok(())
}

/// Whether a leaf certificate's key usage allows signing documents (when it says anything).
pub(crate) fn allows_signing(cert: &Certificate) -> bool {
    match extension::<KeyUsage>(cert, ID_CE_KEY_USAGE) {
        Some(Ok(usage)) => {
            usage.0.contains(KeyUsages::DigitalSignature)
                || usage.0.contains(KeyUsages::NonRepudiation)
        }
        Some(Err(_)) => false,
        None => true,
    }
}

/// Builds and checks the path from `leaf` to one of `anchors`, looking for issuers in
/// `pool`; every certificate must be valid at `at`, and its revocation status at `at` comes
/// from `crls`.
pub(crate) fn validate(
    leaf: &Certificate,
    pool: &[Certificate],
    anchors: &[Certificate],
    crls: &[CertificateList],
    at: OffsetDateTime,
) -> PathResult {
    let mut path = vec![leaf.clone()];
    let result = |path: Vec<Certificate>, trusted: bool, problem: Option<PathProblem>| PathResult {
        revocation: if trusted && problem.is_none() {
            revocation(&path, crls, at)
        } else {
            Revocation::NoData
        },
        path,
        trusted,
        problem,
    };
    if let Err(problem) = check_certificate(leaf, at, None) {
        return result(path, false, Some(problem));
    }
    let mut seen = HashSet::new();
    loop {
        let current = path.last().expect("the path starts with the leaf").clone();
        if anchors.iter().any(|a| same(a, &current)) {
            return result(path, true, None);
        }
        if path.len() >= MAX_PATH || !seen.insert(current.to_der().unwrap_or_default()) {
            return result(
                path,
                false,
                Some(PathProblem::NoTrustedPath("the path is too long".into())),
            );
        }
        let mut unsupported = None;
        let issuer = anchors
            .iter()
            .chain(pool)
            // A self-signed certificate that is not an anchor issues nothing here.
            .filter(|candidate| !same(candidate, &current) && could_issue(&current, candidate))
            .take(MAX_CANDIDATES)
            .find(|candidate| match signed_by(&current, candidate) {
                Ok(()) => true,
                Err(VerifyError::Unsupported(why)) => {
                    unsupported = Some(why);
                    false
                }
                Err(_) => false,
            })
            .cloned();
        let Some(issuer) = issuer else {
            let problem = match unsupported {
                Some(why) => PathProblem::Unsupported(why),
                None => PathProblem::NoTrustedPath(format!(
                    "no trusted issuer for {}",
                    subject(&current)
                )),
            };
            return result(path, false, Some(problem));
        };
        // Intermediate CAs between this issuer and the leaf (self-issued ones count too).
        let below = path.len() - 1;
        if let Err(problem) = check_certificate(&issuer, at, Some(below)) {
            path.push(issuer);
            return result(path, false, Some(problem));
        }
        path.push(issuer);
    }
}

/// Revocation of every certificate of a trusted path except its anchor.
fn revocation(path: &[Certificate], crls: &[CertificateList], at: OffsetDateTime) -> Revocation {
    let mut status = Revocation::Good;
    for pair in path.windows(2) {
        match crl_status(&pair[0], &pair[1], crls, at) {
            Revocation::Revoked => return Revocation::Revoked,
            Revocation::NoData => status = Revocation::NoData,
            Revocation::Good => {}
        }
    }
    status
}

/// What the freshest CRL that `issuer` signed says about `cert` at `at`. A CRL counts when
/// it was issued at or after `at`, or when `at` lies between its thisUpdate and nextUpdate.
pub(crate) fn crl_status(
    cert: &Certificate,
    issuer: &Certificate,
    crls: &[CertificateList],
    at: OffsetDateTime,
) -> Revocation {
    let serial = &cert.tbs_certificate.serial_number;
    let mut freshest: Option<(&CertificateList, OffsetDateTime)> = None;
    for crl in crls {
        if crl.tbs_cert_list.issuer != cert.tbs_certificate.issuer {
            continue;
        }
        let issued = to_datetime(&crl.tbs_cert_list.this_update);
        let current = crl
            .tbs_cert_list
            .next_update
            .as_ref()
            .is_some_and(|next| at <= to_datetime(next));
        if (issued < at && !current) || freshest.is_some_and(|(_, t)| t >= issued) {
            continue;
        }
        let Ok(tbs) = crl.tbs_cert_list.to_der() else {
            continue;
        };
        if crypto::verify(
            &issuer.tbs_certificate.subject_public_key_info,
            &crl.signature_algorithm,
            None,
            &tbs,
            crl.signature.raw_bytes(),
        )
        .is_ok()
        {
            freshest = Some((crl, issued));
        }
    }
    let Some((crl, _)) = freshest else {
        return Revocation::NoData;
    };
    let revoked = crl
        .tbs_cert_list
        .revoked_certificates
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .any(|r| &r.serial_number == serial && to_datetime(&r.revocation_date) <= at);
    if revoked {
        Revocation::Revoked
    } else {
        Revocation::Good
    }
}
