//! Workflow variables (`Assign`, `$name`) in JSONPath machines, each case as recorded on AWS
//! by LocalStack's snapshot tests (`tests/aws/services/stepfunctions/v2/assign/…` in
//! localstack/localstack; `base::` is `test_assign_base.py::TestAssignBase`, `ref::` is
//! `test_assign_reference_variables.py::TestAssignReferenceVariables`), unless a case says
//! it is ours.

mod support;

use serde_json::{Value, json};
use support::Run;

use keiyaku_states::Status;

/// What each state's exit event says it assigned, in order (states that assigned nothing
/// are left out).
fn assigned(run: &Run) -> Vec<(String, Value)> {
    run.exec
        .history()
        .iter()
        .filter(|e| format!("{:?}", e.kind).ends_with("StateExited"))
        .filter_map(|e| {
            let d = e.details()?;
            let vars = d.get("assignedVariables")?.clone();
            assert_eq!(d["assignedVariablesDetails"], json!({"truncated": false}));
            Some((d["name"].as_str()?.to_owned(), vars))
        })
        .collect()
}

fn run_to_end(def: Value, input: Value) -> Run {
    let mut run = Run::start(&def.to_string(), input);
    run.run(|inv| {
        Err((
            "Unexpected".into(),
            format!("no task expected: {}", inv.state),
        ))
    });
    run
}

// base::test_base_cases[BASE_CONSTANT_LITERALS, BASE_EMPTY]: only `.$` values are
// evaluated; an empty Assign logs nothing.
#[test]
fn literals_are_kept_as_written_and_logged_as_json_text() {
    let def = json!({"StartAt": "State0", "States": {
        "State0": {"Type": "Pass", "Assign": {
            "constant_null": null, "constant_int": 0, "constant_float": 0.1, "constant_bool": true,
            "constant_str_path": "$.no.such.path", "constant_str_var": "$noSuchVar",
            "constant_str_intrinsic_func": "States.Format('Format Func {}', $varname)",
            "constant_str_jsonata_expr": "{% $varname.varfield %}",
            "constant_lst": [null, 0, 0.1, true, "$.no.such.path", "$varname", [], {"constant": 0}]
        }, "Next": "State1"},
        "State1": {"Type": "Pass", "Assign": {}, "End": true}}});
    let input = json!({"input_value": "input_value_literal"});
    let run = run_to_end(def, input.clone());
    assert_eq!(run.output(), input);
    let logged = assigned(&run);
    assert_eq!(logged.len(), 1, "an empty Assign logs nothing: {logged:?}");
    assert_eq!(
        logged[0].1,
        json!({
            "constant_null": "null", "constant_int": "0", "constant_float": "0.1",
            "constant_bool": "true", "constant_str_path": "\"$.no.such.path\"",
            "constant_str_var": "\"$noSuchVar\"",
            "constant_str_intrinsic_func": "\"States.Format('Format Func {}', $varname)\"",
            "constant_str_jsonata_expr": "\"{% $varname.varfield %}\"",
            "constant_lst": "[null,0,0.1,true,\"$.no.such.path\",\"$varname\",[],{\"constant\":0}]"
        })
    );
}

// base::test_base_cases[BASE_PATHS, BASE_VAR]: `.$` values read the input, the context
// object, intrinsic functions and other variables.
#[test]
fn evaluated_values_read_paths_the_context_intrinsics_and_variables() {
    let def = json!({"StartAt": "State0", "States": {
        "State0": {"Type": "Pass", "Assign": {
            "str_path_root.$": "$",
            "str_path.$": "$.input_value",
            "str_contextpath.$": "$$.State.Name",
            "str_intrinsic_func.$": "States.Format('Format Func {}', $.input_value)",
            "constant_obj": {"in_obj_constant_lst": [1, 2]}
        }, "Next": "State1"},
        "State1": {"Type": "Pass", "Assign": {
            "varname.$": "$str_path",
            "access.$": "$constant_obj.in_obj_constant_lst",
            "first.$": "$constant_obj.in_obj_constant_lst[0]",
            "nested": {"again.$": "$str_intrinsic_func"}
        }, "End": true}}});
    let run = run_to_end(def, json!({"input_value": "input_value_literal"}));
    let logged = assigned(&run);
    assert_eq!(
        logged[0].1,
        json!({
            "str_path_root": "{\"input_value\":\"input_value_literal\"}",
            "str_path": "\"input_value_literal\"",
            "str_contextpath": "\"State0\"",
            "str_intrinsic_func": "\"Format Func input_value_literal\"",
            "constant_obj": "{\"in_obj_constant_lst\":[1,2]}"
        })
    );
    assert_eq!(
        logged[1].1,
        json!({
            "varname": "\"input_value_literal\"",
            "access": "[1,2]",
            "first": "1",
            "nested": "{\"again\":\"Format Func input_value_literal\"}"
        })
    );
}

