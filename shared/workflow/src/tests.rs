//! The executor against the SQLite item store, with a manual clock and scripted handlers.
//! A "restart" is a new runner on a new connection to the same database file: only what
//! was committed survives, as after a real crash.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};

use keiyaku_core::clock::{ManualClock, SystemClock};
use keiyaku_core::ports::{ItemStore, MemoryItemStore};
use keiyaku_states::{Definition, EventType, Status};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use tokio::sync::Notify;

use super::*;
use keiyaku_core::ports::{Condition, Write};
use keiyaku_states::{Execution, Start};

#[derive(Clone, Debug)]
struct Call {
    handler: String,
    payload: Value,
    token: Option<String>,
}

/// Handlers that record every call and answer from a script.
#[derive(Default)]
struct Script {
    calls: Mutex<Vec<Call>>,
    /// `prepare` fails with `Keiyaku.Retryable` this many more times.
    prepare_failures: AtomicU32,
    /// Signalled by `finish`.
    finished: Notify,
}

impl Script {
    fn calls(&self, handler: &str) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.handler == handler)
            .cloned()
            .collect()
    }

    fn count(&self, handler: &str) -> usize {
        self.calls(handler).len()
    }

    fn latest_token(&self) -> Option<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find_map(|c| c.token.clone())
    }
}

#[async_trait]
impl TaskHandlers for Script {
    async fn invoke(
        &self,
        handler: &str,
        payload: Value,
        token: Option<String>,
    ) -> Result<Value, TaskFailure> {
        self.calls.lock().unwrap().push(Call {
            handler: handler.to_string(),
            payload: payload.clone(),
            token,
        });
        match handler {
            "prepare" => {
                let left = self.prepare_failures.load(Ordering::SeqCst);
                if left > 0 {
                    self.prepare_failures.store(left - 1, Ordering::SeqCst);
                    return Err(TaskFailure::new("Keiyaku.Retryable", "not yet"));
                }
                Ok(json!({"ready": true}))
            }
            "record_wait" => Ok(json!({"recorded": true})),
            "finish" => {
                self.finished.notify_one();
                Ok(json!({"done": true}))
            }
            other => Err(TaskFailure::new("Keiyaku.UnknownHandler", other)),
        }
    }
}

/// Task → Wait → waitForTaskToken Task (with timeout, optionally heartbeat) → Choice →
/// Succeed/Fail.
fn contract(heartbeat: Option<u64>) -> String {
    let mut ask = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {
            "FunctionName": "${RecordWaitArn}",
            "Payload": {"doc.$": "$.doc", "token.$": "$$.Task.Token"}
        },
        "TimeoutSeconds": 3600,
        "ResultPath": "$.answer",
        "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "Expired"}],
        "Next": "Decide"
    });
    if let Some(h) = heartbeat {
        ask["HeartbeatSeconds"] = json!(h);
    }
    json!({
        "StartAt": "Prepare",
        "States": {
            "Prepare": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "${PrepareArn}", "Payload": {"doc.$": "$.doc"}},
                "ResultSelector": {"ready.$": "$.Payload.ready"},
                "ResultPath": "$.prep",
                "Retry": [{
                    "ErrorEquals": ["Keiyaku.Retryable"],
                    "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2
                }],
                "Next": "Pause"
            },
            "Pause": {"Type": "Wait", "Seconds": 10, "Next": "AskParty"},
            "AskParty": ask,
            "Decide": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.answer.decision", "StringEquals": "agree", "Next": "Done"}],
                "Default": "Declined"
            },
            "Done": {"Type": "Succeed"},
            "Declined": {"Type": "Fail", "Error": "Keiyaku.Declined", "Cause": "the party declined"},
            "Expired": {"Type": "Fail", "Error": "Keiyaku.Expired", "Cause": "no answer in time"}
        }
    })
    .to_string()
}

/// Wait `seconds` → Task `finish` → Succeed.
fn waiter(seconds: u64) -> String {
    json!({
        "StartAt": "Pause",
        "States": {
            "Pause": {"Type": "Wait", "Seconds": seconds, "Next": "Finish"},
            "Finish": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "${FinishArn}", "Payload": {}},
                "End": true
            }
        }
    })
    .to_string()
}

fn machines() -> Vec<Machine> {
    let subs: BTreeMap<String, String> = [
        ("PrepareArn", "prepare"),
        ("RecordWaitArn", "record_wait"),
        ("FinishArn", "finish"),
    ]
    .into_iter()
    .map(|(k, h)| {
        (
            k.to_string(),
            format!("arn:aws:lambda:ap-northeast-1:000000000000:function:{h}"),
        )
    })
    .collect();
    let parse = |name: &str, text: String| Machine {
        name: name.to_string(),
        definition: Definition::parse_with(&text, &subs).unwrap(),
    };
    vec![
        parse("contract", contract(None)),
        parse("heartbeat", contract(Some(60))),
        parse("quick", waiter(1)),
        parse("long", waiter(3600)),
        parse("loop", looping()),
    ]
}

/// Wait 1 s → Pass → Choice, round again until the input has `stop` (never, here): each
/// round adds events and changes nothing else.
fn looping() -> String {
    json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
        "P": {"Type": "Pass", "Result": 1, "ResultPath": "$.last", "Next": "C"},
        "C": {"Type": "Choice",
              "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "Done"}],
              "Default": "W"},
        "Done": {"Type": "Succeed"}
    }})
    .to_string()
}

struct Env {
    items: Arc<MemoryItemStore>,
    clock: Arc<ManualClock>,
    handlers: Arc<Script>,
}

impl Env {
    fn new() -> Env {
        let clock = Arc::new(ManualClock::new(
            OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap(),
        ));
        Env {
            items: Arc::new(MemoryItemStore::new(clock.clone())),
            clock,
            handlers: Arc::new(Script::default()),
        }
    }

    /// The same stored items: what a restarted process finds (a runner made on it keeps
    /// nothing of an earlier one but what was stored).
    fn store(&self) -> Arc<dyn ItemStore> {
        self.items.clone()
    }

    fn runner(&self) -> Runner {
        Runner::new(
            self.store(),
            self.clock.clone(),
            self.handlers.clone(),
            machines(),
        )
    }
}

async fn status(r: &Runner, id: &ExecutionId) -> Status {
    r.describe_execution(id).await.unwrap().summary.status
}

async fn all_events(r: &Runner, id: &ExecutionId) -> Vec<HistoryEvent> {
    r.history(id, None, 1000).await.unwrap().events
}

fn kinds(events: &[HistoryEvent]) -> Vec<EventType> {
    events.iter().map(|e| e.kind).collect()
}

/// Event type with the state it concerns, the shape two runs must agree on.
fn shape(events: &[HistoryEvent]) -> Vec<(EventType, Option<String>)> {
    events
        .iter()
        .map(|e| (e.kind, e.detail_str("name").map(str::to_string)))
        .collect()
}

fn assert_consecutive(events: &[HistoryEvent]) {
    for (n, e) in events.iter().enumerate() {
        assert_eq!(e.id, n as u64 + 1, "event ids must be 1, 2, 3, …");
    }
}

