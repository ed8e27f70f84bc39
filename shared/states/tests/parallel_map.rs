//! Parallel and Map states: the Developer Guide's examples, failures, concurrency limits.

mod support;

use keiyaku_states::Status;
use serde_json::json;
use support::Run;

const LAMBDA: &str = "arn:aws:lambda:us-east-1:123456789012:function:";

#[test]
fn parallel_runs_every_branch_and_collects_results_in_order() {
    // The guide's Parallel example: two lookups side by side.
    let def = json!({"StartAt": "LookupCustomerInfo", "States": {"LookupCustomerInfo": {
        "Type": "Parallel",
        "End": true,
        "Branches": [
            {"StartAt": "LookupAddress", "States": {"LookupAddress": {"Type": "Task", "Resource": format!("{LAMBDA}AddressFinder"), "End": true}}},
            {"StartAt": "LookupPhone", "States": {"LookupPhone": {"Type": "Task", "Resource": format!("{LAMBDA}PhoneFinder"), "End": true}}}
        ]
    }}});
    let mut run = Run::start(&def.to_string(), json!({"customer": 7}));
    assert_eq!(run.tasks.len(), 2, "both branches start at once");
    assert!(
        run.tasks
            .iter()
            .all(|t| t.payload == json!({"customer": 7}))
    );
    // Answer the second branch first: results still come in branch order.
    let phone = run.tasks.remove(1);
    run.handle(keiyaku_states::Input::TaskSucceeded {
        task: keiyaku_states::TaskRef::Id(phone.task),
        output: json!("555"),
    })
    .unwrap();
    assert_eq!(run.exec.status(), Status::Running);
    run.succeed(json!("1 Main St"));
    assert_eq!(run.output(), json!(["1 Main St", "555"]));
    let types = run.event_types();
    for t in [
        "ParallelStateEntered",
        "ParallelStateStarted",
        "ParallelStateSucceeded",
        "ParallelStateExited",
    ] {
        assert!(types.contains(&t.to_string()), "{t} missing from {types:?}");
    }
}

#[test]
fn a_failing_branch_stops_the_others_and_can_be_caught() {
    let def = json!({"StartAt": "Both", "States": {
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Slow", "States": {"Slow": {"Type": "Task", "Resource": format!("{LAMBDA}Slow"), "HeartbeatSeconds": 60, "End": true}}},
                {"StartAt": "Bad", "States": {"Bad": {"Type": "Fail", "Error": "Keiyaku.Broken", "Cause": "branch 2"}}}
            ],
            "Catch": [{"ErrorEquals": ["Keiyaku.Broken"], "Next": "Handled", "ResultPath": "$.error"}],
            "Next": "Done"
        },
        "Handled": {"Type": "Pass", "End": true},
        "Done": {"Type": "Succeed"}
    }});
    let run = Run::start(&def.to_string(), json!({"x": 1}));
    assert_eq!(run.exec.status(), Status::Succeeded);
    assert_eq!(
        run.output(),
        json!({"x": 1, "error": {"Error": "Keiyaku.Broken", "Cause": "branch 2"}})
    );
    assert!(run.tasks.is_empty(), "the slow branch's task was cancelled");
    assert!(run.timers.is_empty(), "its heartbeat timer was cancelled");
    assert!(
        run.event_types()
            .contains(&"ParallelStateFailed".to_string())
    );
}

#[test]
fn parallel_with_parameters_and_result_selector() {
    let def = json!({"StartAt": "P", "States": {"P": {
        "Type": "Parallel",
        "Parameters": {"n.$": "$.n"},
        "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"double.$": "States.MathAdd($.n, $.n)"}, "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}
        ],
        "ResultSelector": {"double.$": "$[0].double", "same.$": "$[1].n"},
        "ResultPath": "$.r",
        "End": true
    }}});
    let run = Run::start(&def.to_string(), json!({"n": 21, "other": true}));
    assert_eq!(
        run.output(),
        json!({"n": 21, "other": true, "r": {"double": 42, "same": 21}})
    );
}

