//! An item store in memory, with the semantics of the port (conditions, versions, expiry
//! on every read, index queries, DynamoDB's limits) and nothing to set up: for tests of the
//! engine, the executor and the domain, which then need no adapter. It keeps the port's
//! contract suite like the SQLite and DynamoDB adapters do; nothing ships with it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::items::{
    Condition, Item, ItemStore, Key, Page, Query, StoreError, Write, check_size, check_transaction,
};
use crate::clock::Clock;

/// Items in a map, ordered by key; expiry read from a clock.
pub struct MemoryItemStore {
    items: Mutex<BTreeMap<(String, String), Item>>,
    clock: Arc<dyn Clock>,
}

impl MemoryItemStore {
    /// An empty store reading time from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        MemoryItemStore {
            items: Mutex::new(BTreeMap::new()),
            clock,
        }
    }

    fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Item>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn live(item: &Item, now: i64) -> bool {
    item.expires_at.is_none_or(|at| at > now)
}

fn map_key(key: &Key) -> (String, String) {
    (key.pk.clone(), key.sk.clone())
}

fn holds(
    items: &BTreeMap<(String, String), Item>,
    key: &Key,
    condition: &Condition,
    now: i64,
) -> bool {
    let current = items
        .get(&map_key(key))
        .filter(|i| live(i, now))
        .map(|i| i.version);
    match condition {
        Condition::None => true,
        Condition::NotExists => current.is_none(),
        Condition::Exists => current.is_some(),
        Condition::Version(v) => current == Some(*v),
    }
}

fn page(mut found: Vec<(String, Item)>, q: &Query) -> Page {
    found.sort_by(|a, b| a.0.cmp(&b.0));
    if q.descending {
        found.reverse();
    }
    let found: Vec<(String, Item)> = found
        .into_iter()
        .filter(|(sk, _)| {
            q.after
                .as_ref()
                .is_none_or(|a| if q.descending { sk < a } else { sk > a })
        })
        .collect();
    let limit = q.limit.clamp(1, 1000);
    let next = (found.len() > limit).then(|| found[limit - 1].0.clone());
    Page {
        items: found.into_iter().take(limit).map(|(_, i)| i).collect(),
        next,
    }
}

#[async_trait]
impl ItemStore for MemoryItemStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let now = self.now();
        Ok(self
            .lock()
            .get(&map_key(key))
            .filter(|i| live(i, now))
            .cloned())
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        check_size(&item)?;
        let now = self.now();
        let mut items = self.lock();
        if !holds(&items, &item.key, &condition, now) {
            return Err(StoreError::ConditionFailed);
        }
        items.insert(map_key(&item.key), item);
        Ok(())
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        let now = self.now();
        let mut items = self.lock();
        if !holds(&items, key, &condition, now) {
            return Err(StoreError::ConditionFailed);
        }
        items.remove(&map_key(key));
        Ok(())
    }

    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        let now = self.now();
        let items = self.lock();
        let found = items
            .values()
            .filter(|i| i.key.pk == q.pk && i.key.sk.starts_with(&q.sk_prefix) && live(i, now))
            .map(|i| (i.key.sk.clone(), i.clone()))
            .collect();
        Ok(page(found, q))
    }

    async fn query_index(&self, q: &Query) -> Result<Page, StoreError> {
        let now = self.now();
        let items = self.lock();
        let found = items
            .values()
            .filter(|i| live(i, now))
            .filter_map(|i| {
                let index = i.index.as_ref()?;
                (index.pk == q.pk && index.sk.starts_with(&q.sk_prefix))
                    .then(|| (index.sk.clone(), i.clone()))
            })
            .collect();
        Ok(page(found, q))
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        check_transaction(&writes)?;
        for w in &writes {
            if let Write::Put { item, .. } = w {
                check_size(item)?;
            }
        }
        let now = self.now();
        let mut items = self.lock();
        for w in &writes {
            let (key, condition) = match w {
                Write::Put { item, condition } => (&item.key, condition),
                Write::Delete { key, condition } | Write::Check { key, condition } => {
                    (key, condition)
                }
            };
            if !holds(&items, key, condition, now) {
                return Err(StoreError::ConditionFailed);
            }
        }
        for w in writes {
            match w {
                Write::Put { item, .. } => {
                    items.insert(map_key(&item.key), item);
                }
                Write::Delete { key, .. } => {
                    items.remove(&map_key(&key));
                }
                Write::Check { .. } => {}
            }
        }
        Ok(())
    }

    async fn increment(&self, key: &Key, expires_at: i64) -> Result<u64, StoreError> {
        let now = self.now();
        let mut items = self.lock();
        let (count, version, expiry) = match items.get(&map_key(key)).filter(|i| live(i, now)) {
            Some(i) => (
                i.body.get("count").and_then(|c| c.as_u64()).unwrap_or(0) + 1,
                i.version + 1,
                i.expires_at,
            ),
            None => (1, 1, Some(expires_at)),
        };
        let mut item = Item::new(key.clone(), serde_json::json!({ "count": count }));
        item.version = version;
        item.expires_at = expiry;
        items.insert(map_key(key), item);
        Ok(count)
    }

    async fn purge_expired(&self, limit: usize) -> Result<usize, StoreError> {
        let now = self.now();
        let mut items = self.lock();
        let dead: Vec<(String, String)> = items
            .iter()
            .filter(|(_, i)| !live(i, now))
            .map(|(k, _)| k.clone())
            .take(limit)
            .collect();
        for k in &dead {
            items.remove(k);
        }
        Ok(dead.len())
    }
}
