//! The ItemStore on DynamoDB: one table for every record, in the key layout of
//! `keiyaku_core::store::keys`.
//!
//! | attribute | type | what |
//! |---|---|---|
//! | `pk`, `sk` | S | the table's key (`Key`) |
//! | `ipk`, `isk` | S | the key in the global secondary index `index` (`Item::index`), when indexed |
//! | `v` | N | the optimistic-concurrency version |
//! | `exp` | N | unix seconds after which the item counts as absent; the table's TTL attribute |
//! | `body` | S | the record, as JSON |
//! | `c` | N | a counter's count (rate limits) |
//!
//! TTL deletion is housekeeping: every read and every condition checks `exp` against the
//! clock, so an expired item is absent whether or not DynamoDB has removed it yet. Paging
//! resumes after a sort key with a key condition (`sk > :after`), so a page's `next` is a
//! plain sort key here as in SQLite, and the index needs no table key to resume.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValue, Select, TransactWriteItem,
};
use keiyaku_core::clock::Clock;
use keiyaku_core::ports::{
    Condition, Item, ItemStore, Key, Page, Query, StoreError, Write, check_size, check_transaction,
};

/// The name of the table's global secondary index over `ipk`/`isk`.
pub const INDEX: &str = "index";
/// Most items one query reads.
const MAX_LIMIT: usize = 1000;

/// Items in one DynamoDB table.
pub struct DynamoItemStore {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

type Attributes = HashMap<String, AttributeValue>;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// An SDK error as the port's: a failed condition, or the store being unavailable (with
/// the service's own message; no SDK type leaves this module).
fn store_error<E, R>(e: SdkError<E, R>, condition_failed: impl Fn(&E) -> bool) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.as_service_error() {
        Some(service) if condition_failed(service) => StoreError::ConditionFailed,
        Some(service) => unavailable(service),
        None => unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(&e)),
    }
}

/// A condition as DynamoDB states it: its ConditionExpression (none for `None`), with the
/// names and values it uses. Liveness is part of every condition: `exp` against `now`.
struct Conditioned {
    expression: Option<String>,
    names: Option<HashMap<String, String>>,
    values: Option<Attributes>,
}

impl Conditioned {
    fn new(condition: &Condition, now: i64) -> Self {
        let expression = match condition {
            Condition::None => {
                return Conditioned {
                    expression: None,
                    names: None,
                    values: None,
                };
            }
            Condition::NotExists => "attribute_not_exists(pk) OR #exp <= :now",
            Condition::Exists => {
                "attribute_exists(pk) AND (attribute_not_exists(#exp) OR #exp > :now)"
            }
            Condition::Version(_) => {
                "attribute_exists(pk) AND #v = :v AND (attribute_not_exists(#exp) OR #exp > :now)"
            }
        };
        let mut names = HashMap::from([("#exp".to_owned(), "exp".to_owned())]);
        let mut values = HashMap::from([(":now".to_owned(), n(now))]);
        if let Condition::Version(v) = condition {
            names.insert("#v".to_owned(), "v".to_owned());
            values.insert(":v".to_owned(), n(v));
        }
        Conditioned {
            expression: Some(expression.to_owned()),
            names: Some(names),
            values: Some(values),
        }
    }
}

fn key_attributes(key: &Key) -> Attributes {
    HashMap::from([("pk".to_owned(), s(&key.pk)), ("sk".to_owned(), s(&key.sk))])
}

fn to_attributes(item: &Item) -> Attributes {
    let mut a = key_attributes(&item.key);
    if let Some(index) = &item.index {
        a.insert("ipk".to_owned(), s(&index.pk));
        a.insert("isk".to_owned(), s(&index.sk));
    }
    a.insert("v".to_owned(), n(item.version));
    if let Some(exp) = item.expires_at {
        a.insert("exp".to_owned(), n(exp));
    }
    a.insert("body".to_owned(), s(&item.body.to_string()));
    a
}

