//! The Developer Guide's "Input and Output Processing" examples: InputPath, Parameters,
//! ResultSelector, ResultPath and OutputPath, and the context object.

mod support;

use keiyaku_states::{Integration, Status};
use serde_json::{Value, json};
use support::Run;

fn one_task(fields: Value) -> String {
    let mut task = json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction", "End": true});
    for (k, v) in fields.as_object().unwrap() {
        task[k] = v.clone();
    }
    json!({"StartAt": "Lambda", "States": {"Lambda": task}}).to_string()
}

fn one_pass(fields: Value) -> String {
    let mut pass = json!({"Type": "Pass", "End": true});
    for (k, v) in fields.as_object().unwrap() {
        pass[k] = v.clone();
    }
    json!({"StartAt": "P", "States": {"P": pass}}).to_string()
}

#[test]
fn paths_example_input_result_and_output_paths() {
    // "Example: Manipulating state data with paths in Step Functions workflows".
    let input = json!({
        "comment": "An input comment.",
        "data": {"val1": 23, "val2": 17},
        "extra": "foo",
        "lambda": {"who": "AWS Step Functions"}
    });
    let def = one_task(
        json!({"InputPath": "$.lambda", "ResultPath": "$.data.lambdaresult", "OutputPath": "$.data"}),
    );
    let mut run = Run::start(&def, input);
    let task = run.task();
    assert_eq!(task.payload, json!({"who": "AWS Step Functions"}));
    assert_eq!(task.integration, Integration::LambdaFunction);
    run.succeed(json!("Hello, AWS Step Functions!"));
    assert_eq!(
        run.output(),
        json!({"val1": 23, "val2": 17, "lambdaresult": "Hello, AWS Step Functions!"})
    );
}

#[test]
fn result_path_examples() {
    // "Specifying state output using ResultPath": the same input and result, four ResultPaths.
    let input = json!({
        "comment": "This is a test of the input and output of a Task state.",
        "details": "Default example",
        "who": "AWS Step Functions"
    });
    let result = json!("Hello, AWS Step Functions!");
    let cases = [
        (json!("$"), result.clone()),
        (json!("$.taskresult"), {
            let mut v = input.clone();
            v["taskresult"] = result.clone();
            v
        }),
        (json!(null), input.clone()),
        (json!("$.strings.lambdaresult"), {
            let mut v = input.clone();
            v["strings"] = json!({"lambdaresult": result});
            v
        }),
    ];
    for (rp, expected) in cases {
        let mut run = Run::start(&one_task(json!({"ResultPath": rp})), input.clone());
        run.succeed(result.clone());
        assert_eq!(run.output(), expected, "ResultPath {rp}");
    }
}

#[test]
fn parameters_example_selects_and_adds_fields() {
    // "Manipulate parameters in Step Functions workflows".
    let input = json!({
        "comment": "Example for Parameters.",
        "product": {
            "details": {"color": "blue", "size": "small", "material": "cotton"},
            "availability": "in stock",
            "sku": "2317",
            "cost": "$23"
        }
    });
    let def = one_pass(json!({"Parameters": {
        "comment": "Selecting what I care about.",
        "MyDetails": {"size.$": "$.product.details.size", "exists.$": "$.product.availability", "StaticValue": "foo"}
    }}));
    let run = Run::start(&def, input);
    assert_eq!(
        run.output(),
        json!({"comment": "Selecting what I care about.", "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"}})
    );
}

#[test]
fn result_selector_example() {
    // The guide's ResultSelector example (an EMR createCluster result), with ResultPath.
    let def = one_task(json!({
        "ResultSelector": {"ClusterId.$": "$.output.ClusterId", "ResourceType.$": "$.resourceType"},
        "ResultPath": "$.EMROutput"
    }));
    let mut run = Run::start(&def, json!({"cluster": "c"}));
    run.succeed(json!({
        "resourceType": "elasticmapreduce",
        "resource": "createCluster.sync",
        "output": {"SdkHttpMetadata": {"HttpStatusCode": 200}, "SdkResponseMetadata": {}, "ClusterId": "AKIAIOSFODNN7EXAMPLE"}
    }));
    assert_eq!(
        run.output(),
        json!({"cluster": "c", "EMROutput": {"ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce"}})
    );
}