/// Starts `machine` and drives it to the token wait; returns the id and the token.
async fn to_token_wait(env: &Env, r: &Runner, machine: &str, name: &str) -> (ExecutionId, String) {
    let id = r
        .start_execution(machine, name, json!({"doc": name}))
        .await
        .unwrap();
    r.idle().await;
    env.clock.advance(Duration::seconds(10));
    assert_eq!(r.fire_due_timers().await.unwrap(), 1);
    r.idle().await;
    let call = env
        .handlers
        .calls("record_wait")
        .into_iter()
        .rfind(|c| c.payload["doc"] == json!(name))
        .expect("record_wait was invoked");
    let token = call
        .token
        .clone()
        .expect("a waitForTaskToken call carries the token");
    assert_eq!(
        call.payload["token"],
        json!(token),
        "the payload names the token too"
    );
    (id, token)
}

#[tokio::test]
async fn a_contract_runs_task_wait_callback_and_choice_to_success() {
    let env = Env::new();
    let r = env.runner();
    let t0 = env.clock.now();
    let id = r
        .start_execution("contract", "doc-1", json!({"doc": "d1"}))
        .await
        .unwrap();
    r.idle().await;
    let prepare = env.handlers.calls("prepare");
    assert_eq!(prepare.len(), 1);
    assert_eq!(prepare[0].payload, json!({"doc": "d1"}));
    assert_eq!(prepare[0].token, None);
    assert_eq!(status(&r, &id).await, Status::Running);

    // The Wait state's timer: due in 10 s, not fired before.
    assert_eq!(
        r.next_timer_due().await.unwrap(),
        Some(t0 + Duration::seconds(10))
    );
    assert_eq!(r.fire_due_timers().await.unwrap(), 0);
    assert_eq!(env.handlers.count("record_wait"), 0);
    env.clock.advance(Duration::seconds(10));
    assert_eq!(r.fire_due_timers().await.unwrap(), 1);
    r.idle().await;
    let token = env.handlers.latest_token().unwrap();
    // Now only the token wait's timeout is pending.
    assert_eq!(
        r.next_timer_due().await.unwrap(),
        Some(t0 + Duration::seconds(10 + 3600))
    );

    r.send_task_success(&token, json!({"decision": "agree"}))
        .await
        .unwrap();
    let d = r.describe_execution(&id).await.unwrap();
    assert_eq!(d.summary.status, Status::Succeeded);
    assert_eq!(d.summary.name, "doc-1");
    assert_eq!(d.summary.machine, "contract");
    assert_eq!(d.input, json!({"doc": "d1"}));
    assert_eq!(
        d.output,
        Some(json!({"doc": "d1", "prep": {"ready": true}, "answer": {"decision": "agree"}}))
    );
    assert!(d.execution_arn.ends_with(":execution:contract:doc-1"));
    assert_eq!(r.execution_named("contract", "doc-1").await.unwrap(), id);
    assert!(matches!(
        r.execution_named("contract", "doc-2").await,
        Err(WorkflowError::ExecutionDoesNotExist(_))
    ));
    assert_eq!(
        r.next_timer_due().await.unwrap(),
        None,
        "the timeout was cancelled"
    );
    assert!(matches!(
        r.send_task_success(&token, json!({"decision": "agree"}))
            .await,
        Err(WorkflowError::TaskTimedOut)
    ));

    let events = all_events(&r, &id).await;
    assert_consecutive(&events);
    use EventType::*;
    assert_eq!(
        kinds(&events),
        vec![
            ExecutionStarted,
            TaskStateEntered,
            TaskScheduled,
            TaskStarted,
            TaskSucceeded,
            TaskStateExited,
            WaitStateEntered,
            WaitStateExited,
            TaskStateEntered,
            TaskScheduled,
            TaskStarted,
            TaskSubmitted,
            TaskSucceeded,
            TaskStateExited,
            ChoiceStateEntered,
            ChoiceStateExited,
            SucceedStateEntered,
            SucceedStateExited,
            ExecutionSucceeded,
        ]
    );
}

#[tokio::test]
async fn declining_or_failing_the_token_task_fails_the_execution() {
    let env = Env::new();
    let r = env.runner();
    let (declined, token) = to_token_wait(&env, &r, "contract", "declined").await;
    r.send_task_success(&token, json!({"decision": "decline"}))
        .await
        .unwrap();
    let d = r.describe_execution(&declined).await.unwrap();
    assert_eq!(d.summary.status, Status::Failed);
    assert_eq!(d.error.as_deref(), Some("Keiyaku.Declined"));

    let (cancelled, token) = to_token_wait(&env, &r, "contract", "cancelled").await;
    r.send_task_failure(&token, "Keiyaku.Cancelled", "the sender withdrew")
        .await
        .unwrap();
    let d = r.describe_execution(&cancelled).await.unwrap();
    assert_eq!(d.summary.status, Status::Failed);
    assert_eq!(d.error.as_deref(), Some("Keiyaku.Cancelled"));
    assert_eq!(d.cause.as_deref(), Some("the sender withdrew"));
    assert!(matches!(
        r.send_task_failure(&token, "Keiyaku.Cancelled", "again")
            .await,
        Err(WorkflowError::TaskTimedOut)
    ));
}

#[tokio::test]
async fn an_unanswered_token_wait_times_out_and_bad_tokens_are_refused() {
    let env = Env::new();
    let r = env.runner();
    let (id, token) = to_token_wait(&env, &r, "contract", "late").await;
    env.clock.advance(Duration::seconds(3599));
    assert_eq!(r.fire_due_timers().await.unwrap(), 0);
    assert_eq!(status(&r, &id).await, Status::Running);
    env.clock.advance(Duration::seconds(1));
    assert_eq!(r.fire_due_timers().await.unwrap(), 1);
    let d = r.describe_execution(&id).await.unwrap();
    assert_eq!(d.summary.status, Status::Failed);
    assert_eq!(d.error.as_deref(), Some("Keiyaku.Expired"));
    let events = all_events(&r, &id).await;
    let timed_out = events
        .iter()
        .find(|e| e.kind == EventType::TaskTimedOut)
        .unwrap();
    assert_eq!(timed_out.detail_str("error"), Some("States.Timeout"));

    assert!(matches!(
        r.send_task_success(&token, json!({})).await,
        Err(WorkflowError::TaskTimedOut)
    ));
    assert!(matches!(
        r.send_task_heartbeat(&"0".repeat(64)).await,
        Err(WorkflowError::TaskDoesNotExist)
    ));
    assert!(matches!(
        r.send_task_success("", json!({})).await,
        Err(WorkflowError::InvalidToken)
    ));
    assert!(matches!(
        r.send_task_success(&"a".repeat(1025), json!({})).await,
        Err(WorkflowError::InvalidToken)
    ));
}

#[tokio::test]
async fn heartbeats_keep_a_token_wait_alive_until_they_stop() {
    let env = Env::new();
    let r = env.runner();
    let (id, token) = to_token_wait(&env, &r, "heartbeat", "hb").await;
    env.clock.advance(Duration::seconds(50));
    r.send_task_heartbeat(&token).await.unwrap();
    env.clock.advance(Duration::seconds(50));
    // 100 s since the task started, 50 s since the heartbeat: the old 60 s timer is gone.
    assert_eq!(r.fire_due_timers().await.unwrap(), 0);
    assert_eq!(status(&r, &id).await, Status::Running);
    env.clock.advance(Duration::seconds(10));
    assert_eq!(r.fire_due_timers().await.unwrap(), 1);
    assert_eq!(status(&r, &id).await, Status::Failed);
    let events = all_events(&r, &id).await;
    let timed_out = events
        .iter()
        .find(|e| e.kind == EventType::TaskTimedOut)
        .unwrap();
    assert_eq!(
        timed_out.detail_str("error"),
        Some("States.HeartbeatTimeout")
    );
    assert!(matches!(
        r.send_task_heartbeat(&token).await,
        Err(WorkflowError::TaskTimedOut)
    ));
}

