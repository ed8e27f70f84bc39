//! Distributed Map states: child executions with their own histories, the Map Run's events
//! in the parent, tolerated failures and batching. The parent's events and the validation
//! causes are as recorded on AWS by LocalStack's snapshot tests (test_base_scenarios:
//! test_map_state_config_distributed_*, test_map_state_tolerated_failure_*_path); a child's
//! own history and the tolerance rules follow the Developer Guide ("Using Map state in
//! Distributed mode"), which no recording shows.

mod support;

use std::collections::BTreeMap;

use keiyaku_states::{ChildEvent, Status};
use serde_json::{Value, json};
use support::Run;

fn distributed(extra: Value, child: Value) -> Value {
    let mut map = json!({"Type": "Map",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Child", "States": {"Child": child}},
        "Next": "Final"});
    for (k, v) in extra.as_object().unwrap() {
        map[k] = v.clone();
    }
    json!({"StartAt": "MapState", "States": {"MapState": map, "Final": {"Type": "Succeed"}}})
}

fn pass_child() -> Value {
    json!({"Type": "Pass", "End": true})
}

/// Each child's events, by child name, in the order they were recorded.
fn children(events: &[ChildEvent]) -> BTreeMap<String, Vec<(String, Value)>> {
    let mut out: BTreeMap<String, Vec<(String, Value)>> = BTreeMap::new();
    for e in events {
        out.entry(e.name.clone()).or_default().push((
            format!("{:?}", e.event.kind),
            e.event.details().cloned().unwrap_or(Value::Null),
        ));
    }
    out
}

// test_map_state_config_distributed_item_selector (AWS, 2024-02-08): the parent logs the
// Map Run, not the iterations; each child is an execution of its own.
#[test]
fn children_are_executions_with_their_own_histories() {
    let def = distributed(
        json!({"ItemSelector": {"constantValue": "constant", "mapValue.$": "$$.Map.Item.Value", "fromInput.$": "$"}}),
        pass_child(),
    );
    let mut run = Run::start(&def.to_string(), json!(["Hello", "World"]));
    assert_eq!(
        run.output(),
        json!([
            {"constantValue": "constant", "mapValue": "Hello", "fromInput": ["Hello", "World"]},
            {"constantValue": "constant", "mapValue": "World", "fromInput": ["Hello", "World"]}
        ])
    );
    let shape: Vec<(String, u64, u64)> = run
        .exec
        .history()
        .iter()
        .map(|e| (format!("{:?}", e.kind), e.id, e.previous_event_id))
        .collect();
    assert_eq!(
        shape[..6],
        [
            ("ExecutionStarted".into(), 1, 0),
            ("MapStateEntered".into(), 2, 0),
            ("MapStateStarted".into(), 3, 2),
            ("MapRunStarted".into(), 4, 3),
            ("MapRunSucceeded".into(), 5, 4),
            ("MapStateSucceeded".into(), 6, 5),
        ]
    );
    let started = &run.exec.history()[3];
    let map_run = started.detail_str("mapRunArn").unwrap().to_owned();
    assert!(
        map_run.starts_with("arn:aws:states:local:000000000000:mapRun:keiyaku/"),
        "{map_run}"
    );
    let events = run.exec.take_child_history();
    let kids = children(&events);
    assert_eq!(kids.len(), 2);
    for (name, history) in &kids {
        let kinds: Vec<&str> = history.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "ExecutionStarted",
                "PassStateEntered",
                "PassStateExited",
                "ExecutionSucceeded"
            ]
        );
        assert_eq!(name.len(), 36, "a child is named by a UUID");
    }
    let first = events.iter().find(|e| e.event.id == 1).unwrap();
    assert_eq!(first.map_run, map_run);
    let label = map_run
        .rsplit(':')
        .nth(1)
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    assert_eq!(
        first.execution,
        format!(
            "arn:aws:states:local:000000000000:execution:keiyaku/{label}:{}",
            first.name
        )
    );
    // The child's events are numbered from 1, its first state linked to no event.
    let ids: Vec<(u64, u64)> = events
        .iter()
        .filter(|e| e.name == first.name)
        .map(|e| (e.event.id, e.event.previous_event_id))
        .collect();
    assert_eq!(ids, [(1, 0), (2, 0), (3, 2), (4, 3)]);
}

