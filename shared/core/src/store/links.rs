//! Recipient links in the store: the opaque token each recipient's mail carries (derived,
//! never stored in the clear) and the record it opens, with its access-code state.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::document::Ids;
use crate::domain::party::Recipient;
use crate::error::{Error, Result};
use crate::ids::hash_token;
use crate::ports::{Condition, Item, StoreError};
use crate::services::needs::{Items, LinkMacs, Time};
use crate::store::keys;

/// What a recipient link opens, with its access-code state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Link {
    /// The document and send.
    pub(crate) ids: Ids,
    /// The recipient.
    pub(crate) party_id: String,
    /// The recipient's link generation it was issued for.
    #[serde(default)]
    pub(crate) generation: u32,
    /// Wrong access codes so far.
    #[serde(default)]
    pub(crate) failures: u32,
    /// Suspended after too many wrong codes, until the sender reissues it.
    #[serde(default)]
    pub(crate) suspended: bool,
    /// When it was issued (links written before this was recorded count from the end).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub(crate) issued_at: Option<OffsetDateTime>,
}

/// A recipient's link token: derived with the key service's MAC from (document, send,
/// party, link generation), so a retried `record_wait` mails the same link and a reissue a
/// new one; stored only hashed.
pub(crate) async fn link_token(
    s: &impl LinkMacs,
    ids: &Ids,
    party: &str,
    generation: u32,
) -> Result<String> {
    let mac = s
        .link_macs()
        .mac(
            format!(
                "recipient-link\0{}\0{}\0{}\0{party}\0{generation}",
                ids.team_id, ids.document_id, ids.send
            )
            .as_bytes(),
        )
        .await?;
    Ok(hex::encode(mac))
}

/// Writes the recipient's link for their current generation (once: a retry must not reset
/// its count of wrong codes) and returns its token.
pub(crate) async fn create(
    s: &(impl Items + Time + LinkMacs),
    ids: &Ids,
    recipient: &Recipient,
) -> Result<String> {
    let generation = recipient.link_generation;
    let token = link_token(s, ids, &recipient.id, generation).await?;
    let link = Item::new(
        keys::recipient_link(&hash_token(&token)),
        serde_json::to_value(Link {
            ids: ids.clone(),
            party_id: recipient.id.clone(),
            generation,
            failures: 0,
            suspended: false,
            issued_at: Some(s.now()),
        })
        .map_err(Error::internal)?,
    );
    match s.items().put(link, Condition::NotExists).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(token),
        Err(other) => Err(other.into()),
    }
}
