//! ItemStore: DynamoDB-shaped items. Every write that depends on what is stored carries a
//! condition; nothing is read-modify-written without one.

use async_trait::async_trait;

/// DynamoDB's item size limit, enforced by every adapter so nothing works locally that
/// would fail on AWS.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// DynamoDB's limit of actions in one transaction.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// A primary key: partition and sort key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// Partition key, e.g. `TEAM#…`.
    pub pk: String,
    /// Sort key, e.g. `DOC#…`.
    pub sk: String,
}

impl Key {
    /// A key from its two parts.
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Key {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

/// One stored item.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Its primary key.
    pub key: Key,
    /// Its key in the secondary index, if it is indexed. Sort keys must be unique within an
    /// index partition (paging resumes after one). The index is only eventually consistent
    /// on AWS: never use it for uniqueness.
    pub index: Option<Key>,
    /// Unix seconds after which the item counts as absent (checked on every read).
    pub expires_at: Option<i64>,
    /// Optimistic-concurrency version, compared by [`Condition::Version`].
    pub version: u64,
    /// The record itself.
    pub body: serde_json::Value,
}

impl Item {
    /// A new, unindexed, non-expiring item at version 1.
    pub fn new(key: Key, body: serde_json::Value) -> Self {
        Item {
            key,
            index: None,
            expires_at: None,
            version: 1,
            body,
        }
    }

    /// The size DynamoDB would count, approximately: keys plus body.
    pub fn size(&self) -> usize {
        let index = self
            .index
            .as_ref()
            .map(|k| k.pk.len() + k.sk.len())
            .unwrap_or(0);
        self.key.pk.len() + self.key.sk.len() + index + self.body.to_string().len() + 32
    }
}

/// What must hold for a write to happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// Unconditional.
    None,
    /// No live item has this key (an expired one counts as absent).
    NotExists,
    /// A live item has this key.
    Exists,
    /// A live item has this key at exactly this version.
    Version(u64),
}

/// One action of a transaction.
#[derive(Clone, Debug)]
pub enum Write {
    /// Put an item if the condition holds.
    Put {
        /// The item.
        item: Item,
        /// What must hold.
        condition: Condition,
    },
    /// Delete an item if the condition holds.
    Delete {
        /// Its key.
        key: Key,
        /// What must hold.
        condition: Condition,
    },
    /// Write nothing, but require the condition.
    Check {
        /// Its key.
        key: Key,
        /// What must hold.
        condition: Condition,
    },
}

/// A query of one partition by sort-key prefix.
#[derive(Clone, Debug)]
pub struct Query {
    /// The partition.
    pub pk: String,
    /// Only sort keys starting with this.
    pub sk_prefix: String,
    /// Resume after this sort key (exclusive), from a previous page's `next`.
    pub after: Option<String>,
    /// Newest (greatest sort key) first.
    pub descending: bool,
    /// At most this many items (capped at 1000).
    pub limit: usize,
}

/// A page of query results.
#[derive(Clone, Debug)]
pub struct Page {
    /// The items, in order.
    pub items: Vec<Item>,
    /// The sort key to resume after, when there may be more.
    pub next: Option<String>,
}

/// What an item store can fail with. Adapter errors become `Unavailable` with a message;
/// no SDK type crosses this boundary.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// A condition did not hold (for a transaction: any of them); nothing was written.
    #[error("condition failed")]
    ConditionFailed,
    /// The item is larger than DynamoDB allows.
    #[error("item too large: {0} bytes")]
    TooLarge(usize),
    /// Too many actions, or the same key twice, in one transaction.
    #[error("invalid transaction: {0}")]
    InvalidTransaction(String),
    /// The store failed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// DynamoDB-shaped storage of items.
#[async_trait]
pub trait ItemStore: Send + Sync {
    /// The live item at `key`, if any.
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;
    /// Writes `item` if `condition` holds.
    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError>;
    /// Deletes the item at `key` if `condition` holds (deleting nothing is fine with `None`).
    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError>;
    /// Live items of one partition by sort-key prefix.
    async fn query(&self, query: &Query) -> Result<Page, StoreError>;
    /// Live items by secondary-index partition and sort-key prefix.
    async fn query_index(&self, query: &Query) -> Result<Page, StoreError>;
    /// All writes or none: every condition holds and every write happens, or nothing.
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError>;
    /// Atomically adds one to a counter item (created live until `expires_at` when absent or
    /// expired) and returns the new count. Rate limits use it.
    async fn increment(&self, key: &Key, expires_at: i64) -> Result<u64, StoreError>;
    /// Removes up to `limit` items past their expiry (reads already treat them as absent)
    /// and says how many it removed. DynamoDB's TTL removes them by itself.
    async fn purge_expired(&self, limit: usize) -> Result<usize, StoreError>;
}

/// Checks a transaction's shape the way DynamoDB does.
pub fn check_transaction(writes: &[Write]) -> Result<(), StoreError> {
    if writes.is_empty() || writes.len() > MAX_TRANSACTION_ITEMS {
        return Err(StoreError::InvalidTransaction(format!(
            "{} actions (1 to {MAX_TRANSACTION_ITEMS} allowed)",
            writes.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for w in writes {
        let key = match w {
            Write::Put { item, .. } => {
                check_size(item)?;
                &item.key
            }
            Write::Delete { key, .. } | Write::Check { key, .. } => key,
        };
        if !seen.insert(key.clone()) {
            return Err(StoreError::InvalidTransaction(format!(
                "key {}/{} appears twice",
                key.pk, key.sk
            )));
        }
    }
    Ok(())
}

/// Refuses an item over DynamoDB's size limit.
pub fn check_size(item: &Item) -> Result<(), StoreError> {
    let size = item.size();
    if size > MAX_ITEM_BYTES {
        return Err(StoreError::TooLarge(size));
    }
    Ok(())
}
