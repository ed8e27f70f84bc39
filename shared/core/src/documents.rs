//! Documents: upload slots, validation and encrypted storage of the original, listing,
//! reading and deleting drafts. Only the owner sees a document for now (team sharing and
//! 親展 come later); anyone else gets `NotFound`, never `Forbidden`.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::domain::document::{Document, HistoryEvent, Status, StoredFile};
use crate::domain::user::Caller;
use crate::envelope::{self, Binding};
use crate::error::{Error, Result};
use crate::ids::{DocumentId, TeamId, UploadId, UserId, hash_token};
use crate::ports::{ByteStream, Condition, Item, Key, PutMode, Query, StoreError, Write};
use crate::services::Services;
use crate::store::audit::audit_write;
use crate::store::keys;
use crate::text::{self, Email};

#[derive(Clone, Debug, Serialize, Deserialize)]
struct UploadSlot {
    id: UploadId,
    owner_id: UserId,
    /// The document this upload becomes: its file is encrypted for it as it arrives, so it
    /// is written once.
    document_id: DocumentId,
    filename: String,
    declared_size: u64,
    purpose: UploadPurpose,
    received: Option<Received>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Received {
    sha256: String,
    /// The PDF check's verdict, reached while the bytes were at hand.
    verdict: Verdict,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum Verdict {
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

fn original_blob(team: &TeamId, id: &DocumentId) -> String {
    format!("documents/{team}/{id}/original-v1")
}
fn to_json<T: Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(Error::internal)
}
fn from_item<T: for<'de> Deserialize<'de>>(item: &Item) -> Result<T> {
    serde_json::from_value(item.body.clone()).map_err(Error::internal)
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
}

/// Opens an upload slot for a file of `size` bytes.
pub async fn open_upload(
    s: &Services,
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
    if size > s.config.max_document_bytes {
        return Err(Error::invalid(
            "too_large",
            "size",
            format!(
                "the file is larger than the limit of {} bytes",
                s.config.max_document_bytes
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
        crate::verification::count_for_account(s, caller).await?;
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
    // The cleanup first: a slot never exists without it.
    let cleanup = crate::jobs::AbandonedUpload {
        team_id: caller.team().clone(),
        upload_id: slot.id.clone(),
        document_id: slot.document_id.clone(),
    };
    s.scheduler
        .schedule(
            &crate::jobs::upload_job_name(&slot.id),
            expires_at + crate::jobs::UPLOAD_GRACE,
            serde_json::to_value(crate::jobs::Job::AbandonedUpload(cleanup))
                .map_err(Error::internal)?,
        )
        .await?;
    let mut item = Item::new(keys::upload(caller.team(), &slot.id), to_json(&slot)?);
    item.expires_at = Some(expires_at.unix_timestamp());
    s.items.put(item, Condition::NotExists).await?;
    Ok(UploadSlotCreated {
        id: slot.id,
        expires_at,
    })
}

fn too_large(limit: u64) -> Error {
    Error::TooLarge {
        message: format!("the file is larger than the limit of {limit} bytes"),
    }
}

async fn slot(s: &Services, caller: &Caller, id: &str) -> Result<(UploadSlot, Item)> {
    let id = UploadId::parse(id).ok_or(Error::NotFound)?;
    let item = s
        .items
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
    s: &Services,
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
    let sealed = envelope::encrypt(&*s.keys, &binding, counted).await?;
    s.blobs
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
        s.blobs.delete(&blob).await?;
        return Err(Error::invalid(
            "size_mismatch",
            "size",
            format!(
                "received {received} bytes but {} were declared",
                slot.declared_size
            ),
        ));
    }
    let inspected = s.cpu.run(move || keiyaku_pdf::inspect(&buf[..len])).await;
    let inspected = match inspected {
        Ok(inspected) => inspected,
        Err(busy) => {
            // Nothing was recorded: the client may send the file again.
            s.blobs.delete(&blob).await?;
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
            s.blobs.delete(&blob).await?;
            Verdict::Refused {
                code: e.code().to_owned(),
                message: e.to_string(),
            }
        }
    };
    let sha256 = hex::encode(hasher.finalize());
    if let Err(e) = record_received(s, slot, &item, sha256, verdict).await {
        s.blobs.delete(&blob).await?;
        return Err(e);
    }
    Ok(received)
}

/// Deletes the file and slot of an upload once its slot expired, unless a document was made
/// from it (then the file is that document's).
pub(crate) async fn remove_unused_upload(
    s: &Services,
    upload: &crate::jobs::AbandonedUpload,
) -> Result<()> {
    if s.items
        .get(&keys::document(&upload.team_id, &upload.document_id))
        .await?
        .is_some()
    {
        return Ok(());
    }
    s.blobs
        .delete(&original_blob(&upload.team_id, &upload.document_id))
        .await?;
    s.items
        .delete(
            &keys::upload(&upload.team_id, &upload.upload_id),
            Condition::None,
        )
        .await?;
    Ok(())
}

/// Records in the slot that its file arrived, with the verdict on it; once only.
async fn record_received(
    s: &Services,
    mut slot: UploadSlot,
    item: &Item,
    sha256: String,
    verdict: Verdict,
) -> Result<()> {
    slot.received = Some(Received { sha256, verdict });
    let mut updated = item.clone();
    updated.body = to_json(&slot)?;
    updated.version += 1;
    s.items
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
    s: &Services,
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
    let verdict = match crate::verification::verify(s, Prefix(buf, len)).await {
        Ok(report) => Verdict::Verified { report },
        Err(Error::Unprocessable { code, message }) => Verdict::Refused { code, message },
        Err(other) => return Err(other),
    };
    record_received(s, slot, &item, hex::encode(hasher.finalize()), verdict).await?;
    Ok(len as u64)
}

/// The verification report of a verification upload.
pub async fn verification_of_upload(
    s: &Services,
    caller: &Caller,
    upload_id: &str,
) -> Result<serde_json::Value> {
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

fn wrong_purpose(needed: &str) -> Error {
    Error::invalid(
        "wrong_upload_purpose",
        "upload_id",
        format!("this upload slot was not opened with purpose \"{needed}\""),
    )
}

fn not_received() -> Error {
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

/// A PDF sent in one call.
pub struct NewDocument {
    /// The PDF.
    pub bytes: Bytes,
    /// Title (defaults to the file name without `.pdf`).
    pub title: Option<String>,
    /// Original file name as the client gave it.
    pub filename: String,
    /// The client's `Idempotency-Key`, if any.
    pub idempotency_key: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct IdempotencyRecord {
    fingerprint: String,
    document_id: DocumentId,
}

fn idempotency_key(caller: &Caller, key: &str) -> Key {
    keys::idempotency(caller.team(), caller.user_id(), &hash_token(key))
}

/// Replays an earlier create with the same `Idempotency-Key`: the document it made, or a
/// conflict when the key was used for something else.
async fn replay(
    s: &Services,
    caller: &Caller,
    key: Option<&str>,
    fingerprint: &str,
) -> Result<Option<Document>> {
    let Some(key) = key else { return Ok(None) };
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid(
            "invalid_idempotency_key",
            "Idempotency-Key",
            "1 to 255 printable ASCII characters",
        ));
    }
    let Some(item) = s.items.get(&idempotency_key(caller, key)).await? else {
        return Ok(None);
    };
    let record: IdempotencyRecord = from_item(&item)?;
    if record.fingerprint != fingerprint {
        return Err(Error::conflict(
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request",
        ));
    }
    get(s, caller, record.document_id.as_str()).await.map(Some)
}

fn title_or_default(title: Option<&str>, filename: &str) -> Result<String> {
    match title {
        Some(t) => text::line(t, "title", 200),
        None => text::line(
            filename.trim_end_matches(".pdf").trim_end_matches(".PDF"),
            "title",
            200,
        )
        .or_else(|_| text::line(filename, "title", 200)),
    }
}

/// Validates a PDF sent in one call, encrypts and stores it, and records the draft.
/// Nothing is kept when anything fails. Returns the document and whether it was made now
/// (false: an idempotent replay).
pub async fn create(s: &Services, caller: &Caller, new: NewDocument) -> Result<(Document, bool)> {
    let filename = text::file_name(&new.filename);
    let title = title_or_default(new.title.as_deref(), &filename)?;
    let sha256 = hex::encode(Sha256::digest(&new.bytes));
    let fp = hash_token(&format!(
        "direct:{sha256}:{}\0{}",
        new.filename,
        new.title.as_deref().unwrap_or("")
    ));
    let key = new.idempotency_key.as_deref();
    if let Some(doc) = replay(s, caller, key, &fp).await? {
        return Ok((doc, false));
    }
    let size = new.bytes.len() as u64;
    if size == 0 {
        return Err(Error::invalid("empty_file", "file", "the file is empty"));
    }
    if size > s.config.max_document_bytes {
        return Err(too_large(s.config.max_document_bytes));
    }
    let pdf = new.bytes.clone();
    let info = s.cpu.run(move || keiyaku_pdf::inspect(&pdf)).await?;
    let info = info.map_err(|e| {
        tracing::info!(code = e.code(), detail = %e.detail(), "upload refused");
        Error::Unprocessable {
            code: e.code().to_owned(),
            message: e.to_string(),
        }
    })?;
    let now = s.now();
    let id = DocumentId::new(now);
    let blob = original_blob(caller.team(), &id);
    let binding = Binding {
        owner: id.to_string(),
        role: "original",
        version: 1,
    };
    let sealed =
        envelope::encrypt(&*s.keys, &binding, envelope::seal_bytes_source(new.bytes)).await?;
    s.blobs.put(&blob, sealed, PutMode::CreateOnly).await?;
    let doc = draft(
        caller,
        id,
        title,
        filename,
        info.page_count,
        info.version,
        size,
        sha256,
        now,
    );
    let writes = draft_writes(caller, &doc, key, &fp)?;
    crate::search::index_title(&*s.items, &doc.team_id, &doc.id, None, &doc.title).await?;
    if let Err(e) = s.items.transact(writes).await {
        s.blobs.delete(&blob).await?;
        // A concurrent request with the same key won: answer with its document.
        if let Some(doc) = replay(s, caller, key, &fp).await? {
            return Ok((doc, false));
        }
        return Err(e.into());
    }
    Ok((doc, true))
}

/// Creates the draft from an upload slot whose file has arrived (the file is already
/// encrypted and stored; this records it). A file the PDF check refused is reported now,
/// and the slot is gone.
pub async fn create_from_upload(
    s: &Services,
    caller: &Caller,
    upload_id: &str,
    title: Option<&str>,
    idempotency_key: Option<&str>,
) -> Result<(Document, bool)> {
    let fp = hash_token(&format!("upload:{upload_id}\0{}", title.unwrap_or("")));
    if let Some(doc) = replay(s, caller, idempotency_key, &fp).await? {
        return Ok((doc, false));
    }
    let (slot, item) = slot(s, caller, upload_id).await?;
    if slot.purpose != UploadPurpose::Document {
        return Err(wrong_purpose("document"));
    }
    let Some(received) = slot.received.clone() else {
        return Err(not_received());
    };
    let title = title_or_default(title, &slot.filename)?;
    let (pages, pdf_version) = match received.verdict {
        Verdict::Accepted { pages, pdf_version } => (pages, pdf_version),
        Verdict::Refused { code, message } => {
            s.items
                .delete(&item.key, Condition::Version(item.version))
                .await?;
            return Err(Error::Unprocessable { code, message });
        }
        Verdict::Verified { .. } => return Err(wrong_purpose("document")),
    };
    let now = s.now();
    let doc = draft(
        caller,
        slot.document_id.clone(),
        title,
        slot.filename.clone(),
        pages,
        pdf_version,
        slot.declared_size,
        received.sha256,
        now,
    );
    let mut writes = draft_writes(caller, &doc, idempotency_key, &fp)?;
    writes.push(Write::Delete {
        key: item.key.clone(),
        condition: Condition::Version(item.version),
    });
    crate::search::index_title(&*s.items, &doc.team_id, &doc.id, None, &doc.title).await?;
    match s.items.transact(writes).await {
        Ok(()) => Ok((doc, true)),
        // The file stays: a concurrent request used this slot, and it is that document's.
        Err(StoreError::ConditionFailed) => match replay(s, caller, idempotency_key, &fp).await? {
            Some(doc) => Ok((doc, false)),
            None => Err(Error::conflict(
                "upload_already_used",
                "this upload was already used",
            )),
        },
        Err(e) => Err(e.into()),
    }
}

#[allow(clippy::too_many_arguments)]
fn draft(
    caller: &Caller,
    id: DocumentId,
    title: String,
    filename: String,
    pages: u32,
    pdf_version: String,
    size: u64,
    sha256: String,
    now: OffsetDateTime,
) -> Document {
    Document {
        original: StoredFile {
            blob: original_blob(caller.team(), &id),
            role: "original".into(),
            version: 1,
            size,
            sha256,
        },
        id,
        team_id: caller.team().clone(),
        owner_id: caller.user_id().clone(),
        title,
        filename,
        pages,
        pdf_version,
        status: Status::Draft,
        sealed: None,
        seals: Vec::new(),
        renew_by: None,
        recipients: Vec::new(),
        approvers: Vec::new(),
        message: None,
        expires_at: None,
        answers: Vec::new(),
        send: 0,
        created_at: now,
        updated_at: now,
        ended_at: None,
    }
}

/// The writes that record a new draft: its item, its first history event, the audit event
/// and the idempotency record, for one transaction.
fn draft_writes(
    caller: &Caller,
    doc: &Document,
    key: Option<&str>,
    fingerprint: &str,
) -> Result<Vec<Write>> {
    let now = doc.created_at;
    let mut item = Item::new(keys::document(caller.team(), &doc.id), to_json(doc)?);
    item.index = Some(keys::owner_index(caller.user_id(), &doc.id));
    let mut writes = vec![
        Write::Put {
            item,
            condition: Condition::NotExists,
        },
        crate::store::documents::history_write(now, doc, caller, "document.created")?,
        audit_write(
            now,
            caller.team(),
            caller.user_id(),
            "document.created",
            caller.ip,
        )?,
    ];
    if let Some(key) = key {
        let mut record = Item::new(
            idempotency_key(caller, key),
            to_json(&IdempotencyRecord {
                fingerprint: fingerprint.to_owned(),
                document_id: doc.id.clone(),
            })?,
        );
        record.expires_at = Some((now + Duration::hours(24)).unix_timestamp());
        writes.push(Write::Put {
            item: record,
            condition: Condition::NotExists,
        });
    }
    Ok(writes)
}

/// A document of the caller's (404 for anyone else's) and the item it was read from.
pub(crate) async fn load(s: &Services, caller: &Caller, id: &str) -> Result<(Document, Item)> {
    let id = DocumentId::parse(id).ok_or(Error::NotFound)?;
    let item = s
        .items
        .get(&keys::document(caller.team(), &id))
        .await?
        .ok_or(Error::NotFound)?;
    let doc: Document = from_item(&item)?;
    if &doc.owner_id != caller.user_id() {
        return Err(Error::NotFound);
    }
    Ok((doc, item))
}

/// The address the caller may approve for: only a confirmed one.
fn approver_address(caller: &Caller) -> Result<&Email> {
    if caller.user.email_verified {
        Ok(&caller.user.email)
    } else {
        Err(Error::NotFound)
    }
}

/// A document the caller may see: their own, or one they were named to approve.
pub async fn get(s: &Services, caller: &Caller, id: &str) -> Result<Document> {
    match load(s, caller, id).await {
        Err(Error::NotFound) => as_approver(s, caller, id).await.map(|(d, _, _)| d),
        other => other.map(|(d, _)| d),
    }
}

/// A document the caller was named to approve: it, its item and the caller's party id.
pub(crate) async fn as_approver(
    s: &Services,
    caller: &Caller,
    id: &str,
) -> Result<(Document, Item, String)> {
    let id = DocumentId::parse(id).ok_or(Error::NotFound)?;
    let email = approver_address(caller)?;
    let index = match s.items.get(&keys::approver_index(email, &id)).await? {
        Some(index) => index,
        None => s
            .items
            .get(&keys::legacy_approver_index(caller.user_id(), &id))
            .await?
            .ok_or(Error::NotFound)?,
    };
    let team: TeamId =
        serde_json::from_value(index.body["team_id"].clone()).map_err(Error::internal)?;
    let item = s
        .items
        .get(&keys::document(&team, &id))
        .await?
        .ok_or(Error::NotFound)?;
    let doc: Document = from_item(&item)?;
    let party = doc
        .approvers
        .iter()
        .find(|a| &a.email == email)
        .map(|a| a.id.clone())
        .ok_or(Error::NotFound)?;
    Ok((doc, item, party))
}

/// A document's history, oldest first.
pub async fn history(s: &Services, doc: &Document) -> Result<Vec<HistoryEvent>> {
    let mut events = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .items
            .query(&Query {
                pk: keys::team_pk(&doc.team_id),
                sk_prefix: keys::history_prefix(&doc.id),
                after,
                descending: false,
                limit: 1000,
            })
            .await?;
        for item in &page.items {
            events.push(from_item(item)?);
        }
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(events),
        }
    }
}

/// Filters and position of a listing.
pub struct ListQuery<'a> {
    /// Only this status.
    pub status: Option<Status>,
    /// Only titles containing this (full/half width and case folded).
    pub q: Option<&'a str>,
    /// Where the previous page ended.
    pub cursor: Option<&'a str>,
    /// Page size (1..=100, default 50).
    pub limit: Option<usize>,
    /// Whose list: the caller's own documents, or those they were named to approve.
    pub role: ListRole,
}

/// Which documents a listing shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListRole {
    /// The caller's own documents, as their sender.
    #[default]
    Sender,
    /// Documents of any team that name the caller as an approver.
    Approver,
}

/// A page of documents.
#[derive(Default)]
pub struct Listing {
    /// Newest first.
    pub documents: Vec<Document>,
    /// Give this back for the next page.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    u: UserId,
    k: String,
}

fn bad_cursor() -> Error {
    Error::invalid(
        "invalid_cursor",
        "cursor",
        "the cursor is not one this listing gave you",
    )
}

/// The caller's documents, newest first, filtered and paged. The cursor is bound to the
/// caller: another user's cursor is refused.
pub async fn list(s: &Services, caller: &Caller, q: ListQuery<'_>) -> Result<Listing> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let status = q.status;
    let limit = q.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(Error::invalid(
            "invalid_limit",
            "limit",
            "limit must be between 1 and 100",
        ));
    }
    let needle = match q.q {
        Some(n) if n.chars().count() > 200 => {
            return Err(Error::invalid(
                "too_long",
                "q",
                "q is longer than 200 characters",
            ));
        }
        Some(n) => Some(text::fold(n.trim())),
        None => None,
    };
    let mut after = match q.cursor {
        Some(c) => {
            let raw = b64.decode(c).map_err(|_| bad_cursor())?;
            let cursor: Cursor = serde_json::from_slice(&raw).map_err(|_| bad_cursor())?;
            if &cursor.u != caller.user_id() || keys::document_id(&cursor.k).is_none() {
                return Err(bad_cursor());
            }
            Some(cursor.k)
        }
        None => None,
    };
    if let (ListRole::Sender, Some(n)) = (q.role, needle.as_deref())
        && crate::search::searchable(n)
    {
        return search_own(s, caller, n, status, limit, after).await;
    }
    let approver = match q.role {
        ListRole::Approver => match approver_address(caller) {
            Ok(email) => Some(email),
            Err(_) => return Ok(Listing::default()),
        },
        ListRole::Sender => None,
    };
    let mut documents = Vec::new();
    // Filters apply after the key scan (as a DynamoDB FilterExpression would); scan a
    // bounded number of batches per request and hand back a cursor to go on.
    for _ in 0..20 {
        let page = match q.role {
            ListRole::Sender => {
                s.items
                    .query_index(&Query {
                        pk: keys::owner_index_pk(caller.user_id()),
                        sk_prefix: keys::DOC.into(),
                        after: after.clone(),
                        descending: true,
                        limit: 100,
                    })
                    .await?
            }
            // The approver's index holds (team, document); each document is read from its
            // team, and only shown while it still names the caller.
            ListRole::Approver => {
                s.items
                    .query(&Query {
                        pk: approver.map(keys::approver_index_pk).unwrap_or_default(),
                        sk_prefix: keys::DOC.into(),
                        after: after.clone(),
                        descending: true,
                        limit: 100,
                    })
                    .await?
            }
        };
        for item in &page.items {
            let (doc, last): (Document, Option<String>) = match q.role {
                ListRole::Sender => (from_item(item)?, item.index.as_ref().map(|k| k.sk.clone())),
                ListRole::Approver => {
                    let team: TeamId = serde_json::from_value(item.body["team_id"].clone())
                        .map_err(Error::internal)?;
                    let Some(id) = keys::document_id(&item.key.sk) else {
                        continue;
                    };
                    let Some(found) = s.items.get(&keys::document(&team, &id)).await? else {
                        continue;
                    };
                    let doc: Document = from_item(&found)?;
                    if !doc.approvers.iter().any(|a| Some(&a.email) == approver) {
                        continue;
                    }
                    (doc, Some(item.key.sk.clone()))
                }
            };
            let keep = status.is_none_or(|st| doc.status == st)
                && needle
                    .as_deref()
                    .is_none_or(|n| text::fold(&doc.title).contains(n));
            if keep {
                documents.push(doc);
                if documents.len() == limit {
                    return Ok(Listing {
                        documents,
                        next_cursor: Some(cursor(caller, last.unwrap_or_default())?),
                    });
                }
            }
        }
        match page.next {
            Some(n) => after = Some(n),
            None => {
                return Ok(Listing {
                    documents,
                    next_cursor: None,
                });
            }
        }
    }
    Ok(Listing {
        documents,
        next_cursor: Some(cursor(caller, after.unwrap_or_default())?),
    })
}

/// Copies of the document `id` of `team` under new ids, one per title, as if each had been
/// created in turn (the file is not copied): for benchmarks of listing and search at
/// scale, which cannot wait for 100,000 uploads. Not reachable from the API.
#[doc(hidden)]
pub async fn copies_for_benchmark(
    items: &dyn crate::ports::ItemStore,
    team: &TeamId,
    id: &DocumentId,
    titles: &[String],
) -> Result<()> {
    let template: Document = from_item(
        &items
            .get(&keys::document(team, id))
            .await?
            .ok_or(Error::NotFound)?,
    )?;
    for chunk in titles.chunks(crate::ports::MAX_TRANSACTION_ITEMS) {
        let mut writes = Vec::with_capacity(chunk.len());
        for title in chunk {
            let mut doc = template.clone();
            doc.id = DocumentId(crate::ids::new_id(time::OffsetDateTime::now_utc()));
            doc.title = title.clone();
            crate::search::index_title(items, team, &doc.id, None, title).await?;
            let mut item = Item::new(keys::document(team, &doc.id), to_json(&doc)?);
            item.index = Some(keys::owner_index(&doc.owner_id, &doc.id));
            writes.push(Write::Put {
                item,
                condition: Condition::NotExists,
            });
        }
        items.transact(writes).await?;
    }
    Ok(())
}

/// The cursor that resumes the caller's listing after the sort key `k`.
fn cursor(caller: &Caller, k: String) -> Result<String> {
    use base64::Engine;
    let cursor = Cursor {
        u: caller.user_id().clone(),
        k,
    };
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&cursor).map_err(Error::internal)?))
}

