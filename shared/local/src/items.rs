//! ItemStore on SQLite (WAL). One connection behind a mutex, used from blocking threads:
//! SQLite serialises writers anyway, and conditions are checked inside the same
//! transaction as the write. DynamoDB's limits are enforced so nothing works here that
//! would fail on AWS.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use keiyaku_core::clock::Clock;
use keiyaku_core::ports::{
    Condition, Item, ItemStore, Key, Page, Query, StoreError, Write, check_size, check_transaction,
};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

/// Items in one SQLite database file.
#[derive(Clone)]
pub struct SqliteItemStore {
    conn: Arc<Mutex<Connection>>,
    clock: Arc<dyn Clock>,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl SqliteItemStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(unavailable)?;
        Self::init(conn, clock)
    }

    /// A private in-memory database (tests).
    pub fn in_memory(clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory().map_err(unavailable)?, clock)
    }

    fn init(conn: Connection, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS items (
                 pk TEXT NOT NULL,
                 sk TEXT NOT NULL,
                 ipk TEXT,
                 isk TEXT,
                 expires_at INTEGER,
                 version INTEGER NOT NULL,
                 body TEXT NOT NULL,
                 PRIMARY KEY (pk, sk)
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS items_by_index ON items (ipk, isk) WHERE ipk IS NOT NULL;
             CREATE INDEX IF NOT EXISTS items_by_expiry ON items (expires_at)
                 WHERE expires_at IS NOT NULL;",
        )
        .map_err(unavailable)?;
        Ok(SqliteItemStore {
            conn: Arc::new(Mutex::new(conn)),
            clock,
        })
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection, i64) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        let now = self.clock.now().unix_timestamp();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut conn, now)
        })
        .await
        .map_err(unavailable)?
    }
}

fn live_version(tx: &Transaction<'_>, key: &Key, now: i64) -> Result<Option<u64>, StoreError> {
    tx.query_row(
        "SELECT version FROM items WHERE pk = ?1 AND sk = ?2
           AND (expires_at IS NULL OR expires_at > ?3)",
        params![key.pk, key.sk, now],
        |r| r.get::<_, i64>(0),
    )
    .optional()
    .map(|v| v.map(|v| v as u64))
    .map_err(unavailable)
}

fn holds(
    tx: &Transaction<'_>,
    key: &Key,
    condition: &Condition,
    now: i64,
) -> Result<bool, StoreError> {
    if *condition == Condition::None {
        return Ok(true);
    }
    let current = live_version(tx, key, now)?;
    Ok(match condition {
        Condition::None => true,
        Condition::NotExists => current.is_none(),
        Condition::Exists => current.is_some(),
        Condition::Version(v) => current == Some(*v),
    })
}

fn write_item(tx: &Transaction<'_>, item: &Item) -> Result<(), StoreError> {
    tx.execute(
        "INSERT OR REPLACE INTO items (pk, sk, ipk, isk, expires_at, version, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            item.key.pk,
            item.key.sk,
            item.index.as_ref().map(|k| &k.pk),
            item.index.as_ref().map(|k| &k.sk),
            item.expires_at,
            item.version as i64,
            item.body.to_string(),
        ],
    )
    .map_err(unavailable)?;
    Ok(())
}

fn delete_item(tx: &Transaction<'_>, key: &Key) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM items WHERE pk = ?1 AND sk = ?2",
        params![key.pk, key.sk],
    )
    .map_err(unavailable)?;
    Ok(())
}

fn row_to_item(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Item, String)> {
    let body: String = r.get(6)?;
    let ipk: Option<String> = r.get(2)?;
    let isk: Option<String> = r.get(3)?;
    let item = Item {
        key: Key::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?),
        index: ipk.zip(isk).map(|(pk, sk)| Key::new(pk, sk)),
        expires_at: r.get(4)?,
        version: r.get::<_, i64>(5)? as u64,
        body: serde_json::Value::Null,
    };
    Ok((item, body))
}

fn parse_rows(rows: Vec<(Item, String)>) -> Result<Vec<Item>, StoreError> {
    rows.into_iter()
        .map(|(mut item, body)| {
            item.body = serde_json::from_str(&body).map_err(unavailable)?;
            Ok(item)
        })
        .collect()
}

