//! Applying an input to an execution durably: under the execution's lock, the engine takes
//! the input, and everything it changed (snapshot, new history events, timers, task tokens,
//! listing) is written in one transaction conditioned on the snapshot's version; only then
//! are the new tasks invoked. Starting, callbacks and invocations all go through here.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use keiyaku_core::ports::{Condition, Item, StoreError, Write};
use keiyaku_states::{
    Execution, HandleError, HistoryEvent, Input, Integration, Invocation, Start, StartError,
    Status, TaskId, TaskRef, TimerId,
};
use serde_json::Value;
use time::OffsetDateTime;

use layout::{Chunk, Head, NameRecord, TokenRecord};

use crate::{
    ExecutionId, InFlight, Inner, MAX_ATTEMPTS, MAX_TOKEN_LEN, Result, TaskFailure, WorkflowError,
    check_definition, handler_name, layout, os_token, summary,
};

/// A loaded execution, cached between inputs while its version is known to be current.
pub(crate) struct Live {
    pub(crate) exec: Execution,
    /// The head item's version.
    pub(crate) version: u64,
    pub(crate) machine: String,
    /// The SHA-256 of the definition the execution started under (`None` for executions
    /// recorded before hashes were).
    pub(crate) definition: Option<String>,
    /// How many snapshot chunks are stored.
    pub(crate) parts: usize,
    pub(crate) submitted: BTreeSet<u64>,
}

/// What one step writes: the execution's own records (`main`: snapshot, events, listing),
/// the timers and tokens it opened (`ahead`), and those that ended (`behind`).
pub(crate) struct StepWrites {
    pub(crate) main: Vec<Write>,
    ahead: Vec<Write>,
    behind: Vec<Write>,
}

impl StepWrites {
    /// How many writes in all.
    pub(crate) fn len(&self) -> usize {
        self.main.len() + self.ahead.len() + self.behind.len()
    }
}

/// What the engine made of one input: taken, or refused.
type InputOutcome = std::result::Result<(), HandleError>;

/// The most task results one commit takes (each may close a token and clear timers, and
/// a commit is one transaction of at most 100 writes).
pub(crate) const MAX_BATCH: usize = 16;

/// What was pending before an input, to tell what the input added and removed.
pub(crate) struct Before {
    pub(crate) timers: BTreeMap<TimerId, OffsetDateTime>,
    pub(crate) tasks: BTreeMap<TaskId, Invocation>,
    pub(crate) events: u64,
    pub(crate) status: Option<Status>,
    pub(crate) parts: usize,
}

impl Before {
    fn of(live: &Live) -> Before {
        Before {
            timers: pending_timers(&live.exec),
            tasks: pending_tasks(&live.exec),
            events: live.exec.event_count(),
            status: Some(live.exec.status()),
            parts: live.parts,
        }
    }

    fn nothing() -> Before {
        Before {
            timers: BTreeMap::new(),
            tasks: BTreeMap::new(),
            events: 0,
            status: None,
            parts: 0,
        }
    }
}

pub(crate) fn pending_timers(exec: &Execution) -> BTreeMap<TimerId, OffsetDateTime> {
    exec.pending_timers()
        .into_iter()
        .map(|t| (t.id, t.at))
        .collect()
}

pub(crate) fn pending_tasks(exec: &Execution) -> BTreeMap<TaskId, Invocation> {
    exec.pending_tasks()
        .into_iter()
        .map(|i| (i.task, i))
        .collect()
}

/// Why [`Inner::apply`] did not apply an input.
pub(crate) enum ApplyError {
    /// The engine refused it (the task is no longer pending, the execution has ended).
    Refused,
    /// Something failed.
    Failed(WorkflowError),
}

impl From<WorkflowError> for ApplyError {
    fn from(e: WorkflowError) -> Self {
        ApplyError::Failed(e)
    }
}

impl From<StoreError> for ApplyError {
    fn from(e: StoreError) -> Self {
        ApplyError::Failed(e.into())
    }
}