#[tokio::test]
async fn retries_wait_out_their_backoff_on_timers() {
    let env = Env::new();
    env.handlers.prepare_failures.store(2, Ordering::SeqCst);
    let r = env.runner();
    let id = r
        .start_execution("contract", "retry", json!({"doc": "r"}))
        .await
        .unwrap();
    r.idle().await;
    assert_eq!(env.handlers.count("prepare"), 1);
    // IntervalSeconds 2, then × BackoffRate 2.
    for (n, delay) in [(2, 2), (3, 4)] {
        let now = env.clock.now();
        assert_eq!(
            r.next_timer_due().await.unwrap(),
            Some(now + Duration::seconds(delay))
        );
        env.clock.advance(Duration::seconds(delay - 1));
        assert_eq!(r.fire_due_timers().await.unwrap(), 0);
        assert_eq!(env.handlers.count("prepare"), n - 1);
        env.clock.advance(Duration::seconds(1));
        assert_eq!(r.fire_due_timers().await.unwrap(), 1);
        r.idle().await;
        assert_eq!(env.handlers.count("prepare"), n);
    }
    // The third attempt succeeded: now the Wait state's timer.
    assert_eq!(
        r.next_timer_due().await.unwrap(),
        Some(env.clock.now() + Duration::seconds(10))
    );
    let events = all_events(&r, &id).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == EventType::TaskFailed)
            .count(),
        2
    );
    assert_eq!(status(&r, &id).await, Status::Running);
}

#[tokio::test]
async fn stop_execution_aborts_and_closes_tokens_and_timers() {
    let env = Env::new();
    let r = env.runner();
    let (id, token) = to_token_wait(&env, &r, "contract", "stopped").await;
    r.stop_execution(&id, Some("Ops.Stopped".into()), Some("by hand".into()))
        .await
        .unwrap();
    let d = r.describe_execution(&id).await.unwrap();
    assert_eq!(d.summary.status, Status::Aborted);
    assert_eq!(d.error.as_deref(), Some("Ops.Stopped"));
    assert_eq!(d.cause.as_deref(), Some("by hand"));
    assert!(d.summary.stop_date.is_some());
    assert_eq!(r.next_timer_due().await.unwrap(), None);
    assert!(matches!(
        r.send_task_success(&token, json!({})).await,
        Err(WorkflowError::TaskTimedOut)
    ));
    // Stopping again changes nothing.
    r.stop_execution(&id, None, None).await.unwrap();
    let events = all_events(&r, &id).await;
    assert_eq!(
        events.last().map(|e| e.kind),
        Some(EventType::ExecutionAborted)
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == EventType::ExecutionAborted)
            .count(),
        1
    );
    let missing = ExecutionId::new("nope");
    assert!(matches!(
        r.stop_execution(&missing, None, None).await,
        Err(WorkflowError::ExecutionDoesNotExist(_))
    ));
    assert!(matches!(
        r.describe_execution(&missing).await,
        Err(WorkflowError::ExecutionDoesNotExist(_))
    ));
    assert!(matches!(
        r.history(&missing, None, 10).await,
        Err(WorkflowError::ExecutionDoesNotExist(_))
    ));
}

#[tokio::test]
async fn a_start_by_name_is_idempotent_for_the_same_input_only() {
    let env = Env::new();
    let r = env.runner();
    let input = json!({"doc": "same", "n": 1});
    let id = r
        .start_execution("contract", "named", input.clone())
        .await
        .unwrap();
    // The same input in another key order is the same input.
    let again = r
        .start_execution("contract", "named", json!({"n": 1, "doc": "same"}))
        .await
        .unwrap();
    assert_eq!(again, id);
    r.idle().await;
    assert_eq!(
        env.handlers.count("prepare"),
        1,
        "a repeated start runs nothing twice"
    );
    let err = r
        .start_execution("contract", "named", json!({"doc": "other"}))
        .await
        .unwrap_err();
    assert!(matches!(err, WorkflowError::ExecutionAlreadyExists(_)));
    assert_eq!(err.code(), "ExecutionAlreadyExists");
    // The same name under another machine is another execution.
    let other = r
        .start_execution("heartbeat", "named", input.clone())
        .await
        .unwrap();
    assert_ne!(other, id);
    // Once ended, the name stays taken even for the same input (Step Functions' rule).
    r.stop_execution(&id, None, None).await.unwrap();
    assert!(matches!(
        r.start_execution("contract", "named", input.clone()).await,
        Err(WorkflowError::ExecutionAlreadyExists(_))
    ));
    assert!(matches!(
        r.start_execution("nope", "x", json!({})).await,
        Err(WorkflowError::StateMachineDoesNotExist(_))
    ));
    assert!(matches!(
        r.start_execution("contract", "bad name", json!({})).await,
        Err(WorkflowError::InvalidName(_))
    ));
    let huge = json!({"doc": "x".repeat(300_000)});
    assert!(matches!(
        r.start_execution("contract", "huge", huge).await,
        Err(WorkflowError::InvalidExecutionInput)
    ));
}

#[tokio::test]
async fn history_is_persisted_and_paged_in_order() {
    let env = Env::new();
    let r = env.runner();
    let (id, token) = to_token_wait(&env, &r, "contract", "paged").await;
    r.send_task_success(&token, json!({"decision": "agree"}))
        .await
        .unwrap();
    let all = all_events(&r, &id).await;
    assert_eq!(all.len(), 19);
    assert_consecutive(&all);

    // A restarted runner reads the same history, three at a time.
    let fresh = env.runner();
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = fresh.history(&id, cursor.as_deref(), 3).await.unwrap();
        assert!(page.events.len() <= 3);
        paged.extend(page.events);
        pages += 1;
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(pages, 7);
    assert_eq!(paged, all);
    let tail = fresh.history(&id, Some("17"), 10).await.unwrap();
    assert_eq!(
        tail.events.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![18, 19]
    );
    assert_eq!(tail.next, None);
    assert!(matches!(
        fresh.history(&id, Some("x"), 10).await,
        Err(WorkflowError::InvalidToken)
    ));
    assert_eq!(
        fresh.describe_execution(&id).await.unwrap(),
        r.describe_execution(&id).await.unwrap()
    );
}

#[tokio::test]
async fn executions_are_listed_by_status_newest_first() {
    let env = Env::new();
    let r = env.runner();
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            r.start_execution("contract", &format!("list-{n}"), json!({"doc": n}))
                .await
                .unwrap(),
        );
        env.clock.advance(Duration::seconds(1));
    }
    r.idle().await;
    r.stop_execution(&ids[1], None, None).await.unwrap();
    r.stop_execution(&ids[3], None, None).await.unwrap();

    let collect = |status: Option<Status>| {
        let r = r.clone();
        async move {
            let mut out = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = r
                    .list_executions(status, cursor.as_deref(), 2)
                    .await
                    .unwrap();
                assert!(page.executions.len() <= 2);
                out.extend(page.executions);
                match page.next {
                    Some(n) => cursor = Some(n),
                    None => return out,
                }
            }
        }
    };
    let running = collect(Some(Status::Running)).await;
    assert_eq!(
        running.iter().map(|s| &s.id).collect::<Vec<_>>(),
        vec![&ids[4], &ids[2], &ids[0]]
    );
    assert!(running.iter().all(|s| s.status == Status::Running));
    let aborted = collect(Some(Status::Aborted)).await;
    assert_eq!(
        aborted.iter().map(|s| &s.id).collect::<Vec<_>>(),
        vec![&ids[3], &ids[1]]
    );
    assert!(aborted.iter().all(|s| s.stop_date.is_some()));
    let all = collect(None).await;
    assert_eq!(
        all.iter().map(|s| &s.id).collect::<Vec<_>>(),
        ids.iter().rev().collect::<Vec<_>>()
    );
    assert_eq!(all[1].status, Status::Aborted);
    assert_eq!(all[1].name, "list-3");
    assert!(collect(Some(Status::Succeeded)).await.is_empty());
}