fn run_query(conn: &Connection, q: &Query, now: i64, by_index: bool) -> Result<Page, StoreError> {
    let (pk, sk) = if by_index {
        ("ipk", "isk")
    } else {
        ("pk", "sk")
    };
    let order = if q.descending { "DESC" } else { "ASC" };
    let cmp = if q.descending { "<" } else { ">" };
    let limit = q.limit.clamp(1, 1000);
    let sql = format!(
        "SELECT pk, sk, ipk, isk, expires_at, version, body FROM items
         WHERE {pk} = ?1 AND substr({sk}, 1, length(?2)) = ?2
           AND (?3 IS NULL OR {sk} {cmp} ?3)
           AND (expires_at IS NULL OR expires_at > ?4)
         ORDER BY {sk} {order} LIMIT ?5"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(unavailable)?;
    let rows = stmt
        .query_map(
            params![q.pk, q.sk_prefix, q.after, now, (limit + 1) as i64],
            row_to_item,
        )
        .map_err(unavailable)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(unavailable)?;
    let mut items = parse_rows(rows)?;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|i| {
            if by_index {
                i.index.as_ref().map(|k| k.sk.clone()).unwrap_or_default()
            } else {
                i.key.sk.clone()
            }
        })
    } else {
        None
    };
    Ok(Page { items, next })
}

#[async_trait]
impl ItemStore for SqliteItemStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let key = key.clone();
        self.with(move |conn, now| {
            let row = conn
                .query_row(
                    "SELECT pk, sk, ipk, isk, expires_at, version, body FROM items
                     WHERE pk = ?1 AND sk = ?2 AND (expires_at IS NULL OR expires_at > ?3)",
                    params![key.pk, key.sk, now],
                    row_to_item,
                )
                .optional()
                .map_err(unavailable)?;
            Ok(parse_rows(row.into_iter().collect())?.pop())
        })
        .await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        check_size(&item)?;
        self.with(move |conn, now| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            if !holds(&tx, &item.key, &condition, now)? {
                return Err(StoreError::ConditionFailed);
            }
            write_item(&tx, &item)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        let key = key.clone();
        self.with(move |conn, now| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            if !holds(&tx, &key, &condition, now)? {
                return Err(StoreError::ConditionFailed);
            }
            delete_item(&tx, &key)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        let query = query.clone();
        self.with(move |conn, now| run_query(conn, &query, now, false))
            .await
    }

    async fn query_index(&self, query: &Query) -> Result<Page, StoreError> {
        let query = query.clone();
        self.with(move |conn, now| run_query(conn, &query, now, true))
            .await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        check_transaction(&writes)?;
        self.with(move |conn, now| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            for w in &writes {
                let (key, condition) = match w {
                    Write::Put { item, condition } => (&item.key, condition),
                    Write::Delete { key, condition } | Write::Check { key, condition } => {
                        (key, condition)
                    }
                };
                if !holds(&tx, key, condition, now)? {
                    return Err(StoreError::ConditionFailed);
                }
            }
            for w in &writes {
                match w {
                    Write::Put { item, .. } => write_item(&tx, item)?,
                    Write::Delete { key, .. } => delete_item(&tx, key)?,
                    Write::Check { .. } => {}
                }
            }
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn increment(&self, key: &Key, expires_at: i64) -> Result<u64, StoreError> {
        let key = key.clone();
        self.with(move |conn, now| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let current: Option<(String, i64, Option<i64>)> = tx
                .query_row(
                    "SELECT body, version, expires_at FROM items WHERE pk = ?1 AND sk = ?2
                       AND (expires_at IS NULL OR expires_at > ?3)",
                    params![key.pk, key.sk, now],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(unavailable)?;
            let (count, version, expiry) = match current {
                Some((body, version, expiry)) => {
                    let body: serde_json::Value =
                        serde_json::from_str(&body).map_err(unavailable)?;
                    let count = body.get("count").and_then(|c| c.as_u64()).unwrap_or(0) + 1;
                    (count, version as u64 + 1, expiry)
                }
                None => (1, 1, Some(expires_at)),
            };
            let mut item = Item::new(key.clone(), serde_json::json!({ "count": count }));
            item.version = version;
            item.expires_at = expiry;
            write_item(&tx, &item)?;
            tx.commit().map_err(unavailable)?;
            Ok(count)
        })
        .await
    }

    async fn purge_expired(&self, limit: usize) -> Result<usize, StoreError> {
        self.with(move |conn, now| {
            conn.execute(
                "DELETE FROM items WHERE (pk, sk) IN (
                   SELECT pk, sk FROM items WHERE expires_at IS NOT NULL AND expires_at <= ?1
                   LIMIT ?2)",
                params![now, limit as i64],
            )
            .map_err(unavailable)
        })
        .await
    }
}