impl Inner {
    pub(crate) async fn start_execution(
        self: &Arc<Self>,
        machine: &str,
        name: &str,
        input: Value,
    ) -> Result<ExecutionId> {
        self.alive()?;
        let def = self.definition(machine)?;
        if let Some(id) = self.existing(machine, name, &input).await? {
            return Ok(id);
        }
        let now = self.clock.now();
        let start = Start::new(name, input.clone())
            // The seed drives jitter, States.UUID and States.MathRandom only; task tokens
            // come from the OS generator (`os_token`).
            .seed(rand::random())
            .state_machine_arn(format!(
                "arn:aws:states:local:000000000000:stateMachine:{machine}"
            ));
        let (mut exec, _effects) =
            Execution::start(def, start, now, &mut os_token).map_err(|e| match e {
                StartError::InvalidName(n) => WorkflowError::InvalidName(n),
                StartError::InputTooLarge => WorkflowError::InvalidExecutionInput,
            })?;
        let id = ExecutionId::random();
        let events = exec.take_history();
        let children = exec.take_child_history();
        let mut live = Live {
            exec,
            version: 0,
            machine: machine.to_string(),
            definition: Some(def.sha256_hex().to_string()),
            parts: 0,
            submitted: BTreeSet::new(),
        };
        self.store_children(&id, machine, &children).await?;
        let (mut writes, parts) = self.writes(&id, &live, &Before::nothing(), &events, now)?;
        writes.main.push(Write::Put {
            item: Item::new(
                layout::name_key(machine, name),
                serde_json::to_value(NameRecord {
                    execution: id.clone(),
                    input: input.clone(),
                })?,
            ),
            condition: Condition::NotExists,
        });
        self.alive()?;
        match self.commit(writes).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed) => {
                // Another start of the same name won the race: same rule as above.
                return self
                    .existing(machine, name, &input)
                    .await?
                    .ok_or(WorkflowError::Conflict);
            }
            Err(e) => return Err(e.into()),
        }
        live.version = 1;
        live.parts = parts;
        let tasks: Vec<Invocation> = live.exec.pending_tasks();
        let timers = !live.exec.pending_timers().is_empty();
        if live.exec.status() == Status::Running {
            *self.slot(&id).lock().await = Some(live);
        }
        self.fp("workflow.started_before_invoke")?;
        for inv in tasks {
            self.spawn_invocation(id.clone(), inv, false);
        }
        if timers {
            self.wake.notify_one();
        }
        Ok(id)
    }

    /// The execution holding `name` under `machine`.
    pub(crate) async fn named(&self, machine: &str, name: &str) -> Result<ExecutionId> {
        let item = self.items.get(&layout::name_key(machine, name)).await?;
        let item = item.ok_or_else(|| WorkflowError::ExecutionDoesNotExist(name.to_string()))?;
        Ok(serde_json::from_value::<NameRecord>(item.body)?.execution)
    }

    /// The execution already holding `name`, when a start with `input` may return it.
    pub(crate) async fn existing(
        &self,
        machine: &str,
        name: &str,
        input: &Value,
    ) -> Result<Option<ExecutionId>> {
        let Some(item) = self.items.get(&layout::name_key(machine, name)).await? else {
            return Ok(None);
        };
        let record: NameRecord = serde_json::from_value(item.body)?;
        let head = self.read_head(&record.execution).await?.0;
        if head.status == Status::Running && record.input == *input {
            Ok(Some(record.execution))
        } else {
            Err(WorkflowError::ExecutionAlreadyExists(name.to_string()))
        }
    }

    /// Applies one input to an execution and commits the result; then invokes the tasks it
    /// scheduled. A commit that loses to another writer reloads and tries again.
    /// Returns whether anything changed (an ignored timer or a heartbeat for a task without
    /// `HeartbeatSeconds` changes nothing and writes nothing).
    pub(crate) async fn apply(
        self: &Arc<Self>,
        id: &ExecutionId,
        input: Input,
    ) -> Result<bool, ApplyError> {
        let (mut outcomes, changed) = self.apply_all(id, vec![input], false).await?;
        match outcomes.pop() {
            Some(Err(_)) => Err(ApplyError::Refused),
            _ => Ok(changed),
        }
    }

    /// A task's result: queued for its execution, then applied with the other results
    /// queued meanwhile in one commit (when many tasks end at once, as a Map's iterations
    /// do, a commit takes up to [`MAX_BATCH`] of them instead of one each).
    pub(crate) async fn deliver_result(self: &Arc<Self>, id: &ExecutionId, input: Input) {
        self.queued_results
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(id.clone())
            .or_default()
            .push(input);
        match self.apply_all(id, Vec::new(), true).await {
            Ok((outcomes, _)) => {
                for e in outcomes.into_iter().filter_map(Result::err) {
                    // Stopped, timed out or answered meanwhile: the result is not wanted.
                    tracing::debug!(execution = %id, error = %e, "task result dropped");
                }
            }
            Err(WorkflowError::Stopped) => {}
            Err(e) => {
                // The tasks stay pending; recovery at the next start invokes them again.
                tracing::warn!(execution = %id, error = %e, "task results not recorded");
            }
        }
    }

    /// Applies `inputs` (and, with `queued`, every task result queued for the execution
    /// when its lock is taken) in order, and commits once. Returns each input's outcome
    /// (the engine may refuse one, whose task is no longer pending, and take the others)
    /// and whether anything changed.
    async fn apply_all(
        self: &Arc<Self>,
        id: &ExecutionId,
        mut inputs: Vec<Input>,
        queued: bool,
    ) -> Result<(Vec<InputOutcome>, bool), WorkflowError> {
        for _ in 0..MAX_ATTEMPTS {
            self.alive()?;
            let slot = self.slot(id);
            let mut guard = slot.lock().await;
            if queued {
                let mut waiting = self
                    .queued_results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                #[cfg(not(test))]
                let most = MAX_BATCH;
                #[cfg(test)]
                let most = self.batch_limit.load(Ordering::SeqCst);
                if let Some(queue) = waiting.get_mut(id) {
                    let n = queue.len().min(most.saturating_sub(inputs.len()));
                    inputs.extend(queue.drain(..n));
                    if queue.is_empty() {
                        waiting.remove(id);
                    }
                }
            }
            if inputs.is_empty() {
                // Another delivery took this result with its own.
                return Ok((Vec::new(), false));
            }
            if guard.is_none() {
                *guard = Some(self.load(id).await?);
            }
            let Some(live) = guard.as_mut() else {
                continue;
            };
            let def = self.definition(&live.machine)?;
            check_definition(id, live, def)?;
            let before = Before::of(live);
            let now = self.clock.now();
            let mut outcomes = Vec::with_capacity(inputs.len());
            let mut effects = Vec::new();
            for input in &inputs {
                // A re-invoked `.waitForTaskToken` task is acknowledged again; its
                // TaskSubmitted is recorded once.
                if let Input::TaskSubmitted {
                    task: TaskRef::Id(t),
                    ..
                } = input
                    && live.submitted.contains(&t.0)
                {
                    outcomes.push(Ok(()));
                    continue;
                }
                match live.exec.handle(def, input.clone(), now, &mut os_token) {
                    Ok(e) => {
                        effects.extend(e);
                        if let Input::TaskSubmitted {
                            task: TaskRef::Id(t),
                            ..
                        } = input
                        {
                            live.submitted.insert(t.0);
                        }
                        outcomes.push(Ok(()));
                    }
                    Err(e) => outcomes.push(Err(e)),
                }
            }
            let events = live.exec.take_history();
            let children = live.exec.take_child_history();
            if effects.is_empty() && events.is_empty() && children.is_empty() {
                return Ok((outcomes, false));
            }
            if let Err(e) = self.store_children(id, &live.machine, &children).await {
                *guard = None;
                return Err(e);
            }
            let after = pending_tasks(&live.exec);
            live.submitted.retain(|t| after.contains_key(&TaskId(*t)));
            let written = self.writes(id, live, &before, &events, now);
            #[cfg(not(test))]
            let most_writes = keiyaku_core::ports::MAX_TRANSACTION_ITEMS;
            #[cfg(test)]
            let most_writes = self.batch_writes.load(Ordering::SeqCst);
            if let Ok((writes, _)) = &written
                && writes.len() > most_writes
                && inputs.len() > 1
            {
                // Too much for one transaction: the later half waits for the next commit
                // (its own delivery is still waiting for the lock and takes it then).
                let later = inputs.split_off(inputs.len() / 2);
                let mut waiting = self
                    .queued_results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                waiting.entry(id.clone()).or_default().splice(0..0, later);
                *guard = None;
                continue;
            }
            let committed = match written {
                Ok((writes, parts)) => match self.alive() {
                    Ok(()) => self.commit(writes).await.map(|()| parts),
                    Err(e) => {
                        *guard = None;
                        return Err(e);
                    }
                },
                Err(e) => {
                    *guard = None;
                    return Err(e);
                }
            };
            let parts = match committed {
                Ok(parts) => parts,
                Err(StoreError::ConditionFailed) => {
                    #[cfg(test)]
                    self.lost_races.fetch_add(1, Ordering::SeqCst);
                    // Another writer moved the execution on: our cached copy (now also
                    // changed by this attempt) is stale. Reload and apply to the fresh one.
                    *guard = None;
                    continue;
                }
                Err(e) => {
                    *guard = None;
                    return Err(e.into());
                }
            };
            live.version += 1;
            live.parts = parts;
            #[cfg(test)]
            self.commits.fetch_add(1, Ordering::SeqCst);
            let added: Vec<Invocation> = after
                .into_iter()
                .filter(|(t, _)| !before.tasks.contains_key(t))
                .map(|(_, inv)| inv)
                .collect();
            let new_timer = live
                .exec
                .pending_timers()
                .iter()
                .any(|t| !before.timers.contains_key(&t.id));
            if live.exec.status() != Status::Running {
                // Nothing more will be applied: free the memory.
                *guard = None;
            }
            drop(guard);
            self.fp("workflow.persisted_before_next_invoke")?;
            for inv in added {
                self.spawn_invocation(id.clone(), inv, false);
            }
            if new_timer {
                self.wake.notify_one();
            }
            return Ok((outcomes, true));
        }
        Err(WorkflowError::Conflict)
    }

    /// Everything a commit writes: the snapshot (head and parts), the new events, timers
    /// and tokens that appeared or went, and the listing when the status changed. Returns
    /// the writes and the snapshot's new part count.
    pub(crate) fn writes(
        &self,
        id: &ExecutionId,
        live: &Live,
        before: &Before,
        new_events: &[HistoryEvent],
        now: OffsetDateTime,
    ) -> Result<(StepWrites, usize)> {
        let exec = &live.exec;
        let mut writes = Vec::new();
        let (mut ahead, mut behind) = (Vec::new(), Vec::new());

        // The snapshot: the engine leaves the history out of it (it keeps only the event
        // counter), so its size does not grow with the events, which are items of their own.
        let text = serde_json::to_string(exec)?;
        let pieces = layout::split(&text);
        let head = Head {
            machine: live.machine.clone(),
            name: exec.name().to_string(),
            status: exec.status(),
            start: exec.start_date(),
            stop: exec.stop_date(),
            events: exec.event_count() as usize,
            definition: live.definition.clone(),
            parts: pieces.len(),
            submitted: live.submitted.iter().copied().collect(),
            data: pieces[0].to_string(),
        };
        let mut head_item = Item::new(layout::head_key(id), serde_json::to_value(&head)?);
        head_item.version = live.version + 1;
        writes.push(Write::Put {
            item: head_item,
            condition: if before.status.is_none() {
                Condition::NotExists
            } else {
                Condition::Version(live.version)
            },
        });
        for (n, piece) in pieces.iter().enumerate().skip(1) {
            writes.push(Write::Put {
                item: Item::new(
                    layout::part_key(id, n),
                    serde_json::to_value(Chunk {
                        chunk: n,
                        chunks: pieces.len(),
                        data: piece.to_string(),
                    })?,
                ),
                condition: Condition::None,
            });
        }
        for n in pieces.len()..before.parts {
            writes.push(Write::Delete {
                key: layout::part_key(id, n),
                condition: Condition::None,
            });
        }

        // The events this commit appended, as one record.
        debug_assert_eq!(
            before.events + new_events.len() as u64,
            exec.event_count(),
            "the new events are exactly those since the last commit"
        );
        writes.extend(event_record(id, new_events, Condition::NotExists)?);

        // Timers.
        let timers = pending_timers(exec);
        for (t, at) in &before.timers {
            if !timers.contains_key(t) {
                behind.push(Write::Delete {
                    key: layout::timer_key(*at, id, *t),
                    condition: Condition::None,
                });
            }
        }
        for (t, at) in &timers {
            if !before.timers.contains_key(t) {
                ahead.push(Write::Put {
                    item: layout::timer_item(*at, id, *t),
                    condition: Condition::None,
                });
            }
        }

        // Task tokens: open while the task is pending, closed (kept a while) after.
        let tasks = pending_tasks(exec);
        let token_item = |inv: &Invocation, token: &str, closed: bool| -> Result<Item> {
            let mut item = Item::new(
                layout::token_key(token),
                serde_json::to_value(TokenRecord {
                    execution: id.clone(),
                    task: inv.task.0,
                    closed,
                })?,
            );
            if closed {
                item.expires_at = Some(now.unix_timestamp() + layout::CLOSED_TOKEN_SECONDS);
            }
            Ok(item)
        };
        for (t, inv) in &before.tasks {
            if let (false, Some(token)) = (tasks.contains_key(t), &inv.token) {
                behind.push(Write::Put {
                    item: token_item(inv, token, true)?,
                    condition: Condition::None,
                });
            }
        }
        for (t, inv) in &tasks {
            if let (false, Some(token)) = (before.tasks.contains_key(t), &inv.token) {
                ahead.push(Write::Put {
                    item: token_item(inv, token, false)?,
                    condition: Condition::None,
                });
            }
        }

        // The listing, when the status is new.
        if before.status != Some(exec.status()) {
            let body = serde_json::to_value(summary(id, &live.machine, exec))?;
            let start = exec.start_date();
            if let Some(old) = before.status {
                writes.push(Write::Delete {
                    key: layout::list_key(Some(old), start, id),
                    condition: Condition::None,
                });
            }
            writes.push(Write::Put {
                item: Item::new(
                    layout::list_key(Some(exec.status()), start, id),
                    body.clone(),
                ),
                condition: Condition::None,
            });
            writes.push(Write::Put {
                item: Item::new(layout::list_key(None, start, id), body),
                condition: Condition::None,
            });
        }
        let step = StepWrites {
            main: writes,
            ahead,
            behind,
        };
        Ok((step, pieces.len()))
    }

    /// Commits a step: in one transaction when it fits in one. When it does not (a Map that
    /// starts or ends many timed tasks at once), the new timers and tokens are written first
    /// in transactions of their own, then the execution's own records, then what ended is
    /// removed: a timer or token the execution does not hold is harmless (the engine ignores
    /// the timer when it fires, and refuses the token).
    pub(crate) async fn commit(&self, step: StepWrites) -> Result<(), StoreError> {
        const MOST: usize = keiyaku_core::ports::MAX_TRANSACTION_ITEMS;
        let StepWrites {
            mut main,
            ahead,
            behind,
        } = step;
        if main.len() + ahead.len() + behind.len() <= MOST {
            main.extend(ahead);
            main.extend(behind);
            return self.items.transact(main).await;
        }
        for chunk in ahead.chunks(MOST) {
            self.items.transact(chunk.to_vec()).await?;
        }
        self.items.transact(main).await?;
        for chunk in behind.chunks(MOST) {
            if let Err(e) = self.items.transact(chunk.to_vec()).await {
                tracing::warn!(error = %e, "ended timers and tokens not removed (harmless)");
            }
        }
        Ok(())
    }

    /// Looks up a task token and applies the callback's input to its execution.
    pub(crate) async fn callback(
        self: &Arc<Self>,
        token: &str,
        input: impl FnOnce(TaskRef) -> Input,
    ) -> Result<()> {
        self.alive()?;
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(WorkflowError::InvalidToken);
        }
        let item = self
            .items
            .get(&layout::token_key(token))
            .await?
            .ok_or(WorkflowError::TaskDoesNotExist)?;
        let record: TokenRecord = serde_json::from_value(item.body)?;
        if record.closed {
            return Err(WorkflowError::TaskTimedOut);
        }
        self.fp("workflow.callback_before_persist")?;
        match self
            .apply(&record.execution, input(TaskRef::Token(token.to_string())))
            .await
        {
            Ok(_) => Ok(()),
            // Answered, timed out or stopped meanwhile (the engine compares the token).
            Err(ApplyError::Refused) => Err(WorkflowError::TaskTimedOut),
            Err(ApplyError::Failed(WorkflowError::ExecutionDoesNotExist(_))) => {
                Err(WorkflowError::TaskDoesNotExist)
            }
            Err(ApplyError::Failed(e)) => Err(e),
        }
    }

    /// Calls a task's handler in the background and applies its result.
    pub(crate) fn spawn_invocation(
        self: &Arc<Self>,
        id: ExecutionId,
        inv: Invocation,
        again: bool,
    ) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let inner = self.clone();
        tokio::spawn(async move {
            let _in_flight = InFlight(inner.clone());
            if inner.alive().is_err() {
                return;
            }
            let handler = handler_name(&inv.function).to_string();
            tracing::debug!(execution = %id, task = inv.task.0, %handler, again, "invoking task");
            let handlers = inner.handlers.clone();
            let (payload, token) = (inv.payload.clone(), inv.token.clone());
            let result = match inv.integration {
                Integration::S3GetObject => {
                    crate::buckets::get_object(inner.objects.as_deref(), &payload).await
                }
                Integration::S3ListObjectsV2 => {
                    crate::buckets::list_objects(inner.objects.as_deref(), &payload).await
                }
                Integration::S3PutObject => {
                    crate::buckets::put_object(inner.objects.as_deref(), &payload).await
                }
                // The call runs in a task of its own so a panicking handler is a task
                // failure (as a crashed Lambda is), not a lost result.
                _ => tokio::spawn(async move { handlers.invoke(&handler, payload, token).await })
                    .await
                    .unwrap_or_else(|e| {
                        Err(TaskFailure::new(
                            "Lambda.Unknown",
                            format!("the handler did not finish: {e}"),
                        ))
                    }),
            };
            if inner.fp("workflow.invoked_before_persist").is_err() {
                return;
            }
            let task = TaskRef::Id(inv.task);
            let input = match result {
                Ok(output) if inv.token.is_some() => Input::TaskSubmitted { task, output },
                Ok(output) => Input::TaskSucceeded { task, output },
                Err(f) => Input::TaskFailed {
                    task,
                    error: f.error,
                    cause: f.cause,
                },
            };
            inner.deliver_result(&id, input).await;
        });
    }
}

/// The writes of one events record: `events` (consecutive, of execution `id`) cut into
/// chunks under the first one's id.
pub(crate) fn event_record(
    id: &ExecutionId,
    events: &[HistoryEvent],
    condition: Condition,
) -> Result<Vec<Write>> {
    let Some(first) = events.first() else {
        return Ok(Vec::new());
    };
    let text = serde_json::to_string(events)?;
    let pieces = layout::split(&text);
    pieces
        .iter()
        .enumerate()
        .map(|(n, piece)| {
            Ok(Write::Put {
                item: Item::new(
                    layout::events_key(id, first.id, n),
                    serde_json::to_value(Chunk {
                        chunk: n,
                        chunks: pieces.len(),
                        data: piece.to_string(),
                    })?,
                ),
                condition: condition.clone(),
            })
        })
        .collect()
}
