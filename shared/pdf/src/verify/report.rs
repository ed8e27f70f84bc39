//! The verification report: its verdicts and what it says of each signature, as JSON (and
//! in the OpenAPI document) and as a short text for people, Japanese first.

use serde::Serialize;

/// The verdict, from best to worst (a report's status is its worst signature's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Intact, trusted, timestamps valid, later changes allowed.
    Valid,
    /// Nothing is wrong, but something could not be established (an untrusted root, an
    /// algorithm this verifier does not check, a certificate outside its validity).
    Indeterminate,
    /// Something is wrong: altered bytes, a bad signature, a change that is not allowed, a
    /// revoked certificate.
    Invalid,
}

impl Status {
    /// The process exit code of `keiyaku verify`: 0 valid, 1 invalid, 2 indeterminate.
    pub fn exit_code(self) -> i32 {
        match self {
            Status::Valid => 0,
            Status::Invalid => 1,
            Status::Indeterminate => 2,
        }
    }
}

/// The PAdES baseline level a signature reached (ETSI EN 319 142-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Level {
    /// CAdES signature with signing-certificate-v2.
    #[serde(rename = "B-B")]
    BB,
    /// And a trusted timestamp over it.
    #[serde(rename = "B-T")]
    BT,
    /// And the complete validation data in a DSS appended after it.
    #[serde(rename = "B-LT")]
    BLT,
    /// And a document timestamp over that DSS.
    #[serde(rename = "B-LTA")]
    BLTA,
}

impl Level {
    /// As written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::BB => "B-B",
            Level::BT => "B-T",
            Level::BLT => "B-LT",
            Level::BLTA => "B-LTA",
        }
    }
}

/// A signature or a document timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A CMS signature (`/Type /Sig`).
    Signature,
    /// An RFC 3161 document timestamp (`/Type /DocTimeStamp`).
    DocumentTimestamp,
}

/// How much of the file a signature's byte range covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// Everything.
    EntireFile,
    /// An earlier revision, exactly; later revisions were appended.
    EntireRevision,
    /// Something that is not a revision: what lies outside is unaccounted for.
    Partial,
}

/// Whether what was appended after a signature is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LaterChanges {
    /// Nothing was appended.
    None,
    /// Only DSS, document timestamps, further signatures, metadata.
    Allowed,
    /// Something else.
    NotAllowed,
    /// Too much to analyse within the verifier's bounds: neither allowed nor refused.
    Undetermined,
}

/// One finding, with the status it implies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// Stable code for clients.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub code: &'static str,
    /// What it is, in English.
    pub message: String,
    /// The status this finding alone gives (`valid` for notes).
    pub effect: Status,
}

/// A certificate, as reports name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CertificateSummary {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Serial number, hex.
    pub serial: String,
    /// Validity start (RFC 3339).
    pub not_before: String,
    /// Validity end (RFC 3339).
    pub not_after: String,
}

/// A timestamp, as checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimestampReport {
    /// The time it proves (genTime, RFC 3339, UTC).
    pub time: Option<String>,
    /// Whether the token is intact, over the right data, signed by its TSA certificate.
    pub valid: bool,
    /// Whether the TSA's certificate chains to a trust anchor.
    pub trusted: bool,
    /// The TSA's certificate.
    pub tsa: Option<CertificateSummary>,
    /// Revocation of the TSA's path: `good`, `revoked` or `no_data`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub revocation: &'static str,
}

/// One signature or document timestamp.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignatureReport {
    /// Position in file order, from 0.
    pub index: usize,
    /// Signature or document timestamp.
    pub kind: Kind,
    /// The field's fully qualified name.
    pub field: String,
    /// `/SubFilter`.
    pub sub_filter: String,
    /// The verdict for this one.
    pub status: Status,
    /// Whether the signed bytes hash to what was signed (and the byte range is sound).
    pub intact: bool,
    /// Whether the signature (or token) verifies with its certificate.
    pub signature_valid: bool,
    /// What the byte range covers.
    pub coverage: Coverage,
    /// Length of the signed prefix of the file.
    pub signed_bytes: usize,
    /// The revision it signs, from 1.
    pub revision: Option<usize>,
    /// Whether what came after is allowed.
    pub later_changes: LaterChanges,
    /// Kinds of allowed changes after it, and descriptions of the others.
    pub changes: Vec<String>,
    /// The signer's (or TSA's) certificate.
    pub signer: Option<CertificateSummary>,
    /// Whether that certificate chains to a trust anchor at the time that matters.
    pub trusted: bool,
    /// Subjects from the signer up to the anchor.
    pub chain: Vec<String>,
    /// Revocation of that path, from the file's DSS: `good`, `revoked` or `no_data`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub revocation: &'static str,
    /// `/Reason`.
    pub reason: Option<String>,
    /// `/Name`.
    pub name: Option<String>,
    /// `/M`: the time the signer claims (not proof).
    pub claimed_time: Option<String>,
    /// The signature timestamp (B-T), or for a document timestamp, itself.
    pub timestamp: Option<TimestampReport>,
    /// PAdES level reached (signatures only).
    pub level: Option<Level>,
    /// What was found.
    pub problems: Vec<Problem>,
}