// ref::test_assign_from_value[BASE_ASSIGN_FROM_RESULT, BASE_ASSIGN_FROM_PARAMETERS]: in a
// Pass state `$` is its result, not its input nor its output after ResultPath.
#[test]
fn in_a_pass_state_the_dollar_is_its_result() {
    let def = json!({"StartAt": "State0", "States": {
        "State0": {"Type": "Pass", "Result": {"answer": 42}, "ResultPath": "$.enigma.mystery",
            "Assign": {"theAnswer.$": "$.answer", "inputData.$": "$"}, "Next": "State1"},
        "State1": {"Type": "Pass", "Parameters": {"input": "PENDING"},
            "Assign": {"result.$": "$.input"}, "End": true}}});
    let run = run_to_end(def, json!({"functionName": "f"}));
    let logged = assigned(&run);
    assert_eq!(
        logged[0].1,
        json!({"theAnswer": "42", "inputData": "{\"answer\":42}"})
    );
    assert_eq!(logged[1].1, json!({"result": "\"PENDING\""}));
}

// ref::test_variables_in_lambda_task[BASE_ASSIGN_FROM_LAMBDA_TASK_RESULT]: in a Task `$` is
// the task's result; variables feed its Parameters and TimeoutSecondsPath.
#[test]
fn in_a_task_the_dollar_is_its_result_and_variables_feed_its_parameters() {
    let def = json!({"StartAt": "Setup", "States": {
        "Setup": {"Type": "Pass", "Assign": {"functionName": "greet", "inputData": {"name": "World"}, "timeout": 300},
            "Next": "Invoke"},
        "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "TimeoutSecondsPath": "$timeout",
            "Parameters": {"Payload.$": "$inputData", "FunctionName.$": "$functionName"},
            "Assign": {"result.$": "$.Payload"}, "OutputPath": "$.Payload", "Next": "After"},
        "After": {"Type": "Pass", "Assign": {"previousResult.$": "$result", "timeout": 150}, "End": true}}});
    let mut run = Run::start(&def.to_string(), json!({}));
    let task = run.task();
    assert_eq!(task.function, "greet");
    assert_eq!(task.payload, json!({"name": "World"}));
    let scheduled = run
        .exec
        .history()
        .iter()
        .find(|e| format!("{:?}", e.kind) == "TaskScheduled")
        .and_then(|e| e.details().cloned())
        .unwrap();
    assert_eq!(scheduled["timeoutInSeconds"], json!(300));
    run.succeed(json!("HelloWorld!"));
    assert_eq!(run.output(), json!("HelloWorld!"));
    let logged = assigned(&run);
    assert_eq!(
        logged[1],
        ("Invoke".into(), json!({"result": "\"HelloWorld!\""}))
    );
    assert_eq!(
        logged[2].1,
        json!({"previousResult": "\"HelloWorld!\"", "timeout": "150"})
    );
}

// test_mixed_query_language::test_variable_sampling[JSONATA_ASSIGN_JSONPATH_REF] and
// ref::test_state_assign_evaluation_order[BASE_EVALUATION_ORDER_PASS_STATE]: a state reads the
// variables as they were when it was entered, its own OutputPath included.
#[test]
fn a_state_reads_the_variables_as_they_were_when_it_was_entered() {
    let def = json!({"StartAt": "JSONataState", "States": {
        "JSONataState": {"Type": "Pass", "Assign": {"theAnswerVar": 42}, "Next": "JSONPathState"},
        "JSONPathState": {"Type": "Pass", "Assign": {"theAnswerVar": 18, "oldAnswerVar.$": "$theAnswerVar"}, "End": true}}});
    let run = run_to_end(def, json!({}));
    assert_eq!(
        assigned(&run)[1].1,
        json!({"theAnswerVar": "18", "oldAnswerVar": "42"})
    );

    let def = json!({"StartAt": "State0", "States": {
        "State0": {"Type": "Pass", "Result": {"theQuestion": "What is the answer to life the universe and everything?"},
            "Assign": {"question.$": "$.theQuestion", "answer": 42}, "Next": "State1"},
        "State1": {"Type": "Pass", "InputPath": "$answer", "ResultPath": "$.theAnswer", "OutputPath": "$answer",
            "Assign": {"answer": "<omitted>"}, "End": true}}});
    let run = run_to_end(def, json!({}));
    assert_eq!(run.output(), json!(42));
    assert_eq!(
        assigned(&run),
        [
            (
                "State0".to_owned(),
                json!({"question": "\"What is the answer to life the universe and everything?\"", "answer": "42"})
            ),
            ("State1".to_owned(), json!({"answer": "\"<omitted>\""}))
        ]
    );
}

