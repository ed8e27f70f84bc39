//! Verification of every signature and document timestamp in a PDF, offline: bytes intact,
//! what each covers and what was appended after it, the certificate path to the trust
//! anchors at the time the timestamps prove, revocation from the file's DSS, the timestamps
//! themselves, and the PAdES level reached. Written here because no Rust crate validates
//! PAdES; it reads the file with the same strict reader as sealing.

mod chain;
mod changes;
mod cms_check;
mod permissions;
mod report;
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

/// A signature field found in the AcroForm, with its value and its `/Lock`.
struct Found {
    field: String,
    value: Dictionary,
    lock: Option<Dictionary>,
}

fn signature_fields(reader: &PdfReader<'_>) -> Result<Vec<Found>, PdfError> {
    let catalog = reader.catalog()?;
    let Ok(form) = catalog.get(b"AcroForm") else {
        return Ok(Vec::new());
    };
    let Ok(form) = reader.resolve(form)?.as_dict().cloned() else {
        return Ok(Vec::new());
    };
    let Ok(fields) = form.get(b"Fields") else {
        return Ok(Vec::new());
    };
    let Object::Array(fields) = reader.resolve(fields)? else {
        return Ok(Vec::new());
    };
    // (object, parent's qualified name, inherited /FT, depth)
    let mut stack: Vec<(Object, String, Option<Vec<u8>>, usize)> = fields
        .into_iter()
        .rev()
        .map(|f| (f, String::new(), None, 0))
        .collect();
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    let mut visited = 0;
    while let Some((item, parent, inherited, depth)) = stack.pop() {
        visited += 1;
        if visited > MAX_FIELDS || depth > MAX_FIELD_DEPTH {
            return Err(PdfError::limit("too many or too deeply nested form fields"));
        }
        if let Object::Reference(id) = item
            && !seen.insert(id)
        {
            continue;
        }
        let Ok(field) = reader.resolve(&item)?.as_dict().cloned() else {
            continue;
        };
        let partial = match field.get(b"T") {
            Ok(Object::String(t, _)) => Some(text(t)),
            _ => None,
        };
        let name = match (&partial, parent.is_empty()) {
            (Some(p), true) => p.clone(),
            (Some(p), false) => format!("{parent}.{p}"),
            (None, _) => parent.clone(),
        };
        let kind = field
            .get(b"FT")
            .ok()
            .and_then(|t| t.as_name().ok())
            .map(<[u8]>::to_vec)
            .or(inherited);
        if let Ok(Object::Array(kids)) =
            field.get(b"Kids").map(|k| reader.resolve(k)).transpose_ok()
        {
            for kid in kids.into_iter().rev() {
                stack.push((kid, name.clone(), kind.clone(), depth + 1));
            }
        }
        if kind.as_deref() != Some(b"Sig") {
            continue;
        }
        let Ok(value) = field.get(b"V") else {
            continue;
        };
        if let Ok(value) = reader.resolve(value)?.as_dict() {
            let lock = match field.get(b"Lock") {
                Ok(lock) => reader.resolve(lock)?.as_dict().ok().cloned(),
                Err(_) => None,
            };
            found.push(Found {
                field: name,
                value: value.clone(),
                lock,
            });
        }
    }
    Ok(found)
}

/// `Result<Result<T>>` flattening for `get(..).map(resolve)`.
trait TransposeOk<T> {
    fn transpose_ok(self) -> Result<T, ()>;
}

impl<T, E1, E2> TransposeOk<T> for Result<Result<T, E2>, E1> {
    fn transpose_ok(self) -> Result<T, ()> {
        match self {
            Ok(Ok(v)) => Ok(v),
            _ => Err(()),
        }
    }
}

/// A PDF text string: UTF-16BE with a BOM, UTF-8 with a BOM, or PDFDocEncoding (read as
/// Latin-1, which agrees with it on the printable range).
fn text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        bytes.iter().map(|&b| char::from(b)).collect()
    }
}

fn text_entry(dict: &Dictionary, key: &[u8]) -> Option<String> {
    match dict.get(key).ok()? {
        Object::String(s, _) => Some(text(s)),
        _ => None,
    }
}

