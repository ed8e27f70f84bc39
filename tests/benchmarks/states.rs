//! State machine benchmark, on a release build: inline Map states run by the durable
//! executor (keiyaku-workflow on the SQLite item store, as the local shape runs them),
//! state transitions per second against a floor measured in the same run — the same machine
//! run by the sans-IO engine in memory, with nothing stored. Not a timed test: it prints
//! figures.
//!
//! Step Functions keeps at most 25,000 history events per execution, and an inline Map
//! iteration logs at least four (MapIterationStarted, the state's Entered and Exited,
//! MapIterationSucceeded): 6,000 Pass iterations are the most an execution can hold, and a
//! Map of 10,000 inline items fails at the quota — on AWS and here, which (3) shows. (4) is a
//! Distributed Map of 1,000 children, each an execution of its own; the figures count the
//! parent's transitions and time the whole run.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use keiyaku_core::clock::SystemClock;
use keiyaku_local::SqliteItemStore;
use keiyaku_states::{Definition, Effect, Execution, Input, SeededTokens, Start, Status, TaskRef};
use keiyaku_workflow::{Machine, Runner, TaskFailure, TaskHandlers};
use serde_json::{Value, json};

/// A handler that answers at once with its payload, as a trivial Lambda would.
struct Echo;

#[async_trait]
impl TaskHandlers for Echo {
    async fn invoke(
        &self,
        _handler: &str,
        payload: Value,
        _token: Option<String>,
    ) -> Result<Value, TaskFailure> {
        Ok(payload)
    }
}

/// A Map over `$.items` whose iteration is a Pass state, or a Lambda task; inline, or
/// distributed (each item a child execution).
fn machine(task: bool, concurrency: u64, distributed: bool) -> Definition {
    let inner = if task {
        json!({"Type": "Task", "Resource": "arn:aws:lambda:ap-northeast-1:111111111111:function:echo", "End": true})
    } else {
        json!({"Type": "Pass", "Parameters": {"n.$": "$"}, "End": true})
    };
    let mut processor = json!({"StartAt": "Item", "States": {"Item": inner}});
    if distributed {
        processor["ProcessorConfig"] = json!({"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"});
    }
    let def = json!({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": concurrency,
        "ItemProcessor": processor, "ResultPath": null, "End": true}}});
    Definition::parse(&def.to_string()).expect("the benchmark's machine parses")
}

fn items(n: usize) -> Value {
    json!({"items": (0..n).collect::<Vec<_>>()})
}

fn transitions(events: &[keiyaku_states::HistoryEvent]) -> usize {
    events
        .iter()
        .filter(|e| format!("{:?}", e.kind).ends_with("StateEntered"))
        .count()
}

/// The floor: the engine in memory, its tasks answered at once; (status, events, transitions).
fn in_memory(def: &Definition, input: Value) -> (Status, usize, usize) {
    let now = time::OffsetDateTime::now_utc();
    let mut tokens = SeededTokens::new(1);
    let (mut exec, mut effects) =
        Execution::start(def, Start::new("bench", input), now, &mut tokens).expect("starts");
    let mut events = exec.take_history();
    loop {
        let tasks: Vec<_> = effects
            .into_iter()
            .filter_map(|e| match e {
                Effect::InvokeTask(inv) => Some(inv),
                _ => None,
            })
            .collect();
        if tasks.is_empty() || exec.status() != Status::Running {
            break;
        }
        effects = Vec::new();
        for inv in tasks {
            let answered = Input::TaskSucceeded {
                task: TaskRef::Id(inv.task),
                output: inv.payload.clone(),
            };
            if let Ok(more) = exec.handle(def, answered, now, &mut tokens) {
                effects.extend(more);
            }
        }
        events.extend(exec.take_history());
    }
    (exec.status(), events.len(), transitions(&events))
}

/// The durable executor on SQLite, until the execution ends (reading its history back is
/// not timed); (status, events, transitions, seconds).
async fn durable(def: &Definition, input: Value) -> (Status, usize, usize, f64) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(SystemClock);
    let store = SqliteItemStore::open(&dir.path().join("bench.db"), clock.clone())
        .expect("a SQLite item store");
    let runner = Runner::new(
        Arc::new(store),
        clock,
        Arc::new(Echo),
        vec![Machine {
            name: "bench".into(),
            definition: def.clone(),
        }],
    );
    let started = Instant::now();
    let id = runner
        .start_execution("bench", "bench", input)
        .await
        .expect("started");
    loop {
        runner.idle().await;
        let d = runner.describe_execution(&id).await.expect("described");
        if d.summary.status != Status::Running {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let took = started.elapsed();
    let mut events = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = runner
            .history(&id, next.as_deref(), 1000)
            .await
            .expect("history");
        events.extend(page.events);
        match page.next {
            Some(n) => next = Some(n),
            None => break,
        }
    }
    let status = runner.describe_execution(&id).await.unwrap().summary.status;
    (
        status,
        events.len(),
        transitions(&events),
        took.as_secs_f64(),
    )
}

async fn compare(title: &str, def: &Definition, n: usize) {
    let started = Instant::now();
    let (floor_status, floor_events, floor_transitions) = in_memory(def, items(n));
    let floor = started.elapsed().as_secs_f64();
    let (status, events, transitions, took) = durable(def, items(n)).await;
    assert_eq!((status, events), (floor_status, floor_events), "{title}");
    println!("== {title}: {status:?}, {events} events, {transitions} state transitions");
    println!(
        "  floor (the engine in memory)         {floor:8.3} s  {:10.0} transitions/s  {:8.0} items/s",
        floor_transitions as f64 / floor,
        n as f64 / floor
    );
    println!(
        "  durable executor on SQLite           {took:8.3} s  {:10.0} transitions/s  {:8.0} items/s  = {:.1} x floor",
        transitions as f64 / took,
        n as f64 / took,
        took / floor
    );
}

#[tokio::main]
async fn main() {
    compare(
        "(1) inline Map of 6,000 Pass iterations, unbounded concurrency",
        &machine(false, 0, false),
        6_000,
    )
    .await;
    compare(
        "(2) inline Map of 3,000 Lambda task iterations, 40 at a time",
        &machine(true, 40, false),
        3_000,
    )
    .await;
    compare(
        "(3) inline Map of 10,000 Pass iterations: over the 25,000-event quota",
        &machine(false, 0, false),
        10_000,
    )
    .await;
    // A child's transitions are in its own history, not the parent's: count items.
    compare(
        "(4) Distributed Map of 1,000 child executions (a Lambda task each), 100 at a time",
        &machine(true, 100, true),
        1_000,
    )
    .await;
}
