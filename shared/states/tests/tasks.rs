//! Task tokens, timeouts and heartbeats driven by TimerFired; Wait states; stopping; the
//! execution timeout; serialization mid-execution; history shape and its 25,000-event quota.

mod support;

use std::collections::BTreeMap;

use keiyaku_states::{
    Definition, Effect, Execution, HandleError, Input, Integration, Start, Status, TaskRef,
};
use serde_json::{Value, json};
use support::{Run, T0};
use time::Duration;

/// An agreement step the way keiyaku's contract machine waits for a party.
fn agree_machine() -> String {
    json!({
        "StartAt": "WaitForAgreement",
        "States": {
            "WaitForAgreement": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {
                    "FunctionName": "${NotifyFunction}",
                    "Payload": {"document.$": "$.document", "token.$": "$$.Task.Token"}
                },
                "TimeoutSecondsPath": "$.secondsLeft",
                "HeartbeatSeconds": 3600,
                "ResultPath": "$.answer",
                "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Expired", "ResultPath": "$.error"}],
                "Next": "Agreed"
            },
            "Agreed": {"Type": "Succeed"},
            "Expired": {"Type": "Fail", "Error": "Keiyaku.Expired", "CausePath": "$.error.Error"}
        }
    })
    .to_string()
}

fn start_agree(seconds_left: u64) -> Run {
    let subs = BTreeMap::from([(
        "NotifyFunction".to_string(),
        "arn:aws:lambda:ap-northeast-1:1:function:notify".to_string(),
    )]);
    let def = Definition::parse_with(&agree_machine(), &subs).unwrap();
    Run::start_with(
        def,
        Start::new(
            "doc-1",
            json!({"document": "d1", "secondsLeft": seconds_left}),
        )
        .seed(42),
    )
}