/// Parses a PDF date (`D:YYYYMMDDHHmmSSOHH'mm'`, later parts optional).
fn pdf_date(s: &str) -> Option<OffsetDateTime> {
    let s = s.strip_prefix("D:").unwrap_or(s);
    let digits = |from: usize, len: usize, default: u32| -> Option<u32> {
        match s.get(from..from + len) {
            Some(part) if part.bytes().all(|b| b.is_ascii_digit()) => part.parse().ok(),
            Some(_) => None,
            None => Some(default),
        }
    };
    let year = i32::try_from(digits(0, 4, 0)?).ok()?;
    if s.len() < 4 {
        return None;
    }
    let month = u8::try_from(digits(4, 2, 1)?).ok()?;
    let day = u8::try_from(digits(6, 2, 1)?).ok()?;
    let hour = u8::try_from(digits(8, 2, 0)?).ok()?;
    let minute = u8::try_from(digits(10, 2, 0)?).ok()?;
    let second = u8::try_from(digits(12, 2, 0)?).ok()?;
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    let local = date.with_hms(hour, minute, second).ok()?;
    let offset = match s.get(14..15) {
        Some("+") | Some("-") => {
            let sign = if &s[14..15] == "-" { -1 } else { 1 };
            let h = i8::try_from(digits(15, 2, 0)?).ok()?;
            let m = i8::try_from(digits(18, 2, 0).or_else(|| digits(17, 2, 0))?).ok()?;
            time::UtcOffset::from_hms(sign * h, sign * m, 0).ok()?
        }
        _ => time::UtcOffset::UTC,
    };
    Some(local.assume_offset(offset).to_offset(time::UtcOffset::UTC))
}

/// Where each revision ends: after each section's `%%EOF` and its end-of-line. The file
/// is scanned once (a file may have thousands of sections).
fn revision_ends(reader: &PdfReader<'_>) -> Vec<usize> {
    let bytes = reader.bytes();
    let markers: Vec<usize> = memchr::memmem::find_iter(bytes, b"%%EOF").collect();
    let mut ends: Vec<usize> = reader
        .sections()
        .iter()
        .filter_map(|section| {
            let first = markers.partition_point(|&m| m < section.offset);
            let at = markers.get(first)? + 5;
            let eol = match bytes.get(at..at + 2) {
                Some(b"\r\n") => 2,
                _ if matches!(bytes.get(at), Some(b'\n' | b'\r')) => 1,
                _ => 0,
            };
            Some(at + eol)
        })
        .collect();
    ends.sort_unstable();
    ends.dedup();
    ends
}

/// The validation material a revision's DSS holds.
#[derive(Default)]
struct Dss {
    certs: Vec<Certificate>,
    crls: Vec<CertificateList>,
}