// A child's context object is its own execution's (the Developer Guide: each child is a
// separate execution); it sees no variables of the parent.
#[test]
fn a_child_has_its_own_context_and_no_outer_variables() {
    let def = distributed(
        json!({"Label": "parties", "MaxConcurrency": 1}),
        json!({"Type": "Pass", "Parameters": {"id.$": "$$.Execution.Id", "input.$": "$$.Execution.Input", "machine.$": "$$.StateMachine.Id"}, "End": true}),
    );
    let mut run = Run::start(&def.to_string(), json!([{"p": 1}]));
    let out = run.output()[0].clone();
    assert!(
        out["id"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:states:local:000000000000:execution:keiyaku/parties:")
    );
    assert_eq!(out["input"], json!({"p": 1}));
    assert_eq!(
        out["machine"],
        json!("arn:aws:states:local:000000000000:stateMachine:keiyaku/parties")
    );
    assert_eq!(run.exec.take_child_history().len(), 4);

    let mut def = distributed(
        json!({}),
        json!({"Type": "Pass", "Parameters": {"x.$": "$outer"}, "End": true}),
    );
    def["StartAt"] = json!("Setup");
    def["States"]["Setup"] =
        json!({"Type": "Pass", "Assign": {"outer": 1}, "Result": [1], "Next": "MapState"});
    let run = Run::start(&def.to_string(), json!({}));
    assert_eq!(run.exec.status(), Status::Failed);
}

// Tolerated failures (the Developer Guide; AWS's error and cause as its TestState API
// recorded them): a run fails when more than the tolerated count, or a larger share than
// the tolerated percentage, of its items failed.
#[test]
fn failures_within_the_tolerance_and_beyond_it() {
    let child = json!({"Type": "Choice",
        "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Boom"}], "Default": "Fine"});
    let def = |extra: Value| {
        let mut d = distributed(extra, child.clone());
        let processor = &mut d["States"]["MapState"]["ItemProcessor"]["States"];
        processor["Boom"] = json!({"Type": "Fail", "Error": "Child.Failed", "Cause": "item 2"});
        processor["Fine"] = json!({"Type": "Succeed"});
        d
    };
    let input = json!([1, 2, 3, 4]);
    let run = Run::start(
        &def(json!({"ToleratedFailureCount": 1})).to_string(),
        input.clone(),
    );
    assert_eq!(run.exec.status(), Status::Succeeded);
    let out = run.output();
    assert_eq!(out[0], json!(1));
    assert_eq!(out[1]["Status"], json!("FAILED"));
    assert_eq!(out[1]["Error"], json!("Child.Failed"));
    assert_eq!(out[1]["Input"], json!("2"));

    for tolerance in [
        json!({}),
        json!({"ToleratedFailureCount": 0}),
        json!({"ToleratedFailurePercentage": 24.9}),
    ] {
        let run = Run::start(&def(tolerance.clone()).to_string(), input.clone());
        assert_eq!(
            run.exec.error(),
            Some("States.ExceedToleratedFailureThreshold"),
            "{tolerance}"
        );
        assert_eq!(
            run.exec.cause(),
            Some("The specified tolerated failure threshold was exceeded")
        );
        let kinds = run.event_types();
        assert_eq!(
            kinds[kinds.len() - 3..],
            ["MapRunFailed", "MapStateFailed", "ExecutionFailed"]
        );
    }
    let run = Run::start(
        &def(json!({"ToleratedFailurePercentage": 25})).to_string(),
        input.clone(),
    );
    assert_eq!(
        run.exec.status(),
        Status::Succeeded,
        "25 % of 4 items is not more than 25 %"
    );

    // A Catch on the Map takes the threshold's error.
    let mut d = def(
        json!({"Catch": [{"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Next": "Final"}]}),
    );
    d["States"]["Final"] = json!({"Type": "Pass", "End": true});
    let run = Run::start(&d.to_string(), input);
    assert_eq!(
        run.output(),
        json!({"Error": "States.ExceedToleratedFailureThreshold", "Cause": "The specified tolerated failure threshold was exceeded"})
    );
}