#[test]
fn wait_for_task_token_completes_by_token_with_the_raw_output() {
    let mut run = start_agree(86_400);
    let t = run.task();
    assert_eq!(t.integration, Integration::LambdaInvokeWaitForTaskToken);
    assert_eq!(
        t.function,
        "arn:aws:lambda:ap-northeast-1:1:function:notify"
    );
    let token = t.token.clone().expect("a token");
    assert_eq!(t.payload, json!({"document": "d1", "token": token}));
    // Timeout after 86,400 s and heartbeat after 3,600 s are pending.
    let dues: Vec<_> = run.timers.values().map(|at| *at - T0).collect();
    assert_eq!(
        dues,
        vec![Duration::seconds(86_400), Duration::seconds(3_600)]
    );

    run.handle(Input::TaskSubmitted {
        task: TaskRef::Id(t.task),
        output: json!({"StatusCode": 202}),
    })
    .unwrap();
    run.now += Duration::seconds(1800);
    run.handle(Input::TaskHeartbeat {
        task: TaskRef::Token(token.clone()),
    })
    .unwrap();
    let hb = run.timers.values().copied().min().unwrap();
    assert_eq!(
        hb - T0,
        Duration::seconds(1800 + 3600),
        "the heartbeat clock restarted"
    );

    run.handle(Input::TaskSucceeded {
        task: TaskRef::Token(token.clone()),
        output: json!({"agreed": true}),
    })
    .unwrap();
    run.tasks.clear();
    assert_eq!(run.exec.status(), Status::Succeeded);
    assert_eq!(
        run.output()["answer"],
        json!({"agreed": true}),
        "callback output is not wrapped"
    );
    assert!(run.timers.is_empty(), "timers cancelled");
    let types = run.event_types();
    assert_eq!(
        types,
        vec![
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    // A second answer for the same token is refused, as SendTaskSuccess would refuse it.
    let again = run.exec.handle(
        &run.def,
        Input::TaskSucceeded {
            task: TaskRef::Token(token),
            output: json!({}),
        },
        run.now,
        &mut run.tokens,
    );
    assert_eq!(again, Err(HandleError::NotRunning));
}

#[test]
fn the_timeout_timer_fails_the_task_with_states_timeout() {
    let mut run = start_agree(100);
    let token = run.task().token.unwrap();
    let moved = run.fire_next_timer();
    assert_eq!(moved, Duration::seconds(100));
    assert_eq!(run.exec.status(), Status::Failed);
    assert_eq!(run.exec.error(), Some("Keiyaku.Expired"));
    assert_eq!(run.exec.cause(), Some("States.Timeout"));
    assert!(run.tasks.is_empty(), "the task was cancelled");
    assert!(
        run.log
            .iter()
            .any(|e| matches!(e, Effect::CancelTask { .. }))
    );
    let late = run.exec.handle(
        &run.def,
        Input::TaskSucceeded {
            task: TaskRef::Token(token),
            output: json!({}),
        },
        run.now,
        &mut run.tokens,
    );
    assert_eq!(late, Err(HandleError::NotRunning));
}

#[test]
fn a_missed_heartbeat_fails_with_heartbeat_timeout() {
    let mut run = start_agree(86_400);
    let moved = run.fire_next_timer();
    assert_eq!(moved, Duration::seconds(3600));
    // The Catch names only States.Timeout, so the heartbeat timeout fails the execution.
    assert_eq!(run.exec.status(), Status::Failed);
    assert_eq!(run.exec.error(), Some("States.HeartbeatTimeout"));
    let timed_out = run
        .exec
        .history()
        .iter()
        .find(|e| format!("{:?}", e.kind) == "TaskTimedOut")
        .unwrap();
    assert_eq!(
        timed_out.detail_str("error"),
        Some("States.HeartbeatTimeout")
    );
}

#[test]
fn unknown_tokens_and_stale_timers() {
    let mut run = start_agree(86_400);
    let bad = run.exec.handle(
        &run.def,
        Input::TaskSucceeded {
            task: TaskRef::Token("nope".into()),
            output: json!({}),
        },
        run.now,
        &mut run.tokens,
    );
    assert_eq!(bad, Err(HandleError::UnknownTask));
    let stale = run
        .exec
        .handle(
            &run.def,
            Input::TimerFired {
                timer: keiyaku_states::TimerId(999),
            },
            run.now,
            &mut run.tokens,
        )
        .unwrap();
    assert!(stale.is_empty());
    assert_eq!(run.exec.status(), Status::Running);
}

#[test]
fn a_bad_timeout_seconds_path_is_a_runtime_error() {
    let def = Definition::parse(&agree_machine()).unwrap();
    let run = Run::start_with(def, Start::new("x", json!({"document": "d"})));
    assert_eq!(run.exec.error(), Some("States.Runtime"));
    assert!(run.tasks.is_empty());
}

#[test]
fn stop_aborts_and_cancels_everything() {
    let mut run = start_agree(86_400);
    run.handle(Input::Stop {
        error: Some("Keiyaku.Cancelled".into()),
        cause: Some("sender cancelled".into()),
    })
    .unwrap();
    assert_eq!(run.exec.status(), Status::Aborted);
    assert!(run.tasks.is_empty());
    assert!(run.timers.is_empty());
    assert_eq!(run.event_types().last().unwrap(), "ExecutionAborted");
    assert!(matches!(
        run.log.last(),
        Some(Effect::ExecutionFinished {
            status: Status::Aborted,
            ..
        })
    ));
}

#[test]
fn the_execution_timeout_ends_it_as_timed_out() {
    let def = json!({"TimeoutSeconds": 30, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}});
    let mut run = Run::start(&def.to_string(), json!({}));
    let moved = run.fire_next_timer();
    assert_eq!(moved, Duration::seconds(30));
    assert_eq!(run.exec.status(), Status::TimedOut);
    // As DescribeExecution says on AWS (recorded): no error, no cause.
    assert_eq!((run.exec.error(), run.exec.cause()), (None, None));
    assert!(run.timers.is_empty(), "the Wait timer was cancelled");
}

#[test]
fn wait_states_set_timers_for_each_form() {
    let cases = [
        (json!({"Seconds": 10}), json!({}), Duration::seconds(10)),
        (
            json!({"SecondsPath": "$.s"}),
            json!({"s": 5}),
            Duration::seconds(5),
        ),
        (
            json!({"Timestamp": "2024-04-01T10:00:00Z"}),
            json!({}),
            Duration::hours(1),
        ),
        (
            json!({"TimestampPath": "$.t"}),
            json!({"t": "2024-04-01T09:00:30+00:00"}),
            Duration::seconds(30),
        ),
    ];
    for (fields, input, due) in cases {
        let mut wait = json!({"Type": "Wait", "End": true});
        for (k, v) in fields.as_object().unwrap() {
            wait[k] = v.clone();
        }
        let def = json!({"StartAt": "W", "States": {"W": wait}});
        let mut run = Run::start(&def.to_string(), input.clone());
        assert_eq!(run.exec.status(), Status::Running);
        assert_eq!(run.fire_next_timer(), due, "{fields}");
        assert_eq!(run.output(), input);
        assert_eq!(
            run.event_types(),
            vec![
                "ExecutionStarted",
                "WaitStateEntered",
                "WaitStateExited",
                "ExecutionSucceeded"
            ]
        );
    }
}

/// As recorded on AWS (issue 14): a timestamp without its `T` and a delay over 2³¹ − 1
/// seconds are run-time failures, not waits (a literal `Seconds` that large is refused at
/// load already).
#[test]
fn wait_states_refuse_what_aws_refuses_at_run_time() {
    for (fields, input) in [
        (
            json!({"TimestampPath": "$.t"}),
            json!({"t": "2016-12-05 21:29:29Z"}),
        ),
        (
            json!({"SecondsPath": "$.s"}),
            json!({"s": 2_147_483_648u64}),
        ),
    ] {
        let mut wait = json!({"Type": "Wait", "End": true});
        for (k, v) in fields.as_object().unwrap() {
            wait[k] = v.clone();
        }
        let def = json!({"StartAt": "W", "States": {"W": wait}});
        let run = Run::start(&def.to_string(), input);
        assert_eq!(run.exec.status(), Status::Failed, "{fields}");
        assert_eq!(run.exec.error(), Some("States.Runtime"), "{fields}");
    }
}

/// A machine with every kind of pause: task, retry backoff, wait, parallel and map.
fn long_machine() -> String {
    json!({
        "StartAt": "Seal",
        "States": {
            "Seal": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "seal", "Payload": {"doc.$": "$.doc", "id.$": "States.UUID()"}},
                "ResultSelector": {"sealed.$": "$.Payload.sealed"},
                "ResultPath": "$.seal",
                "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 2, "JitterStrategy": "FULL"}],
                "Next": "Pause"
            },
            "Pause": {"Type": "Wait", "Seconds": 30, "Next": "Fan"},
            "Fan": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Each", "States": {"Each": {
                        "Type": "Map", "ItemsPath": "$.parties", "MaxConcurrency": 1,
                        "ItemProcessor": {"StartAt": "Ask", "States": {"Ask": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                            "Parameters": {"FunctionName": "ask", "Payload": {"party.$": "$", "token.$": "$$.Task.Token"}},
                            "End": true
                        }}},
                        "End": true
                    }}},
                    {"StartAt": "Note", "States": {"Note": {"Type": "Pass", "Result": "noted", "End": true}}}
                ],
                "OutputPath": "$[0]",
                "End": true
            }
        }
    })
    .to_string()
}