// ref::test_reference_assign[BASE_REFERENCE_IN_CHOICE] and ref::test_assign_in_choice_state
// [CORRECT, INCORRECT]: Choice conditions read variables; the state's Assign reads its input.
#[test]
fn choice_states_compare_variables_and_assign_from_their_input() {
    let def = json!({"StartAt": "Setup", "States": {
        "Setup": {"Type": "Pass", "Assign": {"guess": "the_guess", "answer": "the_answer"}, "Next": "CheckAnswer"},
        "CheckAnswer": {"Type": "Choice",
            "Choices": [{"Variable": "$guess", "StringEqualsPath": "$answer", "Next": "CorrectAnswer"}],
            "Default": "WrongAnswer"},
        "CorrectAnswer": {"Type": "Pass", "Result": {"state": "CORRECT"}, "End": true},
        "WrongAnswer": {"Type": "Pass", "Result": {"state": "WRONG"}, "Assign": {"guess.$": "$answer"}, "Next": "CheckAnswer"}}});
    let run = run_to_end(def, json!({}));
    assert_eq!(run.output(), json!({"state": "CORRECT"}));
    assert_eq!(
        run.entered(),
        [
            "Setup",
            "CheckAnswer",
            "WrongAnswer",
            "CheckAnswer",
            "CorrectAnswer"
        ]
    );

    let def = json!({"StartAt": "CheckInput", "States": {
        "CheckInput": {"Type": "Choice", "Assign": {"guess.$": "$.input_value"},
            "Choices": [
                {"Not": {"Variable": "$.input_value", "IsPresent": true}, "Next": "FinalState",
                    "Assign": {"status": "MISSING_INPUT"}},
                {"Variable": "$.input_value", "NumericEquals": 42, "Next": "FinalState",
                    "Assign": {"status": "CORRECT"}}],
            "Default": "Wrong"},
        "Wrong": {"Type": "Pass", "Assign": {"status": "INCORRECT"}, "Next": "FinalState"},
        "FinalState": {"Type": "Pass", "Parameters": {"result.$": "$status", "guess.$": "$guess"}, "End": true}}});
    // "42" is a string: NumericEquals does not match it (recorded).
    let run = run_to_end(def.clone(), json!({"input_value": "42"}));
    assert_eq!(run.output(), json!({"result": "INCORRECT", "guess": "42"}));
    assert_eq!(assigned(&run)[0].1, json!({"guess": "\"42\""}));
    // A matching rule's Assign applies after the state's (the Developer Guide, Choice).
    let run = run_to_end(def, json!({"input_value": 42}));
    assert_eq!(run.output(), json!({"result": "CORRECT", "guess": 42}));
    assert_eq!(
        assigned(&run)[0].1,
        json!({"guess": "42", "status": "\"CORRECT\""})
    );
}

