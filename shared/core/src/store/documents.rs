//! Documents in the store: reading one by its ids, writing a change with its history and
//! audit events in one conditioned transaction, and reading its current file (decrypted as
//! it streams).

use bytes::Bytes;
use futures::StreamExt;
use time::OffsetDateTime;

use crate::domain::document::Ids;
use crate::domain::document::{Document, HistoryEvent, StoredFile};
use crate::domain::user::Caller;
use crate::envelope::{self, Binding};
use crate::error::{Error, Result};
use crate::ids::DocumentId;
use crate::ports::{ByteStream, Condition, Item, StoreError, Write};
use crate::services::needs::{Blobs, Decrypt, Items, Settings};
use crate::store::keys;
use crate::store::to_json;

pub(crate) fn file_binding(id: &DocumentId, file: &StoredFile) -> Binding {
    Binding {
        owner: id.to_string(),
        role: if file.role == "sealed" {
            "sealed"
        } else {
            "original"
        },
        version: file.version,
    }
}

pub(crate) fn history_write(
    now: OffsetDateTime,
    doc: &Document,
    caller: &Caller,
    action: &str,
) -> Result<Write> {
    history_event_write(
        now,
        doc,
        caller.user_id().as_str(),
        action,
        &caller.ip.to_string(),
    )
}

/// Writes a document changed by `caller` (conditioned on the version `item` was read at),
/// with its history event and the audit event `action`, in one transaction; a concurrent
/// change is a 409.
pub(crate) async fn commit_change(
    s: &impl Items,
    caller: &Caller,
    doc: &Document,
    item: &Item,
    action: &str,
) -> Result<()> {
    commit_change_with(s, caller, doc, item, action, Vec::new()).await
}

/// [`commit_change`] with further writes in the same transaction (an outbox entry, an
/// index).
pub(crate) async fn commit_change_with(
    s: &impl Items,
    caller: &Caller,
    doc: &Document,
    item: &Item,
    action: &str,
    extra: Vec<Write>,
) -> Result<()> {
    let now = doc.updated_at;
    let mut updated = item.clone();
    updated.body = to_json(doc)?;
    updated.version += 1;
    let mut writes = vec![
        Write::Put {
            item: updated,
            condition: Condition::Version(item.version),
        },
        history_write(now, doc, caller, action)?,
        crate::store::audit::caller_event(
            now,
            caller,
            action,
            Some(format!("document:{}", doc.id)),
        )?,
    ];
    writes.extend(extra);
    s.items().transact(writes).await.map_err(|e| match e {
        StoreError::ConditionFailed => {
            Error::conflict("concurrent_change", "the document changed meanwhile")
        }
        other => other.into(),
    })
}

/// The write that adds one event to a document's history: who (a user id, or `keiyaku`
/// for the service itself), what, from where.
pub(crate) fn history_event_write(
    now: OffsetDateTime,
    doc: &Document,
    actor: &str,
    action: &str,
    ip: &str,
) -> Result<Write> {
    let event = HistoryEvent {
        at: now,
        actor: actor.to_owned(),
        action: action.to_owned(),
        ip: ip.to_owned(),
    };
    Ok(Write::Put {
        item: Item::new(
            keys::history(&doc.team_id, &doc.id, &crate::ids::new_id(now)),
            to_json(&event)?,
        ),
        condition: Condition::NotExists,
    })
}

/// The document's current file, decrypted as it streams; the first segment is checked
/// before anything is sent.
pub(crate) async fn stream_current(
    s: &(impl Blobs + Decrypt),
    doc: &Document,
) -> Result<ByteStream> {
    let file = doc.current_file();
    let binding = file_binding(&doc.id, file);
    let blob = s.blobs().get(&file.blob).await?;
    let mut plain = envelope::open_stream(s.decryption(), &binding, blob).await?;
    let first = match plain.next().await {
        Some(Ok(first)) => first,
        Some(Err(e)) => return Err(envelope::stream_error(e)),
        None => Bytes::new(),
    };
    Ok(futures::stream::once(async move { Ok(first) })
        .chain(plain)
        .boxed())
}

pub(crate) async fn load(s: &impl Items, ids: &Ids) -> Result<(Document, crate::ports::Item)> {
    let item = s
        .items()
        .get(&keys::document(&ids.team_id, &ids.document_id))
        .await?
        .ok_or(Error::NotFound)?;
    let doc = serde_json::from_value(item.body.clone()).map_err(Error::internal)?;
    Ok((doc, item))
}

/// The whole plaintext of the document's current file.
pub(crate) async fn read_current(
    s: &(impl Blobs + Settings + Decrypt),
    doc: &Document,
) -> Result<Vec<u8>> {
    let file = doc.current_file();
    read_all(
        s,
        &file_binding(&doc.id, file),
        s.blobs().get(&file.blob).await?,
    )
    .await
}

/// The whole plaintext of a stored file (at most the document limit plus room for seals).
pub(crate) async fn read_all(
    s: &(impl Settings + Decrypt),
    binding: &envelope::Binding,
    blob: crate::ports::ByteStream,
) -> Result<Vec<u8>> {
    let plain = envelope::open_stream(s.decryption(), binding, blob).await?;
    let limit = usize::try_from(s.config().max_document_bytes).unwrap_or(usize::MAX) + (16 << 20);
    let mut out = Vec::new();
    let mut plain = plain;
    while let Some(chunk) = plain.next().await {
        let chunk = chunk.map_err(envelope::stream_error)?;
        if out.len() + chunk.len() > limit {
            return Err(Error::internal(
                "a stored file is larger than any document can be",
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