/// Drives a `contract` execution to its end, answering token waits with "agree" and moving
/// the clock when nothing is due; after a (simulated) crash it restarts: a new runner on
/// the same file, `recover()`, and carries on as the application would (repeating the
/// start by name, answering the latest token again).
async fn drive(env: &Env, crash: Option<(&str, usize)>) -> (Description, Vec<HistoryEvent>, usize) {
    let mut restarts = 0;
    let restart = |restarts: &mut usize| {
        *restarts += 1;
        let r = env.runner();
        async move {
            r.recover().await.unwrap();
            r
        }
    };
    let mut r = env.runner();
    if let Some((name, nth)) = crash {
        r.crash_at(name, nth);
    }
    let input = json!({"doc": "crash"});
    let id = loop {
        match r.start_execution("contract", "crash", input.clone()).await {
            Ok(id) => break id,
            Err(WorkflowError::Stopped) => r = restart(&mut restarts).await,
            Err(e) => panic!("start: {e}"),
        }
    };
    let mut answered = HashSet::new();
    for _ in 0..100 {
        r.idle().await;
        if r.crashed() {
            r = restart(&mut restarts).await;
            continue;
        }
        let d = r.describe_execution(&id).await.unwrap();
        if d.summary.status != Status::Running {
            let events = all_events(&r, &id).await;
            return (d, events, restarts);
        }
        if let Some(token) = env
            .handlers
            .latest_token()
            .filter(|t| !answered.contains(t))
        {
            match r
                .send_task_success(&token, json!({"decision": "agree"}))
                .await
            {
                Ok(()) => {
                    answered.insert(token);
                }
                Err(WorkflowError::Stopped) => {}
                Err(e) => panic!("callback: {e}"),
            }
            continue;
        }
        match r.fire_due_timers().await {
            Ok(0) => env.clock.advance(Duration::seconds(10)),
            Ok(_) | Err(WorkflowError::Stopped) => {}
            Err(e) => panic!("timers: {e}"),
        }
    }
    panic!("the execution did not end");
}

#[tokio::test]
async fn a_crash_at_any_durability_step_recovers_to_the_same_outcome() {
    let baseline_env = Env::new();
    let (baseline, baseline_events, restarts) = drive(&baseline_env, None).await;
    assert_eq!(restarts, 0);
    assert_eq!(baseline.summary.status, Status::Succeeded);
    assert_eq!(baseline_env.handlers.count("prepare"), 1);
    assert_eq!(baseline_env.handlers.count("record_wait"), 1);

    // (failpoint, pass, prepare calls, record_wait calls): a result lost in flight or a
    // task pending at the crash is invoked again; a committed one is not.
    let cases = [
        ("workflow.started_before_invoke", 1, 1, 1),
        ("workflow.invoked_before_persist", 1, 2, 1),
        ("workflow.persisted_before_next_invoke", 1, 1, 1),
        ("workflow.timer_fired_before_persist", 1, 1, 1),
        ("workflow.persisted_before_next_invoke", 2, 1, 1),
        ("workflow.invoked_before_persist", 2, 1, 2),
        ("workflow.persisted_before_next_invoke", 3, 1, 2),
        ("workflow.callback_before_persist", 1, 1, 2),
        ("workflow.persisted_before_next_invoke", 4, 1, 1),
    ];
    let covered: HashSet<&str> = cases.iter().map(|c| c.0).collect();
    assert_eq!(covered, FAILPOINTS.iter().copied().collect::<HashSet<_>>());
    for (failpoint, nth, prepares, waits) in cases {
        let env = Env::new();
        let (d, events, restarts) = drive(&env, Some((failpoint, nth))).await;
        let case = format!("{failpoint} #{nth}");
        assert_eq!(restarts, 1, "{case}: the crash happened");
        assert_eq!(d.summary.status, Status::Succeeded, "{case}");
        assert_eq!(d.output, baseline.output, "{case}");
        assert_consecutive(&events);
        assert_eq!(
            shape(&events),
            shape(&baseline_events),
            "{case}: no event lost or repeated"
        );
        assert_eq!(
            env.handlers.count("prepare"),
            prepares,
            "{case}: prepare calls"
        );
        assert_eq!(
            env.handlers.count("record_wait"),
            waits,
            "{case}: record_wait calls"
        );
        // A re-invoked token task carries the same token: the handler records it again.
        let tokens: HashSet<_> = env
            .handlers
            .calls("record_wait")
            .into_iter()
            .map(|c| c.token)
            .collect();
        assert_eq!(tokens.len(), 1, "{case}");
    }
}

#[tokio::test]
async fn concurrent_callbacks_for_one_token_have_exactly_one_winner() {
    let env = Env::new();
    let r = env.runner();
    let (id, token) = to_token_wait(&env, &r, "contract", "race").await;
    // One runner twice, and a second runner (another connection) once.
    let other = env.runner();
    let (a, b, c) = tokio::join!(
        r.send_task_success(&token, json!({"decision": "agree"})),
        r.send_task_success(&token, json!({"decision": "decline"})),
        other.send_task_success(&token, json!({"decision": "decline"})),
    );
    let results = [a, b, c];
    assert_eq!(results.iter().filter(|x| x.is_ok()).count(), 1);
    for e in results.iter().filter_map(|x| x.as_ref().err()) {
        assert!(matches!(e, WorkflowError::TaskTimedOut), "{e}");
    }
    let events = all_events(&r, &id).await;
    assert_consecutive(&events);
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == EventType::TaskSucceeded)
            .count(),
        2,
        "one for Prepare, one for the winning answer"
    );
    assert_ne!(status(&r, &id).await, Status::Running);
}

#[tokio::test]
async fn a_stale_runner_loses_the_version_race_reloads_and_applies() {
    let env = Env::new();
    let first = env.runner();
    let (id, token) = to_token_wait(&env, &first, "heartbeat", "stale").await;
    // The second runner caches the execution at this version.
    let second = env.runner();
    assert_eq!(second.recover().await.unwrap(), 1);
    second.idle().await;
    // The first moves it on (a heartbeat replaces the heartbeat timer)…
    env.clock.advance(Duration::seconds(30));
    first.send_task_heartbeat(&token).await.unwrap();
    // …so the second's write is refused by the version condition, and it retries on the
    // fresh state.
    second
        .send_task_success(&token, json!({"decision": "agree"}))
        .await
        .unwrap();
    assert_eq!(second.lost_races(), 1);
    assert_eq!(status(&first, &id).await, Status::Succeeded);
    let events = all_events(&first, &id).await;
    assert_consecutive(&events);
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == EventType::TaskSubmitted)
            .count(),
        1,
        "the re-invoked token task was acknowledged once"
    );
    assert_eq!(first.next_timer_due().await.unwrap(), None);
}

