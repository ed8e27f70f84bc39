//! Verification of every signature and document timestamp in a PDF, offline: bytes intact,
//! what each covers and what was appended after it, the certificate path to the trust
//! anchors at the time the timestamps prove, revocation from the file's DSS, the timestamps
//! themselves, and the PAdES level reached. Written here because no Rust crate validates
//! PAdES; it reads the file with the same strict reader as sealing.

mod chain;
mod changes;
mod cms_check;
mod document;
mod permissions;
mod report;
mod signature;
mod structure;

use std::collections::HashSet;

use der::Decode;
use lopdf::{Dictionary, Object};
pub use report::{
    CertificateSummary, Coverage, Kind, LaterChanges, Level, Problem, Report, SignatureReport,
    Status, TimestampReport,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
pub use x509_cert::Certificate;
use x509_cert::crl::CertificateList;

use crate::PdfError;
use crate::reader::{PdfReader, ReadBudget};
use crate::timestamp::Token;
use chain::{PathResult, Revocation};
use cms_check::{check_cms, check_token, der_prefix};
use document::*;
use signature::*;

/// Most signature fields examined.
const MAX_FIELDS: usize = 10_000;
/// Deepest field hierarchy followed.
const MAX_FIELD_DEPTH: usize = 16;
/// Most revisions examined per signature when looking for its long-term data.
const MAX_LT_REVISIONS: usize = 64;
/// Most earlier revisions opened in one verification (for long-term data), in all.
const MAX_REVISIONS_OPENED: usize = 256;
/// Most signatures and document timestamps verified in one file: far more than any
/// contract carries, few enough that a hostile file cannot make verification run long.
pub const MAX_SIGNATURES: usize = 100;
/// Most certificates or CRLs read from a DSS.
const MAX_DSS_ITEMS: usize = 1_000;
/// Most objects read, in all, to analyse what was changed after each signature.
const MAX_CHANGE_READS: usize = 500_000;
/// Wall-clock time one verification may take: far beyond any contract's (a 20 MB file with
/// ten seals verifies in well under a second), well short of a client's patience.
pub const TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn summary(cert: &Certificate) -> CertificateSummary {
    let tbs = &cert.tbs_certificate;
    CertificateSummary {
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.to_string(),
        serial: hex_lower(tbs.serial_number.as_bytes()),
        not_before: rfc3339(chain::to_datetime(&tbs.validity.not_before)),
        not_after: rfc3339(chain::to_datetime(&tbs.validity.not_after)),
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn revocation_name(r: Revocation) -> &'static str {
    match r {
        Revocation::Good => "good",
        Revocation::Revoked => "revoked",
        Revocation::NoData => "no_data",
    }
}

/// Reads certificates from PEM text (one or more `CERTIFICATE` blocks) or one DER
/// certificate: the trust anchors `--trust` names.
pub fn load_anchors(bytes: &[u8]) -> Result<Vec<Certificate>, String> {
    use der::DecodePem;
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Certificate::from_der(bytes)
            .map(|c| vec![c])
            .map_err(|e| format!("not PEM, and not a DER certificate: {e}"));
    };
    // Block by block (x509-cert 0.2's chain loader panics on some inputs).
    let mut certs = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let Some(len) = rest[start..].find(END) else {
            return Err("a PEM block has no END line".into());
        };
        let block = &rest[start..start + len + END.len()];
        certs.push(Certificate::from_pem(block).map_err(|e| e.to_string())?);
        rest = &rest[start + len + END.len()..];
    }
    if certs.is_empty() {
        return Err("no certificate in the file".into());
    }
    Ok(certs)
}

fn problem(code: &'static str, message: impl Into<String>, effect: Status) -> Problem {
    Problem {
        code,
        message: message.into(),
        effect,
    }
}

/// One signature as found and checked, before the file-wide steps.
struct Entry {
    report: SignatureReport,
    end: usize,
    signer: Option<Certificate>,
    /// The signature timestamp (B-T) or, for a document timestamp, the token itself.
    token: Option<Token>,
    cades_v2: bool,
    /// Certificates the CMS carries (the signer's chain, usually).
    certs: Vec<Certificate>,
    /// What this signature forbids after it.
    permissions: permissions::Permissions,
}

