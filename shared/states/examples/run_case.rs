//! Runs one differential case with keiyaku's engine, as `tests/tools/moto_differential.py`
//! runs it on moto's Step Functions: `run_case CASE.json` prints the execution's status,
//! output (or error and cause) and history events as JSON. Each Lambda task gets the next
//! of the case's `lambda` results (JSON text, as queued for moto's `lambda-simple` backend;
//! once they run out, moto's default `"Simple Lambda happy path OK"`); timers fire at once.
//! A result `{"oversized": true}` is a function whose response is over Lambda's 6 MB limit:
//! Lambda answers it with the function error `Function.ResponseSizeTooLarge`, and Step
//! Functions fails the task with the `errorType` as the error and the error payload, as
//! the function returned it, as the cause. A Distributed Map's ItemReader reads or lists
//! the case's `objects` (`{"bucket/key": "text"}`), as moto's executor reads them from its
//! S3; a ResultWriter's objects are taken and not compared.

use std::collections::VecDeque;

use keiyaku_states::{
    Definition, Effect, Execution, Input, Integration, Invocation, SeededTokens, Start, TaskRef,
    TimerId,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

/// Keeps what the engine asks for: tasks to run, timers to fire.
fn take(
    effects: Vec<Effect>,
    tasks: &mut VecDeque<Invocation>,
    timers: &mut Vec<(OffsetDateTime, TimerId)>,
) {
    for e in effects {
        match e {
            Effect::InvokeTask(inv) => tasks.push_back(inv),
            Effect::CancelTask { task } => tasks.retain(|t| t.task != task),
            Effect::SetTimer { timer, at } => timers.push((at, timer)),
            Effect::CancelTimer { timer } => timers.retain(|(_, t)| *t != timer),
            Effect::ExecutionFinished { .. } => {}
        }
    }
}

/// What the function answers to one invocation.
enum Answer {
    /// Its result.
    Output(Value),
    /// A function error: the `errorType`, and the error payload as Lambda returns it.
    FunctionError { error: String, payload: String },
}

impl Answer {
    fn from_case(r: &Value) -> Answer {
        if r["oversized"] == json!(true) {
            // Lambda's answer to a response over 6,291,556 bytes, as moto's Lambda writes it
            // (Python's `json.dumps`, spaced).
            return Answer::FunctionError {
                error: "Function.ResponseSizeTooLarge".into(),
                payload: r#"{"errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).", "errorType": "Function.ResponseSizeTooLarge"}"#.into(),
            };
        }
        let text = r
            .as_str()
            .expect("lambda results are JSON text or {\"oversized\": true}");
        Answer::Output(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into())))
    }
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: run_case CASE.json");
    let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("readable"))
        .expect("a JSON case");
    let def = match Definition::parse(&case["definition"].to_string()) {
        Ok(def) => def,
        Err(e) => {
            println!(
                "{}",
                json!({ "refused": format!("{}: {}", e.path, e.message) })
            );
            return;
        }
    };
    let mut results: VecDeque<Answer> = case["lambda"]
        .as_array()
        .map(|a| a.iter().map(Answer::from_case).collect())
        .unwrap_or_default();
    let mut callbacks: VecDeque<Value> = case["callbacks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into();
    let mut now = datetime!(2024-04-01 09:00:00 UTC);
    let start = Start::new("differential", case["input"].clone());
    let mut tokens = SeededTokens::new(start.seed);
    let (mut exec, effects) = Execution::start(&def, start, now, &mut tokens).expect("starts");
    let mut tasks = VecDeque::new();
    let mut timers = Vec::new();
    take(effects, &mut tasks, &mut timers);
    while exec.status() == keiyaku_states::Status::Running {
        let input = if let Some(inv) = tasks.pop_front() {
            if inv.integration == Integration::S3PutObject {
                // A ResultWriter's objects: written, not compared (their keys hold the Map
                // Run's random id).
                let input = Input::TaskSucceeded {
                    task: TaskRef::Id(inv.task),
                    output: json!({}),
                };
                let effects = exec.handle(&def, input, now, &mut tokens).expect("handled");
                take(effects, &mut tasks, &mut timers);
                continue;
            }
            if inv.integration == Integration::S3ListObjectsV2 {
                // The case's objects under the prefix, as moto's S3 lists them (ItemSelectors
                // pick the fields both can agree on: the entity tags and dates differ).
                let under = format!(
                    "{}/{}",
                    inv.payload["Bucket"].as_str().unwrap_or_default(),
                    inv.payload["Prefix"].as_str().unwrap_or_default()
                );
                let objects = case["objects"].as_object().cloned().unwrap_or_default();
                let mut keys: Vec<(&String, &Value)> = objects
                    .iter()
                    .filter(|(k, _)| k.starts_with(&under))
                    .collect();
                keys.sort_by_key(|(k, _)| k.as_str());
                let listing = keys
                    .into_iter()
                    .map(|(k, text)| {
                        json!({
                            "Etag": "\"\"",
                            "Key": k.split_once('/').map_or(k.as_str(), |(_, key)| key),
                            "LastModified": 0,
                            "Size": text.as_str().map_or(0, str::len),
                            "StorageClass": "STANDARD",
                        })
                    })
                    .collect();
                let input = Input::TaskSucceeded {
                    task: TaskRef::Id(inv.task),
                    output: Value::Array(listing),
                };
                let effects = exec.handle(&def, input, now, &mut tokens).expect("handled");
                take(effects, &mut tasks, &mut timers);
                continue;
            }
            if inv.integration == Integration::S3GetObject {
                let task = TaskRef::Id(inv.task);
                let at = format!(
                    "{}/{}",
                    inv.payload["Bucket"].as_str().unwrap_or_default(),
                    inv.payload["Key"].as_str().unwrap_or_default()
                );
                let input = match case["objects"][&at].as_str() {
                    Some(text) => Input::TaskSucceeded {
                        task,
                        output: Value::String(text.to_owned()),
                    },
                    None => Input::TaskFailed {
                        task,
                        error: "S3.NoSuchKeyException".into(),
                        cause: format!("no object {at} in the case"),
                    },
                };
                let effects = exec.handle(&def, input, now, &mut tokens).expect("handled");
                take(effects, &mut tasks, &mut timers);
                continue;
            }
            let answer = results
                .pop_front()
                .unwrap_or_else(|| Answer::Output(json!("Simple Lambda happy path OK")));
            let output = match answer {
                Answer::Output(v) => v,
                Answer::FunctionError { error, payload } => {
                    let failed = Input::TaskFailed {
                        task: TaskRef::Id(inv.task),
                        error,
                        cause: payload,
                    };
                    let effects = exec
                        .handle(&def, failed, now, &mut tokens)
                        .expect("handled");
                    take(effects, &mut tasks, &mut timers);
                    continue;
                }
            };
            match inv.token {
                // `.waitForTaskToken`: the invocation is acknowledged, then the next of
                // the case's callbacks completes the task by its token.
                Some(token) => {
                    let submitted = Input::TaskSubmitted {
                        task: TaskRef::Id(inv.task),
                        output,
                    };
                    let effects = exec
                        .handle(&def, submitted, now, &mut tokens)
                        .expect("handled");
                    take(effects, &mut tasks, &mut timers);
                    Input::TaskSucceeded {
                        task: TaskRef::Token(token),
                        output: callbacks.pop_front().expect("a callback for every wait"),
                    }
                }
                None => Input::TaskSucceeded {
                    task: TaskRef::Id(inv.task),
                    output,
                },
            }
        } else if !timers.is_empty() {
            timers.sort();
            let (at, timer) = timers.remove(0);
            now = now.max(at);
            Input::TimerFired { timer }
        } else {
            break;
        };
        let effects = exec.handle(&def, input, now, &mut tokens).expect("handled");
        take(effects, &mut tasks, &mut timers);
    }
    let status = serde_json::to_value(exec.status()).expect("a status");
    println!(
        "{}",
        json!({
            "status": status,
            "output": exec.output(),
            "error": exec.error(),
            "cause": exec.cause(),
            "events": exec.history(),
        })
    );
}