/// Drives the long machine; before each input, optionally replaces the execution with a
/// copy that went through JSON. Like a driver, it takes the new history events before each
/// input (a serialized execution does not carry them).
fn drive_long(round_trip: bool) -> (Value, Vec<Value>) {
    let def = Definition::parse(&long_machine()).unwrap();
    let mut run = Run::start_with(
        def,
        Start::new("long", json!({"doc": "d1", "parties": ["a", "b"]})).seed(7),
    );
    let mut failed_once = false;
    let mut guard = 0;
    let mut events = Vec::new();
    while run.exec.status() == Status::Running {
        guard += 1;
        assert!(guard < 100);
        events.extend(run.exec.take_history());
        if round_trip {
            let text = serde_json::to_string(&run.exec).unwrap();
            let back: Execution = serde_json::from_str(&text).unwrap();
            assert_eq!(back, run.exec);
            assert_eq!(
                back.pending_tasks(),
                run.tasks,
                "pending tasks survive the round trip"
            );
            run.exec = back;
        }
        if let Some(t) = run.tasks.first().cloned() {
            if t.function == "seal" && !failed_once {
                failed_once = true;
                run.fail("Lambda.ServiceException", "try again");
            } else if let Some(token) = t.token.clone() {
                run.tasks.remove(0);
                let party = t.payload["party"].clone();
                run.handle(Input::TaskSucceeded {
                    task: TaskRef::Token(token),
                    output: json!({"party": party, "agreed": true}),
                })
                .unwrap();
            } else {
                run.succeed(json!({"sealed": t.payload["doc"]}));
            }
        } else {
            run.fire_next_timer();
        }
    }
    events.extend(run.exec.take_history());
    assert_eq!(events.len() as u64, run.exec.event_count());
    let history = events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    (run.output(), history)
}

