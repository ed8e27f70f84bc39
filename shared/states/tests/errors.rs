//! Retry and Catch: backoff timings (seen through SetTimer effects), Catch with ResultPath,
//! and the documented exceptions of the wildcards.

mod support;

use keiyaku_states::{Definition, Start, Status};
use serde_json::{Value, json};
use support::Run;
use time::Duration;

fn machine(task_extra: Value) -> String {
    let mut task = json!({
        "Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Flaky",
        "Next": "Done"
    });
    for (k, v) in task_extra.as_object().unwrap() {
        task[k] = v.clone();
    }
    let mut states = json!({"Flaky": task, "Done": {"Type": "Succeed"}});
    // Only a machine whose Catch names it has the Recovery state (unreachable states are refused).
    if task_extra.to_string().contains("Recovery") {
        states["Recovery"] = json!({"Type": "Pass", "End": true});
    }
    json!({"StartAt": "Flaky", "States": states}).to_string()
}

fn fail_and_wait(run: &mut Run, error: &str) -> Duration {
    run.fail(error, "boom");
    assert!(run.tasks.is_empty());
    run.fire_next_timer()
}

#[test]
fn retry_backs_off_by_the_rate_then_gives_up() {
    // IntervalSeconds 3, BackoffRate 1.5, MaxAttempts 2: retries after 3 s and 4.5 s.
    let def = machine(json!({
        "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 3, "MaxAttempts": 2, "BackoffRate": 1.5}]
    }));
    let mut run = Run::start(&def, json!({}));
    assert_eq!(
        fail_and_wait(&mut run, "Lambda.Unknown"),
        Duration::seconds(3)
    );
    assert_eq!(
        fail_and_wait(&mut run, "Lambda.Unknown"),
        Duration::milliseconds(4500)
    );
    run.fail("Lambda.Unknown", "third time");
    assert_eq!(run.exec.status(), Status::Failed);
    assert_eq!(run.exec.error(), Some("Lambda.Unknown"));
    assert_eq!(run.exec.cause(), Some("third time"));
    let scheduled = run
        .event_types()
        .iter()
        .filter(|t| *t == "LambdaFunctionScheduled")
        .count();
    // A plain function ARN logs AWS's LambdaFunction* events.
    assert_eq!(scheduled, 3);
}

#[test]
fn defaults_are_one_second_three_attempts_rate_two() {
    let def = machine(json!({"Retry": [{"ErrorEquals": ["States.ALL"]}]}));
    let mut run = Run::start(&def, json!({}));
    let waits: Vec<Duration> = (0..3).map(|_| fail_and_wait(&mut run, "E")).collect();
    assert_eq!(
        waits,
        vec![
            Duration::seconds(1),
            Duration::seconds(2),
            Duration::seconds(4)
        ]
    );
    run.succeed(json!({}));
    assert_eq!(run.exec.status(), Status::Succeeded);
}

#[test]
fn max_delay_caps_and_retry_count_reaches_the_context() {
    let def = machine(json!({
        "Parameters": {"retry.$": "$$.State.RetryCount"},
        "Retry": [{"ErrorEquals": ["E"], "IntervalSeconds": 10, "BackoffRate": 10, "MaxAttempts": 3, "MaxDelaySeconds": 60}]
    }));
    let mut run = Run::start(&def, json!({}));
    assert_eq!(run.task().payload, json!({"retry": 0}));
    let waits: Vec<Duration> = (0..3).map(|_| fail_and_wait(&mut run, "E")).collect();
    assert_eq!(
        waits,
        vec![
            Duration::seconds(10),
            Duration::seconds(60),
            Duration::seconds(60)
        ]
    );
    assert_eq!(run.task().payload, json!({"retry": 3}));
}

#[test]
fn full_jitter_is_random_below_the_interval_and_fixed_by_the_seed() {
    let def = machine(
        json!({"Retry": [{"ErrorEquals": ["E"], "IntervalSeconds": 100, "MaxAttempts": 1, "JitterStrategy": "FULL"}]}),
    );
    let wait_for = |seed| {
        let mut run = Run::start_with(
            Definition::parse(&def).unwrap(),
            Start::new("j", json!({})).seed(seed),
        );
        fail_and_wait(&mut run, "E")
    };
    let a = wait_for(1);
    assert!(a >= Duration::ZERO && a <= Duration::seconds(100), "{a}");
    assert_eq!(a, wait_for(1));
    assert_ne!(a, wait_for(2));
}