/// Verifies every signature and document timestamp in `pdf` against `anchors`, at `now`,
/// within [`TIME_LIMIT`]. Fails only when the file cannot be read as a PDF at all.
pub fn verify(
    pdf: &[u8],
    anchors: &[Certificate],
    now: OffsetDateTime,
) -> Result<Report, PdfError> {
    verify_within(pdf, anchors, now, TIME_LIMIT)
}

/// [`verify`] within `limit` of wall-clock time: a verification that runs out of it is
/// indeterminate, and says so.
pub fn verify_within(
    pdf: &[u8],
    anchors: &[Certificate],
    now: OffsetDateTime,
    limit: std::time::Duration,
) -> Result<Report, PdfError> {
    let read = ReadBudget::for_revisions(Some(std::time::Instant::now() + limit));
    match run(pdf, anchors, now, Mode::Verify, &read) {
        Ok((mut report, _)) => {
            // What ran out of time may read as damage: the verdict is undecided.
            if read.expired() {
                report.status = Status::Indeterminate;
                report.problems.push(out_of_time(limit));
            }
            Ok(report)
        }
        Err(_) if read.expired() => Ok(Report {
            status: Status::Indeterminate,
            level: None,
            file_size: pdf.len(),
            revisions: 0,
            validated_at: rfc3339(now),
            renew_by: None,
            trust_anchors: anchors.iter().map(chain::subject).collect(),
            signatures: Vec::new(),
            problems: vec![out_of_time(limit)],
        }),
        Err(e) => Err(e),
    }
}

fn out_of_time(limit: std::time::Duration) -> Problem {
    problem(
        "time_limit_exceeded",
        format!(
            "the file could not be verified within {} s: it has too many revisions, \
             signatures or objects",
            limit.as_secs()
        ),
        Status::Indeterminate,
    )
}

/// The certificate paths (leaf first, anchor last) of every signature and timestamp in
/// `pdf` that chains to `anchors`: what a DSS must hold, with revocation data for each
/// certificate below an anchor.
pub fn certificate_paths(
    pdf: &[u8],
    anchors: &[Certificate],
    now: OffsetDateTime,
) -> Result<Vec<Vec<Certificate>>, PdfError> {
    run(pdf, anchors, now, Mode::PathsOnly, &ReadBudget::new(None)).map(|(_, paths)| paths)
}

/// Checks `leaf` up to `anchors` at `at`, issuers from `pool`, revocation from `crls`: the
/// path (leaf first), or why not. A revoked certificate is refused.
pub fn validate_path(
    leaf: &Certificate,
    pool: &[Certificate],
    anchors: &[Certificate],
    crls: &[CertificateList],
    at: OffsetDateTime,
) -> Result<Vec<Certificate>, String> {
    let path = chain::validate(leaf, pool, anchors, crls, at);
    if let Some(problem) = path.problem {
        return Err(format!("{}: {}", problem.code(), problem.detail()));
    }
    if !path.trusted {
        return Err("not trusted".into());
    }
    if path.revocation == Revocation::Revoked {
        return Err("a certificate of the path is revoked".into());
    }
    Ok(path.path)
}

/// The earliest `notAfter` of a path: the date by which what it signed must be
/// time-stamped again (with the CA certificates, a TSA's key is only trusted until then).
fn path_expiry(path: &[Certificate]) -> Option<OffsetDateTime> {
    path.iter()
        .map(|c| chain::to_datetime(&c.tbs_certificate.validity.not_after))
        .min()
}

/// What a run is for: a full verification, or only the certificate paths (for long-term
/// form: the signed bytes are not hashed again, and levels and later changes are not
/// worked out).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Verify,
    PathsOnly,
}