// test_map_state_tolerated_failure_count_path / _percentage_path (AWS, 2024-06-19): bad
// values fail the execution right after MapStateStarted, in AWS's words.
#[test]
fn tolerated_failure_paths_with_bad_values() {
    let count = distributed(
        json!({"ItemsPath": "$.Items", "MaxConcurrency": 1, "ToleratedFailureCountPath": "$.ToleratedFailureCount"}),
        pass_child(),
    );
    for (value, cause) in [
        (
            json!({}),
            "The ToleratedFailureCountPath field refers to value \"{}\" which is not a valid integer: $.ToleratedFailureCount",
        ),
        (
            json!("NoNumber"),
            "The ToleratedFailureCountPath field refers to value \"NoNumber\" which is not a valid integer: $.ToleratedFailureCount",
        ),
        (json!(-1), "ToleratedFailureCount cannot be negative."),
    ] {
        let run = Run::start(
            &count.to_string(),
            json!({"Items": [0], "ToleratedFailureCount": value}),
        );
        assert_eq!(
            run.exec.cause().unwrap(),
            format!(
                "An error occurred while executing the state 'MapState' (entered at the event id #2). {cause}"
            )
        );
        assert_eq!(
            run.event_types(),
            [
                "ExecutionStarted",
                "MapStateEntered",
                "MapStateStarted",
                "ExecutionFailed"
            ]
        );
    }
    let share = distributed(
        json!({"ItemsPath": "$.Items", "ToleratedFailurePercentagePath": "$.ToleratedFailurePercentage"}),
        pass_child(),
    );
    for (value, cause) in [
        (
            json!("NoNumber"),
            "The ToleratedFailurePercentagePath field refers to value \"NoNumber\" which is not a valid float: $.ToleratedFailurePercentage",
        ),
        (
            json!(100.1),
            "ToleratedFailurePercentage must be between 0 and 100.",
        ),
        (
            json!(-1),
            "ToleratedFailurePercentage must be between 0 and 100.",
        ),
    ] {
        let run = Run::start(
            &share.to_string(),
            json!({"Items": [0], "ToleratedFailurePercentage": value}),
        );
        assert!(run.exec.cause().unwrap().ends_with(cause), "{value}");
    }
    for fine in [json!(0), json!(1)] {
        let run = Run::start(
            &count.to_string(),
            json!({"Items": [0], "ToleratedFailureCount": fine}),
        );
        assert_eq!(run.output(), json!([0]));
    }
}

// ItemBatcher (the Developer Guide): children get their items in batches, with BatchInput.
#[test]
fn batches_of_items_with_their_batch_input() {
    let def = distributed(
        json!({"ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"factor.$": "$.factor"}}, "ItemsPath": "$.items"}),
        pass_child(),
    );
    let mut run = Run::start(
        &def.to_string(),
        json!({"factor": 10, "items": [1, 2, 3, 4, 5]}),
    );
    assert_eq!(
        run.output(),
        json!([
            {"BatchInput": {"factor": 10}, "Items": [1, 2]},
            {"BatchInput": {"factor": 10}, "Items": [3, 4]},
            {"BatchInput": {"factor": 10}, "Items": [5]}
        ])
    );
    let started = run
        .exec
        .history()
        .iter()
        .find(|e| format!("{:?}", e.kind) == "MapStateStarted")
        .and_then(|e| e.details().cloned());
    assert_eq!(started, Some(json!({"length": 5})));
    assert_eq!(children(&run.exec.take_child_history()).len(), 3);
}

// Children's tasks are answered like any task; their events go to the children's
// histories; the run survives being saved between events; MaxConcurrency holds.
#[test]
fn children_run_tasks_and_the_run_survives_a_restart() {
    let def = distributed(
        json!({"MaxConcurrency": 2}),
        json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:111111111111:function:work", "End": true}),
    );
    let mut run = Run::start(&def.to_string(), json!([1, 2, 3]));
    assert_eq!(run.tasks.len(), 2, "two children at a time");
    let saved = serde_json::to_string(&run.exec).unwrap();
    run.exec = serde_json::from_str(&saved).unwrap();
    run.run(|inv| Ok(json!({"done": inv.payload})));
    assert_eq!(run.output(), json!([{"done": 1}, {"done": 2}, {"done": 3}]));
    let kinds: Vec<String> = run
        .exec
        .history()
        .iter()
        .map(|e| format!("{:?}", e.kind))
        .collect();
    assert!(
        !kinds
            .iter()
            .any(|k| k.starts_with("Lambda") || k.starts_with("MapIteration")),
        "{kinds:?}"
    );
    let kids = children(&run.exec.take_child_history());
    // The first two children were started before the save; their events since are here.
    let all: usize = kids.values().map(Vec::len).sum();
    assert!(all >= 3 * 3, "{kids:?}");
    assert!(
        kids.values()
            .all(|h| h.last().unwrap().0 == "ExecutionSucceeded")
    );
}
