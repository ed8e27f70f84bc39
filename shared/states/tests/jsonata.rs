//! JSONata states (`QueryLanguage: JSONata`), each case as recorded on AWS by LocalStack's
//! snapshot tests (localstack/localstack, `tests/aws/services/stepfunctions/v2/…`; the test
//! id is named above each case), unless the case says it is ours or another emulator's
//! measurement.

mod support;

use serde_json::{Value, json};
use support::Run;

use keiyaku_states::Status;

fn run_to_end(def: Value, input: Value) -> Run {
    let mut run = Run::start(&def.to_string(), input);
    run.run(|inv| Ok(inv.payload.clone()));
    run
}

fn details(run: &Run, kind: &str) -> Vec<Value> {
    run.exec
        .history()
        .iter()
        .filter(|e| format!("{:?}", e.kind) == kind)
        .filter_map(|e| e.details().cloned())
        .collect()
}

fn pass(output: Value) -> Value {
    json!({"StartAt": "S", "States": {"S": {"QueryLanguage": "JSONata", "Type": "Pass", "Output": output, "End": true}}})
}

// outputdecl/test_output.py::TestArgumentsBase::test_base_cases[BASE_LITERALS] and
// test_base_output_any_non_dict: only strings that are exactly {% … %} are evaluated, at
// any depth; keys, `.$` and JSONPath-looking strings are literals.
#[test]
fn only_whole_delimited_strings_are_expressions() {
    let literal = json!({"a": " {% states.input %} ", "b": "$states.input", "c": "$", "c.$": "$",
        "d": "$$", "e": "States.Format('Format:{}', 101)", "f": [null, 0, 0.1, true, [], {"k": 0}]});
    let input = json!({"input_value": "string literal", "input_values": [1, 2, 3]});
    assert_eq!(run_to_end(pass(literal.clone()), input).output(), literal);
    for scalar in [
        json!(null),
        json!(0),
        json!(0.1),
        json!(true),
        json!("string literal"),
        json!([]),
    ] {
        assert_eq!(run_to_end(pass(scalar.clone()), json!({})).output(), scalar);
    }
    let mixed = json!([null, 0, 0.1, true, "string", [], "$nosuchvar", "$.no.such.path",
        "{% $states.input %}", {"key": "{% true %}"}]);
    assert_eq!(
        run_to_end(pass(mixed), json!({"input_value": "stringliteral"})).output(),
        json!([null, 0, 0.1, true, "string", [], "$nosuchvar", "$.no.such.path",
            {"input_value": "stringliteral"}, {"key": true}])
    );
}

// outputdecl BASE_EXPR and BASE_DIRECT_EXPR: expressions read `$states.input` and variables
// a JSONPath state assigned.
#[test]
fn expressions_read_the_input_and_variables_across_languages() {
    let def = json!({"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"var_input_value.$": "$.input_value", "var_constant_1": 1}, "Next": "S"},
        "S": {"QueryLanguage": "JSONata", "Type": "Pass", "Output": {
            "ja_states_input": "{% $states.input %}",
            "ja_var_access": "{% $var_input_value %}",
            "ja_expr": "{% $sum($states.input.input_values) + $var_constant_1 %}"}, "Next": "T"},
        "T": {"QueryLanguage": "JSONata", "Type": "Pass",
            "Output": "{% $sum($states.input.ja_states_input.input_values) + $var_constant_1 %}", "End": true}}});
    let run = run_to_end(
        def,
        json!({"input_value": "string literal", "input_values": [1, 2, 3]}),
    );
    assert_eq!(run.output(), json!(7));
    let exited = details(&run, "PassStateExited");
    assert_eq!(
        serde_json::from_str::<Value>(exited[1]["output"].as_str().unwrap()).unwrap(),
        json!({"ja_states_input": {"input_value": "string literal", "input_values": [1, 2, 3]},
            "ja_var_access": "string literal", "ja_expr": 7})
    );
}

