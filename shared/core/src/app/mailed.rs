//! Links mailed with a one-time token (invitations, domain claims, address changes): the
//! lookup every route that redeems one shares — limited per client address before any
//! work, the token bounded before it is hashed, its item found by the hash.

use std::net::IpAddr;

use crate::error::{Error, Result};
use crate::ids::hash_token;
use crate::ports::{Item, Key};
use crate::ratelimit::{self, address_subject};
use crate::services::needs::{Items, Time};

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