fn string(a: &Attributes, name: &str) -> Option<String> {
    a.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn number(a: &Attributes, name: &str) -> Result<Option<i64>, StoreError> {
    a.get(name)
        .map(|v| {
            v.as_n()
                .map_err(|_| unavailable(format!("{name} is not a number")))?
                .parse::<i64>()
                .map_err(unavailable)
        })
        .transpose()
}

fn from_attributes(a: &Attributes) -> Result<Item, StoreError> {
    let key = Key::new(
        string(a, "pk").ok_or_else(|| unavailable("an item without pk"))?,
        string(a, "sk").ok_or_else(|| unavailable("an item without sk"))?,
    );
    let index = string(a, "ipk")
        .zip(string(a, "isk"))
        .map(|(p, s)| Key::new(p, s));
    let body = match string(a, "body") {
        Some(text) => serde_json::from_str(&text).map_err(unavailable)?,
        None => serde_json::Value::Null,
    };
    Ok(Item {
        key,
        index,
        expires_at: number(a, "exp")?,
        version: number(a, "v")?.unwrap_or(1).try_into().unwrap_or(1),
        body,
    })
}

impl DynamoItemStore {
    /// Items in `table` through `client`, expiry judged by `clock`.
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        DynamoItemStore {
            client,
            table: table.into(),
            clock,
        }
    }

    fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    fn live(&self, a: &Attributes) -> Result<bool, StoreError> {
        Ok(number(a, "exp")?.is_none_or(|exp| exp > self.now()))
    }

    /// One page of a partition (of the table or of the index), live items only. `after`
    /// resumes with a key condition; the prefix is then checked here, and a sort key past
    /// the prefix's range ends the listing.
    async fn page(&self, query: &Query, index: bool) -> Result<Page, StoreError> {
        let (pk, sk) = if index { ("ipk", "isk") } else { ("pk", "sk") };
        let limit = query.limit.clamp(1, MAX_LIMIT);
        let mut request: QueryFluentBuilder = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(!index)
            .scan_index_forward(!query.descending)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .select(Select::AllAttributes)
            .expression_attribute_names("#pk", pk)
            .expression_attribute_values(":pk", s(&query.pk));
        if index {
            request = request.index_name(INDEX);
        }
        let condition = match (&query.after, query.sk_prefix.is_empty()) {
            (Some(after), _) => {
                request = request
                    .expression_attribute_names("#sk", sk)
                    .expression_attribute_values(":after", s(after));
                if query.descending {
                    "#pk = :pk AND #sk < :after"
                } else {
                    "#pk = :pk AND #sk > :after"
                }
            }
            (None, false) => {
                request = request
                    .expression_attribute_names("#sk", sk)
                    .expression_attribute_values(":prefix", s(&query.sk_prefix));
                "#pk = :pk AND begins_with(#sk, :prefix)"
            }
            (None, true) => "#pk = :pk",
        };
        let out = request
            .key_condition_expression(condition)
            .send()
            .await
            .map_err(|e| store_error(e, |_| false))?;
        let mut items = Vec::new();
        let mut last = None;
        for a in out.items() {
            let sort = string(a, sk).unwrap_or_default();
            if !sort.starts_with(&query.sk_prefix) {
                // Past the prefix's range (resuming skipped the begins_with condition).
                let past = if query.descending {
                    sort < query.sk_prefix
                } else {
                    sort > query.sk_prefix
                };
                if past {
                    return Ok(Page { items, next: None });
                }
                last = Some(sort);
                continue;
            }
            last = Some(sort);
            if self.live(a)? {
                items.push(from_attributes(a)?);
            }
        }
        let next = match out.last_evaluated_key() {
            Some(key) => key.get(sk).and_then(|v| v.as_s().ok()).cloned().or(last),
            None => None,
        };
        Ok(Page { items, next })
    }

    async fn put_conditioned(&self, item: &Item, condition: &Condition) -> Result<(), StoreError> {
        let c = Conditioned::new(condition, self.now());
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attributes(item)))
            .set_condition_expression(c.expression)
            .set_expression_attribute_names(c.names)
            .set_expression_attribute_values(c.values)
            .send()
            .await
            .map_err(|e| store_error(e, |e| e.is_conditional_check_failed_exception()))?;
        Ok(())
    }

    fn transact_item(&self, write: &Write, now: i64) -> Result<TransactWriteItem, StoreError> {
        let built = |e: aws_sdk_dynamodb::error::BuildError| unavailable(e);
        let item = match write {
            Write::Put { item, condition } => {
                let c = Conditioned::new(condition, now);
                TransactWriteItem::builder().put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(to_attributes(item)))
                        .set_condition_expression(c.expression)
                        .set_expression_attribute_names(c.names)
                        .set_expression_attribute_values(c.values)
                        .build()
                        .map_err(built)?,
                )
            }
            Write::Delete { key, condition } => {
                let c = Conditioned::new(condition, now);
                TransactWriteItem::builder().delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attributes(key)))
                        .set_condition_expression(c.expression)
                        .set_expression_attribute_names(c.names)
                        .set_expression_attribute_values(c.values)
                        .build()
                        .map_err(built)?,
                )
            }
            Write::Check { key, condition } => {
                let c = Conditioned::new(condition, now);
                // A check must name a condition: `None` is one that always holds.
                let expression = c
                    .expression
                    .unwrap_or_else(|| "attribute_exists(pk) OR attribute_not_exists(pk)".into());
                TransactWriteItem::builder().condition_check(
                    ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attributes(key)))
                        .condition_expression(expression)
                        .set_expression_attribute_names(c.names)
                        .set_expression_attribute_values(c.values)
                        .build()
                        .map_err(built)?,
                )
            }
        };
        Ok(item.build())
    }
}