// assign/test_assign_reference_variables.py::test_undefined_reference[BASE_UNDEFINED_OUTPUT,
// BASE_UNDEFINED_OUTPUT_MULTIPLE_STATES, BASE_UNDEFINED_ASSIGN]: an expression that gives
// nothing fails the state with an EvaluationFailed event, which follows the event the
// state was entered after.
#[test]
fn an_expression_that_gives_nothing_fails_the_state() {
    let def = json!({"StartAt": "State0", "QueryLanguage": "JSONata", "States": {
        "State0": {"Type": "Pass", "Output": "{% $doesNotExist %}", "End": true}}});
    let run = run_to_end(def, json!({}));
    let cause = "An error occurred while executing the state 'State0' (entered at the event id #2). The JSONata expression '$doesNotExist' specified for the field 'Output' returned nothing (undefined).";
    assert_eq!(run.exec.error(), Some("States.QueryEvaluationError"));
    assert_eq!(run.exec.cause(), Some(cause));
    let history = run.exec.history();
    let shape: Vec<(String, u64, u64)> = history
        .iter()
        .map(|e| (format!("{:?}", e.kind), e.id, e.previous_event_id))
        .collect();
    assert_eq!(
        shape,
        [
            ("ExecutionStarted".into(), 1, 0),
            ("PassStateEntered".into(), 2, 0),
            ("EvaluationFailed".into(), 3, 0),
            ("ExecutionFailed".into(), 4, 3)
        ]
    );
    assert_eq!(
        history[2].details().unwrap(),
        &json!({"error": "States.QueryEvaluationError", "cause": cause, "state": "State0", "location": "Output"})
    );

    let def = json!({"StartAt": "State0", "QueryLanguage": "JSONata", "States": {
        "State0": {"Type": "Pass", "Next": "State1"},
        "State1": {"Type": "Pass", "Next": "State2"},
        "State2": {"Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}, "End": true}}});
    let run = run_to_end(def, json!({}));
    let failed = run
        .exec
        .history()
        .iter()
        .find(|e| format!("{:?}", e.kind) == "EvaluationFailed")
        .cloned()
        .unwrap();
    assert_eq!((failed.id, failed.previous_event_id), (7, 5));
    assert_eq!(failed.detail_str("location"), Some("Output/result"));
    assert!(failed.detail_str("cause").unwrap().starts_with(
        "An error occurred while executing the state 'State2' (entered at the event id #6)."
    ));

    let def = json!({"StartAt": "State0", "QueryLanguage": "JSONata", "States": {
        "State0": {"Type": "Pass", "Assign": {"result": "{% $doesNotExist %}"}, "End": true}}});
    let run = run_to_end(def, json!({}));
    assert!(
        run.exec.cause().unwrap().ends_with(
            "The JSONata expression '$doesNotExist' specified for the field 'Assign/result' returned nothing (undefined)."
        )
    );
}

// arguments/test_arguments.py (BASE_LAMBDA_*), outputdecl BASE_TASK_LAMBDA and
// test_mixed_query_language JSONPATH_TO_JSONATA_DATAFLOW: Arguments are the call; Output
// and Assign see `$states.result` (the Invoke response) and the variables as they were.
#[test]
fn a_task_sends_its_arguments_and_outputs_its_result() {
    let def = json!({"StartAt": "Setup", "States": {
        "Setup": {"Type": "Pass", "Result": {"riddle": "What is the answer?"}, "ResultPath": "$.enigma.mystery",
            "Assign": {"answer": 42}, "Next": "Ask"},
        "Ask": {"QueryLanguage": "JSONata", "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"FunctionName": "{% $states.input.functionName %}",
                "Payload": {"theQuestion": "{% $states.input.enigma.mystery.riddle %}", "theAnswer": "{% $answer %}"}},
            "Assign": {"answer": "<omitted>", "message": "{% $states.result.StatusCode %}"},
            "Output": {"result": "{% $states.result.Payload %}", "answer": "{% $answer %}"},
            "Next": "Raw"},
        "Raw": {"QueryLanguage": "JSONata", "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:111111111111:function:echo",
            "Arguments": {"x": 1}, "End": true}}});
    let mut run = Run::start(&def.to_string(), json!({"functionName": "echo"}));
    let task = run.task();
    assert_eq!(task.function, "echo");
    assert_eq!(
        task.payload,
        json!({"theQuestion": "What is the answer?", "theAnswer": 42})
    );
    run.succeed(json!({"ok": true}));
    let raw = run.succeed(json!({"plain": true}));
    assert_eq!(raw.payload, json!({"x": 1}));
    // A plain function's result is the output, not merged into the input.
    assert_eq!(run.output(), json!({"plain": true}));
    let exited = details(&run, "TaskStateExited");
    assert_eq!(
        serde_json::from_str::<Value>(exited[0]["output"].as_str().unwrap()).unwrap(),
        json!({"result": {"ok": true}, "answer": 42})
    );
    assert_eq!(
        exited[0]["assignedVariables"],
        json!({"answer": "\"<omitted>\"", "message": "200"})
    );
}

// states_variables/test_error_output.py (TASK_CATCH_ERROR_OUTPUT,
// TASK_CATCH_ERROR_VARIABLE_SAMPLING): a Catcher's Output and Assign see
// `$states.errorOutput`; without Output the error output is the state's output.
#[test]
fn a_catcher_sees_the_error_output() {
    let task = |catcher: Value| {
        json!({"QueryLanguage": "JSONata", "StartAt": "Start", "States": {
            "Start": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": "raise", "Payload": "{% $states.input %}"},
                "Output": {"unused": "{% $states.result %}"}, "Assign": {"resultVar": "{% $states.result %}"},
                "Catch": [catcher], "End": true},
            "Fallback": {"Type": "Pass", "Output": {"error": "{% $errorVar ? $errorVar : $states.input %}"}, "End": true}}})
    };
    let cause = r#"{"errorMessage":"Some exception was raised.","errorType":"Exception"}"#;
    let def = task(json!({"ErrorEquals": ["States.ALL"], "Next": "Fallback",
        "Output": {"stateInput": "{% $states.input %}", "stateError": "{% $states.errorOutput %}"}}));
    let mut run = Run::start(&def.to_string(), json!({"inputData": "dummy"}));
    run.fail("Exception", cause);
    assert_eq!(
        run.output(),
        json!({"error": {"stateInput": {"inputData": "dummy"}, "stateError": {"Error": "Exception", "Cause": cause}}})
    );

    let def = task(json!({"ErrorEquals": ["States.ALL"], "Next": "Fallback",
        "Assign": {"inputVar": "{% $states.input %}", "errorVar": "{% $states.errorOutput %}"}}));
    let mut run = Run::start(&def.to_string(), json!({"inputData": "dummy"}));
    run.fail("Exception", cause);
    let exited = details(&run, "TaskStateExited");
    assert_eq!(
        serde_json::from_str::<Value>(exited[0]["output"].as_str().unwrap()).unwrap(),
        json!({"Error": "Exception", "Cause": cause})
    );
    assert_eq!(
        exited[0]["assignedVariables"]["inputVar"],
        json!("{\"inputData\":\"dummy\"}")
    );
    assert!(exited[0]["assignedVariables"].get("resultVar").is_none());
    assert_eq!(
        run.output(),
        json!({"error": {"Error": "Exception", "Cause": cause}})
    );
}

// outputdecl CHOICE_CONDITION_JSONATA, assign CHOICE_CONDITION_JSONATA and
// test_base_scenarios test_choice_condition_constant_jsonata: Conditions, and whose Output
// leaves a Choice state.
#[test]
fn choice_conditions_and_their_outputs() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
                {"Condition": "{% $states.input.condition %}", "Next": "T", "Output": "Condition Output block",
                    "Assign": {"Assignment": "Condition assignment"}}],
            "Default": "D", "Output": "Default Output block"},
        "T": {"Type": "Pass", "End": true},
        "D": {"Type": "Fail", "Cause": "Condition is false"}}});
    let run = run_to_end(def.clone(), json!({"condition": true}));
    assert_eq!(run.output(), json!("Condition Output block"));
    let run = run_to_end(def, json!({"condition": false}));
    assert_eq!(run.exec.status(), Status::Failed);
    assert_eq!(
        (run.exec.error(), run.exec.cause()),
        (None, Some("Condition is false"))
    );
    assert_eq!(
        run.exec.history().last().unwrap().details().unwrap(),
        &json!({"cause": "Condition is false"})
    );
    let exited = details(&run, "ChoiceStateExited");
    assert_eq!(exited[0]["output"], json!("\"Default Output block\""));

    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "QueryLanguage": "JSONata", "Choices": [{"Condition": true, "Next": "T"}], "Default": "D"},
        "T": {"Type": "Pass", "End": true},
        "D": {"Type": "Fail", "Cause": "x"}}});
    assert_eq!(run_to_end(def, json!({})).output(), json!({}));

    // Ours (unrecorded words): a Condition must give a boolean.
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Condition": "{% false %}", "Next": "T"},
            {"Condition": "{% $states.input.n %}", "Next": "T"}], "Default": "T"},
        "T": {"Type": "Pass", "End": true}}});
    let run = run_to_end(def, json!({"n": 1}));
    assert!(
        run.exec.cause().unwrap().ends_with(
            "The JSONata expression '$states.input.n' specified for the field 'Choices[1]/Condition' returned an unexpected result type. Expected 'boolean', but was 'number' for value: 1"
        ),
        "{:?}",
        run.exec.cause()
    );
}