#[tokio::test]
async fn a_state_larger_than_one_item_is_split_and_read_back() {
    let env = Env::new();
    let r = env.runner();
    let doc = "\"quoted\" ".repeat(20_000); // 180 KB, 200 KB escaped, carried in three places
    let big = r
        .start_execution("contract", "big-doc", json!({"doc": doc}))
        .await
        .unwrap();
    r.idle().await;
    let store = env.store();
    let head = store.get(&layout::head_key(&big)).await.unwrap().unwrap();
    assert!(
        head.body["parts"].as_u64().unwrap() > 1,
        "the snapshot was split"
    );
    env.clock.advance(Duration::seconds(10));
    // A restarted runner reassembles the parts and the events.
    let fresh = env.runner();
    fresh.recover().await.unwrap();
    fresh.idle().await;
    assert_eq!(fresh.fire_due_timers().await.unwrap(), 1);
    fresh.idle().await;
    let token = env.handlers.latest_token().unwrap();
    fresh
        .send_task_success(&token, json!({"decision": "agree"}))
        .await
        .unwrap();
    let d = fresh.describe_execution(&big).await.unwrap();
    assert_eq!(d.summary.status, Status::Succeeded);
    assert_eq!(d.output.unwrap()["doc"], json!(doc));
    let events = all_events(&fresh, &big).await;
    assert_consecutive(&events);
    assert_eq!(events.len(), 19);
}

#[tokio::test]
async fn a_timer_this_process_cannot_run_is_dropped_and_rearmed_by_recovery() {
    let env = Env::new();
    let full = env.runner();
    let id = full
        .start_execution("contract", "orphan", json!({"doc": "o"}))
        .await
        .unwrap();
    full.idle().await;
    // A process configured without the `contract` machine cannot fire its timer: it drops
    // it rather than spin on it, and does not recover the execution.
    let partial = Runner::new(
        env.store(),
        env.clock.clone(),
        env.handlers.clone(),
        machines()
            .into_iter()
            .filter(|m| m.name != "contract")
            .collect(),
    );
    env.clock.advance(Duration::seconds(10));
    assert_eq!(partial.fire_due_timers().await.unwrap(), 0);
    assert_eq!(partial.next_timer_due().await.unwrap(), None);
    assert_eq!(partial.recover().await.unwrap(), 0);
    assert_eq!(partial.next_timer_due().await.unwrap(), None);
    // Configured again, the next start re-arms the timer and the execution goes on.
    let again = env.runner();
    assert_eq!(again.recover().await.unwrap(), 0, "no task was pending");
    assert!(again.next_timer_due().await.unwrap().is_some());
    assert_eq!(again.fire_due_timers().await.unwrap(), 1);
    again.idle().await;
    assert_eq!(env.handlers.count("record_wait"), 1);
    assert_eq!(status(&again, &id).await, Status::Running);
}

#[tokio::test]
async fn the_run_loop_wakes_for_timers_without_polling() {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(MemoryItemStore::new(clock.clone()));
    let handlers = Arc::new(Script::default());
    let r = Runner::new(store, clock, handlers.clone(), machines());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let looping = tokio::spawn(r.clone().run(async {
        let _ = stopped.await;
    }));
    // The loop first sleeps towards a timer an hour away…
    let long = r.start_execution("long", "long", json!({})).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // …and must re-aim at a nearer one set afterwards.
    let quick = r
        .start_execution("quick", "quick", json!({}))
        .await
        .unwrap();
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        handlers.finished.notified(),
    )
    .await
    .expect("the loop fired the 1 s timer");
    r.idle().await;
    assert_eq!(status(&r, &quick).await, Status::Succeeded);
    assert_eq!(status(&r, &long).await, Status::Running);
    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(20), looping)
        .await
        .expect("the loop stops on shutdown")
        .unwrap();
}

#[test]
fn tokens_come_from_the_os_not_from_the_seed() {
    // The engine directly, twice with the same seed, as the runner drives it.
    let def = Definition::parse(
        &json!({"StartAt": "Ask", "States": {"Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
            "End": true
        }}})
        .to_string(),
    )
    .unwrap();
    let token = || {
        let start = Start::new("same", json!({})).seed(7);
        let now = OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap();
        let (exec, _) = Execution::start(&def, start, now, &mut os_token).unwrap();
        exec.pending_tasks()[0].token.clone().unwrap()
    };
    let tokens: HashSet<String> = (0..8).map(|_| token()).collect();
    assert_eq!(tokens.len(), 8, "same seed, different tokens");
    for t in &tokens {
        assert_eq!(t.len(), 64, "256 bits as hex");
        assert!(t.chars().all(|c| c.is_ascii_hexdigit()));
    }
}

#[tokio::test]
async fn runner_tokens_are_256_bit_and_distinct() {
    let env = Env::new();
    let r = env.runner();
    let (_, a) = to_token_wait(&env, &r, "contract", "tok-a").await;
    let (_, b) = to_token_wait(&env, &r, "contract", "tok-b").await;
    assert_ne!(a, b);
    for t in [&a, &b] {
        assert_eq!(t.len(), 64);
        assert!(t.chars().all(|c| c.is_ascii_hexdigit()));
    }
}

