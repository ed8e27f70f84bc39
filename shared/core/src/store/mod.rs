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

/// A record as an item body.
pub(crate) fn to_json<T: Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(Error::internal)
}

/// A record from an item body.
pub(crate) fn from_item<T: for<'de> Deserialize<'de>>(item: &Item) -> Result<T> {
    serde_json::from_value(item.body.clone()).map_err(Error::internal)
}