fn dss(reader: &PdfReader<'_>) -> Result<Dss, PdfError> {
    let mut out = Dss::default();
    let catalog = reader.catalog()?;
    let Ok(dss) = catalog.get(b"DSS") else {
        return Ok(out);
    };
    let Ok(dss) = reader.resolve(dss)?.as_dict().cloned() else {
        return Ok(out);
    };
    for key in [b"Certs".as_slice(), b"CRLs"] {
        let Ok(items) = dss.get(key) else { continue };
        let Object::Array(items) = reader.resolve(items)? else {
            continue;
        };
        for item in items.iter().take(MAX_DSS_ITEMS) {
            let Ok(id) = item.as_reference() else {
                continue;
            };
            let Ok((_, data)) = reader.decoded_stream(id) else {
                continue;
            };
            if key == b"Certs" {
                if let Ok(cert) = Certificate::from_der(&data) {
                    out.certs.push(cert);
                }
            } else if let Ok(crl) = CertificateList::from_der(&data) {
                out.crls.push(crl);
            }
        }
    }
    Ok(out)
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

/// Reads one signature field's value: byte range, coverage, CMS or token.
fn examine(reader: &PdfReader<'_>, ends: &[usize], dss: &Dss, found: Found, mode: Mode) -> Entry {
    let value = &found.value;
    let bytes = reader.bytes();
    // Permissions that cannot be read forbid what the strictest would.
    let permissions = permissions::Permissions::read(reader, value, found.lock.as_ref())
        .unwrap_or_else(|_| permissions::Permissions::no_changes());
    let kind = match value.get(b"Type").and_then(Object::as_name) {
        Ok(b"DocTimeStamp") => Kind::DocumentTimestamp,
        _ => Kind::Signature,
    };
    let sub_filter = value
        .get(b"SubFilter")
        .and_then(Object::as_name)
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    let mut report = SignatureReport {
        index: 0,
        kind,
        field: found.field,
        sub_filter: sub_filter.clone(),
        status: Status::Valid,
        intact: false,
        signature_valid: false,
        coverage: Coverage::Partial,
        signed_bytes: 0,
        revision: None,
        later_changes: LaterChanges::None,
        changes: Vec::new(),
        signer: None,
        trusted: false,
        chain: Vec::new(),
        revocation: "no_data",
        reason: text_entry(value, b"Reason"),
        name: text_entry(value, b"Name"),
        claimed_time: text_entry(value, b"M"),
        timestamp: None,
        level: None,
        problems: Vec::new(),
    };
    let entry = |report: SignatureReport| Entry {
        report,
        end: 0,
        signer: None,
        token: None,
        cades_v2: false,
        certs: Vec::new(),
        permissions: permissions.clone(),
    };
    // /ByteRange [0 a b c]: two ranges around the /Contents hex string, nothing else left
    // out. Other shapes are still hashed (to tell altered bytes from odd coverage) but never
    // cover a whole revision.
    let range: Option<Vec<usize>> = match value.get(b"ByteRange") {
        Ok(Object::Array(items))
            if !items.is_empty() && items.len() % 2 == 0 && items.len() <= 64 =>
        {
            items
                .iter()
                .map(|i| i.as_i64().ok().and_then(|n| usize::try_from(n).ok()))
                .collect()
        }
        _ => None,
    };
    let contents = match value.get(b"Contents") {
        Ok(Object::String(s, _)) => Some(s.clone()),
        _ => None,
    };
    let ranges: Option<Vec<&[u8]>> = range.as_ref().and_then(|range| {
        range
            .chunks(2)
            .map(|pair| bytes.get(pair[0]..pair[0].checked_add(pair[1])?))
            .collect()
    });
    let (Some(range), Some(contents), Some(parts)) = (range, contents, ranges) else {
        report.problems.push(problem(
            "byte_range_invalid",
            "no usable /ByteRange and /Contents",
            Status::Invalid,
        ));
        return entry(report);
    };
    let end = range.chunks(2).map(|p| p[0] + p[1]).max().unwrap_or(0);
    let standard = match range.as_slice() {
        &[0, a, b, c] => {
            a < b
                && b.saturating_add(c) <= bytes.len()
                && bytes[a] == b'<'
                && bytes[b - 1] == b'>'
                && bytes[a + 1..b - 1]
                    .iter()
                    .all(|x| x.is_ascii_hexdigit() || x.is_ascii_whitespace())
                && decode_hex(&bytes[a + 1..b - 1]).as_deref() == Some(contents.as_slice())
        }
        _ => false,
    };
    report.signed_bytes = end;
    report.coverage = if !standard {
        report.problems.push(problem(
            "byte_range_invalid",
            "the /ByteRange does not leave out exactly the /Contents string",
            Status::Invalid,
        ));
        Coverage::Partial
    } else if end == bytes.len() {
        Coverage::EntireFile
    } else if ends.contains(&end) {
        Coverage::EntireRevision
    } else {
        report.problems.push(problem(
            "incomplete_coverage",
            "the signature covers part of a revision: the rest is unaccounted for",
            Status::Invalid,
        ));
        Coverage::Partial
    };
    report.revision = ends.iter().position(|&e| e == end).map(|i| i + 1);
    let mut result = Entry {
        end,
        ..entry(report)
    };
    match (kind, sub_filter.as_str()) {
        (Kind::DocumentTimestamp, _) | (_, "ETSI.RFC3161") => {
            let Some(token) = der_prefix(&contents) else {
                result.report.problems.push(problem(
                    "timestamp_malformed",
                    "/Contents holds no DER value",
                    Status::Invalid,
                ));
                return result;
            };
            let over = (mode == Mode::Verify).then_some(parts.as_slice());
            let checked = check_token(token, over, &dss.certs, "the document timestamp");
            if let Some(token) = checked.token {
                result.report.intact = true;
                result.report.signature_valid = true;
                result.report.signer = Some(summary(&token.tsa_cert));
                result.signer = Some(token.tsa_cert.clone());
                result.token = Some(token);
            } else if let Some(p) = checked.problem {
                result.report.intact = p.code != "timestamp_imprint_mismatch";
                result.report.problems.push(p);
            }
        }
        (_, "ETSI.CAdES.detached" | "adbe.pkcs7.detached") => {
            let check = check_cms(
                &contents,
                &parts,
                &dss.certs,
                mode,
                &mut result.report.problems,
            );
            result.report.intact = check.intact;
            result.report.signature_valid = check.signature_valid;
            result.report.signer = check.signer.as_ref().map(summary);
            result.cades_v2 =
                sub_filter == "ETSI.CAdES.detached" && check.has_signing_certificate_v2;
            if let Some((token, signature)) = &check.timestamp {
                let mut pool = check.certs.clone();
                pool.extend(dss.certs.iter().cloned());
                let checked =
                    check_token(token, Some(&[signature]), &pool, "the signature timestamp");
                match checked.token {
                    Some(token) => result.token = Some(token),
                    None => {
                        result.report.timestamp = Some(TimestampReport {
                            time: None,
                            valid: false,
                            trusted: false,
                            tsa: None,
                            revocation: "no_data",
                        });
                        result.report.problems.extend(checked.problem);
                    }
                }
            }
            result.signer = check.signer;
            result.certs = check.certs;
        }
        (_, other) => result.report.problems.push(problem(
            "unsupported_algorithm",
            format!("/SubFilter /{other} is not verified"),
            Status::Indeterminate,
        )),
    }
    result
}

fn decode_hex(hex: &[u8]) -> Option<Vec<u8>> {
    let digits: Vec<u8> = hex
        .iter()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|&b| match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        })
        .collect::<Option<_>>()?;
    // An odd count ends with an implied 0 (ISO 32000-1, 7.3.4.3).
    Some(
        digits
            .chunks(2)
            .map(|pair| pair[0] << 4 | pair.get(1).copied().unwrap_or(0))
            .collect(),
    )
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