fn run(
    pdf: &[u8],
    anchors: &[Certificate],
    now: OffsetDateTime,
    mode: Mode,
    read: &ReadBudget,
) -> Result<(Report, Vec<Vec<Certificate>>), PdfError> {
    let reader = PdfReader::open_within(pdf, read)?;
    if reader.is_encrypted() {
        return Err(PdfError::Encrypted);
    }
    let ends = revision_ends(&reader);
    let final_dss = dss(&reader)?;
    let found = signature_fields(&reader)?;
    if found.len() > MAX_SIGNATURES {
        return Err(PdfError::limit(format!(
            "more than {MAX_SIGNATURES} signatures"
        )));
    }
    let mut entries = Vec::new();
    for found in found {
        // Out of time: the report is indeterminate whatever the rest would say.
        if read.expired() {
            break;
        }
        entries.push(examine(&reader, &ends, &final_dss, found, mode));
    }
    entries.sort_by_key(|e| e.end);
    for (index, entry) in entries.iter_mut().enumerate() {
        entry.report.index = index;
    }

    // Proof of existence: a signature timestamp's time, or the earliest later document
    // timestamp that covers it.
    let doc_times: Vec<(usize, OffsetDateTime)> = entries
        .iter()
        .filter(|e| e.report.kind == Kind::DocumentTimestamp)
        .filter_map(|e| Some((e.end, e.token.as_ref()?.gen_time)))
        .collect();
    let covered_after = |end: usize| -> OffsetDateTime {
        doc_times
            .iter()
            .filter(|(ts_end, _)| *ts_end > end)
            .map(|(_, t)| *t)
            .min()
            .unwrap_or(now)
    };

    let mut pool: Vec<Certificate> = final_dss.certs.clone();
    for entry in &entries {
        if let Some(token) = &entry.token {
            pool.extend(token.certs.iter().cloned());
        }
        pool.extend(entry.certs.iter().cloned());
        if let Some(signer) = &entry.signer {
            pool.push(signer.clone());
        }
    }

    let mut lt_cache: Vec<(usize, Dss)> = Vec::new();
    let mut trusted_paths: Vec<Vec<Certificate>> = Vec::new();
    let mut renew_by = None;
    for entry in &mut entries {
        let token_path = entry.token.as_ref().map(|token| {
            // A document timestamp, or a signature timestamp inside this signature's
            // /Contents, is proven to exist by the next document timestamp over it.
            let poe = covered_after(entry.end);
            chain::validate(&token.tsa_cert, &pool, anchors, &final_dss.crls, poe)
        });
        if let (Some(token), Some(path)) = (&entry.token, &token_path) {
            let report = TimestampReport {
                time: Some(rfc3339(token.gen_time)),
                valid: true,
                trusted: path.trusted,
                tsa: Some(summary(&token.tsa_cert)),
                revocation: revocation_name(path.revocation),
            };
            path_problems(path, "the timestamp's TSA", &mut entry.report.problems);
            entry.report.timestamp = Some(report);
        }
        let signer_path = match entry.report.kind {
            Kind::DocumentTimestamp => token_path.clone(),
            Kind::Signature => entry.signer.as_ref().map(|signer| {
                let poe = entry
                    .token
                    .as_ref()
                    .map_or_else(|| covered_after(entry.end), |token| token.gen_time);
                let path = chain::validate(signer, &pool, anchors, &final_dss.crls, poe);
                path_problems(&path, "the signer", &mut entry.report.problems);
                if let Some(expired) = expired_without_revocation(&path, &final_dss.crls, poe, now)
                {
                    entry.report.problems.push(problem(
                        "expired_without_revocation",
                        format!(
                            "{} expired on {}, and no revocation data in the file speaks for \
                             {}, the time its signature is proven to exist: whether it was \
                             revoked before then can no longer be learned",
                            chain::subject(expired),
                            rfc3339(chain::to_datetime(
                                &expired.tbs_certificate.validity.not_after
                            )),
                            rfc3339(poe)
                        ),
                        Status::Indeterminate,
                    ));
                }
                if !chain::allows_signing(signer) {
                    entry.report.problems.push(problem(
                        "certificate_unusable",
                        "the signer's key usage does not allow signatures",
                        Status::Indeterminate,
                    ));
                }
                path
            }),
        };
        for path in [&signer_path, &token_path].into_iter().flatten() {
            if path.trusted && !trusted_paths.contains(&path.path) {
                trusted_paths.push(path.path.clone());
            }
        }
        // The newest document timestamp decides when the file needs a new one.
        if entry.report.kind == Kind::DocumentTimestamp
            && let Some(path) = token_path.as_ref().filter(|p| p.trusted)
        {
            renew_by = path_expiry(&path.path);
        }
        if let Some(path) = &signer_path {
            entry.report.trusted = path.trusted;
            entry.report.chain = path.path.iter().map(chain::subject).collect();
            entry.report.revocation = revocation_name(path.revocation);
        }

        // `/M` claims a time; a timestamp proves one. A claim after the proof is suspect.
        if let (Some(claimed), Some(token)) = (
            entry.report.claimed_time.as_deref().and_then(pdf_date),
            &entry.token,
        ) && entry.report.kind == Kind::Signature
            && claimed > token.gen_time + time::Duration::seconds(1)
        {
            entry.report.problems.push(problem(
                "claimed_time_after_timestamp",
                format!(
                    "/M says {} but the timestamp proves {}",
                    rfc3339(claimed),
                    rfc3339(token.gen_time)
                ),
                Status::Valid,
            ));
        }

        // Level (signatures only).
        if mode == Mode::Verify
            && entry.report.kind == Kind::Signature
            && entry.cades_v2
            && entry.report.signature_valid
        {
            let mut level = Level::BB;
            let timestamped = entry.token.is_some()
                && token_path
                    .as_ref()
                    .is_some_and(|p| p.trusted && p.problem.is_none());
            if timestamped {
                level = Level::BT;
                if let (Some(signer_path), Some(token_path)) = (&signer_path, &token_path)
                    && signer_path.trusted
                    && let Some(token) = &entry.token
                    && let Some(lt_end) = long_term_end(
                        &reader,
                        &ends,
                        entry.end,
                        &[
                            (signer_path, token.gen_time),
                            (token_path, covered_after(entry.end)),
                        ],
                        &mut lt_cache,
                        read,
                    )?
                {
                    level = Level::BLT;
                    let archived = entries_lta(&doc_times, lt_end);
                    if archived {
                        level = Level::BLTA;
                    }
                }
            }
            entry.report.level = Some(level);
        }
    }

    // Later changes, per signature: its revision against each later one.
    let mut budget = structure::Budget::new(MAX_CHANGE_READS, read.clone());
    for entry in &mut entries {
        if mode == Mode::PathsOnly || entry.report.coverage != Coverage::EntireRevision {
            continue;
        }
        // Each later revision up to a bound, and always the whole file: a revision in
        // between that is not compared on its own is not what a reader shows.
        let mut later: Vec<usize> = ends
            .iter()
            .copied()
            .filter(|&e| e > entry.end && e < pdf.len())
            .take(MAX_LT_REVISIONS)
            .collect();
        if later.last() != Some(&pdf.len()) {
            later.push(pdf.len());
        }
        let found = match changes::analyse(pdf, entry.end, &later, &mut budget) {
            Ok(found) => found,
            Err(e) => {
                entry.report.later_changes = LaterChanges::Undetermined;
                entry.report.problems.push(problem(
                    "changes_undetermined",
                    format!("what was changed after this signature could not be analysed: {e}"),
                    Status::Indeterminate,
                ));
                continue;
            }
        };
        let mut refused = found.not_allowed.clone();
        refused.extend(entry.permissions.violations(&found));
        entry.report.later_changes = if refused.is_empty() {
            LaterChanges::Allowed
        } else {
            LaterChanges::NotAllowed
        };
        entry.report.changes = found.allowed.iter().map(|s| (*s).to_owned()).collect();
        for change in &refused {
            entry.report.problems.push(problem(
                "change_not_allowed",
                format!("after this signature: {change}"),
                Status::Invalid,
            ));
        }
    }

    let mut report_problems = Vec::new();
    let mut signatures: Vec<SignatureReport> = entries.into_iter().map(|e| e.report).collect();
    for s in &mut signatures {
        s.status = s
            .problems
            .iter()
            .map(|p| p.effect)
            .max()
            .unwrap_or(Status::Valid);
        if !s.trusted && s.status == Status::Valid {
            s.status = Status::Indeterminate;
        }
    }
    let status = match signatures.iter().map(|s| s.status).max() {
        Some(status) => status,
        None => {
            report_problems.push(problem(
                "no_signatures",
                "the file carries no signature or document timestamp",
                Status::Indeterminate,
            ));
            Status::Indeterminate
        }
    };
    let level = signatures
        .iter()
        .filter(|s| s.kind == Kind::Signature)
        .map(|s| s.level)
        .min()
        .flatten();
    let report = Report {
        status,
        level,
        file_size: pdf.len(),
        revisions: reader.sections().len(),
        validated_at: rfc3339(now),
        renew_by: renew_by.map(rfc3339),
        trust_anchors: anchors.iter().map(chain::subject).collect(),
        signatures,
        problems: report_problems,
    };
    Ok((report, trusted_paths))
}