/// The head's snapshot text (one part) as JSON, and the head's event count.
async fn head_snapshot(env: &Env, id: &ExecutionId) -> (Value, String, u64) {
    let head = env
        .store()
        .get(&layout::head_key(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head.body["parts"], json!(1));
    let data = head.body["data"].as_str().unwrap().to_string();
    let events = head.body["events"].as_u64().unwrap();
    (serde_json::from_str(&data).unwrap(), data, events)
}

#[tokio::test]
async fn snapshots_hold_no_history_and_do_not_grow_with_it() {
    let env = Env::new();
    let r = env.runner();
    let id = r
        .start_execution("loop", "rounds", json!({}))
        .await
        .unwrap();
    for _ in 0..5 {
        env.clock.advance(Duration::seconds(1));
        assert_eq!(r.fire_due_timers().await.unwrap(), 1);
    }
    let (snapshot, small, events) = head_snapshot(&env, &id).await;
    assert!(
        snapshot.get("history").is_none(),
        "no events in the snapshot"
    );
    assert_eq!(snapshot["events"], json!(events));
    for _ in 0..100 {
        env.clock.advance(Duration::seconds(1));
        assert_eq!(r.fire_due_timers().await.unwrap(), 1);
    }
    let (_, big, more) = head_snapshot(&env, &id).await;
    assert!(more > events + 300);
    assert!(
        big.len() < small.len() + 32,
        "the snapshot grew from {} to {} bytes",
        small.len(),
        big.len()
    );
    let all = all_events(&r, &id).await;
    assert_eq!(all.len() as u64, more);
    assert_consecutive(&all);
}

#[tokio::test]
async fn a_resumed_execution_continues_event_ids_without_reading_its_history() {
    let env = Env::new();
    let r = env.runner();
    let (id, token) = to_token_wait(&env, &r, "contract", "resume").await;
    let (_, _, stored) = head_snapshot(&env, &id).await;
    // Take the stored events away: a restarted runner must not need them to go on.
    let store = env.store();
    let page = store
        .query(&Query {
            pk: layout::exec_pk(&id),
            sk_prefix: layout::EVENT_PREFIX.into(),
            after: None,
            descending: false,
            limit: 1000,
        })
        .await
        .unwrap();
    assert!(!page.items.is_empty());
    for item in page.items {
        store.delete(&item.key, Condition::None).await.unwrap();
    }
    let fresh = env.runner();
    fresh
        .send_task_success(&token, json!({"decision": "agree"}))
        .await
        .unwrap();
    assert_eq!(status(&fresh, &id).await, Status::Succeeded);
    let (_, _, total) = head_snapshot(&env, &id).await;
    assert_eq!(total, 19);
    let tail = fresh
        .history(&id, Some(&stored.to_string()), 1000)
        .await
        .unwrap()
        .events;
    assert_eq!(
        tail.iter().map(|e| e.id).collect::<Vec<_>>(),
        (stored + 1..=total).collect::<Vec<_>>(),
        "the new events continue the ids"
    );
    assert_eq!(tail[0].previous_event_id, stored);
}

/// `machines()` with `contract` replaced by another definition under the same name.
fn machines_with_changed_contract() -> Vec<Machine> {
    machines()
        .into_iter()
        .map(|m| {
            if m.name == "contract" {
                let heartbeat = machines()
                    .into_iter()
                    .find(|m| m.name == "heartbeat")
                    .unwrap();
                Machine {
                    name: "contract".into(),
                    definition: heartbeat.definition,
                }
            } else {
                m
            }
        })
        .collect()
}

#[tokio::test]
async fn an_execution_is_not_advanced_under_a_changed_definition() {
    let env = Env::new();
    let r = env.runner();
    let (id, token) = to_token_wait(&env, &r, "contract", "pinned").await;
    let expected = machines()
        .into_iter()
        .find(|m| m.name == "contract")
        .unwrap()
        .definition
        .sha256_hex()
        .to_string();
    let head = env
        .store()
        .get(&layout::head_key(&id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        head.body["definition"],
        json!(expected),
        "recorded at start"
    );
    let version = head.version;

    let changed = Runner::new(
        env.store(),
        env.clock.clone(),
        env.handlers.clone(),
        machines_with_changed_contract(),
    );
    // A callback is refused with a typed error, and nothing is written.
    let err = changed
        .send_task_success(&token, json!({"decision": "agree"}))
        .await
        .unwrap_err();
    match &err {
        WorkflowError::DefinitionChanged {
            execution,
            machine,
            recorded,
            current,
        } => {
            assert_eq!(execution, id.as_str());
            assert_eq!(machine, "contract");
            assert_eq!(recorded, &expected);
            assert_ne!(current, &expected);
        }
        other => panic!("expected DefinitionChanged, got {other:?}"),
    }
    assert_eq!(err.code(), "InternalError");
    let head = env
        .store()
        .get(&layout::head_key(&id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head.version, version, "nothing was written");
    // Recovery does not invoke its tasks; stopping is refused too.
    let calls = env.handlers.count("record_wait");
    assert_eq!(changed.recover().await.unwrap(), 0);
    changed.idle().await;
    assert_eq!(env.handlers.count("record_wait"), calls);
    assert!(matches!(
        changed.stop_execution(&id, None, None).await,
        Err(WorkflowError::DefinitionChanged { .. })
    ));
    // Its timeout timer, when due, is dropped rather than run (recovery under the right
    // definition re-arms it).
    env.clock.advance(Duration::seconds(3600));
    assert_eq!(changed.fire_due_timers().await.unwrap(), 0);
    assert_eq!(status(&changed, &id).await, Status::Running);
    // Under its own definition it goes on.
    let again = env.runner();
    again.recover().await.unwrap();
    again.idle().await;
    assert_eq!(
        again.fire_due_timers().await.unwrap(),
        1,
        "the re-armed timeout"
    );
    let d = again.describe_execution(&id).await.unwrap();
    assert_eq!(d.summary.status, Status::Failed);
    assert_eq!(d.error.as_deref(), Some("Keiyaku.Expired"));
}

#[tokio::test]
async fn an_execution_without_a_recorded_hash_still_runs() {
    let env = Env::new();
    let r = env.runner();
    let (id, token) = to_token_wait(&env, &r, "contract", "legacy").await;
    // A head written before hashes were recorded, with a snapshot that still has the old
    // shape (an empty history, no event counter).
    let store = env.store();
    let mut head = store.get(&layout::head_key(&id)).await.unwrap().unwrap();
    let mut snapshot: Value = serde_json::from_str(head.body["data"].as_str().unwrap()).unwrap();
    let o = snapshot.as_object_mut().unwrap();
    o.remove("events");
    o.insert("history".into(), json!([]));
    head.body["data"] = json!(snapshot.to_string());
    head.body.as_object_mut().unwrap().remove("definition");
    let version = head.version;
    head.version += 1;
    store
        .transact(vec![Write::Put {
            item: head,
            condition: Condition::Version(version),
        }])
        .await
        .unwrap();
    let fresh = env.runner();
    fresh
        .send_task_success(&token, json!({"decision": "agree"}))
        .await
        .unwrap();
    assert_eq!(status(&fresh, &id).await, Status::Succeeded);
    let events = all_events(&fresh, &id).await;
    assert_eq!(events.len(), 19);
    assert_consecutive(&events);
}

/// A Distributed Map's children are stored as executions of their own: each described
/// (input, output or error), its history read, all listed by their Map Run; their tasks run
/// through the parent.
#[tokio::test]
async fn a_distributed_map_s_children_are_stored_as_executions() {
    struct Work;
    #[async_trait]
    impl TaskHandlers for Work {
        async fn invoke(
            &self,
            _handler: &str,
            payload: Value,
            _token: Option<String>,
        ) -> Result<Value, TaskFailure> {
            if payload == json!(3) {
                return Err(TaskFailure::function_error("Item.Bad", "three"));
            }
            Ok(json!({ "done": payload }))
        }
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(MemoryItemStore::new(clock.clone()));
    let definition = Definition::parse(
        &json!({"StartAt": "Each", "States": {"Each": {
            "Type": "Map", "ItemsPath": "$.items", "ToleratedFailureCount": 1, "MaxConcurrency": 2,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Work", "States": {"Work": {"Type": "Task",
                    "Resource": "arn:aws:lambda:ap-northeast-1:111111111111:function:work", "End": true}}},
            "End": true}}})
        .to_string(),
    )
    .unwrap();
    let r = Runner::new(
        store,
        clock,
        Arc::new(Work),
        vec![Machine {
            name: "fanout".into(),
            definition,
        }],
    );
    let id = r
        .start_execution("fanout", "f1", json!({"items": [1, 2, 3]}))
        .await
        .unwrap();
    for _ in 0..500 {
        r.idle().await;
        if status(&r, &id).await != Status::Running {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let parent = r.describe_execution(&id).await.unwrap();
    assert_eq!(parent.summary.status, Status::Succeeded);
    assert_eq!(parent.output.as_ref().unwrap()[0], json!({"done": 1}));
    let events = all_events(&r, &id).await;
    let map_run = events
        .iter()
        .find(|e| e.kind == EventType::MapRunStarted)
        .and_then(|e| e.detail_str("mapRunArn"))
        .unwrap()
        .to_owned();
    let children = r.map_run(&map_run, 1000).await.unwrap();
    assert_eq!(children.len(), 3);
    assert_eq!(r.map_run(&map_run, 2).await.unwrap(), children[..2]);
    // A line stored before the dates were kept still reads.
    let old: MapRunChild =
        serde_json::from_value(json!({"id": "x", "name": "n", "status": Status::Succeeded}))
            .unwrap();
    assert_eq!((old.start_date, old.stop_date), (None, None));
    let mut statuses: Vec<Status> = children.iter().map(|c| c.status).collect();
    statuses.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(
        statuses,
        [Status::Failed, Status::Succeeded, Status::Succeeded]
    );
    for child in &children {
        let d = r.describe_execution(&child.id).await.unwrap();
        assert_eq!(d.summary.name, child.name);
        assert_eq!(
            (child.start_date, child.stop_date),
            (Some(d.summary.start_date), d.summary.stop_date),
            "the listing tells the child's dates as its description does"
        );
        assert!(child.stop_date.is_some());
        assert!(
            d.execution_arn.contains(":execution:"),
            "{}",
            d.execution_arn
        );
        let history = all_events(&r, &child.id).await;
        assert_eq!(history.first().unwrap().kind, EventType::ExecutionStarted);
        assert_eq!(
            history.iter().map(|e| e.id).collect::<Vec<_>>(),
            (1..=history.len() as u64).collect::<Vec<_>>()
        );
        match d.summary.status {
            Status::Succeeded => {
                assert_eq!(d.output, Some(json!({"done": d.input})));
                assert_eq!(history.last().unwrap().kind, EventType::ExecutionSucceeded);
            }
            _ => {
                assert_eq!(d.input, json!(3));
                assert_eq!(d.error.as_deref(), Some("Item.Bad"));
                assert_eq!(history.last().unwrap().kind, EventType::ExecutionFailed);
            }
        }
    }
    assert!(matches!(
        r.describe_execution(&ExecutionId::new(format!("{id}-nobody")))
            .await,
        Err(WorkflowError::ExecutionDoesNotExist(_))
    ));

    // The ops view's port: the parent's detail lists its Map Run's children, each of
    // which it can open.
    let port: &dyn keiyaku_core::ports::Workflow = &r;
    let detail = port.describe(id.as_str()).await.unwrap();
    assert_eq!(detail.map_runs.len(), 1);
    assert_eq!(detail.map_runs[0].map_run_arn, map_run);
    let listed: Vec<(String, String)> = detail.map_runs[0]
        .executions
        .iter()
        .map(|e| (e.id.clone(), e.status.clone()))
        .collect();
    let expected: Vec<(String, String)> = children
        .iter()
        .map(|c| (c.id.to_string(), layout::status_name(c.status).to_owned()))
        .collect();
    assert_eq!(listed, expected);
    let failed = detail.map_runs[0]
        .executions
        .iter()
        .find(|e| e.status == "FAILED")
        .unwrap();
    let child = port.describe(&failed.id).await.unwrap();
    assert_eq!(child.error.as_deref(), Some("Item.Bad"));
    assert_eq!(child.events[0]["type"], "ExecutionStarted");
    assert!(child.map_runs.is_empty());
}

/// Objects in memory, for ItemReaders and ResultWriters.
#[derive(Default)]
struct Objects(Mutex<BTreeMap<String, Vec<u8>>>);

impl Objects {
    fn with(objects: &[(&str, Vec<u8>)]) -> Objects {
        let o = Objects::default();
        for (k, v) in objects {
            o.0.lock().unwrap().insert(k.to_string(), v.clone());
        }
        o
    }
}

#[async_trait]
impl keiyaku_core::ports::BlobStore for Objects {
    async fn put(
        &self,
        key: &str,
        body: keiyaku_core::ports::ByteStream,
        _mode: keiyaku_core::ports::PutMode,
    ) -> Result<u64, keiyaku_core::ports::BlobError> {
        use futures::TryStreamExt;
        // As every adapter does.
        keiyaku_core::ports::check_blob_key(key)?;
        let chunks: Vec<bytes::Bytes> = body
            .try_collect()
            .await
            .map_err(keiyaku_core::ports::BlobError::from_body)?;
        let body = chunks.concat();
        let len = body.len() as u64;
        self.0.lock().unwrap().insert(key.to_owned(), body);
        Ok(len)
    }

    async fn get(
        &self,
        key: &str,
    ) -> Result<keiyaku_core::ports::ByteStream, keiyaku_core::ports::BlobError> {
        let body = self
            .0
            .lock()
            .unwrap()
            .get(key)
            .cloned()
            .ok_or(keiyaku_core::ports::BlobError::NotFound)?;
        // In two chunks, as a store streams it.
        let (a, b) = body.split_at(body.len() / 2);
        let chunks = vec![
            Ok(bytes::Bytes::copy_from_slice(a)),
            Ok(bytes::Bytes::copy_from_slice(b)),
        ];
        Ok(Box::pin(futures::stream::iter(chunks)))
    }

    async fn delete(&self, _key: &str) -> Result<(), keiyaku_core::ports::BlobError> {
        Ok(())
    }

    async fn list(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<keiyaku_core::ports::BlobInfo>, keiyaku_core::ports::BlobError> {
        keiyaku_core::ports::check_blob_prefix(prefix)?;
        let objects = self.0.lock().unwrap();
        Ok(objects
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| keiyaku_core::ports::BlobInfo {
                key: k.clone(),
                size: v.len() as u64,
                last_modified: OffsetDateTime::UNIX_EPOCH + Duration::seconds(v.len() as i64),
                etag: format!("\"{}\"", v.len()),
            })
            .collect())
    }
}

/// Waits until execution `id` ends (or a generous guard passes), and describes it.
async fn when_ended(r: &Runner, id: &ExecutionId) -> Description {
    for _ in 0..1000 {
        r.idle().await;
        if status(r, id).await != Status::Running {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    r.describe_execution(id).await.unwrap()
}

/// Runs `machine`'s execution `name` on `input` until it ends.
async fn run_to_end(r: &Runner, machine: &str, name: &str, input: Value) -> Description {
    let id = r.start_execution(machine, name, input).await.unwrap();
    when_ended(r, &id).await
}

/// A runner in memory with one machine, `name`, of `definition`, and its store.
fn one_machine(
    name: &str,
    definition: Value,
    handlers: Arc<dyn TaskHandlers>,
    objects: Option<Arc<dyn keiyaku_core::ports::BlobStore>>,
) -> (Runner, Arc<MemoryItemStore>) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(MemoryItemStore::new(clock.clone()));
    let definition = Definition::parse(&definition.to_string()).unwrap();
    let machine = Machine {
        name: name.into(),
        definition,
    };
    let r = Runner::with_objects(store.clone(), clock, handlers, vec![machine], objects);
    (r, store)
}

#[tokio::test]
async fn an_item_reader_reads_its_object_through_the_blob_store() {
    let objects = Objects::with(&[
        ("data/rows.csv", b"name,qty\npen,2\nink,5\n".to_vec()),
        (
            "data/huge.json",
            vec![b' '; crate::buckets::MAX_OBJECT_BYTES + 1],
        ),
    ]);
    let (r, _) = one_machine(
        "reader",
        json!({"StartAt": "Each", "States": {"Each": {
            "Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                "Parameters": {"Bucket": "data", "Key.$": "$.key"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true}}}),
        Arc::new(Script::default()),
        Some(Arc::new(objects)),
    );
    let run = |name: &'static str, key: &'static str| {
        let r = r.clone();
        async move { run_to_end(&r, "reader", name, json!({ "key": key })).await }
    };
    // Its children start and end within one step: each is listed once.
    let d = run("rows", "rows.csv").await;
    assert_eq!(
        d.output,
        Some(json!([{"name": "pen", "qty": "2"}, {"name": "ink", "qty": "5"}]))
    );
    let d = run("missing", "none.csv").await;
    assert_eq!(d.error.as_deref(), Some("States.ItemReaderFailed"));
    assert_eq!(
        d.cause.as_deref(),
        Some("The specified key does not exist. (Bucket: data, Key: none.csv)")
    );
    let d = run("huge", "huge.json").await;
    assert_eq!(d.error.as_deref(), Some("States.ItemReaderFailed"));
    assert!(d.cause.unwrap().contains("larger than"));
}

#[tokio::test]
async fn a_result_writer_writes_through_the_blob_store() {
    let objects = Arc::new(Objects::default());
    let (r, _) = one_machine(
        "writer",
        json!({"StartAt": "Each", "States": {"Each": {
            "Type": "Map", "ItemsPath": "$.items",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": "results", "Prefix.$": "$.prefix"}},
            "End": true}}}),
        Arc::new(Script::default()),
        Some(objects.clone()),
    );
    let d = run_to_end(
        &r,
        "writer",
        "w1",
        json!({"prefix": "runs", "items": [1, 2]}),
    )
    .await;
    let output = d.output.expect("succeeded");
    let manifest = output["ResultWriterDetails"]["Key"].as_str().unwrap();
    assert!(manifest.starts_with("runs/") && manifest.ends_with("/manifest.json"));
    let stored = objects.0.lock().unwrap().clone();
    let read = |key: &str| -> Value {
        serde_json::from_slice(&stored[&format!("results/{key}")]).expect("stored JSON")
    };
    let manifest = read(manifest);
    assert_eq!(manifest["MapRunArn"], output["MapRunArn"]);
    let results = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]
        .as_str()
        .unwrap();
    let records = read(results);
    let outputs: Vec<&Value> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["Output"])
        .collect();
    assert_eq!(outputs, [&json!("1"), &json!("2")]);

    // A prefix no store can hold fails the writer, in words that say why.
    let d = run_to_end(
        &r,
        "writer",
        "w2",
        json!({"prefix": "no such/../place", "items": [1]}),
    )
    .await;
    assert_eq!(d.error.as_deref(), Some("States.ResultWriterFailed"));
    assert!(d.cause.unwrap().contains("cannot be stored here"));
}

#[tokio::test]
async fn a_listing_reader_lists_the_blob_store_under_its_prefix() {
    let objects = Objects::with(&[
        ("data/in/b.txt", b"bb".to_vec()),
        ("data/in/a.txt", b"a".to_vec()),
        ("data/out/c.txt", b"ccc".to_vec()),
        ("other/in/d.txt", b"d".to_vec()),
    ]);
    let (r, _) = one_machine(
        "lister",
        json!({"StartAt": "Each", "States": {"Each": {
            "Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2",
                "Parameters": {"Bucket.$": "$.bucket", "Prefix": "in/"}},
            "ItemSelector": {"key.$": "$$.Map.Item.Value.Key", "size.$": "$$.Map.Item.Value.Size",
                "class.$": "$$.Map.Item.Value.StorageClass"},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true}}}),
        Arc::new(Script::default()),
        Some(Arc::new(objects)),
    );
    let d = run_to_end(&r, "lister", "l1", json!({"bucket": "data"})).await;
    assert_eq!(
        d.output,
        Some(json!([
            {"key": "in/a.txt", "size": 1, "class": "STANDARD"},
            {"key": "in/b.txt", "size": 2, "class": "STANDARD"}
        ]))
    );
    // A bucket name S3 would refuse (here: one that would reach into another bucket).
    let d = run_to_end(&r, "lister", "l2", json!({"bucket": "data/in"})).await;
    assert_eq!(d.error.as_deref(), Some("States.ItemReaderFailed"));
    assert_eq!(
        d.cause.as_deref(),
        Some("The specified bucket is not valid: data/in")
    );
}

/// Answers every task only once the test opens the gate.
struct Gated(Arc<tokio::sync::Semaphore>);

#[async_trait]
impl TaskHandlers for Gated {
    async fn invoke(
        &self,
        _handler: &str,
        payload: Value,
        _token: Option<String>,
    ) -> Result<Value, TaskFailure> {
        self.0.acquire().await.expect("open").forget();
        Ok(json!({ "done": payload }))
    }
}

/// A Map of `items` tasks that each time out after five minutes, all at once, answered by
/// `Gated` handlers behind the returned gate.
fn timed_tasks(name: &str) -> (Runner, Arc<MemoryItemStore>, Arc<tokio::sync::Semaphore>) {
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let (r, store) = one_machine(
        name,
        json!({"StartAt": "Each", "States": {"Each": {
            "Type": "Map",
            "ItemProcessor": {"StartAt": "Work", "States": {"Work": {"Type": "Task",
                "Resource": "arn:aws:lambda:local:000000000000:function:work",
                "TimeoutSeconds": 300, "End": true}}},
            "End": true}}}),
        Arc::new(Gated(gate.clone())),
        None,
    );
    (r, store, gate)
}

fn done_items(n: usize) -> Option<Value> {
    Some(Value::Array((0..n).map(|i| json!({ "done": i })).collect()))
}

#[tokio::test]
async fn results_that_arrive_together_are_committed_together_within_a_transaction() {
    const ITEMS: usize = 40;
    let (r, _, gate) = timed_tasks("gated");
    // Every result waits for the execution while the test holds it; a commit may then take
    // them all, but not more writes than 30 (each result clears its timeout's timer).
    r.inner.batch_limit.store(1000, Ordering::SeqCst);
    r.inner.batch_writes.store(30, Ordering::SeqCst);
    let items: Vec<usize> = (0..ITEMS).collect();
    let id = r
        .start_execution("gated", "g1", json!(items))
        .await
        .unwrap();
    let slot = r.inner.slot(&id);
    let held = slot.lock().await;
    gate.add_permits(ITEMS);
    for _ in 0..2000 {
        let queued = r
            .inner
            .queued_results
            .lock()
            .unwrap()
            .get(&id)
            .map_or(0, Vec::len);
        if queued == ITEMS {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    drop(held);
    assert_eq!(when_ended(&r, &id).await.output, done_items(ITEMS));
    // Forty results in one batch were too many writes: half went in one commit, the rest
    // in the next, taken by the next delivery waiting for the execution.
    assert_eq!(r.inner.commits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_step_that_starts_more_timers_than_a_transaction_holds_commits() {
    const ITEMS: usize = 120;
    let (r, store, gate) = timed_tasks("wide");
    // The first step starts 120 tasks, each with its timeout's timer: more writes than one
    // transaction takes.
    let items: Vec<usize> = (0..ITEMS).collect();
    let id = r.start_execution("wide", "w1", json!(items)).await.unwrap();
    let timers = store
        .query(&Query {
            pk: layout::TIMER_PK.into(),
            sk_prefix: String::new(),
            after: None,
            descending: false,
            limit: 1000,
        })
        .await
        .unwrap();
    assert_eq!(timers.items.len(), ITEMS, "every timer is stored");
    gate.add_permits(ITEMS);
    assert_eq!(when_ended(&r, &id).await.output, done_items(ITEMS));
}