#[async_trait]
impl ItemStore for DynamoItemStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(e, |_| false))?;
        match out.item() {
            Some(a) if self.live(a)? => Ok(Some(from_attributes(a)?)),
            _ => Ok(None),
        }
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        check_size(&item)?;
        self.put_conditioned(&item, &condition).await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        let c = Conditioned::new(&condition, self.now());
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .set_condition_expression(c.expression)
            .set_expression_attribute_names(c.names)
            .set_expression_attribute_values(c.values)
            .send()
            .await
            .map_err(|e| store_error(e, |e| e.is_conditional_check_failed_exception()))?;
        Ok(())
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.page(query, false).await
    }

    async fn query_index(&self, query: &Query) -> Result<Page, StoreError> {
        self.page(query, true).await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        check_transaction(&writes)?;
        let now = self.now();
        let items = writes
            .iter()
            .map(|w| self.transact_item(w, now))
            .collect::<Result<Vec<_>, _>>()?;
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| {
                store_error(e, |e| match e {
                    TransactWriteItemsError::TransactionCanceledException(c) => c
                        .cancellation_reasons()
                        .iter()
                        .any(|r| r.code() == Some("ConditionalCheckFailed")),
                    _ => false,
                })
            })?;
        Ok(())
    }

    async fn increment(&self, key: &Key, expires_at: i64) -> Result<u64, StoreError> {
        for _ in 0..8 {
            let now = self.now();
            // A live counter (or none): add one, keeping its window's end.
            let added = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_attributes(key)))
                .update_expression("ADD c :one SET #exp = if_not_exists(#exp, :end), #v = :v")
                .condition_expression("attribute_not_exists(pk) OR #exp > :now")
                .expression_attribute_names("#exp", "exp")
                .expression_attribute_names("#v", "v")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":end", n(expires_at))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":v", n(1))
                .return_values(ReturnValue::UpdatedNew)
                .send()
                .await;
            match added {
                Ok(out) => {
                    let count = out
                        .attributes()
                        .and_then(|a| number(a, "c").transpose())
                        .transpose()?
                        .ok_or_else(|| unavailable("a counter without its count"))?;
                    return u64::try_from(count).map_err(unavailable);
                }
                Err(e) => match store_error(e, |e| e.is_conditional_check_failed_exception()) {
                    StoreError::ConditionFailed => {}
                    other => return Err(other),
                },
            }
            // An expired counter: start it again, if nobody else has meanwhile.
            let fresh = HashMap::from([
                ("pk".to_owned(), s(&key.pk)),
                ("sk".to_owned(), s(&key.sk)),
                ("c".to_owned(), n(1)),
                ("v".to_owned(), n(1)),
                ("exp".to_owned(), n(expires_at)),
            ]);
            let restarted = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(fresh))
                .condition_expression("#exp <= :now")
                .expression_attribute_names("#exp", "exp")
                .expression_attribute_values(":now", n(now))
                .send()
                .await;
            match restarted {
                Ok(_) => return Ok(1),
                Err(e) => match store_error(e, |e| e.is_conditional_check_failed_exception()) {
                    StoreError::ConditionFailed => continue,
                    other => return Err(other),
                },
            }
        }
        Err(unavailable("a counter kept changing under its increment"))
    }

    async fn purge_expired(&self, limit: usize) -> Result<usize, StoreError> {
        let mut removed = 0;
        let mut start = None;
        loop {
            let now = self.now();
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("#exp <= :now")
                .projection_expression("pk, sk")
                .expression_attribute_names("#exp", "exp")
                .expression_attribute_values(":now", n(now))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store_error(e, |_| false))?;
            for a in out.items() {
                if removed >= limit {
                    return Ok(removed);
                }
                let key = Key::new(
                    string(a, "pk").unwrap_or_default(),
                    string(a, "sk").unwrap_or_default(),
                );
                // Only if it is still expired (a live write may have replaced it).
                let deleted = self
                    .client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key_attributes(&key)))
                    .condition_expression("#exp <= :now")
                    .expression_attribute_names("#exp", "exp")
                    .expression_attribute_values(":now", n(now))
                    .send()
                    .await;
                match deleted {
                    Ok(_) => removed += 1,
                    Err(e) => match store_error(e, |e| e.is_conditional_check_failed_exception()) {
                        StoreError::ConditionFailed => {}
                        other => return Err(other),
                    },
                }
            }
            match out.last_evaluated_key() {
                Some(key) => start = Some(key.clone()),
                None => return Ok(removed),
            }
        }
    }
}

/// Creates the table this adapter expects (the key, the index, on-demand billing) and waits
/// until it is active: for emulators and tests; `template.yaml` declares the same table.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType, TableStatus,
    };
    let built = |e: aws_sdk_dynamodb::error::BuildError| unavailable(e);
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(built)
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(built)
    };
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk")?)
        .attribute_definitions(attribute("sk")?)
        .attribute_definitions(attribute("ipk")?)
        .attribute_definitions(attribute("isk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(INDEX)
                .key_schema(key("ipk", KeyType::Hash)?)
                .key_schema(key("isk", KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(built)?,
        )
        .send()
        .await
        .map_err(|e| store_error(e, |_| false))?;
    for _ in 0..100 {
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| store_error(e, |_| false))?;
        if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(unavailable(format!("table {table} did not become active")))
}