/// The first certificate below the anchor of a trusted `path` that has expired by `now`
/// with no CRL in the file speaking for `poe`. Once a certificate expires its CA may drop it
/// from its CRLs, so only data gathered while it was valid can prove it was not revoked
/// (EN 319 102-1 §5.6.2.4): without it the signature is indeterminate, not valid.
fn expired_without_revocation<'a>(
    path: &'a PathResult,
    crls: &[CertificateList],
    poe: OffsetDateTime,
    now: OffsetDateTime,
) -> Option<&'a Certificate> {
    if !path.trusted || path.problem.is_some() {
        return None;
    }
    path.path.windows(2).find_map(|pair| {
        let expired = chain::to_datetime(&pair[0].tbs_certificate.validity.not_after) < now;
        (expired && chain::crl_status(&pair[0], &pair[1], crls, poe) != Revocation::Good)
            .then_some(&pair[0])
    })
}

/// Whether a valid document timestamp covers everything up to `lt_end`.
fn entries_lta(doc_times: &[(usize, OffsetDateTime)], lt_end: usize) -> bool {
    doc_times.iter().any(|(end, _)| *end >= lt_end)
}

fn path_problems(path: &PathResult, whose: &str, problems: &mut Vec<Problem>) {
    if let Some(p) = &path.problem {
        problems.push(problem(
            p.code(),
            format!("{whose}: {}", p.detail()),
            Status::Indeterminate,
        ));
    }
    if path.revocation == Revocation::Revoked {
        problems.push(problem(
            "revoked",
            format!("{whose}: a certificate of the path was revoked"),
            Status::Invalid,
        ));
    }
}

