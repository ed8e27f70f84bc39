//! Upload slots: a file arrives in a slot (a presigned S3 POST on AWS, `PUT
//! /uploads/{id}` locally), is checked as it streams and encrypted for the document it will
//! become, so a draft is made from it without reading it again. A slot never used leaves
//! nothing behind: its cleanup is scheduled before it exists.

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::domain::user::Caller;
use crate::envelope::{self, Binding};
use crate::error::{Error, Result};
use crate::ids::{DocumentId, TeamId, UploadId, UserId};
use crate::ports::{ByteStream, Condition, Item, PutMode, StoreError};
use crate::services::needs::{
    Authority, Blobs, Cpu, Encrypt, Items, Schedule, Settings, Stage, Time,
};
use crate::store::keys;
use crate::store::{from_item, to_json};
use crate::text;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct UploadSlot {
    pub(crate) id: UploadId,
    pub(crate) owner_id: UserId,
    /// The document this upload becomes: its file is encrypted for it as it arrives, so it
    /// is written once.
    pub(crate) document_id: DocumentId,
    pub(crate) filename: String,
    pub(crate) declared_size: u64,
    pub(crate) purpose: UploadPurpose,
    pub(crate) received: Option<Received>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Received {
    pub(crate) sha256: String,
    /// The PDF check's verdict, reached while the bytes were at hand.
    pub(crate) verdict: Verdict,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub(crate) enum Verdict {
    Accepted {
        pages: u32,
        pdf_version: String,
    },
    Refused {
        code: String,
        message: String,
    },
    /// A verification upload: the report, reached while the bytes were at hand (the file
    /// itself is not kept).
    Verified {
        report: serde_json::Value,
    },
}

pub(crate) fn original_blob(team: &TeamId, id: &DocumentId) -> String {
    format!("documents/{team}/{id}/original-v1")
}

/// What an upload slot is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UploadPurpose {
    /// A new document, created with `POST /documents`.
    #[default]
    Document,
    /// A file to verify with `POST /verify` (verified on arrival, not kept).
    Verify,
}

/// A new upload slot: the client sends the PDF to it, then names it in `create_from_upload`.
pub struct UploadSlotCreated {
    /// The slot's id.
    pub id: UploadId,
    /// Until when it can be used.
    pub expires_at: OffsetDateTime,
    /// Where the client sends the file.
    pub target: crate::ports::UploadTarget,
}

/// Opens an upload slot for a file of `size` bytes.
pub async fn open_upload(
    s: &(impl Items + Stage + Schedule + Time + Settings),
    caller: &Caller,
    filename: &str,
    size: u64,
    purpose: UploadPurpose,
) -> Result<UploadSlotCreated> {
    if size == 0 {
        return Err(Error::invalid("empty_file", "size", "the file is empty"));
    }
    // A size over the limit is a field that breaks a rule the schema states (400); 413 is
    // for a body that is too large.
    if size > s.config().max_document_bytes {
        return Err(Error::invalid(
            "too_large",
            "size",
            format!(
                "the file is larger than the limit of {} bytes",
                s.config().max_document_bytes
            ),
        ));
    }
    if filename.chars().count() > 1000 {
        return Err(Error::invalid(
            "too_long",
            "filename",
            "the file name is longer than 1000 characters",
        ));
    }
    if purpose == UploadPurpose::Verify {
        crate::app::verification::count_for_account(s, caller).await?;
    }
    let now = s.now();
    let slot = UploadSlot {
        id: UploadId::new(now),
        owner_id: caller.user_id().clone(),
        document_id: DocumentId::new(now),
        filename: text::file_name(filename),
        declared_size: size,
        purpose,
        received: None,
    };
    let expires_at = now + Duration::days(1);
    let target = s
        .staging()
        .target(slot.id.as_str(), size, expires_at)
        .await?;
    // The cleanup first: a slot never exists without it.
    let cleanup = crate::app::jobs::AbandonedUpload {
        team_id: caller.team().clone(),
        upload_id: slot.id.clone(),
        document_id: slot.document_id.clone(),
    };
    crate::app::jobs::schedule_upload_cleanup(s, cleanup, expires_at).await?;
    let mut item = Item::new(keys::upload(caller.team(), &slot.id), to_json(&slot)?);
    item.expires_at = Some(expires_at.unix_timestamp());
    s.items().put(item, Condition::NotExists).await?;
    Ok(UploadSlotCreated {
        id: slot.id,
        expires_at,
        target,
    })
}

pub(crate) fn too_large(limit: u64) -> Error {
    Error::TooLarge {
        message: format!("the file is larger than the limit of {limit} bytes"),
    }
}

pub(crate) async fn slot(s: &impl Items, caller: &Caller, id: &str) -> Result<(UploadSlot, Item)> {
    let id = UploadId::parse(id).ok_or(Error::NotFound)?;
    let item = s
        .items()
        .get(&keys::upload(caller.team(), &id))
        .await?
        .ok_or(Error::NotFound)?;
    let slot: UploadSlot = from_item(&item)?;
    if &slot.owner_id != caller.user_id() {
        return Err(Error::NotFound);
    }
    Ok((slot, item))
}

fn already_received() -> Error {
    Error::conflict(
        "upload_already_received",
        "this upload slot already has its file",
    )
}

/// The bytes of an upload as they arrive, and their hash.
struct Taken {
    hasher: Sha256,
    buf: memmap2::MmapMut,
    len: usize,
}

/// Receives the bytes of an upload slot in one pass: they are encrypted for the slot's
/// document and stored as they arrive, hashed, and held once in memory so the PDF check can
/// read them at random; its verdict is kept for `create_from_upload`. A file the check
/// refuses is not kept. The body may not exceed the declared size; a slot receives once.
pub async fn receive_upload(
    s: &(impl Items + Blobs + Time + Cpu + Authority + Settings + Encrypt),
    caller: &Caller,
    id: &str,
    body: ByteStream,
) -> Result<u64> {
    let (slot, item) = slot(s, caller, id).await?;
    if slot.received.is_some() {
        return Err(already_received());
    }
    if slot.purpose == UploadPurpose::Verify {
        return receive_for_verification(s, slot, item, body).await;
    }
    let limit = slot.declared_size;
    let capacity = usize::try_from(limit).map_err(Error::internal)?;
    let taken = Arc::new(Mutex::new(Taken {
        hasher: Sha256::new(),
        // An anonymous mapping, not the heap: it is returned to the system when dropped, so
        // uploads handled on different threads never leave the file resident twice.
        buf: memmap2::MmapMut::map_anon(capacity).map_err(Error::internal)?,
        len: 0,
    }));
    let tee = taken.clone();
    let counted = body
        .map(move |chunk| {
            let chunk = chunk?;
            let mut taken = tee.lock().unwrap_or_else(|e| e.into_inner());
            let (start, end) = (taken.len, taken.len + chunk.len());
            if end as u64 > limit {
                return Err(envelope::reject(Error::TooLarge {
                    message: format!("the body is larger than the declared size of {limit} bytes"),
                }));
            }
            taken.hasher.update(&chunk);
            taken.buf[start..end].copy_from_slice(&chunk);
            taken.len = end;
            Ok(chunk)
        })
        .boxed();
    let blob = original_blob(caller.team(), &slot.document_id);
    let binding = Binding {
        owner: slot.document_id.to_string(),
        role: "original",
        version: 1,
    };
    let sealed = envelope::encrypt(s.encryption(), &binding, counted).await?;
    s.blobs()
        .put(&blob, sealed, PutMode::CreateOnly)
        .await
        .map_err(|e| match e {
            crate::ports::BlobError::AlreadyExists => already_received(),
            other => other.into(),
        })?;
    let Taken { hasher, buf, len } = Arc::try_unwrap(taken)
        .map_err(|_| Error::internal("upload body still referenced"))?
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    let received = len as u64;
    // A short body is as wrong as a long one.
    if received != slot.declared_size {
        s.blobs().delete(&blob).await?;
        return Err(Error::invalid(
            "size_mismatch",
            "size",
            format!(
                "received {received} bytes but {} were declared",
                slot.declared_size
            ),
        ));
    }
    let inspected = s.cpu().run(move || keiyaku_pdf::inspect(&buf[..len])).await;
    let inspected = match inspected {
        Ok(inspected) => inspected,
        Err(busy) => {
            // Nothing was recorded: the client may send the file again.
            s.blobs().delete(&blob).await?;
            return Err(busy);
        }
    };
    let verdict = match inspected {
        Ok(info) => Verdict::Accepted {
            pages: info.page_count,
            pdf_version: info.version,
        },
        Err(e) => {
            tracing::info!(code = e.code(), detail = %e.detail(), "upload refused");
            s.blobs().delete(&blob).await?;
            Verdict::Refused {
                code: e.code().to_owned(),
                message: e.to_string(),
            }
        }
    };
    let sha256 = hex::encode(hasher.finalize());
    if let Err(e) = record_received(s, slot, &item, sha256, verdict).await {
        s.blobs().delete(&blob).await?;
        return Err(e);
    }
    Ok(received)
}

/// Receives the file of upload `id` from the staging area, where the client sent it (a
/// presigned POST on AWS), unless the slot has its file already: checked and encrypted as
/// if it had been sent to the slot, then the staged copy removed. A copy that does not fit
/// the slot (its size) is removed too, so the client can send it again; one that could not
/// be handled now (a full pool) stays for the next call.
pub(crate) async fn receive_staged(
    s: &(impl Items + Blobs + Stage + Time + Cpu + Authority + Settings + Encrypt),
    caller: &Caller,
    id: &str,
) -> Result<()> {
    let (slot, _) = slot(s, caller, id).await?;
    if slot.received.is_some() {
        return Ok(());
    }
    let Some(body) = s.staging().take(id).await? else {
        return Ok(());
    };
    match receive_upload(s, caller, id, body).await {
        Ok(_) | Err(Error::Conflict { .. }) => {}
        Err(e @ (Error::Invalid { .. } | Error::TooLarge { .. })) => {
            s.staging().discard(id).await?;
            return Err(e);
        }
        Err(e) => return Err(e),
    }
    s.staging().discard(id).await?;
    Ok(())
}

/// Deletes the file and slot of an upload once its slot expired, unless a document was made
/// from it (then the file is that document's).
pub(crate) async fn remove_unused_upload(
    s: &(impl Items + Blobs),
    upload: &crate::app::jobs::AbandonedUpload,
) -> Result<()> {
    if s.items()
        .get(&keys::document(&upload.team_id, &upload.document_id))
        .await?
        .is_some()
    {
        return Ok(());
    }
    s.blobs()
        .delete(&original_blob(&upload.team_id, &upload.document_id))
        .await?;
    s.items()
        .delete(
            &keys::upload(&upload.team_id, &upload.upload_id),
            Condition::None,
        )
        .await?;
    Ok(())
}

/// Records in the slot that its file arrived, with the verdict on it; once only.
async fn record_received(
    s: &impl Items,
    mut slot: UploadSlot,
    item: &Item,
    sha256: String,
    verdict: Verdict,
) -> Result<()> {
    slot.received = Some(Received { sha256, verdict });
    let mut updated = item.clone();
    updated.body = to_json(&slot)?;
    updated.version += 1;
    s.items()
        .put(updated, Condition::Version(item.version))
        .await
        .map_err(|e| match e {
            StoreError::ConditionFailed => already_received(),
            other => other.into(),
        })
}

/// Receives a verification upload: held in memory only, verified, and the report kept with
/// the slot for `POST /verify`.
async fn receive_for_verification(
    s: &(impl Items + Time + Cpu + Authority + Settings),
    slot: UploadSlot,
    item: Item,
    mut body: ByteStream,
) -> Result<u64> {
    let limit = slot.declared_size;
    let capacity = usize::try_from(limit).map_err(Error::internal)?;
    let mut buf = memmap2::MmapMut::map_anon(capacity).map_err(Error::internal)?;
    let mut hasher = Sha256::new();
    let mut len = 0usize;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| Error::internal(format!("upload body: {e}")))?;
        let end = len + chunk.len();
        if end > capacity {
            return Err(Error::TooLarge {
                message: format!("the body is larger than the declared size of {limit} bytes"),
            });
        }
        hasher.update(&chunk);
        buf[len..end].copy_from_slice(&chunk);
        len = end;
    }
    if len as u64 != limit {
        return Err(Error::invalid(
            "size_mismatch",
            "size",
            format!("received {len} bytes but {limit} were declared"),
        ));
    }
    let verdict = match crate::app::verification::verify(s, Prefix(buf, len)).await {
        Ok(report) => Verdict::Verified { report },
        Err(Error::Unprocessable { code, message }) => Verdict::Refused { code, message },
        Err(other) => return Err(other),
    };
    record_received(s, slot, &item, hex::encode(hasher.finalize()), verdict).await?;
    Ok(len as u64)
}