#[test]
fn serialization_round_trip_mid_execution_reaches_the_same_outcome() {
    let (plain_out, plain_history) = drive_long(false);
    let (trip_out, trip_history) = drive_long(true);
    assert_eq!(
        plain_out,
        json!([{"party": "a", "agreed": true}, {"party": "b", "agreed": true}])
    );
    assert_eq!(plain_out, trip_out);
    assert_eq!(
        plain_history, trip_history,
        "the same history, event for event"
    );
}

#[test]
fn history_events_have_aws_shapes() {
    let (_, history) = drive_long(false);
    for (i, e) in history.iter().enumerate() {
        assert_eq!(e["id"], json!(i + 1));
        assert!(e["previousEventId"].as_u64().unwrap() <= i as u64);
        assert!(e["timestamp"].is_string());
        assert!(e["type"].is_string());
    }
    assert_eq!(history[0]["type"], json!("ExecutionStarted"));
    assert_eq!(
        history[0]["executionStartedEventDetails"]["input"],
        json!(r#"{"doc":"d1","parties":["a","b"]}"#)
    );
    let entered = history
        .iter()
        .find(|e| e["type"] == "TaskStateEntered")
        .unwrap();
    assert_eq!(entered["stateEnteredEventDetails"]["name"], json!("Seal"));
    let sched = history
        .iter()
        .find(|e| e["type"] == "TaskScheduled")
        .unwrap();
    assert_eq!(
        sched["taskScheduledEventDetails"]["resourceType"],
        json!("lambda")
    );
    assert_eq!(
        sched["taskScheduledEventDetails"]["resource"],
        json!("invoke")
    );
    let failed = history.iter().find(|e| e["type"] == "TaskFailed").unwrap();
    assert_eq!(
        failed["taskFailedEventDetails"]["error"],
        json!("Lambda.ServiceException")
    );
    assert_eq!(history.last().unwrap()["type"], json!("ExecutionSucceeded"));
    // Events inside a Map iteration follow from their MapIterationStarted.
    let iter_started = history
        .iter()
        .find(|e| e["type"] == "MapIterationStarted")
        .unwrap();
    let first_inside = history
        .iter()
        .find(|e| e["previousEventId"] == iter_started["id"])
        .unwrap();
    assert_eq!(first_inside["type"], json!("TaskStateEntered"));
}

#[test]
fn the_history_quota_fails_an_endless_loop() {
    let def = json!({"StartAt": "Inc", "States": {
        "Inc": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Again"},
        "Again": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": -1, "Next": "Inc"}], "Default": "Done"},
        "Done": {"Type": "Succeed"}
    }});
    let run = Run::start(&def.to_string(), json!({"n": 0}));
    assert_eq!(run.exec.status(), Status::Failed);
    assert_eq!(run.exec.history().len(), 25_000);
    assert_eq!(run.event_types().last().unwrap(), "ExecutionFailed");
    assert!(run.exec.cause().unwrap().contains("25000"));
}

#[test]
fn pending_timers_list_what_a_restarted_driver_must_rearm() {
    let run = start_agree(500);
    let pending = run.exec.pending_timers();
    assert_eq!(pending.len(), 2);
    assert!(pending.iter().all(|t| run.timers.get(&t.id) == Some(&t.at)));
    assert_eq!(run.exec.pending_tasks().len(), 1);
}
