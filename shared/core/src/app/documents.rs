//! Documents: a draft made from an upload (or a small body), reading one, its history and
//! file, and deleting a draft. Only the owner sees a document for now (team sharing and
//! 親展 come later); anyone else gets `NotFound`, never `Forbidden`.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::app::uploads::{
    UploadPurpose, Verdict, not_received, original_blob, slot, too_large, wrong_purpose,
};
use crate::domain::document::{Document, HistoryEvent, Status, StoredFile};
use crate::domain::party::Approver;
use crate::domain::user::{Caller, TeamRole};
use crate::envelope::{self, Binding};
use crate::error::{Error, Result};
use crate::ids::{DocumentId, TeamId, hash_token};
use crate::ports::{ByteStream, Condition, Item, Key, PutMode, Query, StoreError, Write};
use crate::services::needs::{
    Authority, Blobs, Cpu, Decrypt, Encrypt, Items, Settings, Stage, Time,
};
use crate::store::keys;
use crate::store::{from_item, to_json};
use crate::text::{self, Email};

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
    s: &impl Items,
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
    let Some(item) = s.items().get(&idempotency_key(caller, key)).await? else {
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
pub async fn create(
    s: &(impl Items + Blobs + Time + Settings + Cpu + Encrypt),
    caller: &Caller,
    new: NewDocument,
) -> Result<(Document, bool)> {
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
    if size > s.config().max_document_bytes {
        return Err(too_large(s.config().max_document_bytes));
    }
    let pdf = new.bytes.clone();
    let info = s.cpu().run(move || keiyaku_pdf::inspect(&pdf)).await?;
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
    let sealed = envelope::encrypt(
        s.encryption(),
        &binding,
        envelope::seal_bytes_source(new.bytes),
    )
    .await?;
    s.blobs().put(&blob, sealed, PutMode::CreateOnly).await?;
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
    crate::store::search::index_title(s.items(), &doc.team_id, &doc.id, None, &doc.title).await?;
    if let Err(e) = s.items().transact(writes).await {
        s.blobs().delete(&blob).await?;
        // A concurrent request with the same key won: answer with its document.
        if let Some(doc) = replay(s, caller, key, &fp).await? {
            return Ok((doc, false));
        }
        return Err(e.into());
    }
    Ok((doc, true))
}

/// Creates the draft from an upload slot whose file has arrived (sent to the slot, the file
/// is already encrypted and stored; sent to the staging area, it is received from there
/// first). A file the PDF check refused is reported now,
/// and the slot is gone.
pub async fn create_from_upload(
    s: &(impl Items + Blobs + Stage + Time + Cpu + Authority + Settings + Encrypt),
    caller: &Caller,
    upload_id: &str,
    title: Option<&str>,
    idempotency_key: Option<&str>,
) -> Result<(Document, bool)> {
    let fp = hash_token(&format!("upload:{upload_id}\0{}", title.unwrap_or("")));
    if let Some(doc) = replay(s, caller, idempotency_key, &fp).await? {
        return Ok((doc, false));
    }
    crate::app::uploads::receive_staged(s, caller, upload_id).await?;
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
            s.items()
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
    crate::store::search::index_title(s.items(), &doc.team_id, &doc.id, None, &doc.title).await?;
    match s.items().transact(writes).await {
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
        confidential: false,
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
        crate::store::audit::caller_event(
            now,
            caller,
            "document.created",
            Some(format!("document:{}", doc.id)),
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
pub(crate) async fn load(s: &impl Items, caller: &Caller, id: &str) -> Result<(Document, Item)> {
    let id = DocumentId::parse(id).ok_or(Error::NotFound)?;
    let item = s
        .items()
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
pub(crate) fn approver_address(caller: &Caller) -> Result<&Email> {
    if caller.user.email_verified {
        Ok(&caller.user.email)
    } else {
        Err(Error::NotFound)
    }
}

/// Which of the document's approvers the caller is (by their confirmed address), if any.
pub fn approver_of<'a>(doc: &'a Document, caller: &Caller) -> Option<&'a Approver> {
    let email = approver_address(caller).ok()?;
    doc.approvers.iter().find(|a| &a.email == email)
}

/// A document the caller may see: their own, one they were named to approve, or — for the
/// team's admins and auditors — any of their team's that is not 親展.
pub async fn get(s: &impl Items, caller: &Caller, id: &str) -> Result<Document> {
    match load(s, caller, id).await {
        Err(Error::NotFound) => match as_approver(s, caller, id).await {
            Err(Error::NotFound) => as_team_reader(s, caller, id).await,
            other => other.map(|(d, _, _)| d),
        },
        other => other.map(|(d, _)| d),
    }
}

/// Records in the audit log of the document's team that the caller read it: `viewed` (its
/// details), `file_viewed` or `downloaded` (its file).
pub async fn record_read(
    s: &(impl Items + Time),
    caller: &Caller,
    doc: &Document,
    action: &str,
) -> Result<()> {
    s.items()
        .transact(vec![crate::store::audit::reader_event(
            s.now(),
            &doc.team_id,
            caller,
            action,
            format!("document:{}", doc.id),
        )?])
        .await?;
    Ok(())
}

/// Whether the caller reads every document of their team (admins and auditors).
pub fn reads_the_team(caller: &Caller) -> bool {
    matches!(caller.user.role, TeamRole::Admin | TeamRole::Auditor)
}

/// A document of the caller's team, for its admins and auditors; never a 親展 one.
async fn as_team_reader(s: &impl Items, caller: &Caller, id: &str) -> Result<Document> {
    if !reads_the_team(caller) {
        return Err(Error::NotFound);
    }
    let id = DocumentId::parse(id).ok_or(Error::NotFound)?;
    let item = s
        .items()
        .get(&keys::document(caller.team(), &id))
        .await?
        .ok_or(Error::NotFound)?;
    let doc: Document = from_item(&item)?;
    if doc.confidential {
        return Err(Error::NotFound);
    }
    Ok(doc)
}

/// A document the caller was named to approve: it, its item and the caller's party id.
pub(crate) async fn as_approver(
    s: &impl Items,
    caller: &Caller,
    id: &str,
) -> Result<(Document, Item, String)> {
    let id = DocumentId::parse(id).ok_or(Error::NotFound)?;
    let email = approver_address(caller)?;
    let index = match s.items().get(&keys::approver_index(email, &id)).await? {
        Some(index) => index,
        None => s
            .items()
            .get(&keys::legacy_approver_index(caller.user_id(), &id))
            .await?
            .ok_or(Error::NotFound)?,
    };
    let team: TeamId =
        serde_json::from_value(index.body["team_id"].clone()).map_err(Error::internal)?;
    let item = s
        .items()
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
pub async fn history(s: &impl Items, doc: &Document) -> Result<Vec<HistoryEvent>> {
    let mut events = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .items()
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

/// The document's current file, decrypted as it streams. The first segment is checked
/// before this returns, so a corrupt file fails before any byte is sent; later segments
/// end the stream with an error at the first that fails.
pub async fn open_file(
    s: &(impl Items + Blobs + Decrypt),
    caller: &Caller,
    id: &str,
) -> Result<(Document, ByteStream)> {
    let doc = get(s, caller, id).await?;
    let body = crate::store::documents::stream_current(s, &doc).await?;
    Ok((doc, body))
}

/// Deletes a draft (its file too); a document that went out is kept.
pub async fn delete(s: &(impl Items + Blobs + Time), caller: &Caller, id: &str) -> Result<()> {
    let (doc, item) = load(s, caller, id).await?;
    if doc.status != Status::Draft {
        return Err(Error::conflict(
            "not_a_draft",
            "only a draft can be deleted",
        ));
    }
    s.items()
        .transact(vec![
            Write::Delete {
                key: item.key.clone(),
                condition: Condition::Version(item.version),
            },
            crate::store::audit::caller_event(
                s.now(),
                caller,
                "document.deleted",
                Some(format!("document:{}", doc.id)),
            )?,
        ])
        .await
        .map_err(|e| match e {
            StoreError::ConditionFailed => {
                Error::conflict("concurrent_change", "the document changed meanwhile")
            }
            other => other.into(),
        })?;
    s.blobs().delete(&doc.original.blob).await?;
    crate::store::search::unindex_title(s.items(), &doc.team_id, &doc.id, &doc.title).await?;
    Ok(())
}
