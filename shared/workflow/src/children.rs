//! The child executions of Distributed Map states. The engine hands their events over with
//! each step of the parent; each child is stored as a read-only execution of its own: its
//! history in the same events records a parent's has (so [`Runner::history`] reads it), a
//! start and an end record (so [`Runner::describe_execution`] tells it), and a line in its
//! Map Run's listing ([`Runner::map_run`]). Its tasks are the parent's: they are answered
//! through the parent, whose snapshot holds the child's state.
//!
//! The records are written before the parent's commit, in transactions of their own (a Map
//! Run may start hundreds of children in one step, beyond one transaction's 100 writes). A
//! step that is not committed is taken again from the last snapshot, which gives the same
//! children the same events, so their records are written over, not duplicated.
//!
//! [`Runner::history`]: crate::Runner::history
//! [`Runner::describe_execution`]: crate::Runner::describe_execution
//! [`Runner::map_run`]: crate::Runner::map_run

use std::collections::BTreeMap;

use keiyaku_core::ports::{Condition, Item, Key, Query, Write};
use keiyaku_states::{ChildEvent, EventType, Status};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::apply::event_record;
use crate::{Description, ExecutionId, ExecutionSummary, Inner, PAGE, Result, layout};

/// DynamoDB's limit on one transaction's writes.
const TRANSACTION_WRITES: usize = 100;

/// A child's id: its parent's and its own name (a UUID).
pub(crate) fn child_id(parent: &ExecutionId, name: &str) -> ExecutionId {
    ExecutionId::new(format!("{parent}-{name}"))
}

fn start_key(id: &ExecutionId) -> Key {
    Key::new(layout::exec_pk(id), "CHILD#START")
}

fn end_key(id: &ExecutionId) -> Key {
    Key::new(layout::exec_pk(id), "CHILD#END")
}

fn run_key(map_run: &str, name: &str) -> Key {
    Key::new(format!("MAPRUN#{map_run}"), name)
}

/// What a child's `ExecutionStarted` tells.
#[derive(Serialize, Deserialize)]
struct Started {
    parent: ExecutionId,
    map_run: String,
    arn: String,
    name: String,
    machine: String,
    input: Value,
    #[serde(with = "time::serde::rfc3339")]
    start: OffsetDateTime,
}

/// What a child's last event tells.
#[derive(Serialize, Deserialize)]
struct Ended {
    status: Status,
    #[serde(with = "time::serde::rfc3339")]
    stop: OffsetDateTime,
    output: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
}

/// One child in its Map Run's listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapRunChild {
    /// The child's id (for describing it and reading its history).
    pub id: ExecutionId,
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: Status,
    /// When it started (unknown for lines stored before dates were kept).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub start_date: Option<OffsetDateTime>,
    /// When it ended.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub stop_date: Option<OffsetDateTime>,
}

