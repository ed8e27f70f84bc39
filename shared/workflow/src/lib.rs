//! keiyaku-workflow: the local shape's durable executor. It runs `keiyaku-states`
//! executions (the sans-IO ASL engine) on the core ports — state in the [`ItemStore`], time
//! from the [`Clock`] — and calls the task handlers, with Step Functions' API as its own:
//! start (idempotent by name), callbacks by task token, stop, describe, list, history.
//!
//! Durability: every input is applied to the engine under a per-execution lock, and
//! everything it changed (snapshot, new history events, timers, task tokens, listing) is
//! written in one transaction conditioned on the snapshot's version; only then are the new
//! tasks invoked. A crash therefore loses at most the invocations that were in flight, and
//! [`Runner::recover`] invokes every pending task again: invocations happen at least once,
//! and the handlers make their effects happen exactly once. See `layout.rs` for the items.
//!
//! Handlers are named by the last segment of the Lambda function the definition resolved:
//! substitutions map each `${Name}` to `arn:aws:lambda:<region>:<account>:function:<handler>`
//! (see [`handler_name`]).

#![warn(missing_docs)]

mod error;
mod failpoint;
mod layout;
mod port;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use keiyaku_core::clock::Clock;
use keiyaku_core::ports::{Condition, Item, ItemStore, Query, StoreError, Write};
use keiyaku_states::{
    Definition, Execution, HandleError, HistoryEvent, Input, Invocation, Start, StartError, Status,
    TOKEN_BYTES, TaskId, TaskRef, TimerId,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::Notify;

pub use error::WorkflowError;
pub use failpoint::{FAILPOINT_EXIT_CODE, FAILPOINTS, failpoint};
pub use port::{CONTRACT, contract_machine, substitutions};

use layout::{Chunk, Head, NameRecord, TokenRecord};

/// A result of the workflow API.
pub type Result<T, E = WorkflowError> = std::result::Result<T, E>;

/// How often a write that lost a race to another writer is retried on fresh state.
const MAX_ATTEMPTS: usize = 8;
/// Longest accepted task token (Step Functions' limit).
const MAX_TOKEN_LEN: usize = 1024;
/// Items read per query page.
const PAGE: usize = 200;

/// An execution's id: opaque, URL-safe (lowercase hex), unique across state machines.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExecutionId(String);

impl ExecutionId {
    /// An id as given (e.g. from a URL); whether it exists is for the runner to say.
    pub fn new(id: impl Into<String>) -> ExecutionId {
        ExecutionId(id.into())
    }

    fn random() -> ExecutionId {
        ExecutionId(hex::encode(rand::random::<[u8; 16]>()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ExecutionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A state machine the runner can start: its name (the last segment of its ARN, unique)
/// and its parsed definition.
pub struct Machine {
    /// The state machine's name, e.g. `contract`. Must not contain `#` or `:`.
    pub name: String,
    /// The definition, parsed with its substitutions.
    pub definition: Definition,
}

/// A handler's failure: what a Lambda function's error reports (`errorType`, message), and
/// what `Retry`/`Catch` match on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    /// The error name, e.g. `Keiyaku.Retryable`.
    pub error: String,
    /// The cause text.
    pub cause: String,
}

impl TaskFailure {
    /// A failure from its two parts.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> TaskFailure {
        TaskFailure {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

/// The task handlers (the local stand-ins for the Lambda functions). Called at least once
/// per task: a call may be repeated after a restart, so each must be idempotent.
#[async_trait]
pub trait TaskHandlers: Send + Sync {
    /// Runs handler `handler` (see [`handler_name`]) on `payload`. For a
    /// `.waitForTaskToken` task `token` is the task token (also inside the payload, where
    /// the definition put it), and the returned value only acknowledges the request: the
    /// task's result comes later through [`Runner::send_task_success`] or
    /// [`Runner::send_task_failure`].
    async fn invoke(
        &self,
        handler: &str,
        payload: Value,
        token: Option<String>,
    ) -> Result<Value, TaskFailure>;
}

/// The handler a task's function names: for a Lambda ARN
/// `arn:aws:lambda:<region>:<account>:function:<handler>[:<qualifier>]` the segment after
/// `function:` (a version or alias qualifier is ignored); for anything else (a bare name, an
/// unresolved `${Name}`) the last `:`-separated segment.
pub fn handler_name(function: &str) -> &str {
    match function.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => function.rsplit(':').next().unwrap_or(function),
    }
}

/// One line of the executions listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionSummary {
    /// The execution's id.
    pub id: ExecutionId,
    /// Its state machine.
    pub machine: String,
    /// Its name (unique per state machine).
    pub name: String,
    /// Its status.
    pub status: Status,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub start_date: OffsetDateTime,
    /// When it ended.
    #[serde(with = "time::serde::rfc3339::option")]
    pub stop_date: Option<OffsetDateTime>,
}

/// A page of the listing, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionPage {
    /// The executions.
    pub executions: Vec<ExecutionSummary>,
    /// The cursor for the next page, when there may be one.
    pub next: Option<String>,
}

/// What `DescribeExecution` tells.
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    /// The listing fields.
    pub summary: ExecutionSummary,
    /// The execution ARN (`$$.Execution.Id`).
    pub execution_arn: String,
    /// The input.
    pub input: Value,
    /// The output, once succeeded.
    pub output: Option<Value>,
    /// The error, once failed, timed out or aborted.
    pub error: Option<String>,
    /// The cause, once failed, timed out or aborted.
    pub cause: Option<String>,
}

/// A page of history events, oldest first, with consecutive ids.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPage {
    /// The events.
    pub events: Vec<HistoryEvent>,
    /// The cursor for the next page, when there are more events now.
    pub next: Option<String>,
}

/// A task token's 256 bits, from the operating system's CSPRNG: a token is the only
/// credential a callback presents, so it must not be predictable from other tokens or from
/// the execution's seed.
fn os_token() -> [u8; TOKEN_BYTES] {
    let mut b = [0u8; TOKEN_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

/// A loaded execution, cached between inputs while its version is known to be current.
struct Live {
    exec: Execution,
    /// The head item's version.
    version: u64,
    machine: String,
    /// The SHA-256 of the definition the execution started under (`None` for executions
    /// recorded before hashes were).
    definition: Option<String>,
    /// How many snapshot chunks are stored.
    parts: usize,
    submitted: BTreeSet<u64>,
}

/// What was pending before an input, to tell what the input added and removed.
struct Before {
    timers: BTreeMap<TimerId, OffsetDateTime>,
    tasks: BTreeMap<TaskId, Invocation>,
    events: u64,
    status: Option<Status>,
    parts: usize,
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

fn pending_timers(exec: &Execution) -> BTreeMap<TimerId, OffsetDateTime> {
    exec.pending_timers()
        .into_iter()
        .map(|t| (t.id, t.at))
        .collect()
}

fn pending_tasks(exec: &Execution) -> BTreeMap<TaskId, Invocation> {
    exec.pending_tasks()
        .into_iter()
        .map(|i| (i.task, i))
        .collect()
}

/// Why [`Inner::apply`] did not apply an input.
enum ApplyError {
    /// The engine refused it (the task is no longer pending, the execution has ended).
    Refused(HandleError),
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

type Slot = Arc<tokio::sync::Mutex<Option<Live>>>;

struct Inner {
    items: Arc<dyn ItemStore>,
    clock: Arc<dyn Clock>,
    handlers: Arc<dyn TaskHandlers>,
    machines: HashMap<String, Definition>,
    /// One lock per execution; its content is the cached execution, `None` when it must be
    /// (re)loaded. Entries are small and stay for the process's life.
    slots: Mutex<HashMap<ExecutionId, Slot>>,
    /// Wakes the timer loop: a timer was set, or recovery ran.
    wake: Notify,
    /// Handler calls in flight, and its signal for [`Runner::idle`].
    in_flight: AtomicUsize,
    idle: Notify,
    /// Set when a simulated crash happened: nothing more is written or invoked.
    dead: AtomicBool,
    /// Test hook: crash at the n-th pass of this failpoint (simulating the exit).
    #[cfg(test)]
    crash_at: Mutex<Option<(String, usize)>>,
    /// Test probe: commits refused by the version condition.
    #[cfg(test)]
    lost_races: AtomicUsize,
}

/// Decrements the in-flight count when a handler call's task ends, however it ends.
struct InFlight(Arc<Inner>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// The durable executor: cheap to clone (a handle on shared state).
#[derive(Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

impl Runner {
    /// A runner over `items`, reading time from `clock`, calling `handlers`, able to start
    /// `machines`. Call [`Runner::recover`] once at startup and spawn [`Runner::run`].
    pub fn new(
        items: Arc<dyn ItemStore>,
        clock: Arc<dyn Clock>,
        handlers: Arc<dyn TaskHandlers>,
        machines: Vec<Machine>,
    ) -> Runner {
        Runner {
            inner: Arc::new(Inner {
                items,
                clock,
                handlers,
                machines: machines
                    .into_iter()
                    .map(|m| (m.name, m.definition))
                    .collect(),
                slots: Mutex::new(HashMap::new()),
                wake: Notify::new(),
                in_flight: AtomicUsize::new(0),
                idle: Notify::new(),
                dead: AtomicBool::new(false),
                #[cfg(test)]
                crash_at: Mutex::new(None),
                #[cfg(test)]
                lost_races: AtomicUsize::new(0),
            }),
        }
    }

    /// `StartExecution`: starts `machine` with `input` under `name`. A running execution of
    /// that name with an equal input is returned as it is (a retried start is harmless);
    /// another input, or an ended execution, is `ExecutionAlreadyExists` (Step Functions'
    /// rule for standard workflows).
    pub async fn start_execution(
        &self,
        machine: &str,
        name: &str,
        input: Value,
    ) -> Result<ExecutionId> {
        self.inner.start_execution(machine, name, input).await
    }

    /// `SendTaskSuccess`: the `.waitForTaskToken` task with this token succeeded with
    /// `output`.
    pub async fn send_task_success(&self, token: &str, output: Value) -> Result<()> {
        self.inner
            .callback(token, |task| Input::TaskSucceeded { task, output })
            .await
    }

    /// `SendTaskFailure`: the task with this token failed with `error` and `cause`.
    pub async fn send_task_failure(&self, token: &str, error: &str, cause: &str) -> Result<()> {
        let (error, cause) = (error.to_string(), cause.to_string());
        self.inner
            .callback(token, |task| Input::TaskFailed { task, error, cause })
            .await
    }

    /// `SendTaskHeartbeat`: restarts the task's `HeartbeatSeconds` clock.
    pub async fn send_task_heartbeat(&self, token: &str) -> Result<()> {
        self.inner
            .callback(token, |task| Input::TaskHeartbeat { task })
            .await
    }

    /// `StopExecution`: aborts a running execution (its pending tasks are cancelled, their
    /// tokens answer `TaskTimedOut`). Stopping an ended execution changes nothing.
    pub async fn stop_execution(
        &self,
        id: &ExecutionId,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<()> {
        match self.inner.apply(id, Input::Stop { error, cause }).await {
            Ok(_) | Err(ApplyError::Refused(_)) => Ok(()),
            Err(ApplyError::Failed(e)) => Err(e),
        }
    }

    /// `DescribeExecution`.
    pub async fn describe_execution(&self, id: &ExecutionId) -> Result<Description> {
        let (head, exec) = self.inner.read_snapshot(id).await?;
        Ok(Description {
            summary: summary(id, &head.machine, &exec),
            execution_arn: exec.execution_arn().to_string(),
            input: exec.input().clone(),
            output: exec.output().cloned(),
            error: exec.error().map(str::to_string),
            cause: exec.cause().map(str::to_string),
        })
    }

    /// `ListExecutions`: newest first, optionally only those with `status`; `cursor` is a
    /// previous page's `next`; at most `limit` (1 to 1000) per page.
    pub async fn list_executions(
        &self,
        status: Option<Status>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ExecutionPage> {
        let page = self
            .inner
            .items
            .query(&Query {
                pk: layout::list_pk(status),
                sk_prefix: String::new(),
                after: cursor.map(str::to_string),
                descending: true,
                limit: limit.clamp(1, 1000),
            })
            .await?;
        let executions = page
            .items
            .into_iter()
            .map(|i| serde_json::from_value(i.body))
            .collect::<Result<_, _>>()?;
        Ok(ExecutionPage {
            executions,
            next: page.next,
        })
    }

    /// `GetExecutionHistory`: events oldest first, `limit` (1 to 1000) per page, from after
    /// `cursor` (a previous page's `next`).
    pub async fn history(
        &self,
        id: &ExecutionId,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<HistoryPage> {
        self.inner.history(id, cursor, limit.clamp(1, 1000)).await
    }

    /// Feeds every timer due by the clock's now to its execution; returns how many fired.
    /// The background loop calls it; tests with a manual clock call it after moving time.
    pub async fn fire_due_timers(&self) -> Result<usize> {
        self.inner.fire_due_timers().await
    }

    /// When the earliest pending timer is due, if any.
    pub async fn next_timer_due(&self) -> Result<Option<OffsetDateTime>> {
        self.inner.next_timer_due().await
    }

    /// At startup: invokes again every task pending in every running execution (what was
    /// in flight when the process stopped is lost; handlers are idempotent), including
    /// `.waitForTaskToken` tasks, so their handlers record the token again. Timers need no
    /// re-arming beyond waking the loop: they are items, committed with the state. An
    /// execution whose state machine's definition changed since it started (its recorded
    /// SHA-256 differs) is skipped and logged; inputs to it fail with
    /// [`WorkflowError::DefinitionChanged`]. Returns how many tasks were invoked.
    pub async fn recover(&self) -> Result<usize> {
        self.inner.recover().await
    }

    /// Waits until no handler call is in flight (and none was scheduled by the last one).
    pub async fn idle(&self) {
        loop {
            let notified = self.inner.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.inner.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// The timer loop, until `shutdown` completes: fires due timers, then sleeps until the
    /// earliest pending one or until woken because a timer was set — never polling.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let delay = match self.inner.fire_due_timers().await {
                Ok(_) => match self.inner.next_timer_due().await {
                    Ok(next) => next.map(|at| {
                        let left = at - self.inner.clock.now();
                        std::time::Duration::try_from(left).unwrap_or_default()
                    }),
                    Err(e) => Some(self.inner.after_failure(&e)),
                },
                Err(WorkflowError::Stopped) => return,
                Err(e) => Some(self.inner.after_failure(&e)),
            };
            let sleep = async {
                match delay {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = &mut shutdown => return,
                // notify_one keeps a permit when nobody waits, so a timer set while this
                // loop was busy still wakes it here.
                _ = self.inner.wake.notified() => {}
                _ = sleep => {}
            }
        }
    }

    /// Test hook: simulate a crash at the `nth` pass of failpoint `name` (count from 1).
    #[cfg(test)]
    fn crash_at(&self, name: &str, nth: usize) {
        *self.inner.crash_at.lock().unwrap() = Some((name.to_string(), nth));
    }

    /// Test probe: how many commits lost a version race.
    #[cfg(test)]
    fn lost_races(&self) -> usize {
        self.inner.lost_races.load(Ordering::SeqCst)
    }

    /// Test hook: whether a simulated crash has happened.
    #[cfg(test)]
    fn crashed(&self) -> bool {
        self.inner.dead.load(Ordering::SeqCst)
    }
}

/// Refuses to advance an execution under a definition other than the one it started under
/// (its states, paths or task ARNs may differ: running on would silently mix two
/// definitions). Logs the refusal. An execution recorded before hashes were has none to
/// compare: it runs, with a warning.
fn check_definition(id: &ExecutionId, live: &Live, def: &Definition) -> Result<()> {
    let current = def.sha256_hex();
    match &live.definition {
        Some(recorded) if recorded == current => Ok(()),
        Some(recorded) => {
            let e = WorkflowError::DefinitionChanged {
                execution: id.to_string(),
                machine: live.machine.clone(),
                recorded: recorded.clone(),
                current: current.to_string(),
            };
            tracing::error!(execution = %id, machine = %live.machine, %recorded, %current, error = %e, "execution not advanced: its state machine's definition changed");
            Err(e)
        }
        None => {
            tracing::warn!(execution = %id, machine = %live.machine, "execution has no recorded definition hash; running it under the current definition");
            Ok(())
        }
    }
}

fn summary(id: &ExecutionId, machine: &str, exec: &Execution) -> ExecutionSummary {
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
    /// Passes a failpoint: exits the process when armed by the environment, and (tests)
    /// simulates the crash by stopping this runner.
    fn fp(&self, name: &str) -> Result<()> {
        failpoint(name);
        #[cfg(test)]
        {
            let mut armed = self.crash_at.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, left)) = armed.as_mut()
                && at == name
            {
                *left -= 1;
                if *left == 0 {
                    self.dead.store(true, Ordering::SeqCst);
                }
            }
        }
        self.alive()
    }

    fn alive(&self) -> Result<()> {
        if self.dead.load(Ordering::SeqCst) {
            return Err(WorkflowError::Stopped);
        }
        Ok(())
    }

    fn after_failure(&self, e: &WorkflowError) -> std::time::Duration {
        // A store failure is retried after a pause (not a poll: nothing to do succeeded).
        tracing::warn!(error = %e, "workflow timer loop failed; retrying in a second");
        std::time::Duration::from_secs(1)
    }

    fn definition(&self, machine: &str) -> Result<&Definition> {
        self.machines
            .get(machine)
            .ok_or_else(|| WorkflowError::StateMachineDoesNotExist(machine.to_string()))
    }

    fn slot(&self, id: &ExecutionId) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(id.clone()).or_default().clone()
    }

    async fn start_execution(
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
        let mut live = Live {
            exec,
            version: 0,
            machine: machine.to_string(),
            definition: Some(def.sha256_hex().to_string()),
            parts: 0,
            submitted: BTreeSet::new(),
        };
        let (mut writes, parts) = self.writes(&id, &live, &Before::nothing(), &events, now)?;
        writes.push(Write::Put {
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
        match self.items.transact(writes).await {
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

    /// The execution already holding `name`, when a start with `input` may return it.
    async fn existing(
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
    async fn apply(self: &Arc<Self>, id: &ExecutionId, input: Input) -> Result<bool, ApplyError> {
        for _ in 0..MAX_ATTEMPTS {
            self.alive()?;
            let slot = self.slot(id);
            let mut guard = slot.lock().await;
            if guard.is_none() {
                *guard = Some(self.load(id).await?);
            }
            let Some(live) = guard.as_mut() else {
                continue;
            };
            // A re-invoked `.waitForTaskToken` task is acknowledged again; its
            // TaskSubmitted is recorded once.
            if let Input::TaskSubmitted {
                task: TaskRef::Id(t),
                ..
            } = &input
                && live.submitted.contains(&t.0)
            {
                return Ok(false);
            }
            let def = self.definition(&live.machine)?;
            check_definition(id, live, def)?;
            let before = Before::of(live);
            let now = self.clock.now();
            let effects = live
                .exec
                .handle(def, input.clone(), now, &mut os_token)
                .map_err(ApplyError::Refused)?;
            let events = live.exec.take_history();
            if effects.is_empty() && events.is_empty() {
                return Ok(false);
            }
            if let Input::TaskSubmitted {
                task: TaskRef::Id(t),
                ..
            } = &input
            {
                live.submitted.insert(t.0);
            }
            let after = pending_tasks(&live.exec);
            live.submitted.retain(|t| after.contains_key(&TaskId(*t)));
            let written = self.writes(id, live, &before, &events, now);
            let committed = match written {
                Ok((writes, parts)) => match self.alive() {
                    Ok(()) => self.items.transact(writes).await.map(|()| parts),
                    Err(e) => {
                        *guard = None;
                        return Err(e.into());
                    }
                },
                Err(e) => {
                    *guard = None;
                    return Err(e.into());
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
            return Ok(true);
        }
        Err(WorkflowError::Conflict.into())
    }

    /// Everything a commit writes: the snapshot (head and parts), the new events, timers
    /// and tokens that appeared or went, and the listing when the status changed. Returns
    /// the writes and the snapshot's new part count.
    fn writes(
        &self,
        id: &ExecutionId,
        live: &Live,
        before: &Before,
        new_events: &[HistoryEvent],
        now: OffsetDateTime,
    ) -> Result<(Vec<Write>, usize)> {
        let exec = &live.exec;
        let mut writes = Vec::new();

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
        if let Some(first) = new_events.first() {
            let text = serde_json::to_string(new_events)?;
            let pieces = layout::split(&text);
            for (n, piece) in pieces.iter().enumerate() {
                writes.push(Write::Put {
                    item: Item::new(
                        layout::events_key(id, first.id, n),
                        serde_json::to_value(Chunk {
                            chunk: n,
                            chunks: pieces.len(),
                            data: piece.to_string(),
                        })?,
                    ),
                    condition: Condition::NotExists,
                });
            }
        }

        // Timers.
        let timers = pending_timers(exec);
        for (t, at) in &before.timers {
            if !timers.contains_key(t) {
                writes.push(Write::Delete {
                    key: layout::timer_key(*at, id, *t),
                    condition: Condition::None,
                });
            }
        }
        for (t, at) in &timers {
            if !before.timers.contains_key(t) {
                writes.push(Write::Put {
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
                writes.push(Write::Put {
                    item: token_item(inv, token, true)?,
                    condition: Condition::None,
                });
            }
        }
        for (t, inv) in &tasks {
            if let (false, Some(token)) = (before.tasks.contains_key(t), &inv.token) {
                writes.push(Write::Put {
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
        Ok((writes, pieces.len()))
    }

    async fn read_head(&self, id: &ExecutionId) -> Result<(Head, u64)> {
        let item = self
            .items
            .get(&layout::head_key(id))
            .await?
            .ok_or_else(|| WorkflowError::ExecutionDoesNotExist(id.to_string()))?;
        Ok((serde_json::from_value(item.body)?, item.version))
    }

    /// The head and the snapshot as a JSON document, and the version.
    async fn read_snapshot_value(&self, id: &ExecutionId) -> Result<(Head, Value, u64)> {
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
    async fn read_snapshot(&self, id: &ExecutionId) -> Result<(Head, Execution)> {
        let (head, snapshot, _) = self.read_snapshot_value(id).await?;
        Ok((head, serde_json::from_value(snapshot)?))
    }

    /// The execution, ready for inputs. Its history is not read: the snapshot carries the
    /// event counter, so new events continue the ids.
    async fn load(&self, id: &ExecutionId) -> Result<Live> {
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
    async fn scan_events(
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

    async fn history(
        &self,
        id: &ExecutionId,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<HistoryPage> {
        let after_event: u64 = match cursor {
            None => 0,
            Some(c) => c.parse().map_err(|_| WorkflowError::InvalidToken)?,
        };
        let (head, _) = self.read_head(id).await?;
        let total = head.events as u64;
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
        Ok(HistoryPage {
            events,
            next: (last < total).then(|| last.to_string()),
        })
    }

    /// Looks up a task token and applies the callback's input to its execution.
    async fn callback(
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
            Err(ApplyError::Refused(_)) => Err(WorkflowError::TaskTimedOut),
            Err(ApplyError::Failed(WorkflowError::ExecutionDoesNotExist(_))) => {
                Err(WorkflowError::TaskDoesNotExist)
            }
            Err(ApplyError::Failed(e)) => Err(e),
        }
    }

    /// Calls a task's handler in the background and applies its result.
    fn spawn_invocation(self: &Arc<Self>, id: ExecutionId, inv: Invocation, again: bool) {
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
            // The call runs in a task of its own so a panicking handler is a task failure
            // (as a crashed Lambda is), not a lost result.
            let result =
                tokio::spawn(async move { handlers.invoke(&handler, payload, token).await })
                    .await
                    .unwrap_or_else(|e| {
                        Err(TaskFailure::new(
                            "Lambda.Unknown",
                            format!("the handler did not finish: {e}"),
                        ))
                    });
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
            match inner.apply(&id, input).await {
                Ok(_) => {}
                // Stopped, timed out or answered meanwhile: the result is not wanted.
                Err(ApplyError::Refused(e)) => {
                    tracing::debug!(execution = %id, task = inv.task.0, error = %e, "task result dropped");
                }
                Err(ApplyError::Failed(WorkflowError::Stopped)) => {}
                Err(ApplyError::Failed(e)) => {
                    // The task stays pending; recovery at the next start invokes it again.
                    tracing::warn!(execution = %id, task = inv.task.0, error = %e, "task result not recorded");
                }
            }
        });
    }

    async fn next_timer_due(&self) -> Result<Option<OffsetDateTime>> {
        let page = self
            .items
            .query(&Query {
                pk: layout::TIMER_PK.into(),
                sk_prefix: String::new(),
                after: None,
                descending: false,
                limit: 1,
            })
            .await?;
        let Some(item) = page.items.first() else {
            return Ok(None);
        };
        let (due, _, _) = layout::parse_timer_sk(&item.key.sk)
            .ok_or_else(|| WorkflowError::Corrupt(format!("timer key {}", item.key.sk)))?;
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(due) * 1_000_000)
            .map_err(|e| WorkflowError::Corrupt(e.to_string()))?;
        Ok(Some(at))
    }

    async fn fire_due_timers(self: &Arc<Self>) -> Result<usize> {
        self.alive()?;
        let mut fired = 0;
        loop {
            let now = layout::now_ms(self.clock.now());
            let page = self
                .items
                .query(&Query {
                    pk: layout::TIMER_PK.into(),
                    sk_prefix: String::new(),
                    after: None,
                    descending: false,
                    limit: PAGE,
                })
                .await?;
            let mut later = page.next.is_none();
            let mut any = false;
            for item in &page.items {
                let Some((due, id, timer)) = layout::parse_timer_sk(&item.key.sk) else {
                    return Err(WorkflowError::Corrupt(format!("timer key {}", item.key.sk)));
                };
                if due > now {
                    later = true;
                    break;
                }
                any = true;
                self.fp("workflow.timer_fired_before_persist")?;
                match self.apply(&id, Input::TimerFired { timer }).await {
                    Ok(true) => fired += 1,
                    Ok(false) | Err(ApplyError::Refused(_)) => {}
                    Err(ApplyError::Failed(WorkflowError::ExecutionDoesNotExist(_))) => {}
                    Err(ApplyError::Failed(
                        e @ (WorkflowError::StateMachineDoesNotExist(_)
                        | WorkflowError::Corrupt(_)
                        | WorkflowError::DefinitionChanged { .. }),
                    )) => {
                        // This process cannot run the execution; keeping the due timer at
                        // the head of the queue would spin the loop. `recover` re-arms it
                        // at the next start (e.g. once the machine is configured again).
                        tracing::error!(execution = %id, error = %e, "timer dropped: the execution cannot run here");
                    }
                    Err(ApplyError::Failed(e)) => return Err(e),
                }
                // The commit removed it if the engine still wanted it; a timer it no longer
                // wanted (it is not pending) is removed here.
                self.items.delete(&item.key, Condition::None).await?;
            }
            if later || !any {
                return Ok(fired);
            }
        }
    }

    async fn recover(self: &Arc<Self>) -> Result<usize> {
        self.alive()?;
        let mut invoked = 0;
        let mut after = None;
        loop {
            let page = self
                .items
                .query(&Query {
                    pk: layout::list_pk(Some(Status::Running)),
                    sk_prefix: String::new(),
                    after: after.clone(),
                    descending: false,
                    limit: PAGE,
                })
                .await?;
            for item in &page.items {
                let summary: ExecutionSummary = serde_json::from_value(item.body.clone())?;
                let id = summary.id;
                let slot = self.slot(&id);
                let mut guard = slot.lock().await;
                let live = match self.load(&id).await {
                    Ok(live) => match self.machines.get(&live.machine) {
                        Some(def) => match check_definition(&id, &live, def) {
                            Ok(()) => live,
                            // Logged by the check; its tasks are not invoked and its timers
                            // not re-armed: nothing of it may run under this definition.
                            Err(_) => continue,
                        },
                        None => {
                            // One execution this process cannot run must not stop the others.
                            tracing::error!(execution = %id, machine = %live.machine, "not recovered: unknown state machine");
                            continue;
                        }
                    },
                    Err(e @ WorkflowError::Corrupt(_)) => {
                        tracing::error!(execution = %id, error = %e, "not recovered");
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                // Timers are committed with the state, so they are normally all there; a
                // timer dropped because its execution could not run is put back here. Nothing
                // else writes at startup, and a timer put back twice only fires as a no-op.
                let rearm: Vec<Write> = live
                    .exec
                    .pending_timers()
                    .into_iter()
                    .map(|t| Write::Put {
                        item: layout::timer_item(t.at, &id, t.id),
                        condition: Condition::None,
                    })
                    .collect();
                for batch in rearm.chunks(keiyaku_core::ports::MAX_TRANSACTION_ITEMS) {
                    self.items.transact(batch.to_vec()).await?;
                }
                let tasks = live.exec.pending_tasks();
                *guard = Some(live);
                drop(guard);
                for inv in tasks {
                    self.spawn_invocation(id.clone(), inv, true);
                    invoked += 1;
                }
            }
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        self.wake.notify_one();
        Ok(invoked)
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn handler_names_come_from_function_arns() {
        assert_eq!(
            handler_name("arn:aws:lambda:ap-northeast-1:123456789012:function:seal"),
            "seal"
        );
        assert_eq!(
            handler_name("arn:aws:lambda:local:000000000000:function:seal:live"),
            "seal"
        );
        assert_eq!(handler_name("seal"), "seal");
        assert_eq!(handler_name("${SealFunctionArn}"), "${SealFunctionArn}");
    }

    #[test]
    fn error_codes_are_step_functions_names() {
        assert_eq!(WorkflowError::TaskTimedOut.code(), "TaskTimedOut");
        assert_eq!(
            WorkflowError::ExecutionAlreadyExists("x".into()).code(),
            "ExecutionAlreadyExists"
        );
        assert_eq!(WorkflowError::Conflict.code(), "InternalError");
    }
}
