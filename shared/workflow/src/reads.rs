//! Reading executions back: the head and snapshot (chunked), a live execution, its history
//! by pages, and the summaries the listing shows.

use keiyaku_core::ports::Query;
use keiyaku_states::{Execution, HistoryEvent};
use serde_json::Value;

use layout::{Chunk, Head};

use crate::{
    ExecutionId, ExecutionSummary, HistoryPage, Inner, Live, PAGE, Result, WorkflowError, layout,
};

pub(crate) fn summary(id: &ExecutionId, machine: &str, exec: &Execution) -> ExecutionSummary {
    ExecutionSummary {
        id: id.clone(),
        machine: machine.to_string(),
        name: exec.name().to_string(),
        status: exec.status(),
        start_date: exec.start_date(),
        stop_date: exec.stop_date(),
    }
}

impl Inner {
    pub(crate) async fn read_head(&self, id: &ExecutionId) -> Result<(Head, u64)> {
        let item = self
            .items
            .get(&layout::head_key(id))
            .await?
            .ok_or_else(|| WorkflowError::ExecutionDoesNotExist(id.to_string()))?;
        Ok((serde_json::from_value(item.body)?, item.version))
    }

    /// The head and the snapshot as a JSON document, and the version.
    pub(crate) async fn read_snapshot_value(&self, id: &ExecutionId) -> Result<(Head, Value, u64)> {
        let (head, version) = self.read_head(id).await?;
        let mut text = head.data.clone();
        if head.parts > 1 {
            let page = self
                .items
                .query(&Query {
                    pk: layout::exec_pk(id),
                    sk_prefix: layout::PART_PREFIX.into(),
                    after: None,
                    descending: false,
                    limit: 1000,
                })
                .await?;
            let chunks: Vec<Chunk> = page
                .items
                .into_iter()
                .map(|i| serde_json::from_value(i.body))
                .collect::<Result<_, _>>()?;
            if chunks.len() != head.parts - 1
                || chunks.iter().enumerate().any(|(n, c)| c.chunk != n + 1)
            {
                return Err(WorkflowError::Corrupt(format!(
                    "execution {id}: snapshot parts missing"
                )));
            }
            chunks.iter().for_each(|c| text.push_str(&c.data));
        }
        Ok((head, serde_json::from_str(&text)?, version))
    }

    /// The execution without its history (enough to describe it).
    pub(crate) async fn read_snapshot(&self, id: &ExecutionId) -> Result<(Head, Execution)> {
        let (head, snapshot, _) = self.read_snapshot_value(id).await?;
        Ok((head, serde_json::from_value(snapshot)?))
    }

    /// The execution, ready for inputs. Its history is not read: the snapshot carries the
    /// event counter, so new events continue the ids.
    pub(crate) async fn load(&self, id: &ExecutionId) -> Result<Live> {
        let (head, mut snapshot, version) = self.read_snapshot_value(id).await?;
        if let Some(o) = snapshot.as_object_mut()
            && !o.contains_key("events")
        {
            // A snapshot written before the engine kept its own counter (its history was
            // stored empty): the head's event count is the counter.
            o.insert("events".into(), Value::from(head.events as u64));
        }
        Ok(Live {
            exec: serde_json::from_value(snapshot)?,
            version,
            machine: head.machine,
            definition: head.definition,
            parts: head.parts,
            submitted: head.submitted.into_iter().collect(),
        })
    }

    /// Reads event records in order from after sort key `after`, handing each record's
    /// events to `f` until it returns true (enough).
    pub(crate) async fn scan_events(
        &self,
        id: &ExecutionId,
        mut after: Option<String>,
        mut f: impl FnMut(Vec<Value>) -> bool,
    ) -> Result<()> {
        let mut buffer = String::new();
        loop {
            let page = self
                .items
                .query(&Query {
                    pk: layout::exec_pk(id),
                    sk_prefix: layout::EVENT_PREFIX.into(),
                    after: after.clone(),
                    descending: false,
                    limit: PAGE,
                })
                .await?;
            for item in page.items {
                let chunk: Chunk = serde_json::from_value(item.body)?;
                if chunk.chunk == 0 && !buffer.is_empty() {
                    return Err(WorkflowError::Corrupt(format!(
                        "execution {id}: an events record is incomplete"
                    )));
                }
                buffer.push_str(&chunk.data);
                if chunk.chunk + 1 == chunk.chunks {
                    let record: Vec<Value> = serde_json::from_str(&buffer)?;
                    buffer.clear();
                    if f(record) {
                        return Ok(());
                    }
                }
            }
            match page.next {
                Some(n) => after = Some(n),
                None if buffer.is_empty() => return Ok(()),
                None => {
                    return Err(WorkflowError::Corrupt(format!(
                        "execution {id}: the last events record is incomplete"
                    )));
                }
            }
        }
    }

    pub(crate) async fn history(
        &self,
        id: &ExecutionId,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<HistoryPage> {
        let after_event: u64 = match cursor {
            None => 0,
            Some(c) => c.parse().map_err(|_| WorkflowError::InvalidToken)?,
        };
        // A Distributed Map's child has no head: its history is read to its end.
        let (total, child) = match self.read_head(id).await {
            Ok((head, _)) => (head.events as u64, false),
            Err(WorkflowError::ExecutionDoesNotExist(e)) => {
                if !self.is_child(id).await? {
                    return Err(WorkflowError::ExecutionDoesNotExist(e));
                }
                (u64::MAX, true)
            }
            Err(e) => return Err(e),
        };
        if after_event >= total {
            return Ok(HistoryPage {
                events: Vec::new(),
                next: None,
            });
        }
        // The record holding event after_event + 1 is the last one starting at or before
        // it.
        let start = if after_event == 0 {
            None
        } else {
            let page = self
                .items
                .query(&Query {
                    pk: layout::exec_pk(id),
                    sk_prefix: layout::EVENT_PREFIX.into(),
                    after: Some(layout::events_after(after_event + 1)),
                    descending: true,
                    limit: 1,
                })
                .await?;
            let first = page
                .items
                .first()
                .and_then(|i| layout::event_record_first(&i.key.sk))
                .ok_or_else(|| WorkflowError::Corrupt(format!("execution {id}: events missing")))?;
            Some(layout::events_after(first - 1))
        };
        let mut events = Vec::new();
        let mut failed = None;
        self.scan_events(id, start, |record| {
            for v in record {
                match serde_json::from_value::<HistoryEvent>(v) {
                    Ok(e) if e.id > after_event && events.len() < limit => events.push(e),
                    Ok(_) => {}
                    Err(e) => failed = Some(e),
                }
            }
            events.len() >= limit || failed.is_some()
        })
        .await?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        let last = events.last().map(|e| e.id).unwrap_or(total);
        let more = if child {
            events.len() == limit
        } else {
            last < total
        };
        Ok(HistoryPage {
            events,
            next: more.then(|| last.to_string()),
        })
    }
}