// evaluate_jsonata ITEMS and test_map_state_items_eval_jsonata_fail, test_map_state_items_input_types:
// a Map's Items, and what AWS says when they are not an array.
#[test]
fn map_items_and_what_is_not_an_array() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {"Type": "Map",
        "Items": [1, "{% $number(\"2\") %}", 3], "MaxConcurrency": 1,
        "ItemSelector": {"value": "{% $states.context.Map.Item.Value %}", "index": "{% $states.context.Map.Item.Index %}"},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}});
    let run = run_to_end(def, json!({}));
    assert_eq!(
        run.output(),
        json!([{"value": 1, "index": 0}, {"value": 2, "index": 1}, {"value": 3, "index": 2}])
    );
    assert_eq!(details(&run, "MapStateStarted")[0], json!({"length": 3}));

    let map = |items: Value| {
        let mut m = json!({"Type": "Map", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true});
        if !items.is_null() {
            m["Items"] = items;
        }
        json!({"QueryLanguage": "JSONata", "StartAt": "MapIterateState", "States": {"MapIterateState": m}})
    };
    for (expr, kind, value) in [
        ("1", "number", "1"),
        ("'string'", "string", "\"string\""),
        ("true", "boolean", "true"),
        ("null", "null", "null"),
        ("{'foo': 'bar'}", "object", "{\"foo\":\"bar\"}"),
    ] {
        let run = run_to_end(map(json!(format!("{{% {expr} %}}"))), json!({}));
        assert_eq!(
            run.exec.cause().unwrap(),
            format!(
                "An error occurred while executing the state 'MapIterateState' (entered at the event id #2). The JSONata expression '{expr}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '{kind}' for value: {value}"
            )
        );
        let types: Vec<String> = run.event_types();
        assert_eq!(
            types,
            [
                "ExecutionStarted",
                "MapStateEntered",
                "EvaluationFailed",
                "MapStateFailed",
                "ExecutionFailed"
            ]
        );
    }
    let run = run_to_end(map(Value::Null), json!(1));
    assert_eq!(
        run.exec.cause(),
        Some(
            "An error occurred while executing the state 'MapIterateState' (entered at the event id #2). Map state input must be an array but was: 1"
        )
    );
    assert!(
        details(&run, "EvaluationFailed")[0]
            .get("location")
            .is_none()
    );
    assert_eq!(run_to_end(map(Value::Null), json!([])).output(), json!([]));
}

