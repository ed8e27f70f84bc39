//! The store layer: how keiyaku's records sit in the ItemStore. `keys` is the one key
//! layout; the repositories read and write the domain's records through it, with the
//! conditions that keep concurrent writers apart.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ports::Item;

pub mod audit;
pub mod documents;
pub mod keys;
pub mod links;
pub mod outbox;
pub mod search;
pub mod users;
pub mod waits;

/// Every live item of a partition (of the table, or with `index` of the secondary index)
/// whose sort key starts with `sk_prefix`, read page by page, in sort-key order: for
/// partitions that stay small (a team's members, the teams with an audit chain).
pub(crate) async fn all_items(
    s: &impl crate::services::needs::Items,
    pk: &str,
    sk_prefix: &str,
    index: bool,
) -> Result<Vec<Item>> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let query = crate::ports::Query {
            pk: pk.to_owned(),
            sk_prefix: sk_prefix.to_owned(),
            after,
            descending: false,
            limit: 1000,
        };
        let page = if index {
            s.items().query_index(&query).await?
        } else {
            s.items().query(&query).await?
        };
        out.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(out),
        }
    }
}

/// A record as an item body.
pub(crate) fn to_json<T: Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(Error::internal)
}

/// A record from an item body.
pub(crate) fn from_item<T: for<'de> Deserialize<'de>>(item: &Item) -> Result<T> {
    serde_json::from_value(item.body.clone()).map_err(Error::internal)
}