/// The verification report of a verification upload.
pub async fn verification_of_upload(
    s: &(impl Items + Blobs + Stage + Time + Cpu + Authority + Settings + Encrypt),
    caller: &Caller,
    upload_id: &str,
) -> Result<serde_json::Value> {
    receive_staged(s, caller, upload_id).await?;
    let (slot, _) = slot(s, caller, upload_id).await?;
    if slot.purpose != UploadPurpose::Verify {
        return Err(wrong_purpose("verify"));
    }
    match slot.received.map(|r| r.verdict) {
        Some(Verdict::Verified { report }) => Ok(report),
        Some(Verdict::Refused { code, message }) => Err(Error::Unprocessable { code, message }),
        Some(Verdict::Accepted { .. }) => Err(wrong_purpose("verify")),
        None => Err(not_received()),
    }
}

pub(crate) fn wrong_purpose(needed: &str) -> Error {
    Error::invalid(
        "wrong_upload_purpose",
        "upload_id",
        format!("this upload slot was not opened with purpose \"{needed}\""),
    )
}

pub(crate) fn not_received() -> Error {
    Error::invalid(
        "upload_not_received",
        "upload_id",
        "the file has not been sent to this upload slot yet",
    )
}

/// The first `.1` bytes of a buffer: a received file without copying it.
struct Prefix(memmap2::MmapMut, usize);

impl AsRef<[u8]> for Prefix {
    fn as_ref(&self) -> &[u8] {
        &self.0[..self.1]
    }
}
