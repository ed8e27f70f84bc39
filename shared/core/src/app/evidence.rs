//! The evidence a document accumulates: a seal (B-T) when it is sent and at each agreement,
//! and long-term form (B-LTA) at completion. Each step stores a new encrypted version of
//! the file and records itself in the document — exactly once per step, however often the
//! workflow's task runs it: the new version's blob is created once (a retry after a crash
//! finds and reuses it), and the record is a version-conditioned write.

use keiyaku_pdf::seal::{Level, SealError};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::domain::document::{Document, StoredFile};
use crate::domain::seal::SealRecord;
use crate::envelope;
use crate::error::{Error, Result};
use crate::ids::{DocumentId, TeamId};
use crate::ports::{BlobError, Condition, PutMode, StoreError, Write};
use crate::sealing::Sealing;
use crate::services::needs::{
    Authority, Blobs, Cpu, Decrypt, Encrypt, Items, SealingPorts, Settings, Time,
};
use crate::store::documents::{file_binding, history_event_write};
use crate::store::keys;

/// How often a step re-reads the document after losing a race to another writer.
const ATTEMPTS: usize = 3;

/// What one step does to the file.
enum Step<'a> {
    Seal { reason: &'a str },
    LongTerm,
}

fn sealed_blob(team: &TeamId, id: &DocumentId, version: u32) -> String {
    format!("documents/{team}/{id}/sealed-v{version}")
}

fn seal_error(e: SealError) -> Error {
    match e {
        SealError::Signer(why) => Error::Unavailable(why),
        SealError::Pdf(e) => Error::Unprocessable {
            code: e.code().to_owned(),
            message: e.to_string(),
        },
        other => Error::Internal(format!("sealing: {other} ({})", other.code())),
    }
}

/// Seals the document's current file for `step` (`send`, `agreement:<party id>`) with
/// `/Reason` `reason`. Done once per step: a second call finds the step recorded.
pub async fn seal(
    s: &(impl Items + Blobs + SealingPorts + Time + Settings + Cpu + Authority + Encrypt + Decrypt),
    team: &TeamId,
    id: &DocumentId,
    step: &str,
    reason: &str,
) -> Result<()> {
    apply(s, team, id, step, Step::Seal { reason }).await
}

/// Extends the document's sealed file to long-term form and records by when its document
/// timestamp must be renewed. Done once.
pub async fn extend_long_term(
    s: &(impl Items + Blobs + SealingPorts + Time + Settings + Cpu + Authority + Encrypt + Decrypt),
    team: &TeamId,
    id: &DocumentId,
) -> Result<()> {
    apply(s, team, id, "long_term", Step::LongTerm).await
}