/// Postings and documents one search request reads at most before it answers with what it
/// found so far and a cursor.
const SEARCH_BUDGET: usize = 2000;

/// The caller's own documents whose titles hold the folded `needle`, newest first, through
/// the title index: the cost follows what is found, not how many documents there are.
async fn search_own(
    s: &Services,
    caller: &Caller,
    needle: &str,
    status: Option<Status>,
    limit: usize,
    after: Option<String>,
) -> Result<Listing> {
    ensure_title_index(s, caller.team()).await?;
    // The listing's cursors name `DOC#<id>`.
    let after = after.as_deref().and_then(keys::document_id);
    let Some(mut walk) =
        crate::search::TitleMatches::new(&*s.items, caller.team(), needle, after.as_ref())
    else {
        return Ok(Listing::default());
    };
    let mut documents = Vec::new();
    let mut fetched = 0;
    while let Some(id) = walk.next().await? {
        fetched += 1;
        // A posting is a candidate: the document may be gone, another's, or retitled.
        if let Some(item) = s.items.get(&keys::document(caller.team(), &id)).await? {
            let doc: Document = from_item(&item)?;
            if &doc.owner_id == caller.user_id()
                && status.is_none_or(|st| doc.status == st)
                && text::fold(&doc.title).contains(needle)
            {
                documents.push(doc);
            }
        }
        if documents.len() == limit || walk.reads() + fetched >= SEARCH_BUDGET {
            return Ok(Listing {
                documents,
                next_cursor: Some(cursor(caller, keys::document_sk(&id))?),
            });
        }
    }
    Ok(Listing {
        documents,
        next_cursor: None,
    })
}