/// The end of the earliest revision after `signed_end` whose DSS holds every certificate of
/// `paths` and, for each certificate below an anchor, a CRL that speaks for the time given.
fn long_term_end(
    reader: &PdfReader<'_>,
    ends: &[usize],
    signed_end: usize,
    paths: &[(&PathResult, OffsetDateTime)],
    cache: &mut Vec<(usize, Dss)>,
    read: &ReadBudget,
) -> Result<Option<usize>, PdfError> {
    let bytes = reader.bytes();
    for &end in ends
        .iter()
        .filter(|&&e| e > signed_end)
        .take(MAX_LT_REVISIONS)
    {
        if !cache.iter().any(|(e, _)| *e == end) {
            if cache.len() >= MAX_REVISIONS_OPENED {
                return Ok(None);
            }
            let revision = PdfReader::open_within(&bytes[..end], read)?;
            cache.push((end, dss(&revision)?));
        }
        let dss = &cache.iter().find(|(e, _)| *e == end).expect("cached").1;
        let complete = paths.iter().all(|(path, at)| {
            path.trusted
                && path.path.iter().all(|c| dss.certs.contains(c))
                && path.path.windows(2).all(|pair| {
                    chain::crl_status(&pair[0], &pair[1], &dss.crls, *at) == Revocation::Good
                })
        });
        if complete {
            return Ok(Some(end));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_dates_parse_with_and_without_offsets() {
        let t = pdf_date("D:20261126170305+09'00'").unwrap();
        assert_eq!(rfc3339(t), "2026-11-26T08:03:05Z");
        let z = pdf_date("D:20261126170305Z").unwrap();
        assert_eq!(rfc3339(z), "2026-11-26T17:03:05Z");
        assert_eq!(rfc3339(pdf_date("D:2026").unwrap()), "2026-01-01T00:00:00Z");
        assert!(pdf_date("D:20261399").is_none());
        assert!(pdf_date("garbage").is_none());
    }

    #[test]
    fn hex_decoding_pads_odd_digits_and_refuses_others() {
        assert_eq!(decode_hex(b"0a 1B"), Some(vec![0x0a, 0x1b]));
        assert_eq!(decode_hex(b"abc"), Some(vec![0xab, 0xc0]));
        assert_eq!(decode_hex(b"zz"), None);
    }
}