async fn apply(
    s: &(impl Items + Blobs + SealingPorts + Time + Settings + Cpu + Authority + Encrypt + Decrypt),
    team: &TeamId,
    id: &DocumentId,
    step: &str,
    what: Step<'_>,
) -> Result<()> {
    for _ in 0..ATTEMPTS {
        let item = s
            .items()
            .get(&keys::document(team, id))
            .await?
            .ok_or(Error::NotFound)?;
        let mut doc: Document =
            serde_json::from_value(item.body.clone()).map_err(Error::internal)?;
        if doc.seals.iter().any(|r| r.step == step) {
            return Ok(());
        }
        if matches!(what, Step::LongTerm) && doc.sealed.is_none() {
            return Err(Error::conflict(
                "not_sealed",
                "long-term form extends a sealed file; this document has no seal",
            ));
        }
        let current = doc.current_file().clone();
        let version = doc.sealed.as_ref().map_or(1, |f| f.version + 1);
        let blob = sealed_blob(team, id, version);
        let file = StoredFile {
            blob: blob.clone(),
            role: "sealed".into(),
            version,
            size: 0,
            sha256: String::new(),
        };
        let binding = file_binding(id, &file);
        let long_term = matches!(what, Step::LongTerm);
        let (stored, renewal, sha256) = match s.blobs().get(&blob).await {
            // An earlier attempt made this version and stopped before recording it: the seal
            // it holds is the one, so it is not made twice.
            Ok(existing) => reuse(s, &binding, existing, long_term).await?,
            Err(BlobError::NotFound) => {
                let pdf = crate::store::documents::read_all(
                    s,
                    &file_binding(id, &current),
                    s.blobs().get(&current.blob).await?,
                )
                .await?;
                let (renewed, renewal, sha256) = produce(s, pdf, &what).await?;
                let renewed = bytes::Bytes::from(renewed);
                let body = envelope::seal_bytes_source(renewed.clone());
                let encrypted = envelope::encrypt(s.encryption(), &binding, body).await?;
                match s.blobs().put(&blob, encrypted, PutMode::CreateOnly).await {
                    Ok(_) => (renewed, renewal, sha256),
                    // Another attempt got there first: its file is the one.
                    Err(BlobError::AlreadyExists) => {
                        reuse(s, &binding, s.blobs().get(&blob).await?, long_term).await?
                    }
                    Err(other) => return Err(other.into()),
                }
            }
            Err(other) => return Err(other.into()),
        };
        crate::failpoint::failpoint("evidence.stored_before_record");
        let now = s.now();
        doc.sealed = Some(StoredFile {
            size: stored.len() as u64,
            sha256,
            ..file
        });
        if matches!(what, Step::LongTerm) {
            doc.renew_by = renewal;
        }
        doc.seals.push(SealRecord {
            step: step.to_owned(),
            reason: match what {
                Step::Seal { reason } => reason.to_owned(),
                Step::LongTerm => String::new(),
            },
            version,
            at: now,
        });
        doc.updated_at = now;
        let mut updated = item.clone();
        updated.body = serde_json::to_value(&doc).map_err(Error::internal)?;
        updated.version += 1;
        let action = match what {
            Step::Seal { .. } => "document.sealed",
            Step::LongTerm => "document.long_term",
        };
        let result = s
            .items()
            .transact(vec![
                Write::Put {
                    item: updated,
                    condition: Condition::Version(item.version),
                },
                history_event_write(now, &doc, "keiyaku", action, "-")?,
            ])
            .await;
        match result {
            Ok(()) => return Ok(()),
            Err(StoreError::ConditionFailed) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(Error::conflict(
        "concurrent_change",
        "the document kept changing while it was being sealed",
    ))
}

/// A version an earlier attempt stored, and (for long-term form) its renewal date, read
/// from the file itself so the record is the same as that attempt's would have been.
async fn reuse(
    s: &(impl Time + Settings + Cpu + Authority + Decrypt),
    binding: &envelope::Binding,
    blob: crate::ports::ByteStream,
    long_term: bool,
) -> Result<(bytes::Bytes, Option<OffsetDateTime>, String)> {
    let stored = bytes::Bytes::from(crate::store::documents::read_all(s, binding, blob).await?);
    let renewal = if long_term {
        renew_by(s, stored.clone()).await?
    } else {
        None
    };
    let sha256 = hex::encode(Sha256::digest(&stored));
    Ok((stored, renewal, sha256))
}

/// The new file: `pdf` sealed, or extended to long-term form (with its renewal date), and
/// its SHA-256. The new revision is appended to `pdf` itself (a large buffer grows by
/// remapping, not copying), and the file is hashed once, as it is sealed.
async fn produce(
    s: &(impl SealingPorts + Time + Authority + Settings),
    mut pdf: Vec<u8>,
    what: &Step<'_>,
) -> Result<(Vec<u8>, Option<OffsetDateTime>, String)> {
    let anchors = crate::app::verification::anchors(s)?;
    let sealing = Sealing {
        key: s.sealing_key(),
        tsa: s.tsa(),
        revocation: s.revocation(),
        anchors: &anchors,
        clock: s.clock().clone(),
    };
    let (revision, renewal, hash) = match what {
        Step::Seal { reason } => {
            let (revision, hash) = sealing
                .seal_revision(&pdf, Level::BT, reason)
                .await
                .map_err(seal_error)?;
            (revision, None, hash)
        }
        Step::LongTerm => {
            let (revision, renew_by, hash) = sealing
                .extend_lta_revision(&pdf, None)
                .await
                .map_err(seal_error)?;
            (revision, Some(renew_by), hash)
        }
    };
    pdf.extend_from_slice(&revision);
    Ok((pdf, renewal, hash.hex()))
}

/// When the file's newest document timestamp must be renewed, from the file itself.
async fn renew_by(
    s: &(impl Time + Cpu + Authority + Settings),
    pdf: bytes::Bytes,
) -> Result<Option<OffsetDateTime>> {
    let report = crate::app::verification::report_on_own(s, pdf).await?;
    Ok(report.renew_by.as_deref().and_then(|t| {
        OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    }))
}
