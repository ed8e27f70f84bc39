//! Links mailed with a one-time token (invitations, domain claims, address changes): what
//! waits for the link stored by the token's hash with its expiry and the audit event of
//! asking, and the lookup every route that redeems one shares — limited per client address
//! before any work, the token bounded before it is hashed, its item found by the hash.

use std::net::IpAddr;

use time::Duration;

use crate::domain::user::Caller;
use crate::error::{Error, Result};
use crate::ids::{Secret, hash_token};
use crate::ports::{Condition, Item, Key, Write};
use crate::ratelimit::{self, address_subject};
use crate::services::needs::{Items, Time};

/// Stores `waiting` (under `key` of a new token's hash, for `hours`) with the caller's audit
/// event `action` on `target`, in one transaction; the token to mail.
pub(crate) async fn issue(
    s: &(impl Items + Time),
    caller: &Caller,
    key: fn(&str) -> Key,
    waiting: serde_json::Value,
    hours: i64,
    (action, target): (&str, String),
) -> Result<String> {
    let token = Secret::generate();
    let mut item = Item::new(key(&token.hash), waiting);
    item.expires_at = Some((s.now() + Duration::hours(hours)).unix_timestamp());
    s.items()
        .transact(vec![
            Write::Put {
                item,
                condition: Condition::NotExists,
            },
            crate::store::audit::caller_event(s.now(), caller, action, Some(target))?,
        ])
        .await?;
    Ok(token.token)
}

/// The item the mailed `token` points to (its key made by `key` from the token's hash),
/// or the error `invalid` when there is none.
pub(crate) async fn find(
    s: &(impl Items + Time),
    token: &str,
    ip: IpAddr,
    key: fn(&str) -> Key,
    invalid: fn() -> Error,
) -> Result<(Key, Item)> {
    ratelimit::hit(
        s.items(),
        s.now(),
        ratelimit::TOKEN_PER_ADDRESS,
        &address_subject(ip),
    )
    .await?;
    if token.is_empty() || token.len() > 100 {
        return Err(invalid());
    }
    let key = key(&hash_token(token));
    let item = s.items().get(&key).await?.ok_or_else(invalid)?;
    Ok((key, item))
}