#[test]
fn lambda_invoke_result_has_lambdas_shape() {
    let def = json!({"StartAt": "Call", "States": {"Call": {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:Seal", "Payload.$": "$"},
        "End": true
    }}})
    .to_string();
    let mut run = Run::start(&def, json!({"doc": "d1"}));
    let t = run.task();
    assert_eq!(
        t.function,
        "arn:aws:lambda:us-east-1:123456789012:function:Seal"
    );
    assert_eq!(t.payload, json!({"doc": "d1"}));
    run.succeed(json!({"sealed": true}));
    let out = run.output();
    assert_eq!(out["Payload"], json!({"sealed": true}));
    assert_eq!(out["StatusCode"], json!(200));
    assert_eq!(out["ExecutedVersion"], json!("$LATEST"));
    assert_eq!(out["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
    assert!(out["SdkResponseMetadata"]["RequestId"].is_string());

    // The usual idiom keeps only the handler's output.
    let def = def.replace("\"End\":true", "\"OutputPath\":\"$.Payload\",\"End\":true");
    let mut run = Run::start(&def, json!({}));
    run.succeed(json!({"sealed": true}));
    assert_eq!(run.output(), json!({"sealed": true}));
}

#[test]
fn null_input_and_output_paths_give_empty_objects() {
    let run = Run::start(&one_pass(json!({"InputPath": null})), json!({"a": 1}));
    assert_eq!(run.output(), json!({}));
    let run = Run::start(&one_pass(json!({"OutputPath": null})), json!({"a": 1}));
    assert_eq!(run.output(), json!({}));
    let run = Run::start(
        &one_pass(json!({"Result": {"x": 1}, "ResultPath": "$.r", "OutputPath": "$.r.x"})),
        json!({"a": 1}),
    );
    assert_eq!(run.output(), json!(1));
}

#[test]
fn context_object_fields() {
    let def = one_pass(json!({"Parameters": {
        "id.$": "$$.Execution.Id",
        "name.$": "$$.Execution.Name",
        "input.$": "$$.Execution.Input",
        "start.$": "$$.Execution.StartTime",
        "state.$": "$$.State.Name",
        "entered.$": "$$.State.EnteredTime",
        "machine.$": "$$.StateMachine.Name"
    }}));
    let run = Run::start(&def, json!({"k": "v"}));
    assert_eq!(
        run.output(),
        json!({
            "id": "arn:aws:states:local:000000000000:execution:keiyaku:test-run",
            "name": "test-run",
            "input": {"k": "v"},
            "start": "2024-04-01T09:00:00.000Z",
            "state": "P",
            "entered": "2024-04-01T09:00:00.000Z",
            "machine": "keiyaku"
        })
    );
    // Only Task states have a retry count (as recorded on AWS, issue 14): a Pass state
    // that reads it fails as reading any missing path does.
    let def = one_pass(json!({"Parameters": {"retries.$": "$$.State.RetryCount"}}));
    let run = Run::start(&def, json!({}));
    assert_eq!(run.exec.status(), Status::Failed);
    assert_eq!(run.exec.error(), Some("States.Runtime"));
}

#[test]
fn result_path_into_a_scalar_is_a_result_path_match_failure() {
    let def = one_task(json!({"ResultPath": "$.a.b"}));
    let mut run = Run::start(&def, json!({"a": "string"}));
    run.succeed(json!(1));
    assert_eq!(run.exec.status(), Status::Failed);
    assert_eq!(run.exec.error(), Some("States.ResultPathMatchFailure"));
}

#[test]
fn missing_input_path_is_a_runtime_error_that_catch_all_does_not_catch() {
    let def = json!({"StartAt": "Lambda", "States": {
        "Lambda": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction",
            "InputPath": "$.missing",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recovered"}],
            "Next": "Recovered"
        },
        "Recovered": {"Type": "Succeed"}
    }});
    let run = Run::start(&def.to_string(), json!({}));
    assert_eq!(run.exec.status(), Status::Failed);
    assert_eq!(run.exec.error(), Some("States.Runtime"));
    assert!(run.tasks.is_empty(), "no task was invoked");
}

/// AWS raises `States.Runtime` (uncatchable) for a `.$` path that names nothing, not the
/// documented `States.ParameterPathFailure`: see `engine::parameter_path_failure` and
/// SUPPORTED.md for the sources.
#[test]
fn missing_parameter_path_is_an_uncatchable_runtime_error_as_on_aws() {
    let catch_everything = json!([
        {"ErrorEquals": ["States.ParameterPathFailure"], "Next": "Recovered"},
        {"ErrorEquals": ["States.ALL"], "Next": "Recovered"}
    ]);
    let retry_everything = json!([{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}]);
    let with_recovery = |state: Value| {
        json!({"StartAt": "S", "States": {"S": state, "Recovered": {"Type": "Succeed"}}})
            .to_string()
    };

    // Parameters of a Task: no task is invoked, nothing catches or retries it.
    let task = json!({
        "Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction",
        "Parameters": {"JobName.$": "$.JobName"},
        "Retry": retry_everything,
        "Catch": catch_everything,
        "Next": "Recovered"
    });
    let run = Run::start(&with_recovery(task), json!({}));
    assert_eq!(run.exec.status(), Status::Failed);
    assert_eq!(run.exec.error(), Some("States.Runtime"));
    // AWS's words, its prefix naming the state and its entered event included (the
    // recorded history cited at `parameter_path_failure`).
    assert_eq!(
        run.exec.cause(),
        Some(
            "An error occurred while executing the state 'S' (entered at the event id #2). The JSONPath '$.JobName' specified for the field 'JobName.$' could not be found in the input '{}'"
        )
    );
    assert!(run.tasks.is_empty(), "no task was invoked");
    assert!(run.timers.is_empty(), "no retry was scheduled");

    // A nested field of a Pass state's Parameters, and a `$$` path.
    let run = Run::start(
        &one_pass(json!({"Parameters": {"outer": {"x.$": "$.nope"}}})),
        json!({"a": 1}),
    );
    assert_eq!(run.exec.error(), Some("States.Runtime"));
    assert!(run.exec.cause().unwrap().contains("for the field 'x.$'"));
    let run = Run::start(
        &one_pass(json!({"Parameters": {"t.$": "$$.Task.Token"}})),
        json!({}),
    );
    assert_eq!(run.exec.error(), Some("States.Runtime"));

    // ResultSelector, over the task's result.
    let task = json!({
        "Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction",
        "ResultSelector": {"n.$": "$.missing"},
        "Catch": catch_everything,
        "Next": "Recovered"
    });
    let mut run = Run::start(&with_recovery(task), json!({}));
    run.succeed(json!({"present": 1}));
    assert_eq!(run.exec.status(), Status::Failed);
    assert_eq!(run.exec.error(), Some("States.Runtime"));

    // ItemSelector of a Map state.
    let map = json!({
        "Type": "Map",
        "ItemSelector": {"v.$": "$.nope"},
        "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}},
        "Catch": catch_everything,
        "Next": "Recovered"
    });
    let run = Run::start(&with_recovery(map), json!([1, 2]));
    assert_eq!(run.exec.status(), Status::Failed);
    assert_eq!(run.exec.error(), Some("States.Runtime"));

    // A missing path inside an intrinsic's arguments stays a (catchable) IntrinsicFailure.
    let pass = json!({
        "Type": "Pass",
        "Parameters": {"s.$": "States.Format('{}', $.nope)"},
        "Next": "Recovered"
    });
    let run = Run::start(&with_recovery(pass), json!({}));
    assert_eq!(run.exec.error(), Some("States.IntrinsicFailure"));
}

#[test]
fn intrinsics_in_parameters_and_result_selector() {
    let def = one_task(json!({
        "Parameters": {"greeting.$": "States.Format('Hello, {}!', $.name)", "id.$": "States.UUID()"},
        "ResultSelector": {"count.$": "States.ArrayLength($.items)"}
    }));
    let mut run = Run::start(&def, json!({"name": "花子"}));
    let t = run.task();
    assert_eq!(t.payload["greeting"], json!("Hello, 花子!"));
    assert_eq!(t.payload["id"].as_str().unwrap().len(), 36);
    run.succeed(json!({"items": [1, 2, 3]}));
    assert_eq!(run.output(), json!({"count": 3}));
}

#[test]
fn input_output_and_items_paths_may_read_the_context_object() {
    // Developer Guide, "Accessing execution data from the Context object": `$$` may be
    // used in InputPath, OutputPath and ItemsPath as in Parameters.
    let def = json!({"StartAt": "In", "States": {
        "In": {"Type": "Pass", "InputPath": "$$.Execution.Input", "ResultPath": "$.seen", "Next": "Out"},
        "Out": {"Type": "Pass", "OutputPath": "$$.State.Name", "Next": "Each"},
        "Each": {"Type": "Map", "ItemsPath": "$$.Execution.Input.list", "End": true,
            "ItemProcessor": {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": true}}}}
    }})
    .to_string();
    let out = Run::start(&def, json!({"list": [1, 2, 3]})).output();
    assert_eq!(out, json!([1, 2, 3]));
    let def = json!({"StartAt": "Out", "States": {
        "Out": {"Type": "Pass", "Result": {"x": 1}, "OutputPath": "$$.State.Name", "End": true}
    }})
    .to_string();
    assert_eq!(Run::start(&def, json!({})).output(), json!("Out"));
}