// ref::test_assign_in_wait_state, ref::test_reference_assign[BASE_REFERENCE_IN_WAIT,
// BASE_REFERENCE_IN_FAIL, BASE_REFERENCE_IN_INPUTPATH, BASE_REFERENCE_IN_OUTPUTPATH].
#[test]
fn wait_fail_and_data_paths_read_variables() {
    let def = json!({"StartAt": "Setup", "States": {
        "Setup": {"Type": "Pass", "Assign": {"waitTime": 0, "startAt": "2016-03-14T01:59:00Z", "theAnswer": 42}, "Next": "WaitSeconds"},
        "WaitSeconds": {"Type": "Wait", "SecondsPath": "$waitTime", "Assign": {"foo": "oof"}, "Next": "WaitUntil"},
        "WaitUntil": {"Type": "Wait", "TimestampPath": "$startAt", "Next": "Answer"},
        "Answer": {"Type": "Pass", "InputPath": "$theAnswer", "Next": "Out"},
        "Out": {"Type": "Pass", "OutputPath": "$theAnswer", "End": true}}});
    let mut run = Run::start(&def.to_string(), json!({}));
    run.fire_next_timer();
    run.fire_next_timer();
    assert_eq!(run.output(), json!(42));
    assert_eq!(
        assigned(&run)[1],
        ("WaitSeconds".into(), json!({"foo": "\"oof\""}))
    );

    let def = json!({"StartAt": "Setup", "States": {
        "Setup": {"Type": "Pass", "Assign": {"errorVar": "Exception", "causeVar": "An Exception was encountered"}, "Next": "Fail"},
        "Fail": {"Type": "Fail", "CausePath": "$causeVar", "ErrorPath": "$errorVar"}}});
    let run = run_to_end(def, json!({}));
    assert_eq!(run.exec.error(), Some("Exception"));
    assert_eq!(run.exec.cause(), Some("An Exception was encountered"));
}

// base::test_base_cases[BASE_SCOPE_MAP] and base::test_base_parallel_cases
// [BASE_SCOPE_PARALLEL]: branches and iterations read the variables around them; what
// they assign stays in them.
#[test]
fn branches_and_iterations_read_the_scopes_around_them() {
    let def = json!({"StartAt": "State0", "States": {
        "State0": {"Type": "Pass", "Assign": {"x": 42, "items": [1, 2, 3]}, "Next": "State1"},
        "State1": {"Type": "Map", "ItemsPath": "$items", "MaxConcurrencyPath": "$limit",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Inner",
                "States": {"Inner": {"Type": "Pass", "Assign": {"innerX.$": "$x"}, "End": true}}},
            "Next": "State2"},
        "State2": {"Type": "Pass", "Assign": {"final.$": "$x", "inner.$": "States.ArrayLength($items)"}, "End": true}}});
    // A whole number held as a string will do for MaxConcurrencyPath (recorded).
    let def = {
        let mut d = def;
        d["States"]["State0"]["Assign"]["limit"] = json!("1");
        d
    };
    let run = run_to_end(def, json!({}));
    assert_eq!(run.output(), json!([1, 2, 3]));
    let logged = assigned(&run);
    let inner: Vec<&Value> = logged
        .iter()
        .filter(|(n, _)| n == "Inner")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(inner, vec![&json!({"innerX": "42"}); 3]);
    assert!(
        logged.iter().all(|(n, _)| n != "State1"),
        "the Map's exit assigns nothing"
    );
    assert_eq!(
        logged.last().unwrap().1,
        json!({"final": "42", "inner": "3"})
    );

    let branch = |name: &str| json!({"StartAt": name, "States": {name: {"Type": "Pass", "Assign": {"innerX.$": "$x", "value.$": "$"}, "End": true}}});
    let def = json!({"StartAt": "State0", "States": {
        "State0": {"Type": "Pass", "Assign": {"x": 42}, "Next": "Fan"},
        "Fan": {"Type": "Parallel", "Branches": [branch("B1"), branch("B2"), branch("B3")], "Next": "After"},
        "After": {"Type": "Pass", "Parameters": {"value.$": "$value"}, "End": true}}});
    let run = Run::start(&def.to_string(), json!({}));
    // A branch's variables do not reach the state after the Parallel: reading one fails.
    assert_eq!(run.exec.status(), Status::Failed);
    let branch_exits: Vec<Value> = assigned(&run).into_iter().map(|(_, v)| v).collect();
    assert_eq!(
        branch_exits[1..],
        vec![json!({"innerX": "42", "value": "{}"}); 3]
    );
    assert!(
        run.exec
            .cause()
            .unwrap()
            .contains("The JSONPath '$value' specified for the field 'value.$' could not be found"),
        "{:?}",
        run.exec.cause()
    );
}