fn parsed(text: Option<&str>) -> Value {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

/// The writes that store `events` of the children of execution `parent` (of `machine`).
fn writes(parent: &ExecutionId, machine: &str, events: &[ChildEvent]) -> Result<Vec<Write>> {
    let mut by_child: BTreeMap<&str, Vec<&ChildEvent>> = BTreeMap::new();
    for e in events {
        by_child.entry(&e.name).or_default().push(e);
    }
    let mut writes = Vec::new();
    for (name, events) in by_child {
        let id = child_id(parent, name);
        let history: Vec<_> = events.iter().map(|e| e.event.clone()).collect();
        writes.extend(event_record(&id, &history, Condition::None)?);
        // One line in the Map Run's listing, as the child stands after this step (it may
        // start and end in the same one).
        let mut line: Option<MapRunChild> = None;
        for e in &events {
            let detail = |field: &str| e.event.detail_str(field);
            let (status, ended) = match e.event.kind {
                EventType::ExecutionStarted => {
                    let started = Started {
                        parent: parent.clone(),
                        map_run: e.map_run.clone(),
                        arn: e.execution.clone(),
                        name: e.name.clone(),
                        machine: machine.to_owned(),
                        input: parsed(detail("input")),
                        start: e.event.timestamp,
                    };
                    writes.push(Write::Put {
                        item: Item::new(start_key(&id), serde_json::to_value(started)?),
                        condition: Condition::None,
                    });
                    (Status::Running, None)
                }
                EventType::ExecutionSucceeded => (
                    Status::Succeeded,
                    Some((Some(parsed(detail("output"))), None, None)),
                ),
                EventType::ExecutionFailed => (
                    Status::Failed,
                    Some((
                        None,
                        detail("error").map(str::to_owned),
                        detail("cause").map(str::to_owned),
                    )),
                ),
                EventType::ExecutionAborted => (Status::Aborted, Some((None, None, None))),
                _ => continue,
            };
            line = Some(MapRunChild {
                id: id.clone(),
                name: name.to_owned(),
                status,
                start_date: Some(e.started),
                stop_date: ended.is_some().then_some(e.event.timestamp),
            });
            if let Some((output, error, cause)) = ended {
                let end = Ended {
                    status,
                    stop: e.event.timestamp,
                    output,
                    error,
                    cause,
                };
                writes.push(Write::Put {
                    item: Item::new(end_key(&id), serde_json::to_value(end)?),
                    condition: Condition::None,
                });
            }
        }
        if let (Some(line), Some(e)) = (line, events.first()) {
            writes.push(Write::Put {
                item: Item::new(run_key(&e.map_run, name), serde_json::to_value(line)?),
                condition: Condition::None,
            });
        }
    }
    Ok(writes)
}

impl Inner {
    /// Stores what the children of `parent` recorded in one step.
    pub(crate) async fn store_children(
        &self,
        parent: &ExecutionId,
        machine: &str,
        events: &[ChildEvent],
    ) -> Result<()> {
        let all = writes(parent, machine, events)?;
        let mut rest = all.as_slice();
        while !rest.is_empty() {
            let (now, later) = rest.split_at(rest.len().min(TRANSACTION_WRITES));
            self.items.transact(now.to_vec()).await?;
            rest = later;
        }
        Ok(())
    }

    /// Whether `id` is a Distributed Map's child.
    pub(crate) async fn is_child(&self, id: &ExecutionId) -> Result<bool> {
        Ok(self.items.get(&start_key(id)).await?.is_some())
    }

    /// A child execution as `DescribeExecution` tells it, if `id` is one.
    pub(crate) async fn describe_child(&self, id: &ExecutionId) -> Result<Option<Description>> {
        let Some(start) = self.items.get(&start_key(id)).await? else {
            return Ok(None);
        };
        let start: Started = serde_json::from_value(start.body)?;
        let end: Option<Ended> = match self.items.get(&end_key(id)).await? {
            Some(item) => Some(serde_json::from_value(item.body)?),
            None => None,
        };
        Ok(Some(Description {
            summary: ExecutionSummary {
                id: id.clone(),
                machine: start.machine,
                name: start.name,
                status: end.as_ref().map_or(Status::Running, |e| e.status),
                start_date: start.start,
                stop_date: end.as_ref().map(|e| e.stop),
            },
            execution_arn: start.arn,
            input: start.input,
            output: end.as_ref().and_then(|e| e.output.clone()),
            error: end.as_ref().and_then(|e| e.error.clone()),
            cause: end.and_then(|e| e.cause),
        }))
    }

    /// The children of Map Run `arn`, by name, at most `limit`.
    pub(crate) async fn map_run(&self, arn: &str, limit: usize) -> Result<Vec<MapRunChild>> {
        let mut out = Vec::new();
        let mut after = None;
        while out.len() < limit {
            let page = self
                .items
                .query(&Query {
                    pk: format!("MAPRUN#{arn}"),
                    sk_prefix: String::new(),
                    after: after.take(),
                    descending: false,
                    limit: PAGE.min(limit - out.len()),
                })
                .await?;
            for item in page.items {
                out.push(serde_json::from_value(item.body)?);
            }
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }
}
