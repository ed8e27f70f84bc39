//! Accounts in the store: a user by id or by address, and a document's sender.

use serde::{Deserialize, Serialize};

use crate::domain::document::Document;
use crate::domain::user::User;
use crate::error::{Error, Result};
use crate::ids::{TeamId, UserId};
use crate::ports::Item;
use crate::services::needs::Items;
use crate::store::from_item;
use crate::store::keys;
use crate::text::Email;

/// The stored user and its item (for a conditional write back), if there is one.
pub(crate) async fn load_user(
    s: &impl Items,
    team: &TeamId,
    user: &UserId,
) -> Result<Option<(User, Item)>> {
    match s.items().get(&keys::user(team, user)).await? {
        Some(item) => Ok(Some((from_item(&item)?, item))),
        None => Ok(None),
    }
}

pub(crate) async fn user_by_email(s: &impl Items, email: &Email) -> Result<Option<(User, Item)>> {
    let Some(owner) = s.items().get(&keys::email(email)).await? else {
        return Ok(None);
    };
    let owner: EmailOwner = from_item(&owner)?;
    load_user(s, &owner.team_id, &owner.user_id).await
}

/// The document's sender.
pub(crate) async fn sender(s: &impl Items, doc: &Document) -> Result<crate::domain::user::User> {
    crate::store::users::load_user(s, &doc.team_id, &doc.owner_id)
        .await?
        .map(|(u, _)| u)
        .ok_or_else(|| Error::internal("the sender's account is gone"))
}

/// The write that makes `user`'s address theirs: its uniqueness item, which must not exist
/// yet (written in the same transaction as the account).
pub(crate) fn claim_address(user: &User) -> Result<crate::ports::Write> {
    Ok(crate::ports::Write::Put {
        item: Item::new(
            keys::email(&user.email),
            crate::store::to_json(&EmailOwner {
                team_id: user.team_id.clone(),
                user_id: user.id.clone(),
            })?,
        ),
        condition: crate::ports::Condition::NotExists,
    })
}

/// The account an address belongs to (the uniqueness item of an address).
#[derive(Serialize, Deserialize)]
pub(crate) struct EmailOwner {
    /// The account's team.
    pub(crate) team_id: TeamId,
    /// The account.
    pub(crate) user_id: UserId,
}