/// The whole verification.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    /// Worst status of all signatures (indeterminate when there are none).
    pub status: Status,
    /// Lowest PAdES level over the signatures (not document timestamps).
    pub level: Option<Level>,
    /// File length.
    pub file_size: usize,
    /// Number of revisions.
    pub revisions: usize,
    /// When the verification ran (RFC 3339).
    pub validated_at: String,
    /// For a long-term file: the date by which a new document timestamp must be added (the
    /// earliest expiry in the newest document timestamp's certificate path).
    pub renew_by: Option<String>,
    /// The trust anchors used (subjects).
    pub trust_anchors: Vec<String>,
    /// Signatures and document timestamps, in file order.
    pub signatures: Vec<SignatureReport>,
    /// Findings about the file as a whole.
    pub problems: Vec<Problem>,
}

impl Report {
    /// A short human summary, Japanese first, then English.
    pub fn summary_text(&self) -> String {
        use std::fmt::Write as _;
        let (ja, en) = match self.status {
            Status::Valid => ("有効", "VALID"),
            Status::Invalid => ("無効", "INVALID"),
            Status::Indeterminate => ("判定不能", "INDETERMINATE"),
        };
        let mut out = String::new();
        let level = self.level.map_or("-", Level::as_str);
        let _ = writeln!(
            out,
            "検証結果: {ja} / Result: {en} (署名 {} 件 / {} signature(s), PAdES {level})",
            self.signatures.len(),
            self.signatures.len()
        );
        for s in &self.signatures {
            let (kind_ja, kind_en) = match s.kind {
                Kind::Signature => ("署名", "signature"),
                Kind::DocumentTimestamp => ("文書タイムスタンプ", "document timestamp"),
            };
            let status = match s.status {
                Status::Valid => "有効 valid",
                Status::Invalid => "無効 invalid",
                Status::Indeterminate => "判定不能 indeterminate",
            };
            let _ = writeln!(
                out,
                "[{}] {kind_ja} / {kind_en} \"{}\": {status}{}",
                s.index + 1,
                s.field,
                s.level
                    .map(|l| format!(", {}", l.as_str()))
                    .unwrap_or_default()
            );
            if let Some(signer) = &s.signer {
                let _ = writeln!(out, "    署名者 / signer: {}", signer.subject);
            }
            if let Some(reason) = &s.reason {
                let _ = writeln!(out, "    理由 / reason: {reason}");
            }
            if let Some(time) = s.timestamp.as_ref().and_then(|t| t.time.as_deref()) {
                let _ = writeln!(out, "    時刻 (タイムスタンプ) / time (timestamp): {time}");
            }
            let coverage = match (s.coverage, s.later_changes) {
                (Coverage::EntireFile, _) => "文書全体 / the whole file",
                (Coverage::EntireRevision, LaterChanges::NotAllowed) => {
                    "以後に許されない変更あり / changed after signing in a way not allowed"
                }
                (Coverage::EntireRevision, LaterChanges::Undetermined) => {
                    "以後の変更は判定できず / what changed after signing could not be analysed"
                }
                (Coverage::EntireRevision, _) => {
                    "以後は検証情報・署名の追加のみ / only validation data or signatures added after it"
                }
                (Coverage::Partial, _) => "範囲が不完全 / incomplete coverage",
            };
            let _ = writeln!(out, "    範囲 / coverage: {coverage}");
            for p in s.problems.iter() {
                let _ = writeln!(out, "    - {}: {}", p.code, p.message);
            }
        }
        for p in &self.problems {
            let _ = writeln!(out, "- {}: {}", p.code, p.message);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_what_is_known_of_later_changes() {
        let signature = |later_changes| SignatureReport {
            index: 0,
            kind: Kind::Signature,
            field: "Sig1".into(),
            sub_filter: "ETSI.CAdES.detached".into(),
            status: Status::Indeterminate,
            intact: true,
            signature_valid: true,
            coverage: Coverage::EntireRevision,
            signed_bytes: 10,
            revision: Some(1),
            later_changes,
            changes: Vec::new(),
            signer: None,
            trusted: false,
            chain: Vec::new(),
            revocation: "no_data",
            reason: None,
            name: None,
            claimed_time: None,
            timestamp: None,
            level: None,
            problems: Vec::new(),
        };
        let summary = |later_changes| {
            Report {
                status: Status::Indeterminate,
                level: None,
                file_size: 20,
                revisions: 2,
                validated_at: String::new(),
                renew_by: None,
                trust_anchors: Vec::new(),
                signatures: vec![signature(later_changes)],
                problems: Vec::new(),
            }
            .summary_text()
        };
        assert!(summary(LaterChanges::Allowed).contains("only validation data or signatures"));
        let undetermined = summary(LaterChanges::Undetermined);
        assert!(
            undetermined.contains("could not be analysed"),
            "{undetermined}"
        );
        assert!(
            !undetermined.contains("only validation data"),
            "{undetermined}"
        );
    }

    #[test]
    fn statuses_order_from_best_to_worst() {
        assert!(Status::Valid < Status::Indeterminate);
        assert!(Status::Indeterminate < Status::Invalid);
        assert_eq!(Status::Invalid.exit_code(), 1);
        assert_eq!(Status::Indeterminate.exit_code(), 2);
    }
}