// test_base_scenarios (JSONata Fail), test_timeouts / test_heartbeats (JSONata
// expressions), test_wait_seconds_jsonata.
#[test]
fn fail_wait_and_task_fields_as_expressions() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "{% $states.input.error %}"}}});
    let run = run_to_end(def, json!({"error": "Exception"}));
    assert_eq!(
        run.exec.history().last().unwrap().details().unwrap(),
        &json!({"error": "Exception"})
    );

    let def = json!({"QueryLanguage": "JSONata", "StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": "{% $states.input.waitSeconds %}", "Next": "T"},
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Arguments": {"FunctionName": "ask", "Payload": {"token": "{% $states.context.Task.Token %}"}},
            "TimeoutSeconds": "{% $variable := 1 %}", "HeartbeatSeconds": "{% $states.input.waitSeconds + 1 %}", "End": true}}});
    let mut run = Run::start(&def.to_string(), json!({"waitSeconds": 0}));
    run.fire_next_timer();
    let scheduled = &details(&run, "TaskScheduled")[0];
    assert_eq!(scheduled["timeoutInSeconds"], json!(1));
    assert_eq!(scheduled["heartbeatInSeconds"], json!(1));
    assert_eq!(
        run.task().payload["token"].as_str().map(str::len),
        run.task().token.as_deref().map(str::len)
    );
}

// evaluate_jsonata regular expressions and intrinsic_functions *_jsonata: JSONata's own
// functions and the ones Step Functions adds.
#[test]
fn functions_in_expressions() {
    for (expr, expected) in [
        (r#"$contains("hello$world", /^hello\$/)"#, json!(true)),
        (r#"$contains("hello$world", /^hello\ /)"#, json!(false)),
        ("$range(0, 10, 3)", json!([0, 3, 6, 9])),
        ("$partition([0, 1], 1)", json!([[0], [1]])),
        (
            r#"$parse("[1, 2, \"HelloWorld\"]")"#,
            json!([1, 2, "HelloWorld"]),
        ),
    ] {
        assert_eq!(
            run_to_end(pass(json!(format!("{{% {expr} %}}"))), json!({})).output(),
            expected,
            "{expr}"
        );
    }
}

// Ours: a JSONata failure is caught by States.ALL and retried, each attempt logging its
// EvaluationFailed event (as another emulator measured on AWS).
#[test]
fn a_query_evaluation_error_is_retried_and_caught() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:111111111111:function:f",
            "Output": "{% $states.result.missing %}",
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1, "IntervalSeconds": 1}],
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"},
                {"ErrorEquals": ["States.QueryEvaluationError"], "Next": "Caught"}], "End": true},
        "Wrong": {"Type": "Pass", "End": true},
        "Caught": {"Type": "Pass", "Output": "{% $states.input.Error %}", "End": true}}});
    let mut run = Run::start(&def.to_string(), json!({}));
    run.succeed(json!({}));
    run.fire_next_timer();
    run.succeed(json!({}));
    assert_eq!(run.output(), json!("States.QueryEvaluationError"));
    assert_eq!(details(&run, "EvaluationFailed").len(), 2);
}