/// Indexes the titles of a team's documents from before the title index, once per team
/// (idempotent: a crash or a concurrent request only repeats the same writes).
async fn ensure_title_index(s: &Services, team: &TeamId) -> Result<()> {
    let marker = keys::titles_indexed(team);
    if s.items.get(&marker).await?.is_some() {
        return Ok(());
    }
    let mut after = None;
    loop {
        let page = s
            .items
            .query(&Query {
                pk: keys::team_pk(team),
                sk_prefix: keys::DOC.into(),
                after,
                descending: false,
                limit: 100,
            })
            .await?;
        for item in &page.items {
            let doc: Document = from_item(item)?;
            crate::search::index_title(&*s.items, team, &doc.id, None, &doc.title).await?;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    s.items
        .put(Item::new(marker, serde_json::json!({})), Condition::None)
        .await?;
    Ok(())
}

/// The document's current file, decrypted as it streams. The first segment is checked
/// before this returns, so a corrupt file fails before any byte is sent; later segments
/// end the stream with an error at the first that fails.
pub async fn open_file(s: &Services, caller: &Caller, id: &str) -> Result<(Document, ByteStream)> {
    let doc = get(s, caller, id).await?;
    let body = crate::store::documents::stream_current(s, &doc).await?;
    Ok((doc, body))
}

/// Deletes a draft (its file too); a document that went out is kept.
pub async fn delete(s: &Services, caller: &Caller, id: &str) -> Result<()> {
    let (doc, item) = load(s, caller, id).await?;
    if doc.status != Status::Draft {
        return Err(Error::conflict(
            "not_a_draft",
            "only a draft can be deleted",
        ));
    }
    s.items
        .transact(vec![
            Write::Delete {
                key: item.key.clone(),
                condition: Condition::Version(item.version),
            },
            audit_write(
                s.now(),
                caller.team(),
                caller.user_id(),
                "document.deleted",
                caller.ip,
            )?,
        ])
        .await
        .map_err(|e| match e {
            StoreError::ConditionFailed => {
                Error::conflict("concurrent_change", "the document changed meanwhile")
            }
            other => other.into(),
        })?;
    s.blobs.delete(&doc.original.blob).await?;
    crate::search::unindex_title(&*s.items, &doc.team_id, &doc.id, &doc.title).await?;
    Ok(())
}