// ref::test_reference_assign[BASE_REFERENCE_IN_ITERATOR_OUTER_SCOPE]: a nested Map reads the
// variables its enclosing iteration assigned, each iteration its own.
#[test]
fn nested_iterations_read_their_enclosing_iteration_s_variables() {
    let def = json!({"StartAt": "Setup", "States": {
        "Setup": {"Type": "Pass", "Assign": {"bias": 4.3}, "Result": [[9, 44, 6], [82, 25, 76], [18, 42, 2]], "Next": "Outer"},
        "Outer": {"Type": "Map", "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Unpack", "States": {
            "Unpack": {"Type": "Pass", "Assign": {"xCurrent.$": "$[0]", "yCurrent.$": "$[1]", "zCurrent.$": "$[2]"}, "Next": "Inner"},
            "Inner": {"Type": "Map", "ItemsPath": "States.Array(1)", "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Summate", "States": {"Summate": {"Type": "Pass",
                    "Assign": {"Sum.$": "States.MathAdd(States.MathAdd(States.MathAdd($yCurrent, $xCurrent), $zCurrent), $bias)"},
                    "End": true}}},
                "End": true}}},
            "End": true}}});
    // ItemsPath takes paths only: a one-item list stands in for the recording's.
    let def = {
        let mut d = def;
        d["States"]["Outer"]["ItemProcessor"]["States"]["Inner"]["ItemsPath"] = json!("$one");
        d["States"]["Outer"]["ItemProcessor"]["States"]["Unpack"]["Assign"]["one"] = json!([1]);
        d
    };
    let run = run_to_end(def, json!({}));
    let sums: Vec<Value> = assigned(&run)
        .into_iter()
        .filter(|(n, _)| n == "Summate")
        .map(|(_, v)| v["Sum"].clone())
        .collect();
    assert_eq!(sums, [json!("63"), json!("187"), json!("66")]);
}

// ref::test_assign_in_catch_state (recorded in JSONata; the same in JSONPath): a caught
// state assigns what its Catcher assigns, over the error output.
#[test]
fn a_catcher_assigns_over_the_error_output() {
    let def = json!({"StartAt": "Task", "States": {
        "Task": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:111111111111:function:raise",
            "Assign": {"result": "SUCCESS"},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"result.$": "$", "cause.$": "$.Cause"}, "Next": "Caught"}],
            "End": true},
        "Caught": {"Type": "Pass", "Parameters": {"error.$": "$result.Error"}, "End": true}}});
    let mut run = Run::start(&def.to_string(), json!({}));
    run.fail("Exception", "boom");
    assert_eq!(run.output(), json!({"error": "Exception"}));
    assert_eq!(
        assigned(&run)[0],
        (
            "Task".to_owned(),
            json!({"result": "{\"Error\":\"Exception\",\"Cause\":\"boom\"}", "cause": "\"boom\""})
        )
    );
}

// Ours (unrecorded): an iteration cannot assign a variable of an outer scope, nor read one
// that was never assigned.
#[test]
fn an_inner_scope_cannot_assign_an_outer_variable() {
    let def = json!({"StartAt": "Setup", "States": {
        "Setup": {"Type": "Pass", "Assign": {"x": 1}, "Result": [1], "Next": "Each"},
        "Each": {"Type": "Map", "ItemProcessor": {"StartAt": "Inner", "States": {
            "Inner": {"Type": "Pass", "Assign": {"x": 2}, "End": true}}}, "End": true}}});
    let run = run_to_end(def, json!({}));
    assert_eq!(run.exec.error(), Some("States.Runtime"));
    assert!(
        run.exec.cause().unwrap().ends_with(
            "The variable 'x' belongs to an outer scope: a Parallel branch or Map iteration cannot assign it."
        ),
        "{:?}",
        run.exec.cause()
    );
    let def = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "OutputPath": "$nobody", "End": true}}});
    let run = run_to_end(def, json!({}));
    assert_eq!(
        run.exec.cause(),
        Some(
            "An error occurred while executing the state 'A' (entered at the event id #2). Invalid path '$nobody' : No variable named 'nobody' is in scope"
        )
    );
}

// Variables survive the execution being saved and restored between events.
#[test]
fn variables_are_kept_with_the_execution() {
    let def = json!({"StartAt": "Setup", "States": {
        "Setup": {"Type": "Pass", "Assign": {"who": "party-1"}, "Next": "Pause"},
        "Pause": {"Type": "Wait", "Seconds": 60, "Next": "Use"},
        "Use": {"Type": "Pass", "Parameters": {"who.$": "$who"}, "End": true}}});
    let mut run = Run::start(&def.to_string(), json!({}));
    let saved = serde_json::to_string(&run.exec).unwrap();
    run.exec = serde_json::from_str(&saved).unwrap();
    run.fire_next_timer();
    assert_eq!(run.output(), json!({"who": "party-1"}));
}