#[test]
fn map_example_with_items_path_and_item_selector() {
    // The guide's Map example: ship each parcel of an order.
    let def = json!({"StartAt": "Validate-All", "States": {"Validate-All": {
        "Type": "Map",
        "InputPath": "$.detail",
        "ItemsPath": "$.shipped",
        "MaxConcurrency": 0,
        "ItemSelector": {"parcel.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "courier.$": "$.delivery-partner"},
        "ItemProcessor": {"StartAt": "Validate", "States": {"Validate": {"Type": "Task", "Resource": format!("{LAMBDA}ship-val"), "End": true}}},
        "ResultPath": "$.detail.shipped",
        "End": true
    }}});
    let input = json!({
        "ship-date": "2016-03-14T01:59:00Z",
        "detail": {
            "delivery-partner": "UQS",
            "shipped": [
                {"prod": "R31", "dest-code": 9511, "quantity": 1344},
                {"prod": "S39", "dest-code": 9511, "quantity": 40},
                {"prod": "R31", "dest-code": 9833, "quantity": 12}
            ]
        }
    });
    let mut run = Run::start(&def.to_string(), input.clone());
    assert_eq!(run.tasks.len(), 3);
    assert_eq!(
        run.task().payload,
        json!({"parcel": {"prod": "R31", "dest-code": 9511, "quantity": 1344}, "index": 0, "courier": "UQS"})
    );
    run.run(|t| Ok(json!({"ok": t.payload["index"]})));
    let mut expected = input;
    expected["detail"]["shipped"] = json!([{"ok": 0}, {"ok": 1}, {"ok": 2}]);
    assert_eq!(run.output(), expected);
    let types = run.event_types();
    assert_eq!(
        types.iter().filter(|t| *t == "MapIterationStarted").count(),
        3
    );
    assert_eq!(
        types
            .iter()
            .filter(|t| *t == "MapIterationSucceeded")
            .count(),
        3
    );
    let started = run
        .exec
        .history()
        .iter()
        .find(|e| format!("{:?}", e.kind) == "MapStateStarted")
        .unwrap();
    assert_eq!(started.details().unwrap()["length"], json!(3));
}

#[test]
fn max_concurrency_one_runs_items_one_after_another() {
    let def = json!({"StartAt": "M", "States": {"M": {
        "Type": "Map",
        "MaxConcurrency": 1,
        "Iterator": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": format!("{LAMBDA}t"), "End": true}}},
        "Parameters": {"v.$": "$$.Map.Item.Value"},
        "End": true
    }}});
    let mut run = Run::start(&def.to_string(), json!([10, 20, 30]));
    let mut seen = Vec::new();
    while run.exec.status() == Status::Running {
        assert_eq!(run.tasks.len(), 1, "one item at a time");
        let t = run.task();
        seen.push(t.payload["v"].clone());
        run.succeed(json!(t.payload["v"].as_i64().unwrap() + 1));
    }
    assert_eq!(seen, vec![json!(10), json!(20), json!(30)]);
    assert_eq!(run.output(), json!([11, 21, 31]));
}

#[test]
fn a_failing_iteration_fails_the_map_and_aborts_the_rest() {
    let def = json!({"StartAt": "M", "States": {"M": {
        "Type": "Map",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "T", "States": {"T": {"Type": "Task", "Resource": format!("{LAMBDA}t"), "End": true}}},
        "End": true
    }}});
    let mut run = Run::start(&def.to_string(), json!([1, 2, 3]));
    assert_eq!(run.tasks.len(), 3);
    run.fail("Item.Bad", "item 1");
    assert_eq!(run.exec.status(), Status::Failed);
    assert_eq!(run.exec.error(), Some("Item.Bad"));
    assert!(run.tasks.is_empty());
    let types = run.event_types();
    assert!(types.contains(&"MapIterationFailed".to_string()));
    assert_eq!(
        types.iter().filter(|t| *t == "MapIterationAborted").count(),
        2
    );
    assert!(types.contains(&"MapStateFailed".to_string()));
}

#[test]
fn an_empty_map_and_a_non_array_items_path() {
    let def = json!({"StartAt": "M", "States": {"M": {
        "Type": "Map",
        "ItemsPath": "$.xs",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "End": true
    }}});
    let run = Run::start(&def.to_string(), json!({"xs": []}));
    assert_eq!(run.output(), json!([]));
    let run = Run::start(&def.to_string(), json!({"xs": "nope"}));
    assert_eq!(run.exec.error(), Some("States.Runtime"));
}

#[test]
fn nested_map_inside_parallel() {
    let def = json!({"StartAt": "P", "States": {"P": {
        "Type": "Parallel",
        "Branches": [{"StartAt": "M", "States": {"M": {
            "Type": "Map",
            "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": format!("{LAMBDA}t"), "End": true}}},
            "End": true
        }}}],
        "End": true
    }}});
    let mut run = Run::start(&def.to_string(), json!(["a", "b"]));
    run.run(|t| Ok(json!(format!("{}!", t.payload.as_str().unwrap()))));
    assert_eq!(run.output(), json!([["a!", "b!"]]));
}
