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
//! and the handlers make their effects happen exactly once. See `layout.rs` for the items;
//! `apply.rs` applies an input, `reads.rs` reads executions back, `timers.rs` fires timers
//! and recovers; here the public API (`Runner`) and its shared state.
//!
//! Handlers are named by the last segment of the Lambda function the definition resolved:
//! substitutions map each `${Name}` to `arn:aws:lambda:<region>:<account>:function:<handler>`
//! (see [`handler_name`]).

#![warn(missing_docs)]

mod apply;
mod buckets;
mod children;
mod error;
mod failpoint;
mod layout;
mod port;
mod reads;
#[cfg(test)]
mod tests;
mod timers;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use keiyaku_core::clock::Clock;
use keiyaku_core::ports::{BlobStore, ItemStore, Query};
use keiyaku_states::{Definition, HistoryEvent, Input, Status, TOKEN_BYTES};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::Notify;

pub use children::MapRunChild;
pub use error::WorkflowError;
pub use failpoint::{FAILPOINT_EXIT_CODE, FAILPOINTS, failpoint};
pub use port::{CONTRACT, contract_machine, substitutions};

use apply::{ApplyError, Live};
use reads::summary;

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

/// A task's failure as Step Functions records it: the error `Retry`/`Catch` match on, and
/// the cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    /// The error name, e.g. `Keiyaku.Retryable`.
    pub error: String,
    /// The cause text.
    pub cause: String,
}

impl TaskFailure {
    /// A failure from its two parts, the cause as Step Functions shows it.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> TaskFailure {
        TaskFailure {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// A Lambda function error (`errorType`, `errorMessage`). On AWS the cause is the error
    /// payload the function returned, which for our functions is what the Rust runtime
    /// posts: `{"errorType":…,"errorMessage":…}`, compact, in that order. A handler run in
    /// process reports the same text, so executions read alike in both shapes.
    pub fn function_error(
        error_type: impl Into<String>,
        message: impl Into<String>,
    ) -> TaskFailure {
        let error = error_type.into();
        let cause = serde_json::json!({ "errorType": error, "errorMessage": message.into() });
        TaskFailure {
            cause: cause.to_string(),
            error,
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

type Slot = Arc<tokio::sync::Mutex<Option<Live>>>;

struct Inner {
    items: Arc<dyn ItemStore>,
    clock: Arc<dyn Clock>,
    handlers: Arc<dyn TaskHandlers>,
    /// Where ItemReaders and ResultWriters find and put their objects, if anywhere.
    objects: Option<Arc<dyn BlobStore>>,
    machines: HashMap<String, Definition>,
    /// One lock per execution; its content is the cached execution, `None` when it must be
    /// (re)loaded. Entries are small and stay for the process's life.
    slots: Mutex<HashMap<ExecutionId, Slot>>,
    /// Task results waiting for their execution's lock, applied together.
    queued_results: Mutex<HashMap<ExecutionId, Vec<Input>>>,
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
    /// Test probe: commits of applied inputs.
    #[cfg(test)]
    commits: AtomicUsize,
    /// Test hook: the most task results one commit takes.
    #[cfg(test)]
    batch_limit: AtomicUsize,
    /// Test hook: the most writes one commit of several results may have.
    #[cfg(test)]
    batch_writes: AtomicUsize,
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
        Runner::with_objects(items, clock, handlers, machines, None)
    }

    /// As [`Runner::new`], with the store of the objects Distributed Maps' ItemReaders read
    /// and list and their ResultWriters write (bucket `b`, key `k` is blob `b/k`).
    pub fn with_objects(
        items: Arc<dyn ItemStore>,
        clock: Arc<dyn Clock>,
        handlers: Arc<dyn TaskHandlers>,
        machines: Vec<Machine>,
        objects: Option<Arc<dyn BlobStore>>,
    ) -> Runner {
        Runner {
            inner: Arc::new(Inner {
                items,
                clock,
                handlers,
                objects,
                machines: machines
                    .into_iter()
                    .map(|m| (m.name, m.definition))
                    .collect(),
                slots: Mutex::new(HashMap::new()),
                queued_results: Mutex::new(HashMap::new()),
                wake: Notify::new(),
                in_flight: AtomicUsize::new(0),
                idle: Notify::new(),
                dead: AtomicBool::new(false),
                #[cfg(test)]
                crash_at: Mutex::new(None),
                #[cfg(test)]
                lost_races: AtomicUsize::new(0),
                #[cfg(test)]
                commits: AtomicUsize::new(0),
                #[cfg(test)]
                batch_limit: AtomicUsize::new(apply::MAX_BATCH),
                #[cfg(test)]
                batch_writes: AtomicUsize::new(keiyaku_core::ports::MAX_TRANSACTION_ITEMS),
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
            Ok(_) | Err(ApplyError::Refused) => Ok(()),
            Err(ApplyError::Failed(e)) => Err(e),
        }
    }

    /// The execution that `machine` started under `name` (what an execution ARN names).
    pub async fn execution_named(&self, machine: &str, name: &str) -> Result<ExecutionId> {
        self.inner.named(machine, name).await
    }

    /// `DescribeExecution`.
    pub async fn describe_execution(&self, id: &ExecutionId) -> Result<Description> {
        let (head, exec) = match self.inner.read_snapshot(id).await {
            Ok(found) => found,
            // A Distributed Map's child is described from its own records.
            Err(WorkflowError::ExecutionDoesNotExist(e)) => {
                return self
                    .inner
                    .describe_child(id)
                    .await?
                    .ok_or(WorkflowError::ExecutionDoesNotExist(e));
            }
            Err(e) => return Err(e),
        };
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

    /// The child executions of Distributed Map Run `arn` (`ListExecutions` with a
    /// `mapRunArn`), by name, at most `limit`; each can be described and its history read.
    pub async fn map_run(&self, arn: &str, limit: usize) -> Result<Vec<MapRunChild>> {
        self.inner.map_run(arn, limit).await
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