#[test]
fn the_first_matching_retrier_decides_and_then_catch_takes_over() {
    let def = machine(json!({
        "Retry": [
            {"ErrorEquals": ["Special"], "MaxAttempts": 0},
            {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 5}
        ],
        "Catch": [{"ErrorEquals": ["Special"], "Next": "Recovery", "ResultPath": "$.error-info"}]
    }));
    let mut run = Run::start(&def, json!({"doc": 1}));
    run.fail("Special", "no retry for me");
    assert_eq!(run.exec.status(), Status::Succeeded);
    // The guide's Catch example: the error object lands at ResultPath over the state input.
    assert_eq!(
        run.output(),
        json!({"doc": 1, "error-info": {"Error": "Special", "Cause": "no retry for me"}})
    );
    assert_eq!(run.entered(), vec!["Flaky", "Recovery"]);
}

#[test]
fn catch_without_result_path_replaces_the_input() {
    let def =
        machine(json!({"Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Recovery"}]}));
    let mut run = Run::start(&def, json!({"doc": 1}));
    run.fail("Lambda.Unknown", "c");
    assert_eq!(
        run.output(),
        json!({"Error": "Lambda.Unknown", "Cause": "c"})
    );
}

#[test]
fn task_failed_does_not_match_timeout_but_all_does() {
    let def = machine(json!({
        "TimeoutSeconds": 5,
        "Catch": [
            {"ErrorEquals": ["States.TaskFailed"], "Next": "Done"},
            {"ErrorEquals": ["States.ALL"], "Next": "Recovery", "ResultPath": "$.err"}
        ]
    }));
    let mut run = Run::start(&def, json!({}));
    run.fire_next_timer();
    assert_eq!(run.entered(), vec!["Flaky", "Recovery"]);
    assert_eq!(run.output()["err"]["Error"], json!("States.Timeout"));
    assert!(
        run.event_types()
            .contains(&"LambdaFunctionTimedOut".to_string())
    );
}

/// A task's oversized result is caught by its name and by States.ALL, as AWS does
/// (recorded; the Developer Guide says States.ALL would not catch it).
#[test]
fn data_limit_exceeded_is_caught_by_name_and_by_all() {
    let big = "x".repeat(262_145);
    for pattern in ["States.ALL", "States.DataLimitExceeded"] {
        let def = machine(
            json!({"Catch": [{"ErrorEquals": [pattern], "Next": "Recovery", "ResultPath": "$.e"}]}),
        );
        let mut run = Run::start(&def, json!({}));
        run.succeed(json!(big));
        assert_eq!(
            run.output()["e"]["Error"],
            json!("States.DataLimitExceeded")
        );
    }
}

#[test]
fn an_oversized_execution_input_is_refused_at_start() {
    let def = Definition::parse(&machine(json!({}))).unwrap();
    let err = keiyaku_states::Execution::start(
        &def,
        Start::new("big", json!("y".repeat(262_200))),
        support::T0,
        &mut keiyaku_states::SeededTokens::new(0),
    )
    .unwrap_err();
    assert_eq!(err, keiyaku_states::StartError::InputTooLarge);
}

#[test]
fn fail_state_error_and_cause_from_paths_and_literals() {
    let def = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('doc {}', $.id)"}}});
    let run = Run::start(&def.to_string(), json!({"e": "Keiyaku.Cancelled", "id": 7}));
    assert_eq!(run.exec.status(), Status::Failed);
    assert_eq!(run.exec.error(), Some("Keiyaku.Cancelled"));
    assert_eq!(run.exec.cause(), Some("doc 7"));
    assert_eq!(
        run.event_types(),
        vec!["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    );

    let def =
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}});
    let run = Run::start(&def.to_string(), json!({}));
    assert_eq!((run.exec.error(), run.exec.cause()), (Some("E"), Some("C")));
}
